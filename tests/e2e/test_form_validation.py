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
    error = page.locator("#substances-0-substance-label ~ .field-errors .field-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("Zyxquorblatine")
    expect(page.locator("#substances-0-substance-label")).to_have_attribute("aria-invalid", "true")
    # What the officer typed is still there, so only the mistake needs correcting.
    expect(page.locator("#substances-0-substance-label")).to_have_value("Zyxquorblatine")
    expect(page.locator("#containers-0-number")).to_have_value(number)
    expect(page.locator("#substances-0-quantity")).to_have_value("5")

    page.goto(f"/incidents?container={number}")
    expect(page.locator("#result-count")).to_have_text("0 incidents")


def test_the_error_summary_lists_every_problem_and_each_link_focuses_its_field(page: Page) -> None:
    login(page, "analyst")
    page.goto("/alerts/new")
    page.fill("#subject", "P")  # too short
    page.fill("#vessel_imo", "9074728")  # wrong check digit
    page.fill("#substances", "Zyxquorblatine")  # not in the catalogue
    page.fill("#addressees", "NOPE")  # no such unit
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/alerts/new")) as posted:
        page.locator("#issue").click()
    assert posted.value.status == 422

    summary = page.locator("#form-errors")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()  # read out first, and the next Tab goes to its first link
    expect(summary.get_by_role("heading")).to_contain_text("The alert was not issued")
    links = summary.locator("a")
    # One submit: the format errors and the checks against the catalogue and the directory, in the form's order.
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "#subject",
        "#vessel_imo",
        "#substances",
        "#addressees",
    ]
    expect(links.first).to_have_text(re.compile(r"^Subject: "))  # each problem named by its field's label
    summary.get_by_role("link", name=re.compile("NOPE")).click()
    field = page.locator("#addressees")
    expect(field).to_be_focused()
    expect(field).to_have_value("NOPE")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby")
    assert described
    expect(page.locator(f"#{described}")).to_contain_text("no organisation with code 'NOPE'")

    summary.locator("a[href='#substances']").click()
    expect(page.locator("#substances")).to_be_focused()


def test_the_incident_error_summary_links_a_substance_to_its_text_box(page: Page) -> None:
    login(page)
    page.goto("/incidents/new")
    page.select_option("#incident_type", label="Stopped shipment")
    page.fill("#incident_date", (date.today() - timedelta(days=3)).isoformat())
    page.fill("#substances-0-substance-label", "Zyxquorblatine")
    page.fill("#vessel_imo", "9074728")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/incidents/new")) as posted:
        page.locator("button[name=action][value=submit]").click()
    assert posted.value.status == 422
    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name=re.compile("Zyxquorblatine")).click()
    expect(page.locator("#substances-0-substance-label")).to_be_focused()
    summary.get_by_role("link", name=re.compile("check digit")).click()
    expect(page.locator("#vessel_imo")).to_be_focused()
