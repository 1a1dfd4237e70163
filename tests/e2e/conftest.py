"""End-to-end fixtures: a live Interdict server per database backend, driven by a real headless Chromium.

The server (uvicorn in a background thread) is started once per backend for the whole session; every test
gets a fresh browser context (no cookies, no language preference) and makes its own data, with unique
container numbers, so tests do not depend on one another or on their order.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from stdnum import iso6346

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, UserCreate
from interdict.app import create_app
from interdict.config import Settings
from interdict.core.db import unit_of_work
from interdict.incidents import service as incidents
from interdict.incidents.schemas import IncidentCreate
from tests.conftest import BACKENDS, ORGS, PASSWORD, USERS, minimal_incident, oidc_settings, prepared_database
from tests.oidc_provider import LocalProvider

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
STARTUP_SECONDS = 30.0
E2E_DIR = Path(__file__).parent

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"end-to-end tests need Chromium at {CHROMIUM}, which is not installed")
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(skip)


# --- the live server ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    kind: str
    url: str
    app: FastAPI

    def seed_incident(self, username: str = "officer.hp", *, submit: bool = True, **overrides: Any) -> str:
        """Record an incident directly through the service layer (arrange step); returns its reference."""
        fields = {"departure_locode": None, **overrides}
        body = IncidentCreate.model_validate({**minimal_incident(**fields), "submit": submit})
        with unit_of_work(self.app.state.sessionmaker) as session:
            subject = accounts.subject_by_username(session, username, channel="api")
            incident, _warnings = incidents.create_incident(session, subject, body)
            return incident.reference


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_accounts(app: FastAPI) -> None:
    with unit_of_work(app.state.sessionmaker) as session:
        for org in ORGS:
            accounts.create_organisation(session, OrganisationCreate.model_validate(org))
        for username, role, org_code in USERS:
            accounts.create_user(
                session,
                UserCreate(
                    username=username,
                    full_name=username.title(),
                    role=role,  # type: ignore[arg-type]
                    org_code=org_code,
                    password=PASSWORD,
                ),
            )


def _wait_until_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the e2e server thread stopped during start-up (see the captured log)")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        thread.join(0.05)  # wait a little for the server to bind, noticing if it died meanwhile
    raise RuntimeError(f"the e2e server at {url} did not answer /healthz within {STARTUP_SECONDS:.0f} s")


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, oidc_provider: LocalProvider
) -> Iterator[LiveServer]:
    kind: str = request.param
    tmp = tmp_path_factory.mktemp(f"e2e-{kind}")
    with ExitStack() as stack:
        database = prepared_database(kind, tmp)
        database_url = next(database)
        stack.callback(database.close)  # drops the PostgreSQL database
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        oidc_provider.redirect_uris.add(f"{url}/login/oidc/callback")
        settings = Settings(
            database_url=database_url,
            data_dir=tmp / "data",
            secret_key="e2e-secret-key",
            **oidc_settings(oidc_provider),
        )
        app = create_app(settings)
        stack.callback(app.state.engine.dispose)
        _create_accounts(app)

        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, name=f"e2e-uvicorn-{kind}", daemon=True)
        thread.start()

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=15)

        stack.callback(stop)
        _wait_until_healthy(url, thread)
        yield LiveServer(kind=kind, url=url, app=app)


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(f"end-to-end tests need Chromium at {CHROMIUM}, which is not installed")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    b = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


@contextlib.contextmanager
def browser_page(browser: Browser, live_server: LiveServer, **context_options: Any) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies) on the live server, English, UTC (``context_options`` add to or
    override that: a viewport, touch); uncaught JavaScript errors fail the test."""
    options = {"base_url": live_server.url, "locale": "en-GB", "timezone_id": "UTC", **context_options}
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    js_errors: list[str] = []
    p.on("pageerror", lambda exc: js_errors.append(str(exc)))
    yield p
    context.close()
    assert not js_errors, f"uncaught JavaScript errors in the page: {js_errors}"


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the live server; uncaught JavaScript errors fail the test."""
    with browser_page(browser, live_server) as p:
        yield p


# --- helpers -----------------------------------------------------------------------------------


def submit_login(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("form[action='/login'] button[type=submit]").click()


def login(page: Page, username: str = "officer.hp", password: str = PASSWORD) -> None:
    """Log in through the /login form and wait for the dashboard."""
    submit_login(page, username, password)
    expect(page).to_have_url(re.compile(r"/dashboard$"))


# Serial numbers for the made-up container owner "EZTU": unique within the session, random start.
_serials = itertools.count(uuid.uuid4().int % 900_000)


def unique_container() -> str:
    """A container number with a valid ISO 6346 check digit that no other test uses."""
    base = f"EZTU{next(_serials):06d}"
    number = base + iso6346.calc_check_digit(base)
    assert iso6346.is_valid(number), number
    return number
