"""Account administration in the browser: an administrator resets a password and the user must choose their own
before anything else; a deactivated user cannot sign in; the users' pages fit a phone."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from interdict.accounts import service as accounts
from interdict.accounts.schemas import UserCreate
from interdict.core.db import unit_of_work
from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer, browser_page, login, submit_login
from tests.e2e.test_phone_width import OVERFLOWING, PHONE

pytestmark = pytest.mark.e2e


def new_user(live_server: LiveServer) -> tuple[str, str]:
    """A fresh officer of HCMC Customs: (username, id)."""
    name = f"e{uuid.uuid4().hex[:10]}"
    with unit_of_work(live_server.app.state.sessionmaker) as session:
        user = accounts.create_user(
            session,
            UserCreate(
                username=name, full_name=f"Officer {name}", role="officer", org_code="VNC-HCM", password=PASSWORD
            ),
        )
        return name, str(user.id)


def open_user(page: Page, name: str) -> None:
    page.goto("/admin")
    page.get_by_role("link", name=f"Officer {name}").click()
    expect(page.locator("h1")).to_have_text(f"Officer {name}")


def test_reset_password_then_the_user_must_choose_their_own(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    name, _uid = new_user(live_server)
    login(page, "admin")
    open_user(page, name)
    page.locator("#reset-password button[type=submit]").click()
    expect(page.locator("#reset-done")).to_contain_text("Password reset")
    temporary = page.locator("#temporary-password").inner_text().strip()
    assert len(temporary) >= 12
    expect(page.locator("#user-status")).to_contain_text("must change the password")

    with browser_page(browser, live_server) as user:
        submit_login(user, name, temporary)
        expect(user).to_have_url(re.compile(r"/account/password/new$"))
        user.goto("/incidents")  # nothing else opens
        expect(user).to_have_url(re.compile(r"/account/password/new$"))
        user.fill("#current_password", temporary)
        user.fill("#new_password", "amber lantern over the delta 9")
        user.get_by_role("button", name="Save my password").click()
        expect(user).to_have_url(re.compile(r"/dashboard$"))
        expect(user.locator("h1")).to_have_text("Dashboard")
        user.goto("/incidents")
        expect(user).to_have_url(re.compile(r"/incidents$"))

    page.goto(page.url)  # the reset's address opened again: the user's page (not a reload: that would reset again)
    expect(page).to_have_url(re.compile(r"/admin/users/[0-9a-f-]+$"))
    expect(page.locator("#temporary-password")).to_have_count(0)
    expect(page.locator("#user-status")).not_to_contain_text("must change the password")
    expect(page.locator("#last-login")).not_to_have_text("Never")


def test_a_deactivated_user_cannot_sign_in(page: Page, browser: Browser, live_server: LiveServer) -> None:
    name, _uid = new_user(live_server)
    with browser_page(browser, live_server) as user:
        login(user, name)
        login(page, "admin")
        open_user(page, name)
        page.locator("#deactivate").click()
        expect(page.locator("#flash")).to_contain_text("Account deactivated")
        expect(page.locator("#user-status")).to_have_text("Deactivated")

        user.goto("/incidents")  # the session open before ended at once
        expect(user).to_have_url(re.compile(r"/login\?next="))
        submit_login(user, name, PASSWORD)
        expect(user).to_have_url(re.compile(r"/login$"))
        expect(user.get_by_role("alert")).to_contain_text("Wrong username or password")


def test_users_pages_fit_a_phone(browser: Browser, live_server: LiveServer) -> None:
    name, uid = new_user(live_server)
    with browser_page(browser, live_server, viewport=PHONE, has_touch=True) as phone:
        login(phone, "admin")
        for path in ("/admin", f"/admin/users/{uid}"):
            phone.goto(path)
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
            assert phone.evaluate(OVERFLOWING) == [], path
        phone.locator("#reset-password button[type=submit]").click()
        expect(phone.locator("#temporary-password")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert name
