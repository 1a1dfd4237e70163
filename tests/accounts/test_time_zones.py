"""Time zones: each organisation has one (its country's by default), a user may choose their own, and pages,
the API and the forms use the viewer's."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from interdict.accounts import service
from interdict.accounts.models import Organisation, User
from interdict.accounts.schemas import OrganisationCreate
from interdict.alerts.models import RapidAlert
from interdict.audit.models import AuditEntry
from interdict.core import migrate
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.core.localtime import format_datetime
from interdict.incidents.models import Incident
from tests.conftest import BACKENDS, World, minimal_incident, prepared_database
from tests.web.test_pages import login


def _zone(world: World, code: str) -> str:
    with world.session() as s:
        org = service.get_org_by_code(s, code)
        assert org is not None
        return org.time_zone


def test_organisations_get_their_countrys_zone(client: TestClient, world: World) -> None:
    assert _zone(world, "VNC-HP") == "Asia/Ho_Chi_Minh"
    assert _zone(world, "KHC") == "Asia/Phnom_Penh"
    with world.session() as s:
        org = service.create_organisation(
            s, OrganisationCreate(code="TZ-BKK", name="Bangkok liaison", kind="other", country="TH")
        )
        assert org.time_zone == "Asia/Bangkok"
        # Made directly (as the demo seed does), the country's zone still applies.
        s.add(Organisation(code="TZ-RAW", name="Raw", kind="other", country="VN"))
    assert _zone(world, "TZ-RAW") == "Asia/Ho_Chi_Minh"
    me = client.get("/api/v1/me", headers=world.h("officer.kh")).json()
    assert me["time_zone"] == "Asia/Phnom_Penh" and me["own_time_zone"] is None


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_migration_gives_existing_vietnamese_organisations_vietnam_time(kind: str, tmp_path: Path) -> None:
    database = prepared_database(kind, tmp_path)
    url = next(database)
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            for code, country in (("OLD-VN", "VN"), ("OLD-FR", "FR"), ("OLD-US", "US")):
                service.create_organisation(s, OrganisationCreate(code=code, name=code, kind="agency", country=country))
        migrate.downgrade(engine, "0022")  # the organisations as they were before time zones
        with engine.connect() as conn:
            assert "time_zone" not in list(conn.execute(text("SELECT * FROM organisations")).keys())
        migrate.upgrade(engine)
        with unit_of_work(make_sessionmaker(engine)) as s:
            zones = dict(s.execute(select(Organisation.code, Organisation.time_zone)).tuples().all())
            assert zones == {"OLD-VN": "Asia/Ho_Chi_Minh", "OLD-FR": "Europe/Paris", "OLD-US": "UTC"}
            assert s.scalars(select(User.time_zone)).all() == []
    finally:
        engine.dispose()
        database.close()


def test_a_user_chooses_their_own_zone_through_the_api(client: TestClient, world: World) -> None:
    h = world.h("officer.hcm")
    try:
        r = client.patch("/api/v1/me", json={"time_zone": "Asia/Tokyo"}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["time_zone"] == r.json()["own_time_zone"] == "Asia/Tokyo"
        assert client.get("/api/v1/me", headers=h).json()["time_zone"] == "Asia/Tokyo"
        bad = client.patch("/api/v1/me", json={"time_zone": "Asia/Saigonn"}, headers=h)
        assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "time_zone"
        with world.session() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.time_zone")).all()[-1]
            assert entry.object_label == "officer.hcm" and entry.after == {"time_zone": "Asia/Tokyo"}
    finally:
        back = client.patch("/api/v1/me", json={"time_zone": None}, headers=h).json()
    assert back["time_zone"] == "Asia/Ho_Chi_Minh" and back["own_time_zone"] is None


def test_an_administrator_sets_a_units_zone_and_its_head_stays(client: TestClient, world: World) -> None:
    h = world.h("admin")
    try:
        assert client.patch(
            "/api/v1/organisations/VNC-HCM", json={"head_username": "officer.hcm"}, headers=h
        ).is_success
        r = client.patch("/api/v1/organisations/VNC-HCM", json={"time_zone": "Asia/Bangkok"}, headers=h)
        assert r.status_code == 200 and r.json()["time_zone"] == "Asia/Bangkok"
        assert r.json()["head_user_id"] is not None  # a time zone change leaves the head as it is
        assert client.get("/api/v1/me", headers=world.h("officer.hcm")).json()["time_zone"] == "Asia/Bangkok"
        bad = client.patch("/api/v1/organisations/VNC-HCM", json={"time_zone": "Nowhere/Land"}, headers=h)
        assert bad.status_code == 422
        # Only administrators of the unit's own agency.
        assert client.patch(
            "/api/v1/organisations/VNC-HCM", json={"time_zone": "UTC"}, headers=world.h("police")
        ).status_code in (403, 404)
    finally:
        r = client.patch("/api/v1/organisations/VNC-HCM", json={"head_username": None, "time_zone": None}, headers=h)
    assert r.json()["time_zone"] == "Asia/Ho_Chi_Minh"  # null: the country's


def test_pages_show_times_in_the_users_own_zone_and_read_date_times_in_it(client: TestClient, world: World) -> None:
    csrf = login(client, "officer.hcm")
    client.cookies.set("interdict_lang", "vi", domain="testserver.local")
    incident = client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hcm")).json()
    with world.session() as s:
        created = s.scalars(select(Incident.created_at).where(Incident.reference == incident["reference"])).one()
    try:
        page = client.get(f"/incidents/{incident['reference']}").text
        assert format_datetime(created, "vi", "Asia/Ho_Chi_Minh") in page  # the organisation's zone
        assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d \(GMT\+7\)", page) and "14/03/2026" in page
        assert "1.200 L" in page and "98,5" in page  # quantities as Vietnamese writes them
        # The user's own choice, on the account page.
        account = client.get("/account/security").text
        assert 'value="Asia/Tokyo"' in account and "Múi giờ" in account and "Ho Chi Minh (GMT+7)" in account
        r = client.post(
            "/account/time-zone", data={"csrf_token": csrf, "time_zone": "Asia/Tokyo"}, follow_redirects=False
        )
        assert r.status_code == 303
        page = client.get(f"/incidents/{incident['reference']}").text
        assert format_datetime(created, "vi", "Asia/Tokyo") in page and "(GMT+9)" in page
        assert 'data-tz="Asia/Tokyo"' in page and 'data-lang="vi"' in page  # for the scripts
        bad = client.post("/account/time-zone", data={"csrf_token": csrf, "time_zone": "Mars/Base"})
        assert bad.status_code == 422 and 'data-for="time_zone"' in bad.text
        # A date-time field is read in the user's zone: 09:30 in Tokyo is 00:30 UTC.
        form = {
            "csrf_token": csrf,
            "subject": "Vessel due",
            "urgency": "urgent",
            "addressees": "VNC-HP",
            "expected_arrival": "2026-12-08T09:30",
            "tlp": "AMBER",
            "distribution": "unit",
        }
        r = client.post("/alerts/new", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
        ref = r.headers["location"].split("/alerts/")[1].split("?")[0]
        with world.session() as s:
            arrival = s.scalars(select(RapidAlert.expected_arrival).where(RapidAlert.reference == ref)).one()
        assert arrival == datetime.fromisoformat("2026-12-08T00:30:00+00:00")
        assert "08/12/2026 09:30 (GMT+9)" in client.get(f"/alerts/{ref}").text
    finally:
        client.post("/account/time-zone", data={"csrf_token": csrf, "time_zone": ""})
    assert client.get("/api/v1/me", headers=world.h("officer.hcm")).json()["own_time_zone"] is None


def test_an_administrator_sets_a_units_zone_on_the_administration_page(client: TestClient, world: World) -> None:
    csrf = login(client, "admin")
    page = client.get("/admin").text
    assert 'id="unit-time-zone"' in page and "Ho Chi Minh (GMT+7)" in page
    try:
        form = {"csrf_token": csrf, "org_code": "VNC-HP", "time_zone": "Asia/Bangkok"}
        assert client.post("/admin/organisations/time-zone", data=form, follow_redirects=False).status_code == 303
        assert _zone(world, "VNC-HP") == "Asia/Bangkok"
        assert client.get("/api/v1/me", headers=world.h("officer.hp")).json()["time_zone"] == "Asia/Bangkok"
        bad = client.post("/admin/organisations/time-zone", data={**form, "time_zone": "Bangkok"})
        assert bad.status_code == 422 and 'data-for="zone_time_zone"' in bad.text
        other_agency = client.post("/admin/organisations/time-zone", data={**form, "org_code": "KHC"})
        assert other_agency.status_code == 404 and _zone(world, "KHC") == "Asia/Phnom_Penh"
    finally:
        client.post("/admin/organisations/time-zone", data={"csrf_token": csrf, "org_code": "VNC-HP", "time_zone": ""})
    assert _zone(world, "VNC-HP") == "Asia/Ho_Chi_Minh"
