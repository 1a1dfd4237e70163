"""Places and countries on the incident form (issue 17 §3): a port typed in Vietnamese, a country picked by name."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, unique_container
from tests.e2e.test_incidents import card, pick_suggestion

pytestmark = pytest.mark.e2e


def test_a_port_typed_in_vietnamese_and_a_country_picked_by_its_vietnamese_name(page: Page) -> None:
    login(page)
    page.locator("header .langs").get_by_role("button", name="VI", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    try:
        page.goto("/incidents/new")
        expect(page.locator("#country")).to_have_value("Việt Nam (VN)")  # the officer's country, by its name

        page.select_option("#incident_type", value="stopped_shipment")
        page.fill("#incident_date", (date.today() - timedelta(days=2)).isoformat())
        page.fill("#containers-0-number", unique_container())
        # The port, typed as officers write it: with diacritics and a space ("Haiphong" in UN/LOCODE).
        pick_suggestion(page, "#locode", "Hải Phòng", "VNHPH — Haiphong")
        expect(page.locator("#locode")).to_have_value("VNHPH")
        expect(page.locator("#locode ~ .inline-msg")).not_to_contain_text("reference list")
        # The country of origin, picked by its Vietnamese name typed without diacritics.
        pick_suggestion(page, "#origin_country", "trung quoc", "Trung Quốc (CN)")
        expect(page.locator("#origin_country")).to_have_value("Trung Quốc (CN)")
        # A Chinese port is in the list now: no warning.
        pick_suggestion(page, "#departure_locode", "CNSHA", re.compile(r"^CNSHA — "))

        page.locator("button[name=action][value=submit]").click()
        expect(page).to_have_url(re.compile(r"/incidents/VNC-HP-\d{4}-\d{5}\?flash=submitted$"))
        place = card(page, "Địa điểm và hành trình")
        expect(place).to_contain_text("VNHPH")
        expect(place).to_contain_text("Haiphong")
        expect(place).to_contain_text("Trung Quốc")
        expect(page.locator("#notes")).to_have_count(0)  # no "not in the reference list" note
    finally:  # the language is remembered in the account: give the next test its English back
        page.locator("header .langs").get_by_role("button", name="EN", exact=True).click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
