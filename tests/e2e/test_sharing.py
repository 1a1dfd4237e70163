"""The reporting unit narrows who may read an incident, and a partner loses it at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, login

pytestmark = pytest.mark.e2e


def test_narrowing_sharing_on_the_incident_page_hides_it_from_a_partner(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    person = {"role": "person_involved", "kind": "person", "name": "Phạm Thị Lan"}
    ref = live_server.seed_incident(distribution="all", tlp="GREEN", parties=[person])

    partner_context = browser.new_context(base_url=live_server.url)
    partner = partner_context.new_page()
    login(partner, "officer.kh")
    partner.goto(f"/incidents/{ref}")
    expect(partner.locator("#persons-withheld")).to_be_visible()  # shared without nominal data
    expect(partner.get_by_text("Phạm Thị Lan")).to_have_count(0)

    login(page)  # the reporting unit
    page.goto(f"/incidents/{ref}")
    expect(page.locator("#parties").get_by_text("Phạm Thị Lan")).to_be_visible()
    sharing = page.locator("#sharing")
    sharing.locator("#share-distribution").select_option("unit")
    sharing.locator("#share-tlp").select_option("AMBER")
    sharing.get_by_role("button", name="Change sharing").click()
    expect(page).to_have_url(re.compile(r"flash=shared"))
    expect(page.locator("#flash")).to_have_text("Sharing changed.")
    expect(page.locator("#sharing")).to_contain_text("Reporting unit only")

    response = partner.goto(f"/incidents/{ref}")
    assert response is not None and response.status == 404
    partner.goto(f"/incidents?q={ref}")
    expect(partner.locator(f"text={ref}")).to_have_count(0)
    partner_context.close()
