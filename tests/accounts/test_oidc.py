"""OpenID Connect sign-in against a real local provider: the first sign-in binds the provider identity to
the agency's account, later ones use the binding; every way a provider answer can be wrong or forged is
refused with one general message, recorded in the audit trail, and grants nothing."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from interdict.accounts import service as accounts
from interdict.accounts.models import Organisation, User
from interdict.accounts.schemas import OrganisationCreate, UserCreate
from interdict.app import create_app
from interdict.config import Settings
from tests.accounts.test_hardening import _enable_2fa, _wrong
from tests.audit.test_audit import entries_since, last_seq
from tests.conftest import PASSWORD, World
from tests.oidc_provider import LocalProvider
from tests.web.test_pages import post_code, post_login

REFUSED = "Sign-in through the identity provider did not succeed"


def new_user(world: World, *, org: str = "VNC-HP", email: str | None = None, active: bool = True) -> tuple[str, str]:
    name = f"o{uuid.uuid4().hex[:10]}"
    email = email or f"{name}@customs.example.vn"
    with world.session() as s:
        user = accounts.create_user(
            s,
            UserCreate(
                username=name, full_name="Provider User", role="officer", org_code=org, password=PASSWORD, email=email
            ),
        )
        user.is_active = active
    return name, email


def sign_in(client: TestClient, provider: LocalProvider, next_url: str = "/") -> httpx.Response:
    """The browser's round trip: Interdict -> provider -> Interdict's callback."""
    r = client.get("/login/oidc", params={"next": next_url}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"{provider.url}/authorize?")
    at_provider = httpx.get(r.headers["location"], follow_redirects=False)
    assert at_provider.status_code in (302, 307), at_provider.text
    callback = at_provider.headers["location"]
    assert callback.startswith("http://testserver/login/oidc/callback?")
    return client.get(callback, follow_redirects=False)


def logged_in(client: TestClient) -> bool:
    return client.get("/dashboard", follow_redirects=False).status_code == 200


def test_login_page_offers_the_provider(client: TestClient, world: World) -> None:
    page = client.get("/login?next=/incidents").text
    assert "Sign in with Test Agency ID" in page and 'href="/login/oidc?next=/incidents"' in page


def test_first_sign_in_binds_the_identity_then_the_binding_is_used(
    client: TestClient, world: World, oidc_provider: LocalProvider
) -> None:
    name, email = new_user(world)
    sub = f"sub-{uuid.uuid4().hex}"
    oidc_provider.sign_in_as(sub, email=email.upper(), email_verified=True)
    seq = last_seq(world)
    r = sign_in(client, oidc_provider, "/incidents")
    assert r.status_code == 303 and r.headers["location"] == "/incidents"
    assert logged_in(client)
    with world.session() as s:
        user = accounts.get_user_by_username(s, name)
        assert user is not None and (user.oidc_issuer, user.oidc_subject) == (oidc_provider.url, sub)
        assert user.last_login_at is not None
    actions = {(e.action, e.actor_username) for e in entries_since(world, seq)}
    assert {("auth.oidc_linked", name), ("auth.login", name)} <= actions
    login_entry = next(e for e in entries_since(world, seq) if e.action == "auth.login")
    assert "OpenID Connect" in login_entry.summary and login_entry.channel == "web"

    # Later sign-ins go by the bound subject, even when the provider's e-mail address changed.
    client.cookies.clear()
    oidc_provider.sign_in_as(sub, email="renamed@other.example", email_verified=False)
    assert sign_in(client, oidc_provider).status_code == 303
    assert logged_in(client)
    # The same address at another provider identity no longer reaches the account.
    client.cookies.clear()
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    r = sign_in(client, oidc_provider)
    assert r.status_code == 401 and REFUSED in r.text
    assert not logged_in(client)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"email_verified": False}, "not verified"),
        ({"email_verified": None}, "not verified"),
        ({"email": "nobody@customs.example.vn"}, "no active Interdict account"),
        ({"email": None}, "no e-mail address"),
    ],
)
def test_identities_without_a_matching_verified_account_are_refused(
    client: TestClient, world: World, oidc_provider: LocalProvider, claims: dict[str, Any], reason: str
) -> None:
    _name, email = new_user(world)
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    oidc_provider.identity.update(claims)
    oidc_provider.identity = {k: v for k, v in oidc_provider.identity.items() if v is not None}
    seq = last_seq(world)
    r = sign_in(client, oidc_provider)
    assert r.status_code == 401 and REFUSED in r.text
    assert not logged_in(client)
    failed = [e for e in entries_since(world, seq) if e.action == "auth.login_failed"]
    assert len(failed) == 1 and reason in failed[0].summary, [e.summary for e in failed]


def test_disabled_accounts_and_ambiguous_addresses_are_refused(
    client: TestClient, world: World, oidc_provider: LocalProvider
) -> None:
    _name, email = new_user(world, active=False)
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    assert sign_in(client, oidc_provider).status_code == 401
    shared = f"shared-{uuid.uuid4().hex[:6]}@customs.example.vn"
    new_user(world, email=shared)
    new_user(world, email=shared)
    seq = last_seq(world)
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=shared, email_verified=True)
    assert sign_in(client, oidc_provider).status_code == 401
    assert any("several accounts" in e.summary for e in entries_since(world, seq))
    # A bound account that is later disabled cannot sign in through the provider either.
    name, email = new_user(world)
    sub = f"sub-{uuid.uuid4().hex}"
    oidc_provider.sign_in_as(sub, email=email, email_verified=True)
    assert sign_in(client, oidc_provider).status_code == 303
    client.cookies.clear()
    with world.session() as s:
        s.execute(update(User).where(User.username == name).values(is_active=False))
    assert sign_in(client, oidc_provider).status_code == 401
    assert not logged_in(client)


FORGERIES = {
    "another audience": ({"aud": "some-other-client"}, "aud"),
    "another issuer": ({"iss": "http://127.0.0.1:1/evil"}, "iss"),
    "expired": ({"exp": 1_000_000_000, "iat": 999_999_000}, "exp"),
    "issued in the future": ({"iat": 4_000_000_000, "exp": 4_000_000_300}, "iat"),
    "another nonce": ({"nonce": "replayed-from-elsewhere"}, "nonce"),
    "no nonce": ({"nonce": None}, "nonce"),
    "signed with a key the provider does not publish": ({"sign_with": "rogue"}, "bad_signature"),
    "several audiences, not authorised for us": ({"aud": ["interdict-tests", "other"]}, "authorised party"),
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_or_misdirected_id_tokens_are_refused(
    client: TestClient, world: World, oidc_provider: LocalProvider, case: str
) -> None:
    _name, email = new_user(world)
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    tamper, reason = FORGERIES[case]
    oidc_provider.tamper = dict(tamper)
    seq = last_seq(world)
    r = sign_in(client, oidc_provider)
    assert r.status_code == 401 and REFUSED in r.text
    assert "interdict_session" not in r.headers.get("set-cookie", "")
    assert not logged_in(client)
    failed = [e for e in entries_since(world, seq) if e.action == "auth.login_failed"]
    assert len(failed) == 1 and reason in failed[0].summary, failed[0].summary


def test_state_is_bound_to_the_browser_and_codes_work_once(
    client: TestClient, world: World, oidc_provider: LocalProvider, app: Any
) -> None:
    _name, email = new_user(world)
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    # A callback forged by an attacker (login CSRF): another browser's state, or none.
    r = client.get("/login/oidc", follow_redirects=False)
    at_provider = httpx.get(r.headers["location"], follow_redirects=False)
    callback = at_provider.headers["location"]
    with TestClient(app, base_url="http://testserver") as victim:
        assert victim.get(callback, follow_redirects=False).status_code == 401  # no state cookie in that browser
        assert not logged_in(victim)
    tampered = callback.replace("state=", "state=x")
    assert client.get(tampered, follow_redirects=False).status_code == 401
    assert not logged_in(client)
    # The refusal ended the attempt: the genuine callback no longer works either.
    assert client.get(callback, follow_redirects=False).status_code == 401
    # A fresh, genuine round trip works; replaying its callback afterwards does not log anyone in again.
    r = sign_in(client, oidc_provider)
    assert r.status_code == 303
    client.cookies.clear()
    r = client.get("/login/oidc", follow_redirects=False)
    at_provider = httpx.get(r.headers["location"], follow_redirects=False)
    callback = at_provider.headers["location"]
    assert client.get(callback, follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert client.get(callback, follow_redirects=False).status_code == 401


def test_the_person_cancelling_at_the_provider_is_refused_and_recorded(
    client: TestClient, world: World, oidc_provider: LocalProvider
) -> None:
    oidc_provider.deny = True
    seq = last_seq(world)
    r = sign_in(client, oidc_provider)
    oidc_provider.deny = False
    assert r.status_code == 401 and REFUSED in r.text
    assert any("access_denied" in e.summary for e in entries_since(world, seq) if e.action == "auth.login_failed")


def test_off_site_next_is_ignored(client: TestClient, world: World, oidc_provider: LocalProvider) -> None:
    _name, email = new_user(world)
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    r = sign_in(client, oidc_provider, "https://evil.example/phish")
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_interdict_two_factor_still_applies_after_the_provider(
    client: TestClient, world: World, oidc_provider: LocalProvider
) -> None:
    name, email = new_user(world, org="VNC-HCM")
    _enable_2fa(client, name)
    client.cookies.clear()
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    r = sign_in(client, oidc_provider, "/incidents")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/2fa?")
    assert not logged_in(client)  # the half-login grants nothing

    code = f"VNC-OIDC-{uuid.uuid4().hex[:4]}"
    with world.session() as s:
        accounts.create_organisation(
            s, OrganisationCreate(code=code, name="2FA unit", kind="pcu", country="VN", parent_code="VNC")
        )
        s.execute(update(Organisation).where(Organisation.code == code).values(require_2fa=True))
    _name2, email2 = new_user(world, org=code)
    client.cookies.clear()
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email2, email_verified=True)
    r = sign_in(client, oidc_provider)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/2fa/setup")


def test_without_configuration_the_routes_do_not_exist(database_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path, secret_key="no-oidc"))
    try:
        with TestClient(app) as c:
            assert c.get("/login/oidc", follow_redirects=False).status_code == 404
            assert c.get("/login/oidc/callback?code=x&state=y", follow_redirects=False).status_code == 404
            assert "/login/oidc" not in c.get("/login").text
    finally:
        app.state.engine.dispose()


def test_an_unreachable_provider_is_a_clear_refusal(database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="down",
        oidc_issuer="http://127.0.0.1:9",  # discard port: nothing listens
        oidc_client_id="x",
        oidc_timeout_seconds=2,
    )
    app = create_app(settings)
    try:
        with TestClient(app) as c:
            r = c.get("/login/oidc", follow_redirects=False)
            assert r.status_code == 502 and REFUSED in r.text
    finally:
        app.state.engine.dispose()


def test_wrong_codes_after_the_provider_count_toward_the_second_factor_lockout(
    client: TestClient, world: World, oidc_provider: LocalProvider
) -> None:
    """The provider is a first factor like the password: wrong codes at Interdict's own two-factor step count on
    the account's second-factor counter whichever first factor came before, and neither resets it."""
    name, email = new_user(world, org="VNC-HCM")
    totp, _codes = _enable_2fa(client, name)
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    for i in range(5):
        client.cookies.clear()
        if i % 2:
            r = post_login(client, name, PASSWORD, follow_redirects=False)  # a right password between them
        else:
            r = sign_in(client, oidc_provider, "/incidents")
        assert r.status_code == 303 and r.headers["location"].startswith("/login/2fa?"), i
        assert post_code(client, _wrong(totp)).status_code == 401
    client.cookies.clear()
    r = sign_in(client, oidc_provider, "/incidents")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/2fa?")
    assert post_code(client, totp.at(time.time() + 30), follow_redirects=False).status_code == 401  # locked
    assert not logged_in(client)
