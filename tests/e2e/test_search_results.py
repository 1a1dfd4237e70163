"""The incident search in a real Chromium: each result says why it matched (the company, with the query's words
highlighted), and a search that finds nothing says so and what to try."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, login

pytestmark = pytest.mark.e2e


def test_a_result_shows_the_matching_company_with_the_words_highlighted(page: Page, live_server: LiveServer) -> None:
    word = "Q" + uuid.uuid4().hex[:8]  # a made-up word no other record has
    ref = live_server.seed_incident(
        parties=[{"role": "consignee", "kind": "company", "name": f"Công ty TNHH {word} Hoàng Phát", "country": "VN"}],
    )
    login(page)
    page.goto(f"/incidents?q={word.lower()}+hoang")
    row = page.locator("table.results tbody tr", has=page.locator(f"a:text-is('{ref}')"))
    expect(row).to_have_count(1)
    reason = row.locator("ul.matched li")
    expect(reason).to_have_count(1)
    expect(reason).to_contain_text(f"Importer / consignee: Công ty TNHH {word} Hoàng Phát")
    expect(reason.locator("mark")).to_have_text([word, "Hoàng"])


def test_a_search_that_finds_nothing_says_what_to_try(page: Page, live_server: LiveServer) -> None:
    login(page)
    page.goto(f"/incidents?q=zz{uuid.uuid4().hex[:10]}")
    empty = page.locator("#no-results")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No incident that you may read matches this search. Try fewer filters")
    empty.get_by_role("link", name="Clear the search").click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
