"""Officers in the field use phones: at 390 px the main pages fit the screen (no sideways scroll), the header stays
a thin bar whose menu opens (with the keyboard too, and shows everything without JavaScript), wide tables scroll
inside their own box, every form puts its labels above full-width fields, and the autocomplete closes on Tab."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from interdict.accounts import service as accounts
from interdict.core.clock import utcnow
from interdict.core.db import unit_of_work
from interdict.targeting import service as targeting
from interdict.targeting.schemas import OutcomeBody, ProfileCreate
from interdict.watch import service as watch
from interdict.watch.schemas import RuleCreate
from tests.e2e.conftest import LiveServer, browser_page, login, unique_container
from tests.targeting.workflow_data import BAD, GOOD, write

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
HEADER_SHARE = 0.2  # the header may take at most this share of a phone's screen

# Elements wider than the viewport that are not inside a box scrolling sideways (each as "tag#id.class right-edge").
OVERFLOWING = """() => {
  const w = window.innerWidth, out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (!r.width || r.right <= w + 0.5) continue;
    let p = el.parentElement, scrolls = false;
    while (p && p !== document.body) {
      if (getComputedStyle(p).overflowX !== "visible") { scrolls = true; break; }
      p = p.parentElement;
    }
    if (!scrolls) out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\\s+/).join(".") : "")
      + " " + Math.round(r.right));
  }
  return out.slice(0, 8);
}"""

# Tables of the page wider than the viewport whose nearest sideways-scrolling ancestor is missing or itself too
# wide; and how many tables are wider than their scrolling box (proof that scrolling inside was exercised).
TABLES = """() => {
  const w = window.innerWidth, bad = [];
  let scrolled = 0;
  for (const t of document.querySelectorAll("main table")) {
    if (!t.offsetParent) continue;
    let box = t.parentElement;
    while (box && box !== document.body && !["auto", "scroll"].includes(getComputedStyle(box).overflowX)) {
      box = box.parentElement;
    }
    const inBox = box && box !== document.body;
    if (inBox && box.scrollWidth > box.clientWidth) scrolled++;
    const tooWide = t.getBoundingClientRect().width > w;
    if (tooWide && (!inBox || box.getBoundingClientRect().right > w + 0.5)) bad.push((t.id || t.className || "table"));
  }
  return {bad, scrolled};
}"""

# Visible labels of text fields, selects and text areas that are not above their field, or whose field is narrower
# than the label's line (a small box beside a label); each as "for-id: what is wrong".
LABELS = """() => {
  const out = [];
  for (const label of document.querySelectorAll("main label[for]")) {
    const field = document.getElementById(label.htmlFor);
    if (!field || !label.offsetParent || !field.offsetParent) continue;
    if (field.matches("input[type=checkbox], input[type=radio], input[type=hidden]")) continue;
    if (label.classList.contains("visually-hidden")) continue;
    const l = label.getBoundingClientRect(), f = field.getBoundingClientRect();
    if (l.bottom > f.top + 1) out.push(label.htmlFor + ": label not above its field");
    else if (f.right <= l.left || f.left >= l.right) out.push(label.htmlFor + ": field not under its label");
  }
  return out;
}"""


# At phone width: visible text fields, selects and text areas narrower than 80 % of their form (a small box in a
# corner, or two squeezed side by side); each as "id: field px of form px". A table row's action (form.inline: a
# choice and its button in a cell) is not a form to fill in.
NARROW = """() => {
  const out = [];
  const fields = "main form :is(input:not([type=checkbox], [type=radio], [type=hidden], [type=submit]), select, textarea)";
  for (const field of document.querySelectorAll(fields)) {
    if (!field.offsetParent || field.closest("form.inline")) continue;
    const form = field.closest("form").getBoundingClientRect(), f = field.getBoundingClientRect();
    if (f.width < 0.8 * form.width) out.push((field.id || field.name) + ": " + Math.round(f.width) + " px of " + Math.round(form.width) + " px");
  }
  return out;
}"""


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a 390 × 844 phone viewport; uncaught JavaScript errors fail the test."""
    with browser_page(browser, live_server, viewport=PHONE, has_touch=True) as p:
        yield p


# --- arranged data: one set per live server (the pages need rows to show their tables) --------------------------

_arranged: dict[str, dict[str, str]] = {}


def arranged(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two incidents, a targeting load with a selected and inspected record, a risk profile and a watch rule. The
    load's record ids and the profile's consignee are this module's own, so other tests' loads and rankings are not
    touched."""
    if live_server.kind in _arranged:
        return _arranged[live_server.kind]
    marker = uuid.uuid4().hex[:8]
    consignee = f"Phonewidth {marker} Trading Co"
    rows = [
        {**r, "record_id": f"{r['record_id']}-{marker}", "bill_of_lading": f"BL{marker}{i}"}
        for i, r in enumerate(GOOD + BAD)
    ]
    rows[-4]["consignee"] = consignee  # the last good row: the profile's match, ranked first with its reason
    reference = live_server.seed_incident(
        narrative="Acetic anhydride declared as acetic acid; containers inspected at Hai Phong port." * 3
    )
    live_server.seed_incident()
    manifest = write(tmp_path_factory.mktemp("phone") / "manifest.csv", rows)
    now = utcnow()
    with unit_of_work(live_server.app.state.sessionmaker) as session:
        analyst = accounts.subject_by_username(session, "analyst", channel="web")
        targeting.create_profile(
            session,
            analyst,
            ProfileCreate.model_validate(
                {
                    "name": f"phone {marker}",
                    "criteria": {"all": [{"field": "consignee", "op": "contains", "value": f"phonewidth {marker}"}]},
                    "weight": 0.3,
                    "rationale": "a long rationale for the risk profile, to see how it wraps on a phone",
                }
            ),
            now=now,
        )
    with unit_of_work(live_server.app.state.sessionmaker) as session:
        officer = accounts.subject_by_username(session, "officer.hp", channel="web")
        settings = live_server.app.state.settings.model_copy(update={"targeting_random_share": 0.0})
        summary = targeting.load_batch(
            session,
            officer,
            settings,
            manifest,
            "generic-manifest",
            batch_name=f"EVER LUCKY 112E phone {marker}",
            now=now,
        )
        batch_id = summary.batch.id
        records = targeting.worklist(session, officer, summary.batch)
        first = records[0]
        targeting.select_records(session, officer, settings, batch_id, [first.id], now=now)
        targeting.record_outcome(
            session, officer, first.id, OutcomeBody(outcome="irregularity", notes="misdeclared goods"), now=now
        )
        watch.create_rule(  # a container nobody records: the rule tells no one about other tests' incidents
            session,
            officer,
            RuleCreate.model_validate(
                {
                    "name": "Acetic anhydride in a container under watch",
                    "filter": {"field": "container", "op": "eq", "value": unique_container()},
                }
            ),
        )
    _arranged[live_server.kind] = {"incident": reference, "batch": str(batch_id)}
    return _arranged[live_server.kind]


# --- checks ------------------------------------------------------------------------------------------------------


def layout_problems(page: Page) -> list[str]:
    """What makes the current page unusable at the viewport's width (an empty list if nothing)."""
    problems = []
    width, scroll_width, height = page.evaluate(
        "[window.innerWidth, document.documentElement.scrollWidth, window.innerHeight]"
    )
    if scroll_width > width:
        problems.append(f"the page is {scroll_width} px wide at {width} px: {page.evaluate(OVERFLOWING)}")
    header = page.locator("header.topbar").bounding_box()
    assert header is not None
    if header["height"] >= HEADER_SHARE * height:
        problems.append(f"the header is {header['height']:.0f} px high, {header['height'] / height:.0%} of the screen")
    tables = page.evaluate(TABLES)
    if tables["bad"]:
        problems.append(f"tables wider than the screen and not scrolling inside a box: {tables['bad']}")
    return problems


def menu_problems(page: Page) -> list[str]:
    """Open the collapsed header menu from its button and check every link in it is on screen; close it again."""
    toggle = page.locator("header .menu-toggle")
    links = page.locator("header .menu a, header .menu button[type=submit]")
    if not toggle.is_visible():
        return ["no menu button in the header"]
    if toggle.get_attribute("aria-expanded") != "false":
        return ["the menu is not collapsed when the page opens"]
    if page.locator("header .mainnav").is_visible():
        return ["the main navigation shows while the menu is collapsed"]
    toggle.click()
    problems = []
    if toggle.get_attribute("aria-expanded") != "true":
        problems.append("the menu button does not say the menu is open")
    width = page.evaluate("window.innerWidth")
    for i in range(links.count()):
        link = links.nth(i)
        box = link.bounding_box()
        if not link.is_visible() or box is None or box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
            problems.append(f"menu entry {link.inner_text()!r} is not on the screen once the menu is open")
    if page.evaluate("document.documentElement.scrollWidth") > width:
        problems.append("the open menu makes the page scroll sideways")
    toggle.click()
    if page.locator("header .mainnav").is_visible():
        problems.append("the menu does not close again")
    return problems


def walk(page: Page, paths: list[str], *, menu: bool = True) -> list[str]:
    problems = []
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        problems += [f"{path}: {p}" for p in layout_problems(page)]
        if menu:
            problems += [f"{path}: {p}" for p in menu_problems(page)]
    return problems


# --- the pages at phone width ----------------------------------------------------------------------------------


def test_the_officers_pages_fit_a_phone(
    phone: Page, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = arranged(live_server, tmp_path_factory)
    login(phone, "officer.hp")
    paths = [
        "/dashboard",
        "/incidents",
        f"/incidents/{data['incident']}",
        "/incidents/new",
        "/notices",
        "/notices/new",
        "/alerts",
        "/alerts/new",
        "/watch",
        "/targeting",
        f"/targeting/batches/{data['batch']}",
        "/targeting/profiles",
        "/targeting/performance",
        "/notifications",
        "/sharing-groups",
        "/account/security",
        "/account/tokens",
        "/account/notifications",
    ]
    problems = walk(phone, paths)
    assert not problems, "\n".join(problems)


def test_the_admin_and_login_pages_fit_a_phone(
    phone: Page, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    arranged(live_server, tmp_path_factory)
    problems = walk(phone, ["/login"], menu=False)
    login(phone, "admin")
    problems += walk(phone, ["/admin", "/audit", "/sharing-groups", "/incidents"])
    assert not problems, "\n".join(problems)


def test_wide_tables_scroll_inside_their_box_not_the_page(
    phone: Page, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = arranged(live_server, tmp_path_factory)
    login(phone, "officer.hp")
    for path, table in (("/incidents", "main table.results"), (f"/targeting/batches/{data['batch']}", "#worklist")):
        phone.goto(path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        box = phone.locator(table).first.locator("xpath=..")
        # The table's own box is no wider than the screen, and scrolls to show the table's last column.
        assert box.evaluate("el => getComputedStyle(el).overflowX") in ("auto", "scroll"), path
        assert box.evaluate("el => el.scrollWidth > el.clientWidth"), f"{path}: the table fits; nothing to scroll"
        assert box.evaluate("el => { el.scrollLeft = el.scrollWidth; return el.scrollLeft > 0; }"), path
        last = phone.locator(table).first.locator("thead th").last
        last.scroll_into_view_if_needed()
        expect(last).to_be_in_viewport()
        assert phone.evaluate("window.scrollX") == 0, f"{path}: the page itself scrolled sideways"


def test_the_menu_opens_and_closes_with_the_keyboard(phone: Page) -> None:
    login(phone, "officer.hp")
    toggle = phone.get_by_role("button", name="Menu")
    nav = phone.get_by_role("navigation")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Incidents", exact=True)).to_be_hidden()

    toggle.focus()
    phone.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Incidents", exact=True)).to_be_visible()
    expect(phone.locator("header").get_by_role("link", name="Security")).to_be_visible()
    expect(phone.locator("header").get_by_role("button", name="Log out")).to_be_visible()
    phone.keyboard.press("Tab")  # the first entry of the menu comes next
    expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_be_focused()

    phone.keyboard.press("Escape")  # closes the menu, back on its button
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(nav.get_by_role("link", name="Incidents", exact=True)).to_be_hidden()

    phone.keyboard.press("Space")
    nav.get_by_role("link", name="Targeting", exact=True).click()
    expect(phone).to_have_url(re.compile(r"/targeting$"))
    expect(phone.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")  # a new page


def test_without_javascript_the_menu_shows_every_link(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", timezone_id="UTC", viewport=PHONE, java_script_enabled=False
    )
    page = context.new_page()
    try:
        login(page, "officer.hp")
        expect(page.locator("header .menu-toggle")).to_be_hidden()  # a button that could do nothing
        nav = page.get_by_role("navigation")
        for name in ("Dashboard", "Incidents", "Warning notices", "Targeting", "Alerts"):
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.locator("header").get_by_role("button", name="Log out")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


# --- forms at desktop and phone width -------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_form_puts_its_labels_above_its_fields(
    browser: Browser, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory, viewport: dict[str, int]
) -> None:
    data = arranged(live_server, tmp_path_factory)
    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="UTC", viewport=viewport)
    page = context.new_page()
    problems: list[str] = []

    def check(path: str, prepare: Callable[[Page], Any] | None = None) -> None:
        page.goto(path)
        if prepare:
            prepare(page)
        problems.extend(f"{path}: {p}" for p in page.evaluate(LABELS))
        if viewport == PHONE:
            problems.extend(f"{path}: {p}" for p in page.evaluate(NARROW))
        if page.evaluate("document.documentElement.scrollWidth") > viewport["width"]:
            problems.append(f"{path}: the page scrolls sideways")

    def open_details(p: Page) -> None:
        p.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })")

    try:
        check("/login")
        login(page, "officer.hp")
        for path in (
            "/incidents",
            "/incidents/new",
            f"/incidents/{data['incident']}/edit",
            "/incidents/import",
            "/notices",
            "/notices/new",
            "/alerts",
            "/alerts/new",
            "/targeting",
            f"/targeting/batches/{data['batch']}",
            "/account/security",
            "/account/tokens",
            "/account/notifications",
        ):
            check(path)
        check("/watch", open_details)
        for user, paths in (("analyst", ["/targeting/profiles"]), ("admin", ["/admin", "/sharing-groups", "/audit"])):
            page.context.clear_cookies()
            login(page, user)
            for path in paths:
                check(path)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_the_new_notice_title_is_a_full_width_field_under_its_label(page: Page) -> None:
    page.set_viewport_size(DESKTOP)
    login(page, "analyst")
    page.goto("/notices/new")
    card = page.locator("main section.card").first.bounding_box()
    for field in ("#title", "#body"):
        label = page.locator(f"label[for={field[1:]}]").bounding_box()
        box = page.locator(field).bounding_box()
        assert card and label and box
        assert label["y"] + label["height"] <= box["y"] + 1, f"{field}: its label is beside it, not above"
        assert box["width"] >= 0.9 * card["width"], f"{field}: {box['width']:.0f} px in a {card['width']:.0f} px card"


# --- the look of the targeting and watch tables ------------------------------------------------------------------


def test_targeting_tables_look_like_the_other_tables(
    page: Page, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = arranged(live_server, tmp_path_factory)
    login(page, "officer.hp")
    page.goto("/incidents")
    style = "el => { const s = getComputedStyle(el); return [s.borderBottomStyle, s.paddingLeft, s.fontSize]; }"
    header_cell = page.locator("main table.results th").first.evaluate(style)
    body_cell = page.locator("main table.results td").first.evaluate(style)
    for path in ("/targeting", f"/targeting/batches/{data['batch']}", "/targeting/performance", "/watch"):
        page.goto(path)
        tables = page.locator("main table")
        assert tables.count() > 0, path
        for i in range(tables.count()):
            table = tables.nth(i)
            name = table.get_attribute("id") or str(i)
            assert table.locator("th").first.evaluate(style) == header_cell, f"{path}: table {name} headings"
            assert table.locator("td").first.evaluate(style) == body_cell, f"{path}: table {name} cells"


# --- the autocomplete ------------------------------------------------------------------------------------------


def test_the_autocomplete_closes_on_tab(page: Page) -> None:
    login(page)
    page.goto("/incidents/new")
    port = page.locator("#locode")
    suggestions = page.locator("#locode + .ac-list")

    # Open with suggestions: Tab closes the list and moves on, leaving what was typed.
    port.fill("Cat Lai")
    expect(suggestions).to_be_visible()
    port.press("Tab")
    expect(suggestions).to_be_hidden()
    expect(port).not_to_be_focused()
    expect(port).to_have_value("Cat Lai")

    # Typed and left at once with Tab, before the suggestions came: they do not open afterwards under the next field.
    port.focus()
    port.fill("VNHPH")
    port.press("Tab")
    page.wait_for_timeout(1_000)  # longer than the lookup's delay and the local server's answer
    expect(suggestions).to_be_hidden()
    expect(port).to_have_attribute("aria-expanded", "false")


def test_the_demo_banner_and_users_fit_a_phone(phone: Page, live_server: LiveServer) -> None:
    """As the demo (`interdict demo`): the banner on every page and the table of demo users on the login page and
    the dashboard, at 390 px, without sideways scrolling."""
    live_server.app.state.settings.demo = True
    try:
        problems = walk(phone, ["/login"], menu=False)
        expect(phone.locator(".demo-banner")).to_be_visible()
        expect(phone.locator("#demo-users code", has_text="officer.hp")).to_be_visible()
        login(phone, "officer.hp")
        problems += walk(phone, ["/incidents", "/dashboard"])
        expect(phone.locator(".demo-next")).to_be_visible()
    finally:
        live_server.app.state.settings.demo = False
    assert not problems, "\n".join(problems)
