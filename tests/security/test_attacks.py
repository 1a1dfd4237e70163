"""What an attacker tries through the browser and the API: forged forms, script injection in every free-text
field, SQL metacharacters in every filter, and cookies that leak."""

from __future__ import annotations

import html
import re

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import World, minimal_incident
from tests.web.test_pages import login
from tests.web.test_routes import PUBLIC, all_routes

XSS = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def test_every_state_changing_form_refuses_a_forged_request(client: TestClient, world: World) -> None:
    """Logged in, but without the session's CSRF token (as a forged cross-site form would be): refused, 403."""
    inc = client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("admin")).json()
    login(client, "admin")
    checked = 0
    for path, methods, route in all_routes(client.app.routes):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or "POST" not in methods or path.startswith("/api/"):
            continue
        if ("POST", path) in PUBLIC:
            continue  # login steps: no session yet to ride on
        url = re.sub(r"\{[^}]+\}", lambda m: inc["reference"] if m.group(0) == "{ref}" else inc["id"], path)
        for data in ({}, {"csrf_token": "forged"}):
            r = client.post(url, data=data, follow_redirects=False)
            assert r.status_code == 403, (path, data, r.status_code)
        checked += 1
    assert checked >= 15
    # A cookie-authenticated API call needs the X-CSRF-Token header too; a bearer token never uses cookies.
    assert client.post("/api/v1/incidents", json=minimal_incident()).status_code == 403
    assert client.get("/dashboard").status_code == 200  # the session itself was not harmed


def test_script_in_every_free_text_field_is_shown_as_text(client: TestClient, world: World) -> None:
    body = minimal_incident(
        case_reference=XSS[:100],
        place_name=XSS,
        vessel_name=XSS[:120],
        voyage=XSS[:40],
        vehicle_plate=XSS[:40],
        parcel_tracking=XSS[:60],
        goods_description=XSS,
        narrative=XSS,
        containers=[{"number": "CSQU3054383", "seal_numbers": XSS}],
        substances=[{"other_description": XSS, "declared_as": XSS, "quantity": "1", "unit": "kg"}],
        parties=[
            {"role": "consignee", "kind": "company", "name": XSS, "address": XSS},
            {"role": "person_involved", "kind": "person", "name": XSS, "address": XSS},
        ],
    )
    inc = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp"))
    assert inc.status_code == 201, inc.text
    ref = inc.json()["reference"]
    patched = client.patch(
        f"/api/v1/incidents/{ref}", json={"version": 1, "narrative": XSS + " v2"}, headers=world.h("officer.hp")
    )
    assert patched.status_code == 200
    client.post(
        f"/api/v1/incidents/{ref}/attachments",
        files={"file": (f"{XSS}.txt", b"note", "text/plain")},
        data={"description": XSS},
        headers=world.h("officer.hp"),
    )
    login(client, "officer.hp")
    pages = [
        f"/incidents/{ref}",
        f"/incidents/{ref}/edit",
        "/incidents",
        f"/incidents?q={ref}",
        "/dashboard",
    ]
    for path in pages:
        page = client.get(path).text
        # No markup from the payload survives: its "<" always arrives as "&lt;" (or is stripped from file names).
        assert "<script>alert" not in page and "<img src=x" not in page, (path, _around(page, "alert"))
    detail = client.get(f"/incidents/{ref}").text
    assert html.escape(XSS, quote=True)[:40] in detail or "&lt;script&gt;" in detail


def _around(page: str, word: str) -> str:
    i = page.find(word)
    return page[max(0, i - 80) : i + 80]


def test_sql_metacharacters_in_every_filter_never_break_a_query(client: TestClient, world: World) -> None:
    client.post("/api/v1/incidents", json=minimal_incident(submit=True), headers=world.h("officer.hp"))
    h = world.h("officer.hp")
    values = ["' OR 1=1 --", '"; DROP TABLE incidents; --', "%", "_", "\\", "\u0000", "é'’", "x" * 150]
    params = [
        "type", "status", "country", "port", "route_country", "substance", "substance_class", "company",
        "container", "modus", "detection_method", "owner_org", "hs_code", "vessel_imo", "q",
    ]  # fmt: skip
    for param in params:
        for value in values:
            r = client.get("/api/v1/incidents", params={param: value}, headers=h)
            assert r.status_code in (200, 422), (param, value, r.status_code)
            if r.status_code == 200:
                assert r.json()["total"] in (0, 1), (param, value)
                if param != "q" and value in values[:5]:  # a wildcard or an injected OR never widens a filter
                    assert r.json()["total"] == 0, (param, value)
            else:
                assert r.json()["error"]["errors"], (param, value)
    fields = [
        "type", "status", "country", "port", "route_country", "company", "container", "reference", "bl_awb",
        "text", "owner_org", "hs_code", "vessel_imo", "modus", "substance",
    ]  # fmt: skip
    for field in fields:
        for value in values[:5]:
            r = client.post(
                "/api/v1/incidents/search",
                json={
                    "filter": {
                        "all": [
                            {"field": field, "op": "contains" if field in ("company", "text") else "eq", "value": value}
                        ]
                    }
                },
                headers=h,
            )
            assert r.status_code in (200, 422), (field, value, r.status_code, r.text)
    login(client, "officer.hp")
    for value in values:
        assert client.get("/incidents", params={"q": value, "company": value, "port": value}).status_code in (200, 422)
    assert client.get("/api/v1/incidents", headers=h).json()["total"] == 1  # the table is still there


def test_session_cookie_flags_behind_a_tls_proxy(client: TestClient, world: World) -> None:
    r = client.post(
        "/login",
        data={"username": "officer.hp", "password": "correct horse battery staple"},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    page = client.get("/dashboard")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "same-origin"


def test_nul_characters_are_refused_before_anything_reads_them(client: TestClient, world: World) -> None:
    h = world.h("officer.hp")
    r = client.post("/api/v1/incidents", json=minimal_incident(narrative="before\x00after"), headers=h)
    assert r.status_code == 422 and "NUL" in r.json()["error"]["message"]
    assert client.get("/api/v1/incidents", params={"country": "V\x00N"}, headers=h).status_code == 422
    assert client.get("/api/v1/incidents", headers=h).json()["total"] == 0  # nothing half-written
