"""Server-rendered pages without a browser: login, CSRF, forms re-rendered with errors, headers."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, World, minimal_incident


def login_csrf(client: TestClient) -> str:
    """The login form's CSRF token, as a browser gets it: by loading the login page (which sets its cookie)."""
    client.cookies.delete("interdict_session")  # logged in, /login would redirect instead of showing the form
    page = client.get("/login", follow_redirects=False)
    assert page.status_code == 200, page.status_code
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m
    return m.group(1)


def post_login(
    client: TestClient, username: str, password: str, next: str | None = None, **kwargs: Any
) -> httpx.Response:
    """Submit the login form as a browser does (with the token of the login page it was served)."""
    data = {"username": username, "password": password, "csrf_token": login_csrf(client)}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, **kwargs)


def step_csrf(client: TestClient, path: str = "/login/2fa") -> str:
    """The second login step's CSRF token (from its page, reachable with the half-login cookie)."""
    page = client.get(path, follow_redirects=False)
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    return m.group(1) if m else ""


def post_code(client: TestClient, code: str, next: str | None = None, **kwargs: Any) -> httpx.Response:
    """Submit the two-factor step's form with ``code``."""
    data = {"code": code, "csrf_token": step_csrf(client)}
    if next is not None:
        data["next"] = next
    return client.post("/login/2fa", data=data, **kwargs)


def login(client: TestClient, username: str = "officer.hp", password: str = PASSWORD) -> str:
    r = post_login(client, username, password, "/dashboard", follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/dashboard")
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m
    return m.group(1)


def test_pages_need_login_and_come_back_after_it(client: TestClient, world: World) -> None:
    r = client.get("/incidents?type=seizure", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/incidents%3Ftype%3Dseizure"
    r = post_login(client, "officer.hp", PASSWORD, "/incidents?type=seizure", follow_redirects=False)
    assert r.headers["location"] == "/incidents?type=seizure"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_login_failure_does_not_say_which_part_was_wrong(client: TestClient, world: World) -> None:
    wrong_pw = post_login(client, "officer.hp", "nope")
    no_user = post_login(client, "nobody.at.all", "nope")
    assert wrong_pw.status_code == no_user.status_code == 401
    assert "Wrong username or password" in wrong_pw.text and "Wrong username or password" in no_user.text


def test_open_redirect_is_refused(client: TestClient, world: World) -> None:
    r = post_login(client, "officer.hp", PASSWORD, "//evil.example/x", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_forms_without_the_csrf_token_are_refused(client: TestClient, world: World) -> None:
    token = login(client)
    form = {"incident_type": "seizure", "incident_date": "2026-01-05", "country": "VN", "action": "draft"}
    assert client.post("/incidents/new", data=form).status_code == 403
    assert client.post("/incidents/new", data={**form, "csrf_token": "forged"}).status_code == 403
    ok = client.post("/incidents/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/incidents/VNC-HP-2026-")
    # The JSON API used with the session cookie needs the token in a header for writes.
    r = client.post("/api/v1/incidents", json=minimal_incident())
    assert r.status_code == 403
    r = client.post("/api/v1/incidents", json=minimal_incident(), headers={"X-CSRF-Token": token})
    assert r.status_code == 201


def test_form_with_errors_is_shown_again_with_messages_and_values(client: TestClient, world: World) -> None:
    token = login(client)
    form = {
        "csrf_token": token,
        "incident_type": "seizure",
        "incident_date": "2026-01-05",
        "country": "VN",
        "substances-0-substance": "unobtainium",
        "substances-0-quantity": "5",
        "substances-0-unit": "kg",
        "containers-0-number": "CSQU3054384",
        "narrative": "keep <this> text",
        "action": "submit",
    }
    r = client.post("/incidents/new", data=form)
    assert r.status_code == 422
    assert 'data-for="containers-0-number"' in r.text and "expected 3" in r.text
    assert "keep &lt;this&gt; text" in r.text  # kept and escaped
    assert 'value="unobtainium"' in r.text
    # The reference data checks speak in the same answer as the format errors, and again once the format is right.
    assert 'data-for="substances-0-substance"' in r.text and "unknown substance" in r.text
    r = client.post("/incidents/new", data={**form, "containers-0-number": "CSQU3054383"})
    assert r.status_code == 422
    assert 'data-for="substances-0-substance"' in r.text and "unknown substance" in r.text
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0


def test_create_edit_and_history_through_forms(client: TestClient, world: World) -> None:
    token = login(client)
    form = {
        "csrf_token": token,
        "incident_type": "stopped_shipment",
        "incident_date": "2026-02-01",
        "country": "VN",
        "locode": "VNCLI",
        "substances-0-substance": "BMK",
        "substances-0-quantity": "1500",
        "substances-0-unit": "kg",
        "containers-0-number": "CSQU3054383",
        "containers-1-number": "",
        "parties-0-role": "consignee",
        "parties-0-kind": "company",
        "parties-0-name": "CÔNG TY TNHH XNK HOÀNG PHÁT",
        "modus": ["misdeclaration-goods"],
        "action": "submit",
    }
    r = client.post("/incidents/new", data=form, follow_redirects=False)
    assert r.status_code == 303
    ref = r.headers["location"].split("/incidents/")[1].split("?")[0]
    page = client.get(f"/incidents/{ref}")
    assert "1-Phenyl-2-propanone" in page.text and "CSQU3054383" in page.text and "Submitted" in page.text
    edit = client.get(f"/incidents/{ref}/edit")
    assert 'value="1500"' in edit.text
    version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        f"/incidents/{ref}/edit",
        data={**form, "version": version, "substances-0-quantity": "1750", "substances-0-substance": ""},
        follow_redirects=False,
    )
    assert r.status_code == 422  # the substance was cleared: the line needs one
    r = client.post(
        f"/incidents/{ref}/edit",
        data={**form, "version": version, "substances-0-quantity": "1750"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/incidents/{ref}")
    history = page.text[page.text.index('id="history"') :]
    assert "v2" in history and "1500" in history and "1750" in history and "1.5E" not in history
    # A second save with the old version is a conflict, shown on the form.
    r = client.post(f"/incidents/{ref}/edit", data={**form, "version": version, "narrative": "late"})
    assert r.status_code == 409 and "changed since you opened it" in r.text


def test_unknown_port_is_noted_on_the_incident_page(client: TestClient, world: World) -> None:
    # BNMUA (Muara, Brunei) is a real UN/LOCODE that no shipped source has.
    body = minimal_incident(departure_country="BN", departure_locode="BNMUA")
    inc = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp")).json()
    login(client)
    page = client.get(f"/incidents/{inc['reference']}")
    assert 'id="notes"' in page.text and "BNMUA is not in the reference list" in page.text


def test_pages_have_an_icon_served_by_interdict(client: TestClient, world: World) -> None:
    m = re.search(r'<link rel="icon" href="([^"]+)"', client.get("/login").text)
    assert m and m.group(1).startswith("/static/")
    icon = client.get(m.group(1))
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_security_headers(client: TestClient, world: World) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # no inline scripts


def test_language_switch(client: TestClient, world: World) -> None:
    client.get("/lang/vi?next=/login")
    r = client.get("/login")
    assert '<html lang="vi">' in r.text and "Đăng nhập" in r.text
    client.get("/lang/en?next=/login")
    assert "Log in to Interdict" in client.get("/login").text


def test_a_signed_in_users_language_switch_is_remembered_in_later_sessions(client: TestClient, world: World) -> None:
    csrf = login(client)
    try:
        r = client.post("/lang/vi?next=/dashboard", data={"csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        client.cookies.clear()  # another browser, or the next day's session
        login(client)
        page = client.get("/dashboard")
        assert '<html lang="vi">' in page.text and "Đăng xuất" in page.text
        # Without the form's token (a link from another site), nothing changes.
        assert client.post("/lang/en", data={}, follow_redirects=False).status_code == 403
        client.cookies.clear()
        login(client)
        assert '<html lang="vi">' in client.get("/dashboard").text
    finally:
        csrf = login(client)
        client.post("/lang/en", data={"csrf_token": csrf}, follow_redirects=False)
    client.cookies.clear()
    login(client)
    assert '<html lang="en">' in client.get("/dashboard").text


def test_list_page_filters_and_pagination(client: TestClient, world: World) -> None:
    for _ in range(3):
        client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hp"))
    login(client)
    page = client.get("/incidents", params={"container": "CSQU3054383"})
    assert "3 incidents" in page.text
    bad = client.get("/incidents", params={"substance": "unobtainium"})
    assert bad.status_code == 200 and "unknown substance" in bad.text


def test_attachments_upload_type_sniffing_and_download(client: TestClient, world: World) -> None:
    inc = client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hp")).json()
    h = world.h("officer.hp")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/attachments",
        headers=h,
        files={"file": ("../../etc/passwd<photo>.png", png, "image/png")},
    )
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["content_type"] == "image/png" and att["filename"] == "passwd_photo_.png"
    disguised = client.post(
        f"/api/v1/incidents/{inc['id']}/attachments",
        headers=h,
        files={"file": ("report.pdf", b"MZ\x90\x00 this is an exe", "application/pdf")},
    )
    assert disguised.status_code == 422 and "not accepted" in disguised.json()["error"]["message"]
    html = client.post(
        f"/api/v1/incidents/{inc['id']}/attachments",
        headers=h,
        files={"file": ("x.txt", b"<script>alert(1)</script>", "text/html")},
    )
    assert html.status_code == 201 and html.json()["content_type"] == "text/plain"
    dl = client.get(f"/api/v1/attachments/{att['id']}", headers=h)
    assert dl.content == png and dl.headers["content-type"] == "image/png"
    assert (
        dl.headers["content-disposition"].startswith("attachment") and dl.headers["x-content-type-options"] == "nosniff"
    )
    history = client.get(f"/api/v1/incidents/{inc['id']}/history", headers=h).json()
    assert history[0]["changes"][0]["field"] == "attachments"
    # Someone who cannot read the incident cannot fetch its files either, and learns nothing.
    assert client.get(f"/api/v1/attachments/{att['id']}", headers=world.h("officer.kh")).status_code == 404


def test_oversized_upload_is_refused(client: TestClient, world: World) -> None:
    inc = client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hp")).json()
    limit = client.app.state.settings.max_upload_bytes  # type: ignore[attr-defined]
    big = b"%PDF-1.4\n" + b"0" * limit
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/attachments",
        headers=world.h("officer.hp"),
        files={"file": ("big.pdf", big, "application/pdf")},
    )
    assert r.status_code == 413
    assert client.get(f"/api/v1/incidents/{inc['id']}/attachments", headers=world.h("officer.hp")).json() == []


def test_bodies_far_over_the_limit_are_refused_before_reading(client: TestClient, world: World) -> None:
    inc = client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hp")).json()
    limit = client.app.state.settings.max_upload_bytes  # type: ignore[attr-defined]
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/attachments",
        headers=world.h("officer.hp"),
        files={"file": ("huge.pdf", b"%PDF-1.4\n" + b"0" * (limit + 2 * 1024 * 1024), "application/pdf")},
    )
    assert r.status_code == 413
