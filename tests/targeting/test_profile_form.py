"""The risk-profile form: conditions (field, operator, value with suggestions) or the expert JSON, a preview
("would hit N of the last 5,000 records"), editing with a kept history shown as changes, and re-scoring of the
open loads when a profile is created, changed or paused (in the request, or as a background job when large)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.targeting import service
from interdict.targeting.models import RiskProfile, TargetingRecord
from tests.conftest import World, run_jobs
from tests.targeting.workflow_data import GOOD, load, write
from tests.web.test_pages import login


def reasons(world: World, record_id: str) -> tuple[float | None, list[str]]:
    with world.session() as s:
        r = s.scalars(select(TargetingRecord).where(TargetingRecord.record_id == record_id)).one()
        return r.score, [x["text"] for x in r.reasons]


def form(token: str, **kw: Any) -> dict[str, Any]:
    data = {
        "csrf_token": token,
        "name": "Acetic anhydride by HS",
        "weight": "0.5",
        "lane": "",
        "rationale": "HS 2915.24 names acetic anhydride (1988 Convention Table I).",
        "cond_field_0": "hs_code",
        "cond_op_0": "eq",
        "cond_value_0": "2915.24",
        "cond_field_1": "country_origin",
        "cond_op_1": "in",
        "cond_value_1": "CN, IN",
        "cond_field_2": "",
        "action": "save",
    }
    data.update(kw)
    return data


def test_create_preview_edit_history_and_rescore(client: TestClient, world: World, tmp_path: Path) -> None:
    batch = load(world, write(tmp_path / "m.csv", GOOD))
    assert reasons(world, "R2")[0] is None  # nothing scored it yet
    token = login(client, "analyst")
    page = client.get("/targeting/profiles")
    assert 'id="values-hs_code"' in page.text and '<option value="29152400">' in page.text  # known HS codes
    assert '<option value="precursor">' in page.text and 'id="expert"' in page.text

    # Preview: nothing is saved.
    r = client.post("/targeting/profiles", data=form(token, action="preview"))
    assert r.status_code == 200 and "Would hit 1 of the last 4 records." in r.text
    assert 'value="CN, IN"' in r.text  # the form keeps what was typed
    with world.session() as s:
        assert s.scalar(select(RiskProfile.id)) is None

    # Save: the open load is re-scored at once.
    r = client.post("/targeting/profiles", data=form(token), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?rescored=1"), r.text
    url = r.headers["location"].split("?")[0]
    score, texts = reasons(world, "R2")
    assert score == 0.5 and texts == ["profile 'Acetic anhydride by HS' matched"]
    assert reasons(world, "R1")[0] == 0.0

    # Edit: the form is prefilled, a change keeps the earlier version, and the load is re-scored.
    page = client.get(url)
    assert page.status_code == 200 and 'value="2915.24"' in page.text and 'value="CN, IN"' in page.text
    assert "hs_code eq 2915.24 and country_origin in CN, IN" in page.text
    r = client.post(url, data=form(token, weight="0.8", cond_value_0="2915"), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert reasons(world, "R2")[0] == 0.8
    page = client.get(url)
    history = page.text[page.text.index('id="history"') :]
    assert "Version 2" in history and "Version 1" in history and history.index("Version 2") < history.index("Version 1")
    v2 = history[history.index('id="version-2"') : history.index('id="version-1"')]
    assert "changed" in v2 and "analyst" in v2
    assert re.search(r"<del>0\.5</del>.*<ins>0\.8</ins>", v2, re.S)
    assert "<del>hs_code eq 2915.24 and country_origin in CN, IN</del>" in v2
    assert "<ins>hs_code eq 2915 and country_origin in CN, IN</ins>" in v2
    assert "Rationale" not in v2  # only what changed

    # Pause: a version of its own, and the record is no longer hit.
    pid = url.rsplit("/", 1)[1]
    r = client.post(f"/targeting/profiles/{pid}/toggle", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "rescored=1" in r.headers["location"]
    assert reasons(world, "R2") == (None, [])  # no active profile left, no model: not scored
    assert 'id="version-3"' in client.get(url).text and "paused" in client.get(url).text
    assert batch["loaded"] == 4


def test_expert_json_errors_and_officers(client: TestClient, world: World, tmp_path: Path) -> None:
    load(world, write(tmp_path / "m.csv", GOOD))
    token = login(client, "analyst")
    expert = '{"any": [{"field": "goods_text", "op": "match", "value": "acetic anhydride"}, {"field": "hs_code", "op": "eq", "value": "3926"}]}'
    r = client.post(
        "/targeting/profiles",
        data=form(token, use_json="1", criteria=expert, name="Chemical words"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert reasons(world, "R3")[0] == 0.5 and reasons(world, "R2")[0] == 0.5
    page = client.get(r.headers["location"].split("?")[0])
    assert (
        'id="p-use-json" checked' in page.text and "(goods_text match acetic anhydride or hs_code eq 3926)" in page.text
    )

    bad = client.post("/targeting/profiles", data=form(token, cond_value_0="12AB", name="bad"))
    assert bad.status_code == 422 and "not an HS code" in bad.text and 'value="12AB"' in bad.text
    empty = client.post("/targeting/profiles", data=form(token, cond_field_0="", cond_field_1="", name="empty"))
    assert empty.status_code == 422 and "give at least one condition" in empty.text

    login(client, "officer.hp")  # reads the profile and its history, cannot change it
    page = client.get(r.headers["location"].split("?")[0])
    assert page.status_code == 200 and 'id="history"' in page.text and 'id="profile-form"' not in page.text


def test_many_open_records_are_rescored_as_a_background_job(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(world, write(tmp_path / "m.csv", GOOD))
    monkeypatch.setattr(service, "RESCORE_INLINE_RECORDS", 2)
    token = login(client, "analyst")
    r = client.post("/targeting/profiles", data=form(token), follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/jobs/[0-9a-f-]{36}", r.headers["location"]), r.headers
    assert reasons(world, "R2")[0] is None  # not yet
    assert run_jobs(world.app) == 1
    page = client.get(r.headers["location"])
    assert 'data-status="done"' in page.text and "Re-scored 1 open loads" in page.text
    assert reasons(world, "R2")[0] == 0.5
    # Why the job ran, in the reader's language (not a stored English file name).
    assert '<span id="job-what">Because the risk profiles changed</span>' in page.text
    client.get("/lang/vi?next=/login")
    page = client.get(r.headers["location"])
    assert '<span id="job-what">Vì các hồ sơ rủi ro đã thay đổi</span>' in page.text
    assert "risk profiles changed" not in page.text


def test_the_api_rescores_open_loads_when_a_profile_changes(client: TestClient, world: World, tmp_path: Path) -> None:
    load(world, write(tmp_path / "m.csv", GOOD))
    body = {
        "name": "Acetic anhydride by HS",
        "criteria": {"all": [{"field": "hs_code", "op": "eq", "value": "291524"}]},
        "weight": 0.5,
        "rationale": "HS 2915.24 names acetic anhydride.",
    }
    r = client.post("/api/v1/targeting/profiles", json=body, headers=world.h("analyst"))
    assert r.status_code == 201, r.text
    assert reasons(world, "R2")[0] == 0.5
    r = client.patch(f"/api/v1/targeting/profiles/{r.json()['id']}", json={"weight": 0.9}, headers=world.h("analyst"))
    assert r.status_code == 200 and reasons(world, "R2")[0] == 0.9
    r = client.delete(f"/api/v1/targeting/profiles/{r.json()['id']}", headers=world.h("analyst"))
    assert r.status_code == 204 and reasons(world, "R2") == (None, [])
    # The form suggests the precursor HS codes of the reference data even before any load holds them.
    login(client, "analyst")
    assert '<option value="291524">' in client.get("/targeting/profiles").text
