"""Notifications that show person data (a watched person as written in an incident) record the read wherever they
are shown — the centre, the API list, e-mail, webhooks (the live stream: tests/notifications/test_stream.py) — one
entry per record and page or message, naming the record; counting them records nothing, and a reader whose
notifications show no person data leaves no entry (issue 16)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from interdict.audit.models import AuditEntry
from interdict.core.clock import utcnow
from interdict.notifications.tasks import drain as dispatch
from interdict.watch.tasks import drain as fire
from tests.audit.test_audit import entries_since, last_seq
from tests.conftest import World, minimal_incident
from tests.notifications.conftest import Receiver, Smtp, dispatch_config
from tests.web.test_pages import login

PERSON = {"role": "person_involved", "kind": "person", "name": "Lê Văn Tám", "country": "VN"}


def reads(world: World, mark: int) -> list[AuditEntry]:
    return [e for e in entries_since(world, mark) if e.action == "incident.read_nominal"]


def scenario(client: TestClient, world: World, watchers: tuple[str, str] = ("analyst", "officer.kh")) -> dict[str, Any]:
    """The national department watches the person and the container; Cambodia watches both too, but the incident's
    persons are withheld from it, so its notification names the container only."""
    for user in watchers:
        r = client.post("/api/v1/watch/lists", json={"name": f"watched by {user}"}, headers=world.h(user))
        assert r.status_code == 201, r.text
        for kind, value in (("person", "Le Van Tam"), ("container", "CSQU3054383")):
            e = client.post(
                f"/api/v1/watch/lists/{r.json()['id']}/entries",
                json={"kind": kind, "value": value, "reason": "tip-off"},
                headers=world.h(user),
            )
            assert e.status_code == 201, e.text
    body = minimal_incident(
        submit=True,
        distribution="all",
        tlp="GREEN",
        share_nominal=False,
        parties=[*minimal_incident()["parties"], PERSON],
    )
    r = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp"))
    assert r.status_code == 201, r.text
    fire(world.app.state.sessionmaker)
    return dict(r.json())


def test_the_centre_and_the_api_list_audit_the_persons_they_show(client: TestClient, world: World) -> None:
    inc = scenario(client, world)
    mark = last_seq(world)
    r = client.get("/api/v1/notifications", headers=world.h("analyst"))
    assert "Lê Văn Tám" in r.text
    got = reads(world, mark)
    assert [(e.object_id, e.object_label, e.actor_username, e.channel, e.summary) for e in got] == [
        (inc["id"], inc["reference"], "analyst", "api", "1 natural person(s) shown in the notification list")
    ]
    # Counting (the bell, the answer to marking read) renders them too, but shows nothing: no entry.
    mark = last_seq(world)
    r = client.post("/api/v1/notifications/read", json={"ids": [2**40]}, headers=world.h("analyst"))
    assert r.status_code == 200 and r.json()["unread"] >= 1
    assert entries_since(world, mark) == []
    # Cambodia's notification names the container only: nothing recorded.
    mark = last_seq(world)
    r = client.get("/api/v1/notifications", headers=world.h("officer.kh"))
    assert "CSQU3054383" in r.text and "Lê Văn Tám" not in r.text
    assert reads(world, mark) == []
    # The notification centre page, one entry for the page.
    login(client, "analyst")
    mark = last_seq(world)
    page = client.get("/notifications")
    assert "Lê Văn Tám" in page.text
    assert [(e.object_label, e.channel, e.summary) for e in reads(world, mark)] == [
        (inc["reference"], "web", "1 natural person(s) shown in the notification centre")
    ]
    client.cookies.clear()
    login(client, "officer.kh")
    mark = last_seq(world)
    assert "CSQU3054383" in client.get("/notifications").text
    assert reads(world, mark) == []


def test_e_mails_in_full_mode_audit_the_persons_they_carry(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("analyst")
    addresses("officer.kh")
    inc = scenario(client, world)
    mark = last_seq(world)
    dispatch(world.app.state.sessionmaker, dispatch_config(smtp.port), now=utcnow())
    bodies = dict(zip([m["To"] for m in smtp.mailbox.messages], smtp.mailbox.bodies(), strict=True))
    assert "Lê Văn Tám" in bodies["analyst@customs.example.gov"]
    assert "Lê Văn Tám" not in bodies["officer.kh@customs.example.gov"]
    got = reads(world, mark)
    assert [(e.object_label, e.actor_username, e.channel, e.summary) for e in got] == [
        (inc["reference"], "analyst", "system", "1 natural person(s) shown in an e-mail")
    ]


def test_metadata_e_mails_carry_no_persons_and_record_nothing(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("analyst")
    scenario(client, world)
    mark = last_seq(world)
    dispatch(world.app.state.sessionmaker, dispatch_config(smtp.port, mode="metadata"), now=utcnow())
    assert smtp.mailbox.messages and "Lê Văn Tám" not in "".join(smtp.mailbox.bodies())
    assert reads(world, mark) == []


def test_webhooks_audit_the_persons_they_post_as_the_owners_read(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    """Only administrators register webhooks: the national department's administrator and Cambodia's each post
    their own notifications to their agency's system."""
    ensure_admin(world, "admin.kh", "KHC")
    for user in ("admin", "admin.kh"):
        r = client.post(
            "/api/v1/webhooks", json={"name": f"case system of {user}", "url": receiver.url}, headers=world.h(user)
        )
        assert r.status_code == 201, r.text
    inc = scenario(client, world, ("admin", "admin.kh"))
    mark = last_seq(world)
    dispatch(world.app.state.sessionmaker, dispatch_config(None), now=utcnow() + timedelta(seconds=1))
    posted = [json.loads(r.body)["data"]["text"] for r in receiver.received]
    assert len(posted) == 2 and sum("Lê Văn Tám" in p for p in posted) == 1
    got = reads(world, mark)
    assert [(e.object_label, e.actor_username, e.summary) for e in got] == [
        (inc["reference"], "admin", "1 natural person(s) shown in webhook endpoint case system of admin")
    ]


def ensure_admin(world: World, username: str, org_code: str) -> None:
    """An administrator of ``org_code`` with an admin-scoped token (created once per database)."""
    from interdict.accounts import service as accounts
    from interdict.accounts.schemas import TokenCreate, UserCreate
    from tests.conftest import PASSWORD

    if username in world.tokens:
        return
    with world.session() as s:
        user = accounts.get_user_by_username(s, username) or accounts.create_user(
            s, UserCreate(username=username, full_name=username, role="admin", org_code=org_code, password=PASSWORD)
        )
        token, _ = accounts.create_api_token(
            s, user, TokenCreate(name="tests", scopes=["read", "write", "admin"]), pepper=world.app.state.pepper
        )
    world.tokens[username] = token


def test_a_watched_person_in_a_rapid_alert_is_an_audited_read_of_the_alert(client: TestClient, world: World) -> None:
    """A watch-list notification about a rapid alert shows the person to look for as the alert writes it: the read
    is recorded against the alert (alert.read_nominal); Cambodia, reading the alert without its persons, is told
    through the container only and records nothing."""
    from tests.alerts.conftest import alert_body

    for user in ("analyst", "officer.kh"):
        r = client.post("/api/v1/watch/lists", json={"name": f"watched by {user}"}, headers=world.h(user))
        for kind, value in (("person", "Le Van Tam"), ("container", "CSQU3054383")):
            e = client.post(
                f"/api/v1/watch/lists/{r.json()['id']}/entries",
                json={"kind": kind, "value": value, "reason": "tip-off"},
                headers=world.h(user),
            )
            assert e.status_code == 201, e.text
    body = alert_body(
        addressees=["VNC-ASID"],
        distribution="all",
        tlp="GREEN",
        share_nominal=False,
        persons=[{"name": PERSON["name"]}],
    )
    r = client.post("/api/v1/alerts", json=body, headers=world.h("officer.hp"))
    assert r.status_code == 201, r.text
    alert = r.json()
    fire(world.app.state.sessionmaker)
    mark = last_seq(world)
    assert "Lê Văn Tám" in client.get("/api/v1/notifications", headers=world.h("analyst")).text
    got = [(e.action, e.object_label, e.summary) for e in entries_since(world, mark)]
    assert got == [("alert.read_nominal", alert["reference"], "1 natural person(s) shown in the notification list")]
    mark = last_seq(world)
    text = client.get("/api/v1/notifications", headers=world.h("officer.kh")).text
    assert "CSQU3054383" in text and "Lê Văn Tám" not in text
    assert entries_since(world, mark) == []
