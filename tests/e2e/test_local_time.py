"""Local time in a real browser: an officer of a Vietnamese unit, whose browser runs in UTC, sees an incident's times
in Vietnam time and its dates day first in Vietnamese, on a desktop and on a 390 px phone; a notification arriving
live is written the same way by the page's script."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

import tests.notifications.records  # noqa: F401  (registers the test record type's renderer)
from interdict.accounts.models import User
from interdict.core.db import unit_of_work
from interdict.core.localtime import format_datetime
from interdict.incidents.models import Incident
from interdict.notifications import service
from interdict.notifications.models import Notification
from tests.e2e.conftest import LiveServer, browser_page, login
from tests.notifications.records import REF_TYPE

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIETNAM = "Asia/Ho_Chi_Minh"


def _in_vietnamese(page: Page, live_server: LiveServer) -> None:
    page.context.add_cookies([{"name": "interdict_lang", "value": "vi", "url": live_server.url}])


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_incident_shows_vietnam_time_and_day_first_dates(
    browser: Browser, live_server: LiveServer, viewport: dict[str, int]
) -> None:
    ref = live_server.seed_incident("officer.hcm", incident_date="2026-03-14", reported_date="2026-03-16")
    with unit_of_work(live_server.app.state.sessionmaker) as s:
        created = s.scalars(select(Incident.created_at).where(Incident.reference == ref)).one()
    options: dict[str, Any] = {"viewport": viewport, "timezone_id": "UTC"}  # the browser's own zone is not used
    with browser_page(browser, live_server, **options) as page:
        _in_vietnamese(page, live_server)
        login(page, "officer.hcm")
        page.goto(f"/incidents/{ref}")
        recorded = page.locator("tr", has=page.locator("th", has_text="Người ghi nhận"))
        shown = format_datetime(created, "vi", VIETNAM)
        assert shown.endswith("(GMT+7)") and shown[2] == "/" and shown[5] == "/"  # dd/mm/yyyy hh:mm (GMT+7)
        expect(recorded).to_contain_text(shown)
        expect(page.locator("main")).to_contain_text("14/03/2026")
        expect(page.locator("main")).to_contain_text("16/03/2026")
        expect(page.locator("main")).not_to_contain_text("UTC")
        expect(page.locator("main")).to_contain_text("1.200 L")  # numbers as Vietnamese writes them
        _no_sideways_scroll(page)


def _notify(live_server: LiveServer, username: str) -> uuid.UUID:
    ref = uuid.uuid4()
    with unit_of_work(live_server.app.state.sessionmaker) as s:
        uid = s.scalars(select(User.id).where(User.username == username)).one()
        assert service.notify(
            s,
            user_ids=[uid],
            kind="watch_match",
            ref_type=REF_TYPE,
            ref_id=ref,
            event_key=f"e2e-time:{ref}",
            urgency="urgent",
        )
    return ref


def test_a_live_notification_is_written_in_vietnam_time(browser: Browser, live_server: LiveServer) -> None:
    with browser_page(browser, live_server, viewport=PHONE, timezone_id="America/New_York") as page:
        _in_vietnamese(page, live_server)
        login(page, "officer.hcm")
        page.goto("/notifications")
        expect(page.locator("body")).to_have_attribute("data-tz", VIETNAM)
        expect(page.locator("#bell-count")).to_have_attribute("data-count", re.compile(r"^\d+$"))  # stream open
        ref = _notify(live_server, "officer.hcm")
        item = page.locator("#notification-list li.note", has_text=f"SECRET-{str(ref)[:8]}")
        expect(item).to_be_visible(timeout=30_000)
        with unit_of_work(live_server.app.state.sessionmaker) as s:
            at = s.scalars(select(Notification.updated_at).where(Notification.ref_id == ref)).one()
        expect(item.locator(".note-head .muted")).to_have_text(format_datetime(at, "vi", VIETNAM))
        # After a reload the server writes it the same way.
        page.reload()
        expect(page.locator("#notification-list li.note", has_text=f"SECRET-{str(ref)[:8]}")).to_contain_text(
            format_datetime(at, "vi", VIETNAM)
        )
        _no_sideways_scroll(page)


def test_the_graph_writes_an_incidents_date_day_first_in_vietnamese(browser: Browser, live_server: LiveServer) -> None:
    ref = live_server.seed_incident("officer.hcm", incident_date="2026-03-14", parties=[], bl_awb=None)
    with browser_page(browser, live_server) as page:
        _in_vietnamese(page, live_server)
        login(page, "officer.hcm")
        page.goto(f"/graph?start={ref}&depth=1")
        expect(page.locator("#graph")).to_have_attribute("data-layout", "done")
        start = page.locator("#graph-list li").first
        expect(start.locator(".graph-item-name .muted")).to_have_text(re.compile(r"· 14/03/2026$"))
