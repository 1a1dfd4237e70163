"""Recording an incident through the form, finding it again, and editing it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import LiveServer, login, unique_container

pytestmark = pytest.mark.e2e

REFERENCE_URL = re.compile(r"/incidents/(VNC-HP-\d{4}-\d{5})\?flash=(\w+)$")


def card(page: Page, heading: str) -> Locator:
    """The page section (card) whose heading is exactly `heading`."""
    return page.locator("section.card").filter(has=page.get_by_role("heading", name=heading, exact=True))


def pick_suggestion(page: Page, field: str, typed: str, suggestion: str | re.Pattern[str]) -> None:
    """Type into an autocomplete field and click the suggestion, as a user would."""
    page.locator(field).fill(typed)
    option = page.locator(f"{field} + .ac-list li", has_text=suggestion)
    expect(option).to_be_visible()
    option.click()
    expect(page.locator(f"{field} + .ac-list")).to_be_hidden()


def history_versions(page: Page) -> list[int]:
    texts = page.locator("#history ol.history > li > strong").all_inner_texts()
    return [int(t.removeprefix("v")) for t in texts]


def test_create_an_incident_through_the_form(page: Page) -> None:
    login(page)
    first, second = unique_container(), unique_container()
    incident_date = (date.today() - timedelta(days=30)).isoformat()

    page.get_by_role("navigation").get_by_role("link", name="New incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/new$"))
    page.select_option("#incident_type", label="Stopped shipment")
    page.fill("#incident_date", incident_date)
    expect(page.locator("#country")).to_have_value("Vietnam (VN)")  # the officer's country is prefilled, by name

    # The substance is found by its Vietnamese name and stored as the catalogue entry.
    pick_suggestion(
        page, "#substances-0-substance-label", "anhydrit axetic", re.compile(r"^Acetic anhydride \(108-24-7\)")
    )
    expect(page.locator("#substances-0-substance-label")).to_have_value("Acetic anhydride (108-24-7)")
    page.fill("#substances-0-quantity", "1200")
    page.select_option("#substances-0-unit", "L")

    # The port is found by its name without diacritics.
    pick_suggestion(page, "#locode", "Cat Lai", "VNCLI — Cát Lái")
    expect(page.locator("#locode")).to_have_value("VNCLI")

    expect(page.locator("#containers-1-number")).to_have_count(0)
    page.locator("[data-add-line='containers']").click()
    expect(page.locator("#containers-1-number")).to_be_visible()
    page.fill("#containers-0-number", first)
    page.fill("#containers-1-number", second)

    page.locator("button[name=action][value=submit]").click()

    expect(page).to_have_url(REFERENCE_URL)
    match = REFERENCE_URL.search(page.url)
    assert match is not None
    reference, flash = match.groups()
    assert flash == "submitted"
    expect(page.locator("#flash")).to_have_text("Submitted.")
    expect(page.locator("h1")).to_have_text(f"{reference} · Stopped shipment")
    expect(page.locator(".badges")).to_contain_text("Submitted")
    substances = card(page, "Substances")
    expect(substances).to_contain_text("Acetic anhydride")
    expect(substances).to_contain_text("108-24-7")
    expect(substances).to_contain_text("1,200 L")
    expect(card(page, "Place and route")).to_contain_text("VNCLI")
    containers = page.locator("#containers")
    expect(containers).to_contain_text(first)
    expect(containers).to_contain_text(second)
    expect(page.locator("#history ol.history > li")).to_have_count(1)


@pytest.mark.parametrize("field", ["container", "q"])
def test_find_an_incident_by_container_number(page: Page, live_server: LiveServer, field: str) -> None:
    number = unique_container()
    reference = live_server.seed_incident(containers=[{"number": number}])
    unrelated = live_server.seed_incident(containers=[{"number": unique_container()}])
    login(page)

    page.get_by_role("navigation").get_by_role("link", name="Incidents").click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
    page.fill(f"#{field}", number)
    page.locator("form[role=search] button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"[?&]{field}={number}"))
    expect(page.locator("#result-count")).to_have_text("1 incident")
    rows = page.locator("table.results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    expect(page.get_by_role("link", name=unrelated, exact=True)).to_have_count(0)

    rows.first.get_by_role("link", name=reference, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/incidents/{reference}$"))
    expect(page.locator("#containers")).to_contain_text(number)


def test_edit_an_incident_records_a_new_version_in_the_history(page: Page, live_server: LiveServer) -> None:
    old_narrative = f"Declared as acetic acid; container {unique_container()} opened at Cat Lai."
    new_narrative = "Lab confirmed acetic anhydride; the consignee was questioned."
    reference = live_server.seed_incident(narrative=old_narrative, containers=[{"number": unique_container()}])
    login(page)

    page.goto(f"/incidents/{reference}")
    before = history_versions(page)
    assert before, "a new incident has at least one version in its history"
    expect(card(page, "Incident")).to_contain_text(f"v{max(before)}")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/incidents/{reference}/edit$"))
    expect(page.locator("#narrative")).to_have_value(old_narrative)
    expect(page.locator("#substances-0-substance-label")).to_have_value("Acetic anhydride")
    page.fill("#narrative", new_narrative)
    page.fill("#substances-0-quantity", "1500")
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(re.compile(rf"/incidents/{reference}\?flash=saved$"))
    expect(page.locator("#flash")).to_have_text("Saved.")
    expect(card(page, "Modus operandi and narrative")).to_contain_text(new_narrative)
    expect(card(page, "Substances")).to_contain_text("1,500 L")

    after = history_versions(page)
    new_version = max(before) + 1
    assert max(after) == new_version
    assert len(after) == len(before) + 1
    entry = page.locator("#history ol.history > li").filter(has=page.locator("strong", has_text=f"v{new_version}"))
    expect(entry).to_contain_text("Officer.Hp")
    narrative_change = entry.locator("table.diff tr").filter(has=page.locator("th", has_text="narrative"))
    expect(narrative_change.locator("td.old")).to_have_text(old_narrative)
    expect(narrative_change.locator("td.new")).to_have_text(new_narrative)
    # The quantity change is listed too (its values are not checked: they are shown as raw data, "1.2E+3").
    expect(entry.locator("table.diff th", has_text="substances")).to_have_count(1)
    expect(card(page, "Incident")).to_contain_text(f"v{new_version}")
