"""Right after an officer submits an incident, its page says that linking is running and, once the linkage worker
has linked it, says so and lists the linked incidents found, without a reload.

This server runs without its linkage worker, so the test decides when linking happens (it runs the real consumer,
linkage.tasks.drain, in between)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, expect

from interdict.app import create_app
from interdict.config import Settings
from interdict.linkage.tasks import drain
from tests.conftest import BACKENDS, prepared_database
from tests.e2e.conftest import (
    LiveServer,
    _create_accounts,
    _free_port,
    _wait_until_healthy,
    browser_page,
    login,
    unique_container,
)

pytestmark = pytest.mark.e2e

ONLY = {"parties": [], "vessel_imo": None, "vessel_name": None, "bl_awb": None}


@pytest.fixture(scope="module", params=BACKENDS)
def server_without_linker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    kind: str = request.param
    tmp = tmp_path_factory.mktemp(f"e2e-linking-{kind}")
    database = prepared_database(kind, tmp)
    database_url = next(database)
    port = _free_port()
    settings = Settings(
        database_url=database_url, data_dir=tmp / "data", secret_key="e2e-secret-key", linkage_worker=False
    )
    app = create_app(settings)
    _create_accounts(app)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"e2e-uvicorn-linking-{kind}", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, thread)
        yield LiveServer(kind=kind, url=url, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        app.state.engine.dispose()
        database.close()


def test_the_incident_page_says_linking_is_running_then_shows_the_links_found(
    browser: Browser, server_without_linker: LiveServer
) -> None:
    live = server_without_linker
    container = unique_container()
    earlier = live.seed_incident(containers=[{"number": container}], **ONLY)
    drain(live.app.state.sessionmaker)
    draft = live.seed_incident(submit=False, containers=[{"number": container}], **ONLY)

    with browser_page(browser, live) as page:
        login(page)
        page.goto(f"/incidents/{draft}")
        expect(page.locator("#linking-status")).to_have_count(0)  # a draft is not linked
        page.locator(f"form[action='/incidents/{draft}/submit'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"/incidents/{draft}\?flash="))
        status = page.locator("#linking-status")
        expect(status).to_contain_text("Linking is running")
        expect(page.locator("#links")).to_contain_text("Linking is running")
        expect(page.locator("#links")).not_to_contain_text(earlier)

        assert drain(live.app.state.sessionmaker) > 0  # the linkage worker's step
        expect(status).to_have_attribute("data-state", "done")
        expect(status).to_contain_text("Linking is done")
        expect(status.locator("a[href='#links']")).to_have_text("1")
        expect(page.locator("#links a", has_text=earlier)).to_be_visible()
        expect(page.locator("#links")).not_to_contain_text("Linking is running")
