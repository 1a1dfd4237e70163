"""The PCU analyst's day in a real browser: load a vessel's manifest, read the ranked worklist with its reasons,
filter it, select containers within the capacity, assign one, record a seizure, land on the prefilled incident
form, save the incident, find it linked back on the worklist, and see the inspection counted on the performance
page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from interdict.accounts import service as accounts
from interdict.core.clock import utcnow
from interdict.core.db import unit_of_work
from interdict.targeting import service
from interdict.targeting.schemas import ProfileCreate
from tests.e2e.conftest import LiveServer, browser_page, login, unique_container
from tests.e2e.test_incidents import pick_suggestion
from tests.targeting.workflow_data import BAD, GOOD, write

pytestmark = pytest.mark.e2e

MISMATCH = {"all": [{"field": "goods_mentions_chemical_but_hs_not_chemical", "op": "eq", "value": True}]}
INCIDENT_URL = re.compile(r"/incidents/(VNC-HP-\d{4}-\d{5})\?flash=(\w+)$")


def analyst_profile(live_server: LiveServer) -> None:
    """Arrange: the national analyst's risk profile "goods say chemical, HS code does not"."""
    with unit_of_work(live_server.app.state.sessionmaker) as session:
        subject = accounts.subject_by_username(session, "analyst", channel="web")
        body = ProfileCreate.model_validate(
            {"name": f"mismatch {uuid.uuid4().hex[:6]}", "criteria": MISMATCH, "weight": 0.4, "rationale": "e2e"}
        )
        service.create_profile(session, subject, body, now=utcnow())


def row(page: Page, record: str) -> object:
    return page.locator(f"#worklist tbody tr[data-record='{record}']")


def test_manifest_to_worklist_to_seizure_incident(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    analyst_profile(live_server)
    name = f"EVER LUCKY 112E {uuid.uuid4().hex[:6]}"
    manifest = write(tmp_path / "ever-lucky.csv", GOOD + BAD)

    login(page, "officer.hp")
    page.get_by_role("navigation").get_by_role("link", name="Targeting").click()
    expect(page).to_have_url(re.compile(r"/targeting$"))
    page.set_input_files("#t-file", str(manifest))
    page.select_option("#t-mapping", "generic-manifest")
    page.fill("#t-name", name)
    page.locator("#t-load").click()

    # The upload answers at once with its job's page, which follows the load (the server's job worker) and then
    # shows the counts, the rejected rows and the way to the worklist.
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    expect(page.locator("#job-status")).to_contain_text("4 new, 0 updated, 0 unchanged", timeout=30_000)
    expect(page.locator("#rejections")).to_contain_text("check digit")
    page.locator("#job-open").click()

    # The worklist: loaded counts, rejected rows with their reasons, records ranked with reasons.
    expect(page).to_have_url(re.compile(r"/targeting/batches/[0-9a-f-]{36}\?loaded=4-0-0$"))
    expect(page.locator("#flash")).to_contain_text("4 new, 0 updated, 0 unchanged")
    expect(page.locator("#rejections")).to_contain_text("check digit")
    expect(page.locator("#rejections")).to_contain_text("not an HS code")
    rows = page.locator("#worklist tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_have_attribute("data-record", "R3")  # the profile's match ranks first...
    expect(rows.first.locator("ol.reasons")).to_contain_text("matched")  # ...and says why
    batch_url = page.url.split("?")[0]

    # Filtering by HS code keeps the precursor record only.
    page.fill("#f-hs", "2915")
    page.locator("#filters button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-record", "R2")
    page.goto(batch_url)

    # Selecting beyond the unit's capacity is refused; within it, the records are marked selected.
    settings = live_server.app.state.settings
    live_server.app.state.settings = settings.model_copy(update={"targeting_capacity": 2})
    try:
        for record in ("R1", "R2", "R3"):
            page.get_by_label(f"Select {record}").check()
        page.locator("#select-button").click()
        expect(page.locator(".field-error[data-for=selected]")).to_contain_text("capacity")
        page.goto(batch_url)
        for record in ("R2", "R3"):
            page.get_by_label(f"Select {record}").check()
        page.locator("#select-button").click()
        expect(page).to_have_url(batch_url)
    finally:
        live_server.app.state.settings = settings
    expect(page.locator("#worklist tbody tr[data-record='R2']")).to_contain_text("Selected (risk)")
    expect(page.locator("#worklist tbody tr[data-record='R3']")).to_contain_text("Selected (risk)")
    expect(page.get_by_label("Select R1")).to_be_visible()  # not selected: still a checkbox

    # Assign R2 to a colleague, then record a seizure: the prefilled incident form opens.
    r2 = page.locator("#worklist tbody tr[data-record='R2']")
    r2.get_by_label("Officer").select_option("officer2.hp")
    r2.get_by_role("button", name="Assign").click()
    r2 = page.locator("#worklist tbody tr[data-record='R2']")
    expect(r2).to_contain_text("assigned to officer2.hp")
    r2.get_by_label("Outcome").select_option("seizure")
    r2.get_by_label("What was found").fill("120 kg acetic anhydride behind furniture")
    r2.get_by_role("button", name="Record outcome").click()
    expect(page).to_have_url(re.compile(r"/incidents/new\?from_target=[0-9a-f-]{36}$"))
    expect(page.locator("#containers-0-number")).to_have_value("TGHU7654320")
    html = page.content()
    for value in ("EVER LUCKY", "112E", "BLR2", "29152400", "Hoang Phat Chemical Trading Co., Ltd", "CNSHA", "VNHPH"):
        assert value in html, value

    # The officer completes what the manifest cannot say and saves the incident.
    pick_suggestion(
        page, "#substances-0-substance-label", "acetic anhydride", re.compile(r"^Acetic anhydride \(108-24-7\)")
    )
    page.fill("#substances-0-quantity", "120")
    page.select_option("#substances-0-unit", "kg")
    page.locator("button[name=action][value=submit]").click()
    expect(page).to_have_url(INCIDENT_URL)
    match = INCIDENT_URL.search(page.url)
    assert match is not None
    reference = match.group(1)

    # Back on the worklist the record shows the seizure and links to the incident.
    page.goto(batch_url)
    r2 = page.locator("#worklist tbody tr[data-record='R2']")
    expect(r2.locator("p.outcome")).to_contain_text("Seizure: 120 kg acetic anhydride behind furniture")
    r2.get_by_role("link", name="incident").click()
    expect(page.locator("h1")).to_contain_text(reference)

    # The performance page counts the risk-selected inspection that found something.
    page.goto("/targeting/performance")
    month = page.locator("#month-2026-03")
    expect(month).to_be_visible()
    cells = month.locator("td")
    assert int(cells.nth(1).inner_text()) >= 1 and int(cells.nth(2).inner_text()) >= 1


def test_an_analyst_writes_previews_and_edits_a_profile_and_the_load_is_rescored(
    page: Page, browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    from tests.e2e.test_phone_width import PHONE, layout_problems

    tag = uuid.uuid4().hex[:6]
    consignee = f"Precursor Test Trading {tag}"
    unique = {"consignee": consignee, "vessel": f"PF TEST {tag}", "shipper": f"PF Shipper {tag}"}
    manifest = write(
        tmp_path / "m.csv",
        [
            # containers and a vessel no incident of the other tests mentions (no intelligence hit)
            {**GOOD[1], **unique, "record_id": f"PF-{tag}-1", "containers": unique_container()},
            {**GOOD[0], **unique, "record_id": f"PF-{tag}-2", "containers": unique_container()},
        ],
    )
    with unit_of_work(live_server.app.state.sessionmaker) as session:
        officer = accounts.subject_by_username(session, "officer.hp", channel="web")
        settings = live_server.app.state.settings.model_copy(update={"targeting_random_share": 0.0})
        batch = service.load_batch(
            session, officer, settings, manifest, "generic-manifest", batch_name=f"PF {tag}", now=utcnow()
        ).batch
        batch_url = f"/targeting/batches/{batch.id}"

    login(page, "analyst")
    page.goto("/targeting/profiles")
    page.fill("#p-name", f"Acetic anhydride {tag}")
    page.fill("#p-weight", "0.45")
    page.select_option("#c-field-0", "hs_code")
    expect(page.locator("#c-value-0")).to_have_attribute("list", "values-hs_code")  # suggestions follow the field
    page.fill("#c-value-0", "2915.24")
    page.select_option("#c-field-1", "consignee")
    page.select_option("#c-op-1", "contains")
    expect(page.locator("#c-value-1")).to_have_attribute("list", "values-consignee")
    page.fill("#c-value-1", consignee)
    page.fill("#p-rationale", "HS 2915.24 names acetic anhydride (1988 Convention Table I).")
    page.locator("#p-preview").click()
    expect(page.locator("#preview")).to_contain_text(re.compile(r"Would hit 1 of the last [\d,]+ records"))
    expect(page.locator("#c-value-1")).to_have_value(consignee)  # the preview keeps the form
    page.locator("#p-save").click()
    expect(page).to_have_url(re.compile(r"/targeting/profiles/[0-9a-f-]{36}\?rescored=\d+$"))
    expect(page.locator("#rescored")).to_contain_text("re-scored")
    profile_url = page.url.split("?")[0]

    page.goto(batch_url)
    first = page.locator("#worklist tbody tr").first
    expect(first).to_have_attribute("data-record", f"PF-{tag}-1")
    expect(first.locator("ol.reasons")).to_contain_text(f"profile 'Acetic anhydride {tag}' matched")
    expect(first).to_contain_text("0.450")

    # Edit: a higher weight; the history shows the change, the worklist the new score.
    page.goto(profile_url)
    page.fill("#p-weight", "0.7")
    page.locator("#p-save").click()
    expect(page.locator("#version-2")).to_contain_text("changed")
    expect(page.locator("#version-2 del")).to_contain_text("0.45")
    expect(page.locator("#version-2 ins")).to_contain_text("0.7")
    page.goto(batch_url)
    expect(page.locator("#worklist tbody tr").first).to_contain_text("0.700")

    with browser_page(browser, live_server, viewport=PHONE, has_touch=True) as phone:
        login(phone, "analyst")
        phone.goto(profile_url)
        assert layout_problems(phone) == []
