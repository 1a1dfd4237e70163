"""The network graph in a real Chromium: nodes are drawn, clicking one expands the network, double-clicking opens
the record's page."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from interdict.core.db import unit_of_work
from interdict.entities.models import Entity, EntityMention
from interdict.linkage.tasks import drain
from tests.e2e.conftest import LiveServer, login, unique_container

pytestmark = pytest.mark.e2e

ONLY = {"parties": [], "vessel_imo": None, "vessel_name": None, "bl_awb": None}


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


def test_the_graph_draws_nodes_and_a_click_expands_the_network(page: Page, live_server: LiveServer) -> None:
    shared, other = unique_container(), unique_container()
    start = live_server.seed_incident(containers=[{"number": shared}], **ONLY)
    neighbour = live_server.seed_incident(containers=[{"number": shared}, {"number": other}], **ONLY)
    linked(live_server, shared, 2)

    login(page)
    page.goto(f"/graph?start={start}&depth=1")
    graph = page.locator("#graph")
    nodes = page.locator("#graph-svg g.node")
    expect(nodes).to_have_count(2)  # the incident and its container
    expect(page.locator("#graph-svg g.node-incident.start text")).to_have_text(start)
    expect(page.locator("#graph-svg line.edge-mention")).to_have_count(1)
    expect(graph).to_have_attribute("data-layout", "done")

    page.locator("#graph-svg g.kind-container circle").click()  # expand the container
    expect(nodes).to_have_count(3)
    expect(page.locator("#graph-svg g.node-incident text", has_text=neighbour)).to_be_visible()
    expect(page.locator("#graph-detail h3")).to_have_text(shared)
    expect(page.locator("#graph-open")).to_have_attribute("href", re.compile(r"^/entities/[0-9a-f-]{36}$"))

    expect(graph).to_have_attribute("data-layout", "done")
    page.locator("#graph-svg g.node-incident", has_text=neighbour).locator("rect").click()  # expand the neighbour
    expect(nodes).to_have_count(4)  # its other container
    expect(page.locator("#graph-svg g.kind-container text", has_text=other)).to_be_visible()

    # The filters ask the server again: without containers only the start is left.
    page.locator("#graph-controls input[name=kinds][value=container]").uncheck()
    expect(nodes).to_have_count(1)
    expect(page.locator("#graph-export")).to_have_attribute("href", re.compile(r"kinds="))
    page.locator("#graph-controls input[name=kinds][value=container]").check()
    expect(nodes).to_have_count(2)

    expect(graph).to_have_attribute("data-layout", "done")
    page.locator("#graph-svg g.node-incident.start rect").dblclick()
    expect(page).to_have_url(re.compile(rf"/incidents/{start}$"))
