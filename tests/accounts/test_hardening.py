"""Authentication hardening: password policy, brute-force lockout without user enumeration, two-factor
authentication with recovery codes and per-organisation enforcement, ending sessions."""

from __future__ import annotations

import re
import time
import uuid

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from interdict.accounts import mfa
from interdict.accounts import service as accounts
from interdict.accounts.models import LoginThrottle, Organisation, User
from interdict.accounts.schemas import OrganisationCreate, UserCreate
from interdict.core import security
from interdict.core.clock import utcnow
from tests.conftest import PASSWORD, World
from tests.web.test_pages import login

FAILED = "too many attempts"


def new_user(world: World, org: str = "VNC-HCM") -> str:
    name = f"u{uuid.uuid4().hex[:10]}"
    with world.session() as s:
        accounts.create_user(
            s, UserCreate(username=name, full_name="Test User", role="officer", org_code=org, password=PASSWORD)
        )
    return name


def attempt(client: TestClient, username: str, password: str) -> tuple[int, str]:
    r = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    text = re.sub(r'value="[^"]*"', "", r.text)  # the form echoes the username typed
    return r.status_code, text


def test_password_policy_names_the_field_and_the_reason(client: TestClient, world: World) -> None:
    cases = {
        "short1!": "at least 12 characters",
        "Password123!": "too easy to guess",
        "aaaaaaaaaaaaaaaa": "too repetitive",
        "weak.user.2026-strong": "must not contain the username",
    }
    for password, reason in cases.items():
        r = client.post(
            "/api/v1/users",
            json={
                "username": "weak.user",
                "full_name": "Weak User",
                "role": "viewer",
                "org_code": "VNC-ASID",
                "password": password,
            },
            headers=world.h("admin"),
        )
        assert r.status_code == 422, password
        err = r.json()["error"]["errors"][0]
        assert err["field"] == "password" and reason in err["msg"], (password, err)


def test_lockout_per_account_and_the_same_answer_for_unknown_names(client: TestClient, world: World) -> None:
    name = new_user(world)
    answers = [attempt(client, name, "not the password at all") for _ in range(5)]
    unknown = [attempt(client, "no.such.user.x", "not the password at all") for _ in range(5)]
    assert answers == unknown  # same status and page: nothing tells which accounts exist
    assert all(code == 401 and FAILED in text for code, text in answers)
    # Locked now: even the right password is refused, with the same answer.
    assert attempt(client, name, PASSWORD) == answers[0]
    assert attempt(client, "officer.hcm", PASSWORD)[0] == 303  # other accounts are not affected
    with world.session() as s:  # the lock expires
        s.execute(update(LoginThrottle).values(locked_until=utcnow()))
    assert attempt(client, name, PASSWORD)[0] == 303


def test_lockout_per_address(client: TestClient, world: World) -> None:
    for i in range(20):
        attempt(client, f"spray{i}", "Summer2026!")
    assert attempt(client, "officer.hcm", PASSWORD)[0] == 401  # this address is throttled for every account


def _enable_2fa(client: TestClient, name: str) -> tuple[pyotp.TOTP, list[str]]:
    login(client, name)
    page = client.get("/account/2fa/setup").text
    assert "<svg" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    r = client.post(
        "/account/2fa/setup", data={"csrf_token": csrf, "code": "000000" if totp.now() != "000000" else "111111"}
    )
    assert r.status_code == 422
    r = client.post("/account/2fa/setup", data={"csrf_token": csrf, "code": totp.now()})
    assert r.status_code == 200
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", r.text)
    assert len(codes) == 10
    client.cookies.clear()
    return totp, codes


def _password_step(client: TestClient, name: str) -> str:
    r = client.post(
        "/login", data={"username": name, "password": PASSWORD, "next": "/incidents"}, follow_redirects=False
    )
    assert r.status_code == 303
    return str(r.headers["location"])


def test_two_factor_login_with_code_and_single_use_recovery_codes(client: TestClient, world: World) -> None:
    name = new_user(world)
    totp, codes = _enable_2fa(client, name)
    assert _password_step(client, name).startswith("/login/2fa")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303  # the half-login grants nothing
    r = client.post("/login/2fa", data={"code": "123456" if totp.now() != "123456" else "654321", "next": "/incidents"})
    assert r.status_code == 401
    assert client.post("/login/2fa", data={"code": totp.now()}).status_code == 401  # used at enrolment: no replay
    code = totp.at(time.time() + 30)  # the next step's code (one step of clock drift is accepted)
    r = client.post("/login/2fa", data={"code": code, "next": "/incidents"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/incidents"
    assert client.get("/dashboard").status_code == 200
    client.cookies.clear()
    _password_step(client, name)
    assert client.post("/login/2fa", data={"code": code}).status_code == 401  # the same code never works twice
    client.cookies.clear()
    _password_step(client, name)
    assert client.post("/login/2fa", data={"code": codes[0]}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    _password_step(client, name)
    assert client.post("/login/2fa", data={"code": codes[0]}).status_code == 401  # recovery codes are single-use
    # API tokens are machine credentials: unaffected by 2FA.
    with world.session() as s:
        user = accounts.get_user_by_username(s, name)
        assert user is not None and user.totp_secret and totp.secret not in user.totp_secret  # sealed
        assert mfa.secret(user, pepper=client.app.state.pepper) == totp.secret  # type: ignore[attr-defined]


def test_totp_secrets_are_sealed_with_the_server_key_and_fail_closed_without_it(
    app: FastAPI, client: TestClient, world: World
) -> None:
    """A copy of the database alone gives no one the codes: the secret is sealed with the server's key. A secret
    that key cannot open (another key, or an edited value) passes no code; one stored in clear before sealing
    existed is sealed when the application starts, and its codes still work."""
    pepper = app.state.pepper
    name = new_user(world)
    totp, _codes = _enable_2fa(client, name)
    with world.session() as s:
        user = accounts.get_user_by_username(s, name)
        assert user is not None and user.totp_secret is not None
        stored = user.totp_secret
        assert stored.startswith(security.SEALED_PREFIX) and totp.secret not in stored
        with pytest.raises(security.Unsealable):
            security.unseal(stored, "another server key", purpose=mfa.PURPOSE)
        assert not mfa.verify_code(user, totp.at(time.time() + 30), pepper="another server key")
        flipped = stored[:-3] + ("A" if stored[-3] != "A" else "B") + stored[-2:]
        user.totp_secret = flipped
        assert mfa.secret(user, pepper=pepper) is None
        assert not mfa.verify_code(user, totp.at(time.time() + 30), pepper=pepper)
        # As stored before sealing: in clear.
        s.execute(update(User).where(User.username == name).values(totp_secret=totp.secret, totp_last_step=None))
    with TestClient(app):  # the application starts: secrets in clear are sealed
        pass
    with world.session() as s:
        user = accounts.get_user_by_username(s, name)
        assert user is not None and user.totp_secret is not None and user.totp_secret.startswith("v1.")
        assert mfa.secret(user, pepper=pepper) == totp.secret
    client.cookies.clear()
    assert _password_step(client, name).startswith("/login/2fa")
    r = client.post(
        "/login/2fa", data={"code": totp.at(time.time() + 30), "next": "/incidents"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/incidents"


def test_organisation_can_require_two_factor(client: TestClient, world: World) -> None:
    code = f"VNC-2FA-{uuid.uuid4().hex[:4]}"
    with world.session() as s:
        accounts.create_organisation(
            s, OrganisationCreate(code=code, name="2FA unit", kind="pcu", country="VN", parent_code="VNC")
        )
    name = new_user(world, org=code)
    csrf = login(client, "admin")
    r = client.post(
        f"/admin/organisations/{code}/require-2fa", data={"csrf_token": csrf, "require": "on"}, follow_redirects=False
    )
    assert r.status_code == 303
    client.cookies.clear()
    assert _password_step(client, name).startswith("/login/2fa/setup")
    assert client.get("/incidents", follow_redirects=False).headers["location"].startswith("/login")
    page = client.get("/login/2fa/setup").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    r = client.post("/login/2fa/setup", data={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200 and "recovery-codes" in r.text
    assert client.get("/dashboard").status_code == 200
    # Required by the organisation: the user cannot turn it off.
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account/security").text).group(1)  # type: ignore[union-attr]
    assert client.post("/account/2fa/disable", data={"csrf_token": csrf, "password": PASSWORD}).status_code == 403
    with world.session() as s:
        s.execute(update(Organisation).where(Organisation.code == code).values(require_2fa=False))


def test_password_change_and_logout_everywhere_end_other_sessions(app: object, world: World) -> None:
    name = new_user(world)
    with TestClient(app) as a, TestClient(app) as b:  # type: ignore[arg-type]
        csrf_a = login(a, name)
        login(b, name)
        r = a.post("/account/password", data={"csrf_token": csrf_a, "current_password": "wrong", "new_password": "x"})
        assert r.status_code == 422 and "current password is wrong" in r.text
        r = a.post(
            "/account/password",
            data={"csrf_token": csrf_a, "current_password": PASSWORD, "new_password": "Password123!"},
        )
        assert r.status_code == 422 and "too easy to guess" in r.text
        new = "rivers of Mekong carry 9 lanterns"
        r = a.post(
            "/account/password",
            data={"csrf_token": csrf_a, "current_password": PASSWORD, "new_password": new},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert a.get("/dashboard", follow_redirects=False).status_code == 200  # this session stays
        assert b.get("/dashboard", follow_redirects=False).status_code == 303  # the other one ended
        csrf_b = login(b, name, new)
        r = b.post("/account/logout-everywhere", data={"csrf_token": csrf_b}, follow_redirects=False)
        assert r.status_code == 303
        assert a.get("/dashboard", follow_redirects=False).status_code == 303
        assert b.get("/dashboard", follow_redirects=False).status_code == 303
    with world.session() as s:
        user = s.query(User).filter_by(username=name).one()
        assert user.password_changed_at is not None
