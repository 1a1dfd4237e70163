"""Logging in through the /login form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import submit_login

pytestmark = pytest.mark.e2e


def test_wrong_password_is_refused_with_a_generic_message_then_the_right_one_opens_the_dashboard(page: Page) -> None:
    submit_login(page, "officer.hp", "not the password")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text(
        "Wrong username or password, or too many attempts: wait a few minutes and try again."
    )
    expect(page.locator("#username")).to_have_value("officer.hp")  # kept, so only the password is retyped
    expect(page.locator("#password")).to_have_value("")

    # An unknown user gets exactly the same message: the page does not reveal which usernames exist.
    submit_login(page, "nobody.here", PASSWORD)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text(
        "Wrong username or password, or too many attempts: wait a few minutes and try again."
    )

    submit_login(page, "officer.hp", PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("header .who")).to_contain_text("Officer.Hp · VNC-HP")
    expect(page.get_by_role("alert")).to_have_count(0)
