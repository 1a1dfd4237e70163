"""Nobody learns anything through an alert that they could not read directly: the one predicate decides for the
detail, the list, the counts, the thread, the pages and the notifications; persons only where nominal data may
be seen (and their reading audited); TLP rules hold for addressees too."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.audit.models import AuditEntry
from interdict.notifications import service as notifications
from tests.alerts.conftest import alert_body, told, unit_usernames
from tests.conftest import World, minimal_incident
from tests.web.test_pages import login

PERSON = {"name": "Nguyễn Văn Bí Mật", "nationality": "VN", "id_document": "B7654321"}


def _issue(client: TestClient, world: World, username: str = "analyst", **overrides: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/alerts", json=alert_body(**overrides), headers=world.h(username))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _group(client: TestClient, world: World, members: list[str], hide: bool = False) -> str:
    code = f"G-{uuid.uuid4().hex[:8]}"
    r = client.post(
        "/api/v1/sharing-groups",
        json={"code": code, "name": "Mekong test", "members": members, "hide_members": hide},
        headers=world.h("admin"),
    )
    assert r.status_code == 201, r.text
    return code


def test_non_addressees_get_404_and_nothing_in_lists_or_counts(client: TestClient, world: World) -> None:
    alert = _issue(client, world, addressees=["VNC-HP"])
    ref = alert["reference"]
    for outsider in ("officer.kh", "police", "officer.hcm"):  # another country, another agency, a sibling unit
        assert client.get(f"/api/v1/alerts/{ref}", headers=world.h(outsider)).status_code == 404
        assert client.get(f"/api/v1/alerts/{alert['id']}", headers=world.h(outsider)).status_code == 404
        listed = client.get("/api/v1/alerts", headers=world.h(outsider)).json()
        assert listed["total"] == 0 and listed["items"] == []
        for path in ("acknowledge", "close"):
            assert client.post(f"/api/v1/alerts/{ref}/{path}", json={}, headers=world.h(outsider)).status_code == 404
        r = client.post(f"/api/v1/alerts/{ref}/responses", json={"text": "x"}, headers=world.h(outsider))
        assert r.status_code == 404
    # Indistinguishable from a missing alert.
    missing = client.get("/api/v1/alerts/RA-2026-999999", headers=world.h("officer.kh"))
    assert missing.json()["error"] == client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.kh")).json()["error"]
    # The addressee reads it, and its counts show it.
    assert client.get(f"/api/v1/alerts/{ref}", headers=world.h("viewer.hp")).status_code == 200
    assert client.get("/api/v1/alerts?unacknowledged=true", headers=world.h("officer.hp")).json()["total"] == 1
    # The pages say the same.
    login(client, "officer.kh")
    assert client.get(f"/alerts/{ref}").status_code == 404
    page = client.get("/alerts").text
    assert ref not in page and 'id="waiting"' not in page
    assert client.get(f"/incidents/new?from_alert={ref}").status_code == 404


def test_notifications_follow_the_predicate(client: TestClient, world: World) -> None:
    alert = _issue(client, world, addressees=["VNC-HP"])
    subject = world.subject("officer.kh")
    with world.session() as s:
        # Even a notification row about the alert renders to nothing for a reader who may not read it.
        from interdict.notifications.models import Notification

        n = Notification(
            user_id=subject.user_id,
            kind="rapid_alert.issued",
            ref_type="rapid_alert",
            ref_id=uuid.UUID(alert["id"]),
            event_key="test",
            urgency="urgent",
            reason={},
        )
        assert notifications.render(s, subject, n) is None
        assert notifications.render(s, world.subject("officer.hp"), n) is not None


def test_a_sharing_group_addressee_reads_acknowledges_and_responds(client: TestClient, world: World) -> None:
    code = _group(client, world, ["KHC"])
    alert = _issue(client, world, addressees=[], groups=[code])
    ref = alert["reference"]
    assert told(world, alert["id"], "rapid_alert.issued") == unit_usernames(world, "KHC")  # every active user of KHC
    kh = client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.kh"))
    assert kh.status_code == 200 and kh.json()["can_acknowledge"]
    assert client.post(f"/api/v1/alerts/{ref}/acknowledge", headers=world.h("officer.kh")).status_code == 200
    view = client.get(f"/api/v1/alerts/{ref}", headers=world.h("analyst")).json()
    assert [(t["org"]["code"], t["source"], t["group"]) for t in view["tracking"]] == [("KHC", "group", code)]
    assert view["tracking"][0]["acknowledged_by"]["username"] == "officer.kh"
    # The expansion happened at issue time: removing the member later does not widen or re-address anything,
    # and the addressed organisation keeps reading what it was sent.
    # Other readers outside the group and the addressees still see nothing.
    assert client.get(f"/api/v1/alerts/{ref}", headers=world.h("police")).status_code == 404


def test_hidden_group_members_are_not_revealed_to_an_issuer_outside_the_owner(client: TestClient, world: World) -> None:
    code = _group(client, world, ["KHC", "VNC"], hide=True)  # owned by VNC's tree; KHC is a member
    alert = _issue(client, world, "officer.kh", addressees=[], groups=[code])
    view = client.get(f"/api/v1/alerts/{alert['reference']}", headers=world.h("officer.kh")).json()
    assert view["tracking"] and all(t["org"] is None and code in t["label"] for t in view["tracking"])
    assert "VNC" not in str([t["label"] for t in view["tracking"]])


def test_amber_strict_stays_in_the_issuers_organisation(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/alerts", json=alert_body(tlp="AMBER+STRICT", addressees=["VNC-HP", "KHC"]), headers=world.h("analyst")
    )
    assert r.status_code == 422
    assert [(e["field"], e["type"]) for e in r.json()["error"]["errors"]] == [("addressees[1]", "tlp")]
    code = _group(client, world, ["KHC"])
    r = client.post(
        "/api/v1/alerts", json=alert_body(tlp="AMBER+STRICT", addressees=[], groups=[code]), headers=world.h("analyst")
    )
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "groups[0]"
    # Inside the tree it is addressed and read; the national distribution does not carry it outside.
    ok = _issue(client, world, tlp="AMBER+STRICT", distribution="national", addressees=["VNC-HP"])
    assert client.get(f"/api/v1/alerts/{ok['reference']}", headers=world.h("officer.hp")).status_code == 200
    assert client.get(f"/api/v1/alerts/{ok['reference']}", headers=world.h("police")).status_code == 404


def test_distribution_widens_reading_but_only_addressees_act(client: TestClient, world: World) -> None:
    alert = _issue(client, world, distribution="national", addressees=["VNC-HP"])
    ref = alert["reference"]
    police = client.get(f"/api/v1/alerts/{ref}", headers=world.h("police"))
    assert police.status_code == 200
    assert police.json()["tracking"] is None and police.json()["my_unit"] is None
    assert client.post(f"/api/v1/alerts/{ref}/acknowledge", headers=world.h("police")).status_code == 403
    assert client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.kh")).status_code == 404
    # RED: read by addressees only, whatever else is asked.
    red = _issue(client, world, tlp="RED", distribution="unit", addressees=["VNC-HP"])
    assert client.get(f"/api/v1/alerts/{red['reference']}", headers=world.h("officer.hcm")).status_code == 404
    login(client, "officer.hp")
    assert "not for export or forwarding" in client.get(f"/alerts/{red['reference']}").text


def test_non_nominal_readers_see_no_persons_anywhere(client: TestClient, world: World) -> None:
    code = _group(client, world, ["KHC"])
    alert = _issue(client, world, addressees=["VNC-HP"], groups=[code], persons=[PERSON])
    ref = alert["reference"]
    # Outside the issuer's organisation, without nominal sharing: no persons in the API...
    kh = client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.kh")).json()
    assert kh["persons"] == [] and kh["persons_withheld"] == 1
    assert "Bí Mật" not in str(kh) and "B7654321" not in str(kh)
    # ... nor in the notification...
    with world.session() as s:
        rendered = [
            out for n, out in notifications.visible(s, world.subject("officer.kh")) if str(n.ref_id) == alert["id"]
        ]
        assert rendered
        assert all("Bí Mật" not in f"{r.title} {r.text} {r.facts}" and "Persons" not in str(r.facts) for r in rendered)
    # ... nor on the page, nor in the prefilled incident form.
    login(client, "officer.kh")
    page = client.get(f"/alerts/{ref}").text
    assert "Bí Mật" not in page and "B7654321" not in page and 'id="persons-withheld"' in page
    form = client.get(f"/incidents/new?from_alert={ref}").text
    assert "Bí Mật" not in form and "CSQU3054383" in form
    # Inside the issuer's organisation the persons are shown, and the reading is audited.
    with world.session() as s:
        before = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    hp = client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.hp")).json()
    assert hp["persons"] == [PERSON] and hp["persons_withheld"] == 0
    with world.session() as s:
        reads = s.scalars(
            select(AuditEntry).where(AuditEntry.seq > before, AuditEntry.action == "alert.read_nominal")
        ).all()
        assert [(e.actor_username, e.object_label) for e in reads] == [("officer.hp", ref)]
    # Shared nominally, the partner sees them too.
    nominal = _issue(client, world, addressees=[], groups=[code], persons=[PERSON], share_nominal=True)
    assert client.get(f"/api/v1/alerts/{nominal['reference']}", headers=world.h("officer.kh")).json()["persons"] == [
        PERSON
    ]


def test_linked_incidents_only_as_far_as_the_reader_may_read_them(client: TestClient, world: World) -> None:
    own = client.post(
        "/api/v1/incidents", json=minimal_incident(submit=True, distribution="unit"), headers=world.h("analyst")
    ).json()
    shared = client.post(
        "/api/v1/incidents", json=minimal_incident(submit=True, distribution="organisation"), headers=world.h("analyst")
    ).json()
    hidden = client.post(
        "/api/v1/incidents", json=minimal_incident(submit=True, distribution="unit"), headers=world.h("officer.kh")
    ).json()
    bad = client.post(
        "/api/v1/alerts", json=alert_body(incidents=[own["reference"], hidden["reference"]]), headers=world.h("analyst")
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["error"]["errors"]] == ["incidents[1]"]
    alert = _issue(client, world, incidents=[own["reference"], shared["reference"]], addressees=["VNC-HP"])
    assert client.get(f"/api/v1/alerts/{alert['reference']}", headers=world.h("analyst")).json()["incidents"] == [
        own["reference"],
        shared["reference"],
    ]
    assert client.get(f"/api/v1/alerts/{alert['reference']}", headers=world.h("officer.hp")).json()["incidents"] == [
        shared["reference"]
    ]


def test_closing_is_for_the_issuing_unit(client: TestClient, world: World) -> None:
    alert = _issue(client, world, addressees=["VNC-HP"])
    ref = alert["reference"]
    assert client.post(f"/api/v1/alerts/{ref}/close", json={}, headers=world.h("officer.hp")).status_code == 403
    r = client.post(
        f"/api/v1/alerts/{ref}/close", json={"status": "cancelled", "note": "false alarm"}, headers=world.h("analyst")
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert told(world, alert["id"], "rapid_alert.cancelled") == unit_usernames(world, "VNC-HP")
    assert client.post(f"/api/v1/alerts/{ref}/acknowledge", headers=world.h("officer.hp")).status_code == 409
    assert (
        client.post(f"/api/v1/alerts/{ref}/responses", json={"text": "x"}, headers=world.h("officer.hp")).status_code
        == 409
    )
    assert (
        client.get("/api/v1/alerts?status=cancelled&issued_by_me=true", headers=world.h("analyst")).json()["total"] == 1
    )
