"""Switching the interface between English and Vietnamese from the header; the choice is remembered."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_switch_to_vietnamese_and_back_to_english(page: Page) -> None:
    login(page)
    nav = page.get_by_role("navigation")
    languages = page.locator("header .langs")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(nav.get_by_role("link", name="Incidents", exact=True)).to_be_visible()

    languages.get_by_role("button", name="VI", exact=True).click()

    expect(page).to_have_url(re.compile(r"/dashboard$"))  # back on the page the switch was made from
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(languages.locator("strong")).to_have_text("VI")
    expect(nav.get_by_role("link", name="Vụ việc", exact=True)).to_be_visible()
    expect(nav).not_to_contain_text("Incidents")

    # The choice is kept on the next pages.
    nav.get_by_role("link", name="Vụ việc", exact=True).click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("h1")).to_have_text("Vụ việc")

    # And in the next session, from another browser: the choice belongs to the account.
    page.context.clear_cookies()
    login(page)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    nav.get_by_role("link", name="Vụ việc", exact=True).click()
    expect(page).to_have_url(re.compile(r"/incidents$"))

    languages.get_by_role("button", name="EN", exact=True).click()

    expect(page).to_have_url(re.compile(r"/incidents$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(languages.locator("strong")).to_have_text("EN")
    expect(page.locator("h1")).to_have_text("Incidents")
    expect(nav.get_by_role("link", name="Incidents", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
