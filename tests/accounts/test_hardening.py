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
from tests.audit.test_audit import entries_since, last_seq
from tests.conftest import PASSWORD, World
from tests.web.test_pages import login, post_code, post_login, step_csrf

FAILED = "too many attempts"


def new_user(world: World, org: str = "VNC-HCM") -> str:
    name = f"u{uuid.uuid4().hex[:10]}"
    with world.session() as s:
        accounts.create_user(
            s, UserCreate(username=name, full_name="Test User", role="officer", org_code=org, password=PASSWORD)
        )
    return name


def attempt(client: TestClient, username: str, password: str) -> tuple[int, str]:
    r = post_login(client, username, password, follow_redirects=False)
    text = re.sub(r'value="[^"]*"', "", r.text)  # the form echoes the username typed (and carries a token)
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


ENROLMENT_CODES: dict[str, str] = {}  # user name -> the code that enabled two-factor


def _enable_2fa(client: TestClient, name: str) -> tuple[pyotp.TOTP, list[str]]:
    login(client, name)
    page = client.get("/account/2fa/setup").text
    assert "<svg" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    wrong = "000000" if totp.now() != "000000" else "111111"
    r = client.post("/account/2fa/setup", data={"csrf_token": csrf, "password": PASSWORD, "code": wrong})
    assert r.status_code == 422
    enrolment = totp.now()
    r = client.post("/account/2fa/setup", data={"csrf_token": csrf, "password": PASSWORD, "code": enrolment})
    assert r.status_code == 200
    ENROLMENT_CODES[name] = enrolment
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", r.text)
    assert len(codes) == 10
    client.cookies.clear()
    return totp, codes


def _password_step(client: TestClient, name: str) -> str:
    r = post_login(client, name, PASSWORD, "/incidents", follow_redirects=False)
    assert r.status_code == 303
    return str(r.headers["location"])


def test_two_factor_login_with_code_and_single_use_recovery_codes(client: TestClient, world: World) -> None:
    name = new_user(world)
    totp, codes = _enable_2fa(client, name)
    assert _password_step(client, name).startswith("/login/2fa")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303  # the half-login grants nothing
    r = post_code(client, "123456" if totp.now() != "123456" else "654321", "/incidents")
    assert r.status_code == 401
    # Used at enrolment: no replay (the enrolment code itself: under load, 30 s may have passed and now() moved on).
    assert post_code(client, ENROLMENT_CODES[name]).status_code == 401
    code = totp.at(time.time() + 30)  # the next step's code (one step of clock drift is accepted)
    r = post_code(client, code, "/incidents", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/incidents"
    assert client.get("/dashboard").status_code == 200
    client.cookies.clear()
    _password_step(client, name)
    assert post_code(client, code).status_code == 401  # the same code never works twice
    client.cookies.clear()
    _password_step(client, name)
    assert post_code(client, codes[0], follow_redirects=False).status_code == 303
    client.cookies.clear()
    _password_step(client, name)
    assert post_code(client, codes[0]).status_code == 401  # recovery codes are single-use
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
    r = post_code(client, totp.at(time.time() + 30), "/incidents", follow_redirects=False)
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
    r = client.post(
        "/login/2fa/setup", data={"code": pyotp.TOTP(secret).now(), "csrf_token": step_csrf(client, "/login/2fa/setup")}
    )
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
        assert r.status_code == 422 and "The password is wrong" in r.text
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


def _page(text: str) -> str:
    return re.sub(r'(value|data-csrf)="[^"]*"', "", text)  # without the form's values (CSRF tokens differ)


def _wrong(totp: pyotp.TOTP) -> str:
    """A code that is none of the ones accepted now (current step ± 1)."""
    accepted = {totp.at(time.time() + d) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


def test_wrong_second_factor_codes_lock_the_account_whatever_the_password_says(
    app: FastAPI, client: TestClient, world: World
) -> None:
    """Issue 16 review: the right password used to reset the failure counter, so wrong codes were unlimited (16
    wrong codes, then the right one, was accepted). Second-factor failures are counted on their own, never reset
    by the first factor: after 5 the account is locked, and even the right code is refused, with the same answer
    as a wrong one. Every failure and the lock are audited."""
    name = new_user(world)
    totp, codes = _enable_2fa(client, name)
    mark = last_seq(world)
    other = TestClient(app)  # a second browser, at the code step when the lock falls
    tried = 0
    for _ in range(16):  # the review's attack: the right password, then a wrong code, again and again
        r = post_login(client, name, PASSWORD, "/incidents", follow_redirects=False)
        if r.status_code != 303:
            break
        assert r.headers["location"].startswith("/login/2fa")
        if tried == 4:
            assert _password_step(other, name).startswith("/login/2fa")
        wrong = post_code(client, _wrong(totp))
        assert wrong.status_code == 401
        tried += 1
        client.cookies.clear()
    assert tried == 5 and r.status_code == 401  # then the password step itself was refused
    right = post_code(other, totp.at(time.time() + 30), "/incidents", follow_redirects=False)
    assert right.status_code == 401 and _page(right.text) == _page(wrong.text)  # the same answer as a wrong code
    assert post_code(other, codes[0]).status_code == 401  # nor a recovery code
    assert other.get("/dashboard", follow_redirects=False).status_code == 303
    assert attempt(client, name, PASSWORD)[0] == 401  # locked: the password too, with the usual answer
    entries = [e for e in entries_since(world, mark) if e.actor_username == name]
    failures = [e.summary for e in entries if e.action == "auth.login_failed"]
    assert failures.count("wrong or reused two-factor code") == 4
    assert "wrong or reused two-factor code; now locked for a while" in failures
    assert failures.count("refused: locked after too many failed attempts") == 2  # the right code, the recovery code
    [lock] = [e for e in entries if e.action == "auth.locked"]
    assert "after too many wrong two-factor codes" in lock.summary and lock.object_label == name
    # The lock ends: the right password and the right code log in, and the second-factor count starts again.
    with world.session() as s:
        s.execute(update(LoginThrottle).values(locked_until=utcnow()))
    assert _password_step(client, name).startswith("/login/2fa")
    r = post_code(client, totp.at(time.time() + 30), "/incidents", follow_redirects=False)
    assert r.status_code == 303 and client.get("/dashboard").status_code == 200
    with world.session() as s:
        assert s.get(LoginThrottle, f"mfa:{name}") is None


def test_a_password_change_revokes_every_api_token_and_the_page_says_so_first(client: TestClient, world: World) -> None:
    name = new_user(world)
    csrf = login(client, name)
    tokens = [
        client.post("/api/v1/tokens", json={"name": f"t{i}", "scopes": ["read"]}, headers={"X-CSRF-Token": csrf}).json()
        for i in range(2)
    ]
    bearer = [{"Authorization": f"Bearer {t['token']}"} for t in tokens]
    assert all(client.get("/api/v1/me", headers=h).status_code == 200 for h in bearer)
    page = client.get("/account/security").text
    assert "revokes all your API tokens" in page and "You have 2 active API tokens." in page
    mark = last_seq(world)
    r = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "rivers of Mekong carry 9 lanterns"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "API tokens were revoked" in client.get(r.headers["location"]).text
    client.cookies.clear()
    for h in bearer:
        refused = client.get("/api/v1/me", headers=h)
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    got = [(e.action, e.object_label, e.summary) for e in entries_since(world, mark) if e.actor_username == name]
    assert ("token.revoke", "t0", "revoked by a password change") in got
    assert ("token.revoke", "t1", "revoked by a password change") in got
    assert ("auth.password_changed", None, "other sessions ended; 2 API token(s) revoked") in got


def test_password_and_two_factor_changes_ask_for_the_password_again_throttled_and_audited(
    app: FastAPI, client: TestClient, world: World
) -> None:
    """A stolen or unattended session alone cannot change the password or the second factor: the password is
    asked again; wrong answers count toward the account's lockout (then even the right one is refused) and are
    audited, as is every change."""
    name = new_user(world)
    csrf = login(client, name)
    mark = last_seq(world)
    page = client.get("/account/2fa/setup").text
    totp = pyotp.TOTP(re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1))  # type: ignore[union-attr]
    # Two-factor authentication cannot be turned on (binding the thief's authenticator) without the password.
    for data in ({}, {"password": "not my password at all"}):
        r = client.post("/account/2fa/setup", data={"csrf_token": csrf, "code": totp.now(), **data})
        assert r.status_code == 422 and "The password is wrong" in r.text
    with world.session() as s:
        user = accounts.get_user_by_username(s, name)
        assert user is not None and not mfa.enabled(user)
    # Wrong current passwords for a password change count toward the same lockout: 5 in all lock the account.
    for _ in range(3):
        r = client.post(
            "/account/password",
            data={"csrf_token": csrf, "current_password": "a wrong guess", "new_password": "x" * 20},
        )
        assert r.status_code == 422 and "The password is wrong" in r.text
    r = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "rivers of Mekong carry 9 lanterns"},
    )
    assert r.status_code == 422  # locked: even the right password is refused, with the same answer
    with TestClient(app) as other:
        assert attempt(other, name, PASSWORD)[0] == 401  # and nobody logs in to the account meanwhile
    got = [(e.action, e.summary) for e in entries_since(world, mark) if e.actor_username == name]
    failed = [summary for action, summary in got if action == "auth.reauth_failed"]
    assert failed[:2] == ["wrong password when asked again to turn on two-factor authentication"] * 2
    assert "wrong password when asked again to change the password; now locked for a while" in failed
    assert failed[-1] == "refused: locked after too many failed attempts when asked again to change the password"
    assert [a for a, _ in got].count("auth.locked") == 1
    # An administrator unlocks it (audited); then the password changes work, each audited.
    admin = TestClient(app)
    admin_csrf = login(admin, "admin")
    with world.session() as s:
        user_id = accounts.get_user_by_username(s, name).id  # type: ignore[union-attr]
    admin_page = admin.get("/admin").text
    assert f"/admin/users/{user_id}/unlock" in admin_page
    r = admin.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": admin_csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/account/2fa/setup", data={"csrf_token": csrf, "password": PASSWORD, "code": totp.now()})
    assert r.status_code == 200
    old_codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", r.text)
    r = client.post("/account/2fa/recovery-codes", data={"csrf_token": csrf, "recovery_password": "wrong one"})
    assert r.status_code == 422 and "The password is wrong" in r.text
    r = client.post("/account/2fa/recovery-codes", data={"csrf_token": csrf, "recovery_password": PASSWORD})
    new_codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", r.text)
    assert r.status_code == 200 and len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    with world.session() as s:
        user = accounts.get_user_by_username(s, name)
        assert user is not None
        assert not mfa.use_recovery_code(s, user, old_codes[0], pepper=app.state.pepper)
    r = client.post("/account/2fa/disable", data={"csrf_token": csrf, "password": "wrong again"})
    assert r.status_code == 422 and "The password is wrong" in r.text
    r = client.post("/account/2fa/disable", data={"csrf_token": csrf, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    actions = [e.action for e in entries_since(world, mark)]
    for action in ("auth.unlocked", "auth.2fa_enabled", "auth.recovery_codes_regenerated", "auth.2fa_disabled"):
        assert action in actions, action
    assert actions.count("auth.reauthenticated") == 3
