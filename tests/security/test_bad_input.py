"""Bad input is a 4xx naming the field and the reason, never a server error (issue 16 review): filters over the
documented limits, control characters in free text (and stored ones in exports), and null where a partial update
may only leave a field out."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from interdict.core import filters
from interdict.incidents.models import Incident
from interdict.notices.models import WarningNotice
from interdict.targeting.models import RiskProfile
from interdict.watch.models import WatchRule
from interdict.watch.service import reset_books, rule_book
from tests.conftest import World, minimal_incident
from tests.notices.conftest import notice_body
from tests.targeting.workflow_data import GOOD, load, write


@pytest.fixture
def api(client: TestClient) -> Iterator[TestClient]:
    """The client, answering a server error as a 500 instead of raising it in the test."""
    with TestClient(client.app, base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


def _fields(r: Any) -> dict[str, str]:
    return {e["field"]: e["msg"] for e in r.json()["error"]["errors"]}


def _text_conditions(n: int) -> list[dict[str, Any]]:
    return [{"field": "text", "op": "contains", "value": f"word{i}"} for i in range(n)]


def test_a_filter_over_the_limits_is_refused_naming_the_limit(api: TestClient, world: World) -> None:
    h = world.h("analyst")
    # 500 text conditions in one "any": SQLite's expression tree was too deep (a 500).
    too_many = {"any": _text_conditions(500)}
    r = api.post("/api/v1/incidents/search", json={"filter": too_many}, headers=h)
    assert r.status_code == 422, r.text
    assert "at most 100 conditions" in _fields(r)["filter"]
    # The limit itself works on both databases.
    r = api.post("/api/v1/incidents/search", json={"filter": {"any": _text_conditions(100)}}, headers=h)
    assert r.status_code == 200, r.text
    # The same language, the same limits: watch rules and risk profiles.
    r = api.post("/api/v1/watch/rules", json={"name": "too big", "filter": too_many}, headers=h)
    assert r.status_code == 422 and "at most 100 conditions" in _fields(r)["filter"]
    r = api.post(
        "/api/v1/targeting/profiles",
        json={"name": "too big", "criteria": too_many, "weight": 0.5, "rationale": "r"},
        headers=h,
    )
    assert r.status_code == 422 and "at most 100 conditions" in _fields(r)["criteria"]
    # Depth, values per list, in all, and the length of one value.
    deep: dict[str, Any] = {"field": "text", "op": "contains", "value": "x"}
    for _ in range(filters.MAX_DEPTH):
        deep = {"not": deep}
    r = api.post("/api/v1/incidents/search", json={"filter": {"all": [deep]}}, headers=h)
    assert r.status_code == 422 and "10 levels" in _fields(r)["filter"]
    many = [f"C{i:03d}" for i in range(251)]
    r = api.post(
        "/api/v1/incidents/search",
        json={"filter": {"all": [{"field": "country", "op": "in", "value": many}]}},
        headers=h,
    )
    assert r.status_code == 422 and "at most 250 values" in _fields(r)["filter.all[0].value"]
    in_all = [{"field": "country", "op": "in", "value": many[:200]} for _ in range(6)]
    r = api.post("/api/v1/incidents/search", json={"filter": {"all": in_all}}, headers=h)
    assert r.status_code == 422 and "1000 values in all" in _fields(r)["filter"]
    long = {"all": [{"field": "text", "op": "contains", "value": "x" * 501}]}
    r = api.post("/api/v1/incidents/search", json={"filter": long}, headers=h)
    assert r.status_code == 422 and "500 characters" in _fields(r)["filter.all[0].value"]
    nested = {"all": [{"field": "text", "op": "contains", "value": {"$ne": 1}}]}
    r = api.post("/api/v1/incidents/search", json={"filter": nested}, headers=h)
    assert r.status_code == 422 and "filter.all[0].value" in _fields(r)
    # Query parameters are conditions too: the parameter is named.
    r = api.get("/api/v1/incidents", params={"country": many}, headers=h)
    assert r.status_code == 422 and "at most 250 values" in _fields(r)["country"]


def test_a_watch_rule_stored_before_the_limits_still_fires(api: TestClient, world: World) -> None:
    """Limits apply to what is written; a rule already stored with more conditions is read back as it is."""
    r = api.post(
        "/api/v1/watch/rules",
        json={"name": "old", "filter": {"field": "text", "op": "contains", "value": "x"}},
        headers=world.h("analyst"),
    )
    assert r.status_code == 201, r.text
    with world.session() as s:
        s.execute(update(WatchRule).values(filter={"any": _text_conditions(150)}))
    reset_books()
    with world.session() as s:
        assert rule_book(s).size == 1


def test_control_characters_are_refused_naming_the_field(api: TestClient, world: World) -> None:
    h = world.h("analyst")
    for title in ("Cảnh báo\x0bmới", "Cảnh báo\x01mới"):
        r = api.post("/api/v1/notices", json=notice_body(title=title), headers=h)
        assert r.status_code == 422, r.text
        assert set(_fields(r)) == {"title"} and "control character" in _fields(r)["title"]
    r = api.post("/api/v1/notices", json=notice_body(body="Đoạn một\x0c\n\nĐoạn hai"), headers=h)
    assert r.status_code == 422 and set(_fields(r)) == {"body"}
    # Tabs and line breaks are text; in a single line they become spaces.
    r = api.post("/api/v1/notices", json=notice_body(title="Cảnh báo\tmới\r\n", body="Một\tdòng\r\n\r\nHai"), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Cảnh báo mới" and r.json()["body"].replace("\r", "") == "Một\tdòng\n\nHai"
    # Everywhere: nested fields of an incident, and a lone surrogate (a 500 when the database met it).
    body = minimal_incident(parties=[{"role": "consignee", "kind": "company", "name": "ACME\x1b[31m"}])
    r = api.post("/api/v1/incidents", json=body, headers=world.h("officer.hp"))
    assert r.status_code == 422 and set(_fields(r)) == {"parties[0].name"}
    raw = json.dumps(minimal_incident(narrative="NARRATIVE")).replace("NARRATIVE", "before \\ud800 after")
    r = api.post(
        "/api/v1/incidents",
        content=raw,
        headers={**world.h("officer.hp"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and set(_fields(r)) == {"narrative"}
    assert api.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0  # nothing half-written


def test_exports_survive_control_characters_stored_before_they_were_refused(api: TestClient, world: World) -> None:
    """A notice title and an incident narrative written before the check (here: straight into the database)
    still export: the DOCX and XLSX writers leave out what XML cannot hold."""
    h = world.h("analyst")
    n = api.post("/api/v1/notices", json=notice_body(), headers=h).json()
    inc = api.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hp")).json()
    with world.session() as s:
        s.execute(update(WarningNotice).values(title="Cảnh báo\x0b\x01 mới", body="Đoạn\x02 một"))
        s.execute(update(Incident).values(narrative="Tường thuật\x0b có ký tự điều khiển"))
    r = api.get(f"/api/v1/notices/{n['id']}/export.docx", headers=h)
    assert r.status_code == 200, r.text
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs)
    assert "Cảnh báo mới" in text and "Đoạn một" in text
    r = api.get("/api/v1/incidents/export", params={"format": "xlsx"}, headers=world.h("officer.hp"))
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert "Tường thuật có ký tự điều khiển" in cells and inc["reference"] in cells


def test_null_on_a_field_a_patch_may_only_leave_out_is_refused(api: TestClient, world: World) -> None:
    h = world.h("analyst")
    criteria = {"all": [{"field": "hs_code", "op": "eq", "value": "29"}]}
    p = api.post(
        "/api/v1/targeting/profiles",
        json={"name": "precursors", "criteria": criteria, "weight": 0.5, "rationale": "why"},
        headers=h,
    ).json()
    for field in ("criteria", "name", "rationale", "active"):
        r = api.patch(f"/api/v1/targeting/profiles/{p['id']}", json={field: None}, headers=h)
        assert r.status_code == 422, (field, r.status_code, r.text)
        assert set(_fields(r)) == {field}, r.text
    # Null where it means something: no lane (the weight remains).
    r = api.patch(f"/api/v1/targeting/profiles/{p['id']}", json={"lane": None, "name": " renamed "}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    with world.session() as s:
        stored = s.get(RiskProfile, uuid.UUID(p["id"]))
        assert stored is not None and stored.criteria == criteria and stored.active and stored.rationale == "why"
    rule = api.post(
        "/api/v1/watch/rules",
        json={"name": "r", "filter": {"field": "text", "op": "contains", "value": "x"}},
        headers=h,
    ).json()
    for field in ("name", "filter", "urgency", "active"):
        r = api.patch(f"/api/v1/watch/rules/{rule['id']}", json={field: None}, headers=h)
        assert r.status_code == 422 and set(_fields(r)) == {field}, (field, r.text)
    assert api.get(f"/api/v1/watch/rules/{rule['id']}", headers=h).json()["name"] == "r"


def test_worklist_filters_name_the_parameter(api: TestClient, world: World, tmp_path: Path) -> None:
    """The targeting worklist's query parameters are conditions of the filter language: a value over its limits
    is a 422 naming that parameter (not a 500 from the limits, nor a search for it), and an error names the right
    parameter when others are absent."""
    batch = load(world, write(tmp_path / "m.csv", GOOD))["batch_id"]
    url = f"/api/v1/targeting/batches/{batch}/records"
    h = world.h("officer.hp")
    r = api.get(url, params={"party": "x" * 501}, headers=h)
    assert r.status_code == 422 and set(_fields(r)) == {"party"}, r.text
    r = api.get(url, params={"text": "ab\x0bcd"}, headers=h)
    assert r.status_code == 422 and set(_fields(r)) == {"text"}, r.text
    r = api.get(url, params={"hs": "not an HS code", "text": "solvent"}, headers=h)
    assert r.status_code == 422 and set(_fields(r)) == {"hs"}, r.text
    r = api.get(url, params={"origin": "CN", "party": "x" * 501}, headers=h)
    assert r.status_code == 422 and set(_fields(r)) == {"party"}, r.text
    assert api.get(url, params={"party": "CÔNG TY"}, headers=h).status_code == 200
