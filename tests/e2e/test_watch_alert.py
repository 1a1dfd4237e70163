"""The duty officers' alert loop in real browsers: officer A (Hai Phong) submits an incident whose consignee is a
company that B's unit (HCMC) watches, written differently (Vietnamese legal form and diacritics against the English
name on the list); B's open notification centre shows the alert within seconds, without reloading; B acknowledges
it; A sees on the incident that HCMC Customs acknowledged."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Browser, Page, expect

from interdict.accounts import service as accounts
from interdict.core.db import unit_of_work
from interdict.incidents import service as incidents
from interdict.incidents.schemas import IncidentCreate
from interdict.watch import service as watch
from interdict.watch.schemas import EntryCreate, WatchListCreate
from tests.conftest import minimal_incident
from tests.e2e.conftest import TIMEOUT_MS, LiveServer, login, unique_container


def test_a_watched_company_under_another_name_alerts_an_open_browser(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    word = "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:6]).capitalize()
    with unit_of_work(live_server.app.state.sessionmaker) as s:
        hcm = accounts.subject_by_username(s, "officer.hcm", channel="web")
        wl = watch.create_list(s, hcm, WatchListCreate(name=f"Kim Ngan {word} group"))
        watch.add_entry(
            s, hcm, wl.id, EntryCreate(kind="company", value=f"Kim Ngan {word} Trading Co., Ltd", reason="tip-off")
        )

    # B: the notification centre is open (the live stream is connected when the bell shows a count).
    login(page, "officer.hcm")
    page.goto("/notifications")
    expect(page.locator("#bell-count")).to_have_attribute("data-count", re.compile(r"^\d+$"))

    # A submits the incident (the consignee written the Vietnamese way).
    body = minimal_incident(
        submit=True,
        containers=[{"number": unique_container()}],
        parties=[{"role": "consignee", "kind": "company", "name": f"CÔNG TY TNHH THƯƠNG MẠI KIM NGÂN {word.upper()}"}],
    )
    started = time.monotonic()
    with unit_of_work(live_server.app.state.sessionmaker) as s:
        a = accounts.subject_by_username(s, "officer.hp", channel="web")
        created, _ = incidents.create_incident(s, a, IncidentCreate.model_validate(body))
        reference = created.reference
    item = page.locator("#notification-list li.note", has_text=reference)
    expect(item).to_be_visible(timeout=TIMEOUT_MS)
    elapsed = time.monotonic() - started
    expect(page.locator("#toasts .toast", has_text=reference)).to_be_visible()
    assert elapsed < 5, f"the alert took {elapsed:.1f} s to reach the open browser"

    # B acknowledges (on the centre, after a reload the item carries the Acknowledge button).
    page.reload()
    note = page.locator("#notification-list li.note", has_text=reference)
    expect(note).to_contain_text(f"Kim Ngan {word} Trading Co., Ltd")
    note.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#notification-list li.note", has_text=reference).locator(".ack")).to_be_visible()

    # A sees who acknowledged, on the incident page.
    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="UTC")
    try:
        a_page = context.new_page()
        login(a_page, "officer.hp")
        a_page.goto(f"/incidents/{reference}")
        expect(a_page.locator("#acknowledged")).to_contain_text("HCMC Customs")
    finally:
        context.close()
