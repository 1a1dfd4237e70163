"""A rapid alert to three units: one acknowledges, one responds, one stays silent and is reminded, then
escalated to its head, with the clock moved by the test (tick(now)), never by sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.alerts.service import Delays
from interdict.alerts.tasks import tick
from interdict.audit.models import AuditEntry
from interdict.notifications import service as notifications
from tests.alerts.conftest import alert_body, told, unit_usernames
from tests.conftest import World
from tests.web.test_pages import login

DELAYS = Delays(remind={"urgent": 60, "immediate": 15}, escalate={"urgent": 120, "immediate": 30})


def test_three_units_one_acknowledges_one_responds_one_escalates(client: TestClient, world: World, qn: str) -> None:
    head = client.patch("/api/v1/organisations/VNC-QN", json={"head_username": "head.qn"}, headers=world.h("admin"))
    assert head.status_code == 200, head.text
    r = client.post(
        "/api/v1/alerts", json=alert_body(addressees=["VNC-HP", "VNC-HCM", "VNC-QN"]), headers=world.h("analyst")
    )
    assert r.status_code == 201, r.text
    alert = r.json()
    ref, alert_id = alert["reference"], alert["id"]
    assert ref.startswith("RA-") and len(ref) == len("RA-2026-000001")
    issued_at = datetime.fromisoformat(alert["created_at"])

    # Every active user of each addressed unit is told, with the alert's urgency; nobody else.
    everyone = unit_usernames(world, "VNC-HP") | unit_usernames(world, "VNC-HCM") | unit_usernames(world, "VNC-QN")
    assert {"officer.hp", "officer2.hp", "viewer.hp", "officer.hcm", "officer.qn", "head.qn"} <= everyone
    assert told(world, alert_id, "rapid_alert.issued") == everyone
    with world.session() as s:
        rendered = notifications.visible(s, world.subject("officer.qn"))
        mine = [(n, out) for n, out in rendered if str(n.ref_id) == alert_id]
        assert mine and mine[0][0].urgency == "urgent"
        assert ref in mine[0][1].title and "URGENT" in mine[0][1].title
        assert mine[0][1].url == f"/alerts/{ref}"

    # VNC-HP acknowledges (once per unit: a second officer changes nothing).
    ack = client.post(f"/api/v1/alerts/{ref}/acknowledge", headers=world.h("officer.hp"))
    assert ack.status_code == 200 and ack.json()["my_unit"]["acknowledged_by"]["username"] == "officer.hp"
    again = client.post(f"/api/v1/alerts/{ref}/acknowledge", headers=world.h("officer2.hp"))
    assert again.json()["my_unit"]["acknowledged_by"]["username"] == "officer.hp"
    assert again.json()["my_unit"]["acknowledged_at"] == ack.json()["my_unit"]["acknowledged_at"]

    # VNC-HCM responds: responded and acknowledged; the issuing user is told.
    text = "container CSQU3054383 inspected 14:20, nothing found"
    resp = client.post(f"/api/v1/alerts/{ref}/responses", json={"text": text}, headers=world.h("officer.hcm"))
    assert resp.status_code == 201, resp.text
    assert told(world, alert_id, "rapid_alert.response") == {"analyst"}

    # Nothing is due before the reminder delay.
    with world.session() as s:
        early = tick(s, issued_at + timedelta(minutes=59), DELAYS)
    assert early.reminded == [] and early.escalated == []
    # After 60 minutes: only the silent unit is reminded, once.
    with world.session() as s:
        first = tick(s, issued_at + timedelta(minutes=61), DELAYS)
    assert first.reminded == [(ref, "VNC-QN")] and first.escalated == []
    assert told(world, alert_id, "rapid_alert.reminder") == {"officer.qn", "head.qn"}
    with world.session() as s:
        assert tick(s, issued_at + timedelta(minutes=90), DELAYS).reminded == []
    # After 120 minutes: escalated to the unit's head, once.
    with world.session() as s:
        second = tick(s, issued_at + timedelta(minutes=121), DELAYS)
    assert second.reminded == [] and second.escalated == [(ref, "VNC-QN")]
    assert told(world, alert_id, "rapid_alert.escalated") == {"head.qn"}
    with world.session() as s:
        later = tick(s, issued_at + timedelta(hours=5), DELAYS)
        assert later.reminded == [] and later.escalated == []
        escalations = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "alert.escalate", AuditEntry.object_id == alert_id)
        ).all()
        assert len(escalations) == 1
    with world.session() as s:
        shown = [
            out for n, out in notifications.visible(s, world.subject("head.qn")) if n.kind == "rapid_alert.escalated"
        ]
        assert shown and shown[0].title.startswith("Escalated") and "VNC-QN" in shown[0].title

    # The issuer's tracking view: who read, acknowledged, responded, when and by whom; the silent unit overdue.
    view = client.get(f"/api/v1/alerts/{ref}", headers=world.h("analyst")).json()
    rows = {t["org"]["code"]: t for t in view["tracking"]}
    assert rows["VNC-HP"]["acknowledged_by"]["username"] == "officer.hp" and not rows["VNC-HP"]["overdue"]
    assert rows["VNC-HP"]["first_read_by"]["username"] == "officer.hp"
    assert rows["VNC-HCM"]["responded_at"] and rows["VNC-HCM"]["acknowledged_by"]["username"] == "officer.hcm"
    assert rows["VNC-QN"]["acknowledged_at"] is None and rows["VNC-QN"]["overdue"]
    assert rows["VNC-QN"]["reminded_at"] and rows["VNC-QN"]["escalated_at"]
    assert all(t["delivered_at"] for t in view["tracking"])
    assert [r["text"] for r in view["responses"]] == [text]
    # An addressee sees its own unit's state, not the others'.
    hp_view = client.get(f"/api/v1/alerts/{ref}", headers=world.h("viewer.hp")).json()
    assert hp_view["tracking"] is None and hp_view["my_unit"]["acknowledged_at"]
    # VNC-HP does not see VNC-HCM's answer (the thread is between the issuer and each addressee).
    assert hp_view["responses"] == []

    # The same on the page, with the overdue unit highlighted.
    login(client, "analyst")
    page = client.get(f"/alerts/{ref}").text
    assert 'class="overdue" data-unit="VNC-QN"' in page
    assert 'class="" data-unit="VNC-HP"' in page and "Officer.Hp" in page
    assert text in page


def test_the_head_is_a_user_of_the_unit(client: TestClient, world: World, qn: str) -> None:
    r = client.patch("/api/v1/organisations/VNC-QN", json={"head_username": "officer.hp"}, headers=world.h("admin"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "head_username"
    other_agency = client.patch("/api/v1/organisations/KHC", json={"head_username": None}, headers=world.h("admin"))
    assert other_agency.status_code == 404
    assert client.patch("/api/v1/organisations/VNC-QN", json={}, headers=world.h("officer.hp")).status_code == 403


def test_without_a_head_escalation_goes_to_the_unit_admins_then_the_parent_head(
    client: TestClient, world: World, qn: str
) -> None:
    from tests.alerts.conftest import ensure_unit

    ensure_unit(world, "VNC-LC", "VNC", [("officer.lc", "officer")])  # Lao Cai: no head, no admin
    ensure_unit(world, "VNC", "VNC", [("chief.vnc", "analyst")])  # the agency exists: only its user is added
    assert (
        client.patch(
            "/api/v1/organisations/VNC", json={"head_username": "chief.vnc"}, headers=world.h("admin")
        ).status_code
        == 200
    )
    alert = client.post(
        "/api/v1/alerts", json=alert_body(urgency="immediate", addressees=["VNC-LC"]), headers=world.h("analyst")
    ).json()
    issued_at = datetime.fromisoformat(alert["created_at"])
    with world.session() as s:
        result = tick(s, issued_at + timedelta(minutes=31), DELAYS)
    assert (alert["reference"], "VNC-LC") in result.escalated
    assert told(world, alert["id"], "rapid_alert.escalated") == {"chief.vnc"}
    # The parent is told by escalation: it becomes an addressee, so its head can open the alert.
    view = client.get(f"/api/v1/alerts/{alert['reference']}", headers=world.h("analyst")).json()
    assert {(t["org"]["code"], t["source"]) for t in view["tracking"]} == {
        ("VNC-LC", "organisation"),
        ("VNC", "escalation"),
    }
    with world.session() as s:
        chief = notifications.visible(s, world.subject("chief.vnc"))
        assert any(str(n.ref_id) == alert["id"] for n, _ in chief)
    # A RED alert never climbs to the parent: the unit's own head or admins only (here: nobody).
    red = client.post(
        "/api/v1/alerts",
        json=alert_body(urgency="immediate", tlp="RED", addressees=["VNC-LC"]),
        headers=world.h("analyst"),
    ).json()
    with world.session() as s:
        tick(s, datetime.fromisoformat(red["created_at"]) + timedelta(minutes=31), DELAYS)
    assert told(world, red["id"], "rapid_alert.escalated") == set()
    assert client.get(f"/api/v1/alerts/{red['reference']}", headers=world.h("chief.vnc")).status_code == 404
