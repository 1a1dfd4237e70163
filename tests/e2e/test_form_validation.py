"""What the incident form tells the officer about mistakes, before and after saving."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, unique_container

pytestmark = pytest.mark.e2e


def test_a_wrong_container_check_digit_is_flagged_next_to_the_field_before_saving(page: Page) -> None:
    login(page)
    page.goto("/incidents/new")
    field = page.locator("#containers-0-number")
    message = page.locator("#containers-0-number ~ .inline-msg")

    field.fill("CSQU3054384")
    field.press("Tab")  # leaving the field checks it

    expect(message).to_contain_text("wrong check digit (expected 3)")
    expect(field).to_have_attribute("aria-invalid", "true")

    field.fill("CSQU3054383")
    field.press("Tab")
    expect(message).to_contain_text("CSQU3054383")  # confirmed as valid
    expect(message).not_to_contain_text("check digit")
    expect(field).not_to_have_attribute("aria-invalid", "true")


def test_an_unknown_substance_is_refused_next_to_the_field_and_nothing_is_saved(page: Page) -> None:
    login(page)
    number = unique_container()
    page.goto("/incidents/new")
    page.select_option("#incident_type", label="Stopped shipment")
    page.fill("#incident_date", (date.today() - timedelta(days=3)).isoformat())
    page.fill("#substances-0-substance-label", "Zyxquorblatine")  # typed, no suggestion picked
    page.fill("#substances-0-quantity", "5")
    page.select_option("#substances-0-unit", "kg")
    page.fill("#containers-0-number", number)

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/incidents/new")) as posted:
        page.locator("button[name=action][value=submit]").click()
    assert posted.value.status == 422

    expect(page).to_have_url(re.compile(r"/incidents/new$"))
    expect(page.locator("#form-errors")).to_contain_text("The incident was not saved")
    error = page.locator("#substances-0-substance-label ~ .field-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("Zyxquorblatine")
    expect(page.locator("#substances-0-substance-label")).to_have_attribute("aria-invalid", "true")
    # What the officer typed is still there, so only the mistake needs correcting.
    expect(page.locator("#substances-0-substance-label")).to_have_value("Zyxquorblatine")
    expect(page.locator("#containers-0-number")).to_have_value(number)
    expect(page.locator("#substances-0-quantity")).to_have_value("5")

    page.goto(f"/incidents?container={number}")
    expect(page.locator("#result-count")).to_have_text("0 incidents")
