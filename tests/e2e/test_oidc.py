"""Signing in through the agency's OpenID Connect provider, in a real browser."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from interdict.accounts import service as accounts
from interdict.accounts.schemas import UserCreate
from interdict.core.db import unit_of_work
from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer
from tests.oidc_provider import LocalProvider

pytestmark = pytest.mark.e2e


def test_sign_in_with_the_agency_provider(page: Page, live_server: LiveServer, oidc_provider: LocalProvider) -> None:
    name = f"idp{uuid.uuid4().hex[:8]}"
    email = f"{name}@customs.example.vn"
    with unit_of_work(live_server.app.state.sessionmaker) as s:
        accounts.create_user(
            s,
            UserCreate(
                username=name,
                full_name="Provider Person",
                role="officer",
                org_code="VNC-HP",
                password=PASSWORD,
                email=email,
            ),
        )
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email=email, email_verified=True)
    page.goto("/incidents")  # not logged in: sent to the login page, which remembers where to go
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_role("link", name="Sign in with Test Agency ID").click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
    expect(page.locator("header")).to_contain_text("Provider Person")

    # Someone the agency has not given an account: refused, with one general message, and not logged in.
    page.context.clear_cookies()
    oidc_provider.sign_in_as(f"sub-{uuid.uuid4().hex}", email="stranger@example.org", email_verified=True)
    page.goto("/login")
    page.locator("#oidc-login").click()
    expect(page.get_by_role("alert")).to_contain_text("Sign-in through the identity provider did not succeed")
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login"))
