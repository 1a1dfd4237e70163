"""A sharing group that hides its members (issue 16): a rapid alert addressed to it tells an issuer outside the
group owner's tree nothing about who the members are or how many, in the API, the page, notifications, the audit
trail and its export; the group's own managers (the owner's tree, as for the member list) see every member."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.alerts.service import Delays
from interdict.alerts.tasks import tick
from interdict.core.clock import utcnow
from tests.alerts.conftest import alert_body
from tests.conftest import PASSWORD, World, minimal_incident
from tests.web.test_pages import login

# Three agencies of the group; MMC takes part through its Yangon unit (whose parent is told on escalation).
AGENCIES = [
    ("LAC", "Lao Customs Department", "LA", None, [("admin.lac", "admin"), ("officer.lac", "officer")]),
    ("THC", "Thai Customs Department", "TH", None, [("officer.thc", "officer")]),
    ("MMC", "Myanmar Customs Department", "MM", None, [("admin.mmc", "admin")]),
    ("MMC-YGN", "Yangon Port Customs", "MM", "MMC", [("officer.mmc", "officer")]),
    ("KHC", None, "KH", None, [("auditor.khc", "auditor")]),
]
# What an outsider must never see: the members' codes, names and people.
SECRETS = ["LAC", "Lao Customs", "THC", "Thai Customs", "MMC", "Myanmar", "Yangon", "Officer.Lac", "Officer.Thc"]
SECRETS += ["Officer.Mmc", "Admin.Mmc", "officer.lac", "officer.thc", "officer.mmc", "admin.mmc"]
DELAYS = Delays(remind={"urgent": 60}, escalate={"urgent": 120})


@pytest.fixture
def agencies(world: World) -> None:
    with world.session() as s:
        for code, name, country, parent, users in AGENCIES:
            if name and accounts.get_org_by_code(s, code) is None:
                kind = "agency" if parent is None else "provincial_unit"
                accounts.create_organisation(
                    s,
                    OrganisationCreate(code=code, name=name, kind=kind, country=country, parent_code=parent),  # type: ignore[arg-type]
                )
            for username, role in users:
                if username in world.tokens:
                    continue
                user = accounts.get_user_by_username(s, username) or accounts.create_user(
                    s,
                    UserCreate(
                        username=username,
                        full_name=username.title(),
                        role=role,  # type: ignore[arg-type]
                        org_code=code,
                        password=PASSWORD,
                    ),
                )
                scopes = {"admin": ["read", "write", "admin"], "auditor": ["read"]}.get(role, ["read", "write"])
                token, _ = accounts.create_api_token(
                    s,
                    user,
                    TokenCreate(name="tests", scopes=scopes),  # type: ignore[arg-type]
                    pepper=world.app.state.pepper,
                )
                world.tokens[username] = token


def _hidden_group(client: TestClient, world: World) -> str:
    code = f"MK-{uuid.uuid4().hex[:6].upper()}"
    r = client.post(
        "/api/v1/sharing-groups",
        json={"code": code, "name": "Mekong Dragon", "members": ["THC", "MMC-YGN", "KHC"], "hide_members": True},
        headers=world.h("admin.lac"),
    )
    assert r.status_code == 201, r.text
    return code


def _issue(client: TestClient, world: World, username: str, **overrides: object) -> dict:
    r = client.post("/api/v1/alerts", json=alert_body(**overrides), headers=world.h(username))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_an_issuer_outside_the_group_owner_learns_neither_members_nor_their_number(
    client: TestClient, world: World, agencies: None
) -> None:
    group = _hidden_group(client, world)
    # Khmer customs (a member, not the group's manager) alerts the group and one named unit.
    alert = _issue(client, world, "officer.kh", addressees=["VNC-HP"], groups=[group], distribution="unit")
    ref = alert["reference"]
    issued_at = utcnow()
    # The members act: Lao customs reads and acknowledges, Thai customs answers, the Yangon unit does nothing.
    assert client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.lac")).status_code == 200
    assert client.post(f"/api/v1/alerts/{ref}/acknowledge", headers=world.h("officer.lac")).status_code == 200
    r = client.post(
        f"/api/v1/alerts/{ref}/responses",
        json={"text": "Container CSQU3054383 inspected at Laem Chabang, nothing found."},
        headers=world.h("officer.thc"),
    )
    assert r.status_code == 201
    # Two hours on, the Yangon unit's silence escalates to its parent agency's administrator.
    with world.session() as s:
        escalated = tick(s, issued_at + timedelta(minutes=121), DELAYS).escalated
    assert (ref, "MMC-YGN") in escalated

    # The API: the group is one addressee, acknowledged and answered "by at least one member"; no count, no names.
    view = client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.kh"))
    assert view.status_code == 200
    assert _leaks(view.text) == []
    tracking = view.json()["tracking"]
    [named] = [t for t in tracking if t["org"]]
    [members] = [t for t in tracking if t["group"] == group]
    assert named["org"]["code"] == "VNC-HP" and len(tracking) == 2
    assert members["members_hidden"] is True and members["org"] is None
    assert members["first_read_at"] and members["acknowledged_at"] and members["responded_at"]
    assert members["acknowledged_by"] is None and members["first_read_by"] is None and members["escalated_at"] is None
    assert members["overdue"] is False  # acknowledged by one member: the group counts as acknowledged
    [answer] = view.json()["responses"]
    assert answer["org"] is None and answer["user"] is None and answer["label"] == f"a member of {group}"
    assert "nothing found" in answer["text"]

    # The page.
    login(client, "officer.kh")
    page = client.get(f"/alerts/{ref}")
    assert page.status_code == 200 and _leaks(page.text) == []
    assert f"Members of group {group}" in page.text and f"A member of group {group}" in page.text
    assert page.text.count('data-unit="') == 2

    # Notifications (the response told the issuer): centre, API, stream items are rendered the same way.
    notes = client.get("/api/v1/notifications", headers=world.h("officer.kh"))
    assert any(n["kind"] == "rapid_alert.response" for n in notes.json()["items"])
    assert _leaks(notes.text) == [] and _leaks(client.get("/notifications").text) == []

    # The audit trail and its export, as the issuer's agency's auditor reads them.
    trail = client.get("/api/v1/audit", params={"object": ref}, headers=world.h("auditor.khc"))
    assert trail.status_code == 200 and {e["action"] for e in trail.json()} >= {"alert.issue"}
    assert _leaks(trail.text) == []
    login(client, "auditor.khc")
    exported = client.get("/audit/export.csv", params={"object": ref})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows and _leaks(exported.content.decode("utf-8-sig")) == []

    # The members themselves each see their own unit, not each other.
    lao = client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.lac")).json()
    assert lao["tracking"] is None and lao["my_unit"]["org"]["code"] == "LAC" and lao["responses"] == []


def test_the_group_owner_tree_sees_every_member(client: TestClient, world: World, agencies: None) -> None:
    group = _hidden_group(client, world)
    alert = _issue(client, world, "officer.lac", addressees=[], groups=[group], distribution="unit")
    ref = alert["reference"]
    client.post(f"/api/v1/alerts/{ref}/responses", json={"text": "Seen, nothing yet."}, headers=world.h("officer.thc"))
    view = client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.lac")).json()
    assert sorted(t["org"]["code"] for t in view["tracking"]) == ["KHC", "MMC-YGN", "THC"]
    assert not any(t["members_hidden"] for t in view["tracking"])
    [thai] = [t for t in view["tracking"] if t["org"]["code"] == "THC"]
    assert thai["acknowledged_by"]["username"] == "officer.thc"
    [answer] = view["responses"]
    assert answer["org"]["code"] == "THC" and answer["user"]["username"] == "officer.thc"
    login(client, "officer.lac")
    page = client.get(f"/alerts/{ref}").text
    assert "Thai Customs Department" in page and "Yangon Port Customs" in page and "Officer.Thc" in page
    # The same predicate as the member list: the owner sees it, another member does not.
    groups = client.get("/api/v1/sharing-groups", headers=world.h("officer.lac")).json()
    assert {m["code"] for m in next(g for g in groups if g["code"] == group)["members"]} >= {"THC", "KHC"}
    groups = client.get("/api/v1/sharing-groups", headers=world.h("officer.kh")).json()
    assert next(g for g in groups if g["code"] == group)["members"] is None


def test_watch_acknowledgements_do_not_name_hidden_members(client: TestClient, world: World, agencies: None) -> None:
    """An incident shared with a hiding group is read outside its reporter's tree only by members: who
    acknowledged a watch alert about it is shown to the reporter as "a member of" the group."""
    from interdict.notifications.models import Notification

    group = _hidden_group(client, world)
    incident = client.post(
        "/api/v1/incidents",
        json=minimal_incident(submit=True, distribution="group", sharing_group=group),
        headers=world.h("officer.kh"),
    ).json()
    # A watch rule of the Thai officer fired on it (as the watch worker tells its owner).
    with world.session() as s:
        from interdict.notifications import service as notifications
        from tests.alerts.conftest import user_id

        [note] = notifications.notify(
            s,
            user_ids=[user_id(world, "officer.thc")],
            kind="watch.rule",
            ref_type="incident",
            ref_id=uuid.UUID(incident["id"]),
            event_key=f"test:{incident['id']}",
        )
        note_id = note.id
    r = client.post(f"/api/v1/notifications/{note_id}/acknowledge", headers=world.h("officer.thc"))
    assert r.status_code == 200, r.text
    with world.session() as s:
        assert s.get(Notification, note_id).acknowledged_at is not None  # type: ignore[union-attr]
    login(client, "officer.kh")
    page = client.get(f"/incidents/{incident['reference']}").text
    assert f"A member of group {group}" in page and _leaks(page) == []
