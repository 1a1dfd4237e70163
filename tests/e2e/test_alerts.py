"""A rapid alert issued in the browser; an addressed unit acknowledges it in another browser; the issuer's
tracking table shows who acknowledged and when."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, login, unique_container

pytestmark = pytest.mark.e2e


def test_issue_acknowledge_and_track(page: Page, browser: Browser, live_server: LiveServer) -> None:
    container = unique_container()
    login(page, "analyst")
    page.get_by_role("link", name="Alerts").click()
    expect(page).to_have_url(re.compile(r"/alerts$"))
    page.locator("#new-alert").click()
    page.fill("#subject", "Watch for acetic anhydride on MV Test Star")
    page.select_option("#urgency", "immediate")
    page.fill("#containers", f"{container}, CSQU3054384")  # the second has a wrong check digit
    page.fill("#vessel_name", "MV Test Star")
    page.fill("#vessel_imo", "9074729")
    page.fill("#route", "CNSHA, SG, VNHPH")
    page.fill("#addressees", "VNC-HP, VNC-HCM")
    page.locator("#issue").click()
    error = page.locator('.field-error[data-for="containers"]')
    expect(error).to_contain_text("wrong check digit (expected 3)")
    expect(page.locator("#subject")).to_have_value("Watch for acetic anhydride on MV Test Star")
    page.fill("#containers", container)
    page.locator("#issue").click()
    expect(page).to_have_url(re.compile(r"/alerts/RA-\d{4}-\d{6}\?flash=issued$"))
    reference = re.search(r"/alerts/(RA-\d{4}-\d{6})", page.url).group(1)  # type: ignore[union-attr]
    hp_row = page.locator('#tracking tr[data-unit="VNC-HP"]')
    expect(hp_row.locator("td.ack")).to_have_text("—")

    # An officer of VNC-HP, in another browser, sees the alert waiting and acknowledges it.
    officer_context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="UTC")
    officer = officer_context.new_page()
    login(officer, "officer.hp")
    officer.goto("/alerts?view=unacknowledged")
    officer.get_by_role("link", name=reference).click()
    expect(officer.locator("#containers")).to_have_text(container)
    officer.locator("#acknowledge").click()
    expect(officer.locator("#flash")).to_have_text("Acknowledged for your unit.")
    expect(officer.locator("#acknowledged")).to_contain_text("Officer.Hp")
    officer_context.close()

    # The issuer's tracking shows it: read and acknowledged by whom; VNC-HCM still waiting.
    page.reload()
    expect(hp_row.locator("td.ack")).to_contain_text("Officer.Hp")
    expect(page.locator('#tracking tr[data-unit="VNC-HCM"] td.ack')).to_have_text("—")
