"""The targeting worklist's lanes in a real browser: each lane is a coloured badge that also says its name (never
colour alone), and a filter that leaves no record says so and how to see the whole worklist again."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, login
from tests.targeting.workflow_data import GOOD, write

pytestmark = pytest.mark.e2e

LANE_NAMES = {"lane-red": "Red", "lane-yellow": "Yellow", "lane-green": "Green"}


def test_worklist_lanes_are_coloured_badges_with_names_and_an_empty_filter_says_what_to_try(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    manifest = write(tmp_path / "lanes.csv", GOOD)
    login(page, "officer.hp")
    page.goto("/targeting")
    page.set_input_files("#t-file", str(manifest))
    page.select_option("#t-mapping", "generic-manifest")
    page.fill("#t-name", f"LANES {uuid.uuid4().hex[:6]}")
    page.locator("#t-load").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    page.locator("#job-open").click(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/targeting/batches/[0-9a-f-]{36}"))
    batch_url = page.url.split("?")[0]

    badges = page.locator("#worklist tbody span.lane")
    expect(badges.first).to_be_visible()
    seen = page.evaluate(
        """() => [...document.querySelectorAll("#worklist tbody span.lane")].map((b) => ({
            cls: [...b.classList].find((c) => c.startsWith("lane-")), text: b.textContent.trim(),
            bg: getComputedStyle(b).backgroundColor, fg: getComputedStyle(b).color}))"""
    )
    colours: dict[str, str] = {}
    for badge in seen:
        assert badge["text"] == LANE_NAMES[badge["cls"]], badge  # the lane's name is written
        assert badge["bg"] not in ("rgba(0, 0, 0, 0)", "transparent"), badge  # and it is coloured
        colours.setdefault(badge["cls"], badge["bg"])
    assert len(set(colours.values())) == len(colours)  # one colour per lane

    # A filter that leaves no record says so and how to see the whole worklist again.
    page.fill("#f-hs", "9999")
    page.locator("#filters button[type=submit]").click()
    empty = page.locator("#no-records")
    expect(empty).to_contain_text("No record of this load matches these filters")
    empty.get_by_role("link", name="Show the whole worklist").click()
    expect(page).to_have_url(batch_url)
