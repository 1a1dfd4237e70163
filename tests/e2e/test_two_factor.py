"""Setting up two-factor authentication and logging in with it, in a real browser."""

from __future__ import annotations

import re
import time
import uuid

import pyotp
import pytest
from playwright.sync_api import Page, expect

from interdict.accounts import service as accounts
from interdict.accounts.schemas import UserCreate
from interdict.core.db import unit_of_work
from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer, login, submit_login

pytestmark = pytest.mark.e2e


def test_enrol_then_log_in_with_a_code(page: Page, live_server: LiveServer) -> None:
    name = f"mfa{uuid.uuid4().hex[:8]}"
    with unit_of_work(live_server.app.state.sessionmaker) as s:
        accounts.create_user(
            s, UserCreate(username=name, full_name="Two Factor", role="officer", org_code="VNC-HP", password=PASSWORD)
        )
    login(page, name)
    page.get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page.locator("#totp-qr svg")).to_be_visible()  # the QR code, drawn on the server
    secret = page.locator("#totp-secret").inner_text()
    page.reload()  # the pending secret is kept (sealed) and opened again, not replaced
    expect(page.locator("#totp-secret")).to_have_text(secret)
    totp = pyotp.TOTP(secret)
    page.fill("#password", PASSWORD)  # asked again before a security change
    page.fill("#code", totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    with unit_of_work(live_server.app.state.sessionmaker) as s:
        user = accounts.get_user_by_username(s, name)
        assert user is not None and user.totp_secret is not None
        assert user.totp_secret.startswith("v1.") and secret not in user.totp_secret  # the database holds it sealed
    page.get_by_role("link", name="Continue").click()
    page.locator("form[action='/logout'] button").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    submit_login(page, name, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/2fa"))
    page.fill("#code", totp.at(time.time() + 30))  # the next step's code: the current one was used to enrol
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
