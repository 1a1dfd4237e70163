"""A warning notice through the web pages, in two browsers at once: the national unit's analyst drafts it, the
administrator approves it, the analyst issues it; Hai Phong's officer acknowledges it and files the results
report, and the issuer sees it reported."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, browser_page, login

pytestmark = pytest.mark.e2e

NOTICE_URL = re.compile(r"/notices/([0-9a-f-]{36})\?flash=(\w+)")


@pytest.fixture
def second_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """Another browser context (another person at another desk), on the same live server."""
    with browser_page(browser, live_server) as p:
        yield p


def _logout(page: Page) -> None:
    page.locator("form[action='/logout'] button").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_draft_approve_issue_acknowledge_and_report_through_the_pages(page: Page, second_page: Page) -> None:
    issuer, unit = page, second_page
    marker = uuid.uuid4().hex[:8]
    title = f"Cảnh báo thủ đoạn khai sai tiền chất {marker}"
    deadline = (date.today() + timedelta(days=7)).isoformat()

    # The analyst drafts the notice; a missing title is reported next to its field and what was typed is kept.
    login(issuer, "analyst")
    issuer.get_by_role("navigation").get_by_role("link", name="Warning notices").click()
    expect(issuer).to_have_url(re.compile(r"/notices$"))
    issuer.get_by_role("link", name="New warning notice").click()
    expect(issuer.locator("#number")).not_to_have_value("")  # the next number is suggested
    issuer.fill("#body", "Đề nghị các đơn vị tăng cường kiểm tra.\n\nCác lô hàng khai báo là axit axetic.")
    issuer.fill("#report_deadline", deadline)
    issuer.check("input[name=recipients][value='VNC-HP']")
    issuer.get_by_role("button", name="Save draft").click()
    expect(issuer.locator(".field-error[data-for=title]")).to_contain_text("required")
    expect(issuer.locator("#body")).to_have_value(re.compile("tăng cường kiểm tra"))
    issuer.fill("#title", title)
    issuer.select_option("#risk_indicators-0-kind", "hs_code")
    issuer.fill("#risk_indicators-0-value", "2915.24")
    issuer.locator("[data-add-line='risk_indicators']").click()
    issuer.select_option("#risk_indicators-1-kind", "method")
    issuer.fill("#risk_indicators-1-value", "Khai báo là axit axetic")
    issuer.get_by_role("button", name="Save draft").click()
    expect(issuer).to_have_url(NOTICE_URL)
    match = NOTICE_URL.search(issuer.url)
    assert match is not None
    notice_path = f"/notices/{match.group(1)}"
    expect(issuer.locator("#notice-status")).to_have_text("Draft")
    number = issuer.locator("h1 .mono").inner_text()
    expect(issuer.locator("#indicators")).to_contain_text("Khai báo là axit axetic")

    # Hai Phong does not see the draft.
    login(unit, "officer.hp")
    hidden = unit.goto(notice_path)
    assert hidden is not None and hidden.status == 404

    issuer.get_by_role("button", name="Submit for approval").click()
    expect(issuer.locator("#notice-status")).to_have_text("Awaiting approval")
    expect(issuer.locator("#review")).to_have_count(0)  # the drafter cannot approve their own notice

    # The administrator (another supervisor of the unit) approves it; the analyst issues it.
    _logout(issuer)
    login(issuer, "admin")
    issuer.goto(notice_path)
    issuer.fill("#comment", "Đồng ý phát hành")
    issuer.get_by_role("button", name="Approve").click()
    expect(issuer.locator("#flash")).to_have_text("Approved.")
    expect(issuer.locator("#notice-status")).to_have_text("Approved")
    _logout(issuer)
    login(issuer, "analyst")
    issuer.goto(notice_path)
    issuer.get_by_role("button", name="Issue to the recipient units").click()
    expect(issuer.locator("#notice-status")).to_have_text("Issued")
    expect(issuer.locator("#units tr[data-unit='VNC-HP']")).to_contain_text("—")  # not yet acknowledged

    # Hai Phong finds it without diacritics, acknowledges it and files its report.
    unit.goto("/notices?q=" + "canh+bao+khai+sai+" + marker)
    unit.get_by_role("link", name=title).click()
    expect(unit.locator("#notice-body")).to_contain_text("tăng cường kiểm tra")
    unit.get_by_role("button", name="Acknowledge receipt").click()
    expect(unit.locator("#flash")).to_have_text("Acknowledged.")
    unit.get_by_role("button", name="File the report").click()  # empty: each missing field is named
    expect(unit.locator(".field-error[data-for=checked_what]")).to_be_visible()
    unit.fill("#checked_what", "Kiểm tra hồ sơ 12 lô hàng hóa chất")
    unit.fill("#shipments_checked", "12")
    unit.fill("#declarations_checked", "30")
    unit.select_option("#result", "nothing_found")
    unit.get_by_role("button", name="File the report").click()
    expect(unit.locator("#flash")).to_have_text("Results report filed.")
    expect(unit.locator("#units")).to_contain_text("Nothing found")

    # The issuer sees the unit reported, on the notice and on the follow-up dashboard.
    issuer.reload()
    expect(issuer.locator("#units")).to_contain_text("Kiểm tra hồ sơ 12 lô hàng hóa chất")
    issuer.goto("/notices/dashboard")
    per_notice = issuer.locator("#per-notice tr").filter(has_text=title)
    expect(per_notice.locator("td.num")).to_have_text(["1", "1", "1", "0"])  # units, acknowledged, reported, overdue
    expect(issuer.locator("#per-unit tr[data-unit='VNC-HP']").filter(has_text=number)).not_to_have_class("overdue")
