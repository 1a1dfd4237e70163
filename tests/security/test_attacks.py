"""What an attacker tries through the browser and the API: forged forms, script injection in every free-text
field, SQL metacharacters in every filter, and cookies that leak."""

from __future__ import annotations

import html
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.accounts.models import LoginThrottle
from interdict.accounts.schemas import UserCreate
from interdict.accounts.service import create_user
from interdict.app import create_app
from interdict.audit.models import AuditEntry
from interdict.config import Settings
from interdict.core.db import unit_of_work
from tests.accounts.test_hardening import _enable_2fa
from tests.conftest import PASSWORD, World, minimal_incident
from tests.web.test_pages import login, post_code, post_login
from tests.web.test_routes import PUBLIC, all_routes


def last_seq_of(app: FastAPI) -> int:
    with unit_of_work(app.state.sessionmaker) as s:
        return int(s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0)


def entries_after(app: FastAPI, seq: int) -> list[AuditEntry]:
    with unit_of_work(app.state.sessionmaker) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)))
        s.expunge_all()
        return rows


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


@pytest.fixture
def proxied(database_url: str, tmp_path: Path, client: TestClient) -> Iterator[FastAPI]:
    """The application behind a reverse proxy at 10.0.0.0/8 (INTERDICT_TRUSTED_PROXIES), on the tests' database."""
    application = create_app(
        Settings(
            database_url=database_url,
            data_dir=tmp_path,
            secret_key="test-secret-key",
            trusted_proxies="10.0.0.0/8, 2001:db8:10::/48",
            linkage_worker=False,
            watch_worker=False,
            notices_worker=False,
            alerts_worker=False,
            delivery_worker=False,
        )
    )
    yield application
    application.state.engine.dispose()


def test_session_cookie_flags_behind_a_tls_proxy(proxied: FastAPI, world: World) -> None:
    behind_proxy = TestClient(proxied, client=("10.0.0.2", 40000))
    r = post_login(behind_proxy, "officer.hp", PASSWORD, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    page = behind_proxy.get("/dashboard")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "same-origin"


def _failed_login_from(c: TestClient, username: str, **kwargs: Any) -> tuple[str | None, str]:
    """Fail a login; the client address the audit trail recorded for it, and the Set-Cookie header."""
    mark = last_seq_of(c.app)  # type: ignore[arg-type]
    r = post_login(c, username, "not the password", **kwargs)
    assert r.status_code == 401
    [entry] = [e for e in entries_after(c.app, mark) if e.action == "auth.login_failed"]  # type: ignore[arg-type]
    return entry.ip, r.headers.get("set-cookie", "")


def test_forwarded_headers_are_believed_only_from_trusted_proxies(proxied: FastAPI, world: World) -> None:
    """X-Forwarded-For decides the client address (per-address lockout, audit trail) and X-Forwarded-Proto the
    Secure cookie flag, so they are believed only from the configured proxies; from anyone else they are
    ignored, and nobody can hide behind a made-up address."""
    spoof = {"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "https"}
    direct = TestClient(proxied, client=("198.51.100.7", 50000))  # not a proxy: its headers mean nothing
    ip, cookie = _failed_login_from(direct, "officer.hp", headers=spoof)
    assert ip == "198.51.100.7" and "secure" not in cookie.lower()
    proxy = TestClient(proxied, client=("10.0.0.2", 40000))  # the agency's proxy appends the address it saw
    chained = {"X-Forwarded-For": "203.0.113.66, 192.0.2.44, 10.0.0.9", "X-Forwarded-Proto": "https"}
    ip, cookie = _failed_login_from(proxy, "officer.hp", headers=chained)
    assert ip == "192.0.2.44" and "secure" in cookie.lower()  # the first hop not a trusted proxy; the rest is a claim
    v6 = TestClient(proxied, client=("2001:db8:10::1", 40000))
    assert (
        _failed_login_from(v6, "officer.hp", headers={"X-Forwarded-For": "[2001:db8:99::5]:5678"})[0]
        == "2001:db8:99::5"
    )
    with unit_of_work(proxied.state.sessionmaker) as s:
        keys = set(s.scalars(select(LoginThrottle.key)))
    assert {"address:198.51.100.7", "address:192.0.2.44", "address:2001:db8:99::5"} <= keys
    assert not any("203.0.113.66" in k or k == "address:10.0.0.2" for k in keys)


def test_interdict_serve_leaves_forwarded_headers_to_the_application(
    app: FastAPI, client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uvicorn as `interdict serve` starts it: a local peer's X-Forwarded-For is not believed (uvicorn's own
    proxy handling trusted 127.0.0.1 by default, so anything on the host could choose its address)."""
    import uvicorn
    from typer.testing import CliRunner

    from interdict import cli

    options: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: options.update(kwargs))
    monkeypatch.setattr(cli, "prepare_database", lambda settings: None)
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    assert CliRunner().invoke(cli.app, ["serve"]).exit_code == 0
    for key in ("factory", "host", "port", "workers"):
        options.pop(key, None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                if server.started:
                    break
                time.sleep(0.02)
            page = http.get("/login")
            found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            token = found.group(1) if found else ""
            mark = last_seq_of(app)
            r = http.post(
                "/login",
                data={"username": "officer.hp", "password": "not the password", "csrf_token": token},
                headers={"X-Forwarded-For": "203.0.113.66"},
            )
            assert r.status_code == 401
    finally:
        server.should_exit = True
        thread.join(10)
    [entry] = [e for e in entries_after(app, mark) if e.action == "auth.login_failed"]
    assert entry.ip == "127.0.0.1"


def test_a_forged_cross_site_login_is_refused(client: TestClient, world: World) -> None:
    """Login CSRF: a page on another site posting the login form (to log the victim's browser into an account the
    attacker controls) has neither this browser's login cookie nor the token of its form: refused, nothing
    checked or counted, no session; the same holds for the two-factor step."""
    mark = last_seq_of(client.app)  # type: ignore[arg-type]
    form = {"username": "officer.hp", "password": PASSWORD, "next": "/dashboard"}
    r = client.post("/login", data=form, follow_redirects=False)  # no cookie, no token
    assert r.status_code == 403 and "did not come from this site" in r.text
    assert "interdict_session" not in r.headers.get("set-cookie", "")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    for bad in ({"csrf_token": "forged"}, {}):  # the cookie, but not the page's token
        assert client.post("/login", data={**form, **bad}, follow_redirects=False).status_code == 403
    other_browser = TestClient(client.app)  # a token seen in one browser is no good in another
    assert other_browser.post("/login", data={**form, "csrf_token": token}, follow_redirects=False).status_code == 403
    _token, issued, signature = client.cookies["interdict_login_csrf"].split(".")
    forger = TestClient(client.app, cookies={"interdict_login_csrf": f"{'x' * 43}.{issued}.{signature}"})
    assert forger.post("/login", data={**form, "csrf_token": "x" * 43}, follow_redirects=False).status_code == 403
    refusals = [e for e in entries_after(client.app, mark) if e.action == "auth.login_failed"]  # type: ignore[arg-type]
    assert len(refusals) == 5 and all("CSRF" in e.summary for e in refusals)
    assert all(e.actor_user_id and e.actor_org_id for e in refusals)  # the account's auditors see them, no others
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        assert s.get(LoginThrottle, "account:officer.hp") is None  # a forged post counts toward no lockout
    r = post_login(client, "officer.hp", PASSWORD, "/dashboard", follow_redirects=False)
    assert r.status_code == 303 and client.get("/dashboard").status_code == 200
    # The two-factor step: its form carries the half-login's token.
    client.cookies.clear()
    name = f"c{uuid.uuid4().hex[:10]}"
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        create_user(
            s, UserCreate(username=name, full_name="Csrf User", role="officer", org_code="VNC-HP", password=PASSWORD)
        )
    totp, _codes = _enable_2fa(client, name)
    assert post_login(client, name, PASSWORD, follow_redirects=False).headers["location"].startswith("/login/2fa")
    code = totp.at(time.time() + 30)
    for bad in ({"csrf_token": "forged"}, {}):
        assert client.post("/login/2fa", data={"code": code, **bad}, follow_redirects=False).status_code == 403
    assert post_code(client, code, follow_redirects=False).status_code == 303


def test_nul_characters_are_refused_before_anything_reads_them(client: TestClient, world: World) -> None:
    h = world.h("officer.hp")
    r = client.post("/api/v1/incidents", json=minimal_incident(narrative="before\x00after"), headers=h)
    assert r.status_code == 422 and "NUL" in r.json()["error"]["message"]
    assert client.get("/api/v1/incidents", params={"country": "V\x00N"}, headers=h).status_code == 422
    assert client.get("/api/v1/incidents", headers=h).json()["total"] == 0  # nothing half-written
