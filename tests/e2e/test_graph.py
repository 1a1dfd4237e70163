"""The network graph in a real Chromium: drawn by Cytoscape.js served by Interdict itself, fitted into its box,
clicking a node expands the network, the list of nodes does the same from the keyboard, double-clicking opens the
record's page, and the page fits a phone."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from interdict.core.db import unit_of_work
from interdict.entities.models import Entity, EntityMention
from interdict.linkage.tasks import drain
from tests.e2e.conftest import LiveServer, browser_page, login, unique_container

pytestmark = pytest.mark.e2e

ONLY = {"parties": [], "vessel_imo": None, "vessel_name": None, "bl_awb": None}

# Each node as Cytoscape drew it: label, type, kind and its box in page coordinates; and the graph box itself.
DRAWN = """() => {
  const root = document.getElementById("graph"), cy = root.cy, box = cy.container().getBoundingClientRect();
  return {
    box: {left: box.left, top: box.top, right: box.right, bottom: box.bottom},
    nodes: cy.nodes().map((n) => {
      const b = n.renderedBoundingBox({includeLabels: false});
      return {label: n.data("label"), type: n.data("type"), kind: n.data("kind"),
              left: box.left + b.x1, top: box.top + b.y1, right: box.left + b.x2, bottom: box.top + b.y2,
              x: box.left + n.renderedPosition("x"), y: box.top + n.renderedPosition("y")};
    }),
  };
}"""


def linked(live_server: LiveServer, container: str, incidents: int) -> None:
    """Run the linkage consumer until the container is mentioned by ``incidents`` incidents (the server's own
    worker may be doing the same meanwhile)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        drain(live_server.app.state.sessionmaker)
        with unit_of_work(live_server.app.state.sessionmaker) as s:
            n = s.scalar(
                select(func.count())
                .select_from(EntityMention)
                .join(Entity, Entity.id == EntityMention.entity_id)
                .where(Entity.kind == "container", Entity.key == container)
            )
        if n == incidents:
            return
        time.sleep(0.2)
    raise AssertionError(f"{container} was not linked in time")


def drawn(page: Page) -> dict[str, Any]:
    """Waits for the layout to rest and returns what Cytoscape drew."""
    expect(page.locator("#graph")).to_have_attribute("data-layout", "done")
    result: dict[str, Any] = page.evaluate(DRAWN)
    return result


def node(page: Page, label: str) -> dict[str, Any]:
    found = [n for n in drawn(page)["nodes"] if n["label"] == label]
    assert len(found) == 1, (label, found)
    return found[0]


def assert_fitted(page: Page) -> None:
    """Every node lies wholly inside the graph's box (fitted, nothing outside the view)."""
    d = drawn(page)
    box = d["box"]
    assert d["nodes"]
    for n in d["nodes"]:
        assert box["left"] - 0.5 <= n["left"] and n["right"] <= box["right"] + 0.5, (n, box)
        assert box["top"] - 0.5 <= n["top"] and n["bottom"] <= box["bottom"] + 0.5, (n, box)


def three_incidents(live_server: LiveServer) -> tuple[str, str, str, str]:
    """start --shared container-- neighbour --other container--; returns (start, neighbour, shared, other)."""
    shared, other = unique_container(), unique_container()
    start = live_server.seed_incident(containers=[{"number": shared}], **ONLY)
    neighbour = live_server.seed_incident(containers=[{"number": shared}, {"number": other}], **ONLY)
    linked(live_server, shared, 2)
    return start, neighbour, shared, other


def test_the_graph_is_drawn_by_cytoscape_from_interdict_fitted_and_a_click_expands_it(
    page: Page, live_server: LiveServer
) -> None:
    start, neighbour, shared, other = three_incidents(live_server)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    login(page)
    page.goto(f"/graph?start={start}&depth=1")
    items = page.locator("#graph-list li")
    expect(items).to_have_count(2)  # the incident and its container
    assert f"{live_server.url}/static/vendor/cytoscape/cytoscape.min.js?v=3.35.0" in requested
    assert all(url.startswith(live_server.url) for url in requested), requested  # nothing from outside
    assert page.evaluate("typeof window.cytoscape") == "function"
    assert {(n["label"], n["type"]) for n in drawn(page)["nodes"]} == {(start, "incident"), (shared, "entity")}
    assert_fitted(page)
    expect(page.locator("#graph-count")).to_have_text("2")

    container = node(page, shared)
    page.mouse.click(container["x"], container["y"])  # expand the container
    expect(items).to_have_count(3)
    expect(page.locator("#graph-list li", has_text=neighbour)).to_be_visible()
    expect(page.locator("#graph-detail h3")).to_have_text(shared)
    expect(page.locator("#graph-open")).to_have_attribute("href", re.compile(r"^/entities/[0-9a-f-]{36}$"))
    assert_fitted(page)

    incident = node(page, neighbour)
    page.mouse.click(incident["x"], incident["y"])  # expand the neighbour
    expect(items).to_have_count(4)  # its other container
    expect(page.locator("#graph-list li", has_text=other)).to_be_visible()
    assert_fitted(page)

    # The filters ask the server again: without containers only the start is left.
    page.locator("#graph-controls input[name=kinds][value=container]").uncheck()
    expect(items).to_have_count(1)
    expect(page.locator("#graph-export")).to_have_attribute("href", re.compile(r"kinds="))
    page.locator("#graph-controls input[name=kinds][value=container]").check()
    expect(items).to_have_count(2)

    first = node(page, start)
    page.mouse.dblclick(first["x"], first["y"])
    expect(page).to_have_url(re.compile(rf"/incidents/{start}$"))


def test_the_list_of_nodes_expands_the_graph_from_the_keyboard(page: Page, live_server: LiveServer) -> None:
    start, neighbour, shared, other = three_incidents(live_server)
    login(page)
    page.goto(f"/graph?start={start}&depth=1")
    items = page.locator("#graph-list li")
    expect(items).to_have_count(2)
    drawn(page)

    # Tab to the container's Expand button and press Enter.
    expand = page.get_by_role("button", name=f"Expand: {shared}")
    expand.focus()
    page.keyboard.press("Enter")
    expect(items).to_have_count(3)
    expect(page.locator("#graph-list li", has_text=neighbour)).to_be_visible()
    expect(page.get_by_role("button", name=f"Expand: {shared}")).to_be_disabled()
    assert_fitted(page)

    # Show selects a node in the graph (focus moves there); Enter in the graph expands it.
    page.get_by_role("button", name=f"Show: {neighbour}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#graph-detail h3")).to_have_text(neighbour)
    expect(page.locator("#graph-cy")).to_be_focused()
    page.keyboard.press("Enter")
    expect(items).to_have_count(4)
    expect(page.locator("#graph-list li", has_text=other)).to_be_visible()
    assert_fitted(page)


def test_the_graph_fits_a_phone(browser: Browser, live_server: LiveServer) -> None:
    start, _neighbour, shared, _other = three_incidents(live_server)
    with browser_page(browser, live_server, viewport={"width": 390, "height": 844}, has_touch=True) as page:
        login(page)
        page.goto(f"/graph?start={start}&depth=2")
        expect(page.locator("#graph-list li")).to_have_count(3)
        assert_fitted(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator("#graph-cy").bounding_box()
        assert box is not None and box["width"] <= 390
        page.locator("#graph-cy").scroll_into_view_if_needed()
        container = node(page, shared)
        page.touchscreen.tap(container["x"], container["y"])
        expect(page.locator("#graph-detail h3")).to_have_text(shared)
