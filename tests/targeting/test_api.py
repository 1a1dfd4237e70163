"""The PCU workflow through the REST API alone: upload a manifest, read the ranked worklist with reasons, select
within the capacity, assign, record outcomes, read the rejections and the performance figures; uploads are
bounded and checked by content; another organisation sees nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import World, run_jobs
from tests.targeting.test_workflow_load import MISMATCH, profile
from tests.targeting.workflow_data import BAD, GOOD, write

API = "/api/v1/targeting"


def upload(client: TestClient, world: World, path: Path, user: str = "officer.hp", **form: str) -> Any:
    with path.open("rb") as fh:
        return client.post(
            f"{API}/batches",
            data={"mapping": "generic-manifest", "batch_name": "EVER LUCKY 112E", **form},
            files={"file": (path.name, fh, "text/csv")},
            headers=world.h(user),
        )


def test_upload_rank_select_assign_outcome_and_performance(client: TestClient, world: World, tmp_path: Path) -> None:
    profile(world, "analyst", MISMATCH, weight=0.4)
    r = upload(client, world, write(tmp_path / "m.csv", GOOD + BAD))
    # The upload is queued: 202 at once with the job to poll; the job worker loads and scores the file.
    assert r.status_code == 202, r.text
    assert r.headers["location"] == r.json()["url"] and r.json()["status"] == "queued"
    assert run_jobs(world.app) == 1
    job = client.get(r.headers["location"], headers=world.h("officer.hp")).json()
    assert job["status"] == "done" and job["error"] is None, job
    body = job["result"]
    assert (body["new"], body["updated"], body["unchanged"]) == (4, 0, 0)
    assert (body["rows"], body["loaded"], body["rejected"]) == (7, 4, 3)
    batch = client.get(f"{API}/batches/{body['batch_id']}", headers=world.h("officer.hp")).json()
    assert (batch["rows"], batch["loaded"], batch["rejected"]) == (7, 4, 3)
    listed = client.get(f"{API}/batches/{batch['id']}/rejections", headers=world.h("officer.hp")).json()
    reasons = {x["reason"] for x in listed}
    assert any("check digit" in x for x in reasons) and any("not an HS code" in x for x in reasons)
    assert sorted(x["row"] for x in listed) == [6, 7, 8] and {x["field"] for x in listed} >= {"hs_code", "date"}
    # The job is its owner's (and the unit's administrators'): another user gets 404.
    assert client.get(r.headers["location"], headers=world.h("officer2.hp")).status_code == 404
    assert client.get(r.headers["location"], headers=world.h("officer.kh")).status_code == 404

    work = client.get(f"{API}/batches/{batch['id']}/records", headers=world.h("officer.hp")).json()
    assert work[0]["record_id"] == "R3"  # the profile's match ranks first, with its reason
    assert [x["score"] for x in work] == sorted((x["score"] for x in work), reverse=True)
    assert "matched" in str(work[0]["reasons"])
    by_id = {x["record_id"]: x["id"] for x in work}

    settings = world.app.state.settings
    world.app.state.settings = settings.model_copy(update={"targeting_capacity": 2})
    try:
        r = client.post(
            f"{API}/batches/{batch['id']}/select",
            json={"record_ids": list(by_id.values())},
            headers=world.h("officer.hp"),
        )
        assert r.status_code == 422 and "capacity" in r.text
        r = client.post(
            f"{API}/batches/{batch['id']}/select",
            json={"record_ids": [by_id["R2"], by_id["R3"]]},
            headers=world.h("officer.hp"),
        )
        assert r.status_code == 200 and r.json() == {"selected": 2}
    finally:
        world.app.state.settings = settings

    r = client.post(
        f"{API}/records/{by_id['R1']}/assign", json={"username": "officer2.hp"}, headers=world.h("officer.hp")
    )
    assert r.status_code == 422 and "select the record" in r.text  # not selected
    r = client.post(f"{API}/records/{by_id['R2']}/assign", json={"username": "nobody"}, headers=world.h("officer.hp"))
    assert r.status_code == 422 and "username" in r.text
    # a viewer of the unit cannot record the outcome, so cannot be assigned the inspection
    r = client.post(
        f"{API}/records/{by_id['R2']}/assign", json={"username": "viewer.hp"}, headers=world.h("officer.hp")
    )
    assert r.status_code == 422 and "viewer" in r.text and "username" in r.text
    r = client.post(
        f"{API}/records/{by_id['R2']}/assign", json={"username": "officer2.hp"}, headers=world.h("officer.hp")
    )
    assert r.status_code == 200, r.text

    r = client.post(
        f"{API}/records/{by_id['R2']}/outcome",
        json={"outcome": "irregularity", "notes": "undeclared solvent"},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 200 and r.json()["outcome"] == "irregularity"
    perf = client.get(f"{API}/performance", headers=world.h("officer.hp")).json()
    month = next(m for m in perf["months"] if m["month"] == "2026-03")
    assert (month["risk_inspected"], month["risk_hits"]) == (1, 1) and month["risk_rate"] == 1.0
    assert perf["capacity"] == settings.targeting_capacity
    assert any(p["hits"] >= 1 for p in perf["profiles"])

    # Another organisation: the batch, its rejections and its records do not exist for it.
    for path in ("", "/rejections", "/records"):
        assert client.get(f"{API}/batches/{batch['id']}{path}", headers=world.h("officer.kh")).status_code == 404
    r = client.post(f"{API}/records/{by_id['R3']}/assign", json={"username": "x"}, headers=world.h("officer.kh"))
    assert r.status_code == 404


def test_uploads_are_checked_bounded_and_leave_nothing_behind(client: TestClient, world: World, tmp_path: Path) -> None:
    bad = tmp_path / "evil.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    r = upload(client, world, bad)
    assert r.status_code == 422 and "file" in r.text
    zipped = tmp_path / "book.xlsx"
    zipped.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert upload(client, world, zipped).status_code == 422
    r = upload(client, world, write(tmp_path / "m.csv", GOOD), mapping="no-such-mapping")
    assert r.status_code == 422 and "mapping" in r.text
    settings = world.app.state.settings
    world.app.state.settings = settings.model_copy(update={"targeting_max_upload_bytes": 200})
    try:
        r = upload(client, world, write(tmp_path / "big.csv", GOOD))
        assert r.status_code == 413 and "file" in r.text
    finally:
        world.app.state.settings = settings
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert upload(client, world, empty).status_code == 422
    assert client.get(f"{API}/batches", headers=world.h("officer.hp")).json() == []
    # reading needs a token
    assert client.get(f"{API}/batches").status_code == 401
