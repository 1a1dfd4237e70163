"""Issuing through the API and the page: every bad field named with its reason, nothing half-written; responses
and the incident created from a response, prefilled from the alert and linked to it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from interdict.alerts.models import RapidAlert
from tests.alerts.conftest import alert_body
from tests.conftest import World
from tests.web.test_pages import login


def _count(world: World) -> int:
    with world.session() as s:
        return int(s.scalar(select(func.count()).select_from(RapidAlert)) or 0)


def test_bad_fields_are_named_with_the_reason_and_nothing_is_written(client: TestClient, world: World) -> None:
    before = _count(world)
    r = client.post(
        "/api/v1/alerts",
        json=alert_body(containers=["CSQU3054383", "CSQU3054384"], vessel_imo="9074728"),
        headers=world.h("analyst"),
    )
    assert r.status_code == 422
    errors = {e["field"]: e["msg"] for e in r.json()["error"]["errors"]}
    assert "wrong check digit (expected 3)" in errors["containers[1]"]
    assert "wrong check digit" in errors["vessel_imo"]
    r = client.post(
        "/api/v1/alerts",
        json=alert_body(
            addressees=["VNC-HP", "NOPE"],
            substances=["no such stuff zzz"],
        ),
        headers=world.h("analyst"),
    )
    assert r.status_code == 422
    fields = {e["field"]: e["msg"] for e in r.json()["error"]["errors"]}
    assert fields["addressees[1]"] == "no organisation with code 'NOPE'"
    assert "unknown substance" in fields["substances[0]"]
    r = client.post(
        "/api/v1/alerts", json=alert_body(route=[{"country": "CN", "locode": "VNHPH"}]), headers=world.h("analyst")
    )
    assert r.status_code == 422 and "VNHPH is in VN" in r.json()["error"]["errors"][0]["msg"]
    r = client.post("/api/v1/alerts", json=alert_body(addressees=[]), headers=world.h("analyst"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "addressees"
    r = client.post("/api/v1/alerts", json=alert_body(addressees=["VNC-ASID"]), headers=world.h("analyst"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["type"] == "own_unit"
    assert client.post("/api/v1/alerts", json=alert_body(), headers=world.h("viewer.hp")).status_code == 403
    assert _count(world) == before


def test_the_form_shows_errors_next_to_fields_and_keeps_what_was_typed(client: TestClient, world: World) -> None:
    csrf = login(client, "analyst")
    before = _count(world)
    form = {
        "csrf_token": csrf,
        "subject": "Precursor shipment",
        "urgency": "immediate",
        "containers": "CSQU3054383, CSQU3054384",
        "vessel_imo": "9074728",
        "addressees": "VNC-HP, NOPE",
        "route": "CNSHA → SG → VNHPH",
        "tlp": "AMBER",
        "distribution": "unit",
    }
    r = client.post("/alerts/new", data=form)
    assert r.status_code == 422
    page = r.text
    for field, reason in (("containers", "wrong check digit (expected 3)"), ("vessel_imo", "wrong check digit")):
        assert re.search(rf'<p class="field-error" data-for="{field}">[^<]*{re.escape(reason)}', page), field
    assert "CSQU3054384" in page and "Precursor shipment" in page
    # The checks against the directory speak in the same answer, and again once the formats are right.
    assert re.search(r'<p class="field-error" data-for="addressees">no organisation with code &#39;NOPE&#39;', page)
    form.update(containers="CSQU3054383", vessel_imo="9074729")
    r = client.post("/alerts/new", data=form)
    assert r.status_code == 422
    assert re.search(r'<p class="field-error" data-for="addressees">no organisation with code &#39;NOPE&#39;', r.text)
    assert _count(world) == before
    form.update(addressees="VNC-HP", persons="Trần Văn A; VN; B1234567")
    ok = client.post("/alerts/new", data=form, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    ref = ok.headers["location"].split("/alerts/")[1].split("?")[0]
    alert = client.get(f"/api/v1/alerts/{ref}", headers=world.h("analyst")).json()
    assert alert["urgency"] == "immediate" and alert["containers"] == ["CSQU3054383"]
    assert [(p["country"], p["locode"]) for p in alert["route"]] == [("CN", "CNSHA"), ("SG", None), ("VN", "VNHPH")]
    assert alert["persons"] == [{"name": "Trần Văn A", "nationality": "VN", "id_document": "B1234567"}]
    assert "Alerts" in client.get("/alerts").text and ref in client.get("/alerts").text


def test_respond_and_create_a_prefilled_incident_from_the_response(client: TestClient, world: World) -> None:
    alert = client.post("/api/v1/alerts", json=alert_body(addressees=["VNC-HP"]), headers=world.h("analyst")).json()
    ref = alert["reference"]
    csrf = login(client, "officer.hp")
    page = client.get(f"/alerts/{ref}").text
    assert 'id="acknowledge"' in page
    empty = client.post(f"/alerts/{ref}/responses", data={"csrf_token": csrf, "text": "  "})
    assert empty.status_code == 422 and 'data-for="text"' in empty.text
    r = client.post(
        f"/alerts/{ref}/responses",
        data={"csrf_token": csrf, "text": "CSQU3054383 opened 14:20: 40 drums of acetic anhydride"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/alerts/{ref}").text
    link = re.search(r'href="(/incidents/new\?from_alert=[^"]+)" class="create-incident"', page)
    assert link, "the responder's unit is offered to record an incident"
    form_page = client.get(link.group(1).replace("&amp;", "&")).text
    assert 'id="from-alert"' in form_page
    for value in (
        "CSQU3054383",
        "MV Test Star",
        "9074729",
        "V123",
        "SHA123456",
        "Guangzhou Huada Chemical Trading",
        "SGSIN" if False else "SG",
    ):
        assert value in form_page, value
    response_id = re.search(r'name="alert_response" value="([^"]+)"', form_page)
    assert response_id
    # Saved from the prefilled values (the officer chooses the company's role and the incident type).
    data = {
        "csrf_token": csrf,
        "alert_response": response_id.group(1),
        "from_alert": ref,
        "incident_type": "seizure",
        "incident_date": "2026-03-20",
        "country": "VN",
        "containers-0-number": "CSQU3054383",
        "vessel_name": "MV Test Star",
        "vessel_imo": "9074729",
        "parties-0-role": "shipper",
        "parties-0-kind": "company",
        "parties-0-name": "Guangzhou Huada Chemical Trading Co., Ltd",
        "substances-0-substance": re.search(r'name="substances-0-substance" value="([^"]+)"', form_page).group(1),  # type: ignore[union-attr]
        "distribution": "organisation",
        "tlp": "AMBER",
        "action": "submit",
    }
    saved = client.post("/incidents/new", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:2000]
    incident_ref = saved.headers["location"].split("/incidents/")[1].split("?")[0]
    thread = client.get(f"/api/v1/alerts/{ref}", headers=world.h("officer.hp")).json()["responses"]
    assert thread[0]["incident"] == incident_ref
    # The issuing unit sees the incident's reference because it may read the (submitted) incident itself.
    issuer = client.get(f"/api/v1/alerts/{ref}", headers=world.h("analyst")).json()
    assert issuer["tracking"][0]["responded_at"] and issuer["responses"][0]["incident"] == incident_ref
    # Another unit cannot hang its incident on this response.
    other_csrf = login(client, "officer.hcm")
    bad = client.post("/incidents/new", data={**data, "csrf_token": other_csrf}, follow_redirects=False)
    assert bad.status_code in (404, 422)
