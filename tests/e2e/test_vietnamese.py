"""The interface in Vietnamese: the main pages, walked by officers and an administrator who chose Vietnamese, show no
English message of the catalogue left untranslated, no internal code (slugs, enum values, UUIDs), and the form
validation messages (the framework's own included) in Vietnamese."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page, expect

from interdict.incidents.vocab import LABELS
from interdict.web.i18n import locale_dir
from tests.conftest import USERS
from tests.e2e.conftest import LiveServer, browser_page, login

pytestmark = pytest.mark.e2e

UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
# Codes that must never reach a reader: vocabulary codes with an underscore, linkage and taxonomy codes, history
# transitions as stored.
SLUGS = sorted(
    {code for code in LABELS if "_" in code}
    | {"import_export", "one_member_llc", "precursor-ats", "submitted→updated", "person_involved", "notify_party"}
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# What people typed or were named: the test accounts' user names ("admin", "analyst") are names, not messages.
NAMES = frozenset(username for username, _role, _org in USERS)

# The visible text nodes of the page, one string each (code, identifiers in monospace, scripts and form values left
# out: they hold what people typed and codes meant to be shown as codes, such as container numbers).
TEXT_NODES_JS = """
() => {
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "CODE", "PRE", "TEXTAREA"]);
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.replace(/\\s+/g, " ").trim();
    if (!text) continue;
    let el = n.parentElement, hidden = false;
    for (let e = el; e; e = e.parentElement) {
      if (skip.has(e.tagName) || e.classList.contains("mono")) { hidden = true; break; }
    }
    if (hidden || (el && el.closest("option") === null && el.checkVisibility && !el.checkVisibility())) continue;
    out.push(text);
  }
  return out;
}
"""


@functools.cache
def english_messages() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """The catalogue's English messages whose Vietnamese differs: exact ones, and patterns for those with
    placeholders."""
    with (locale_dir() / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for m in catalog:
        if not m.id or not isinstance(m.id, str) or not isinstance(m.string, str) or m.string == m.id:
            continue
        if not re.search(r"[A-Za-z]{3}", PLACEHOLDER.sub("", m.id)):
            continue
        if PLACEHOLDER.search(m.id):
            parts = PLACEHOLDER.split(m.id)[::2]
            if sum(len(p.strip()) for p in parts) >= 8:  # enough fixed English words to be recognised
                patterns.append(re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$"))
        else:
            exact.add(m.id)
    return frozenset(exact), tuple(patterns)


def check_page(page: Page, path: str) -> list[str]:
    """Visit ``path`` (already there if None) and list what an English-only or code-reading eye would find."""
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    nodes: list[str] = page.evaluate(TEXT_NODES_JS)
    exact, patterns = english_messages()
    nodes = [t for t in nodes if t not in NAMES]
    found = [f"{path}: English {t!r}" for t in nodes if t in exact or t.rstrip(".:") in exact]
    found += [f"{path}: English {t!r}" for t in nodes if any(p.match(t) for p in patterns)]
    text = page.locator("body").inner_text()
    found += [f"{path}: id {m.group(0)}" for m in UUID.finditer(text)]
    found += [f"{path}: code {s!r}" for s in SLUGS if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)]
    return found


@pytest.fixture
def vi_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A browser whose reader chose Vietnamese (this browser's choice: the accounts' stay as they are)."""
    with browser_page(browser, live_server, locale="vi-VN") as p:
        # What /lang/vi sets: the language cookie of this browser.
        p.context.add_cookies([{"name": "interdict_lang", "value": "vi", "url": live_server.url}])
        yield p


def test_the_main_pages_in_vietnamese_have_no_untranslated_message_and_no_code(
    vi_page: Page, live_server: LiveServer
) -> None:
    page = vi_page
    ref = live_server.seed_incident("officer.hp", mode_of_transport="sea", detection_method="risk_profile")
    login(page, "officer.hp")
    problems: list[str] = []
    for path in (
        "/dashboard",
        "/incidents",
        f"/incidents/{ref}",
        "/incidents?q=heroin",
        "/alerts",
        "/alerts/new",
        "/notices",
        "/notifications",
        "/watch",
        "/sharing-groups",
        "/targeting",
        "/account/security",
        "/account/notifications",
        "/account/tokens",
    ):
        page.goto(path)
        problems += check_page(page, path)

    # A failed submit of the incident form: the framework's own messages and the service's, in Vietnamese.
    page.goto("/incidents/new")
    page.select_option("#incident_type", index=1)
    page.fill("#incident_date", "2026-01-05")
    page.fill("#substances-0-substance-label", "Heroin")
    page.fill("#substances-0-quantity", "nhiều")
    page.select_option("#substances-0-unit", "kg")
    page.fill("#vessel_imo", "12345")
    page.locator("form button[type=submit][value=submit]").click()
    errors = page.locator(".field-error")
    expect(errors.first).to_be_visible()
    expect(page.locator('.field-error[data-for="substances-0-quantity"]')).to_have_text("hãy nhập một số")
    expect(page.locator('.field-error[data-for="vessel_imo"]')).to_contain_text("không phải số IMO của tàu")
    body = page.locator("body").inner_text()
    assert "Input should" not in body and "valid number" not in body
    problems += check_page(page, "/incidents/new (failed submit)")

    assert not problems, "\n".join(problems)


def test_the_administration_pages_in_vietnamese_have_no_untranslated_message_and_no_code(vi_page: Page) -> None:
    page = vi_page
    login(page, "admin")
    problems: list[str] = []
    for path in ("/admin", "/audit", "/sharing-groups", "/notices/dashboard", "/targeting/profiles", "/watch"):
        page.goto(path)
        problems += check_page(page, path)
    assert not problems, "\n".join(problems)
