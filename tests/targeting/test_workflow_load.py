"""Loads: per-row rejections (container check digit, HS code, date), idempotent reloads, updates in place, and the
CLI's report. Risk profiles: both forms of the filter language agree, and ranking and reasons follow the engine."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from interdict.core.clock import utcnow
from interdict.core.errors import InvalidInput
from interdict.core.filters import Group
from interdict.targeting import profiles, service
from interdict.targeting.models import TargetingRecord
from interdict.targeting.schemas import ProfileCreate
from tests.conftest import World
from tests.targeting.workflow_data import BAD, GOOD, load, row, write


def records(world: World, batch_id: uuid.UUID) -> list[TargetingRecord]:
    with world.session() as s:
        rows = list(
            s.scalars(
                select(TargetingRecord)
                .where(TargetingRecord.batch_id == batch_id)
                .order_by(TargetingRecord.score.desc(), TargetingRecord.record_id)
            )
        )
        s.expunge_all()
        return rows


def test_a_load_reports_every_rejected_row_and_reloading_changes_nothing(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    path = write(tmp_path / "manifest.csv", GOOD + BAD)
    first = load(world, path)
    assert first["new"] == 4 and first["loaded"] == 4 and first["rejected"] == 3
    by_row = {r[0]: r for r in first["rejections"]}
    assert by_row[6][1:4] == ("B1", "containers", "containers") and "check digit" in by_row[6][4]
    assert by_row[7][1:4] == ("B2", "hs_code", "hs_code") and "not an HS code" in by_row[7][4]
    assert by_row[8][1:4] == ("B3", "date", "date") and "not a date" in by_row[8][4]
    before = {r.record_id: (r.updated_at, r.score, r.reasons) for r in records(world, first["batch_id"])}

    again = load(world, path)
    assert again["batch_id"] == first["batch_id"]
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert {r.record_id: (r.updated_at, r.score, r.reasons) for r in records(world, first["batch_id"])} == before
    assert len(again["rejections"]) == 3

    changed = write(tmp_path / "manifest2.csv", [row("R1", goods_description="wooden chairs"), *GOOD[1:]])
    third = load(world, changed)
    assert (third["new"], third["updated"], third["unchanged"]) == (0, 1, 3)
    rows = {r.record_id: r for r in records(world, first["batch_id"])}
    assert len(rows) == 4 and rows["R1"].goods_description == "wooden chairs"


def test_an_unreadable_load_writes_nothing_and_names_the_column(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("record_id,date\nX1,2026-01-01\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        load(world, path)
    # one message for the file, naming the column it lacks (targeting.mapping.check_columns)
    assert [e.loc for e in exc.value.errors] == [("mapping",)]
    assert "'containers'" in exc.value.errors[0].msg
    with world.session() as s:
        assert s.scalar(select(TargetingRecord.id)) is None


def test_the_cli_loads_and_prints_the_rejections(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interdict.cli import app

    settings = world.app.state.settings
    monkeypatch.setenv("INTERDICT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("INTERDICT_SECRET_KEY", "test-secret-key")
    path = write(tmp_path / "m.csv", GOOD + BAD)
    args = ["targeting", "load", str(path), "--mapping", "generic-manifest", "--unit", "VNC-HP", "--user", "officer.hp"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "4 new, 0 updated, 0 unchanged; 3 rows rejected" in r.output
    assert "row 6 [B1]: containers (column 'containers')" in r.output
    r = CliRunner().invoke(app, args)
    assert "0 new, 0 updated, 4 unchanged" in r.output
    r = CliRunner().invoke(app, [*args[:-4], "--unit", "VNC-HCM", "--user", "officer.hp"])
    assert r.exit_code == 2 and "not of unit 'VNC-HCM'" in r.output


def profile(world: World, user: str, criteria: dict, **kw: object) -> uuid.UUID:
    subject = world.subject(user)
    body = ProfileCreate.model_validate(
        {"name": f"p {uuid.uuid4().hex[:6]}", "criteria": criteria, "rationale": "test", **kw}
    )
    with world.session() as s:
        return service.create_profile(s, subject, body, now=utcnow()).id


PRECURSOR_CN = {
    "all": [
        {"field": "hs_in_list", "op": "eq", "value": "precursor"},
        {"field": "country_origin", "op": "in", "value": ["CN", "IN"]},
        {"field": "consignee_first_seen_days", "op": "lte", "value": 90},
    ]
}
MISMATCH = {"all": [{"field": "goods_mentions_chemical_but_hs_not_chemical", "op": "eq", "value": True}]}


def test_profiles_rank_records_with_reasons_top_first(client: TestClient, world: World, tmp_path: Path) -> None:
    red = profile(world, "analyst", PRECURSOR_CN, lane="red", weight=0.6)
    mismatch = profile(world, "analyst", MISMATCH, weight=0.4)
    result = load(world, write(tmp_path / "m.csv", GOOD))
    assert "no model configured" in (result["note"] or "")
    ranked = records(world, result["batch_id"])
    assert [r.record_id for r in ranked][:2] == ["R2", "R3"]
    top, second = ranked[0], ranked[1]
    assert top.lane == "red" and top.score == pytest.approx(0.6)
    assert top.reasons[0]["source"] == "profile" and "lane red" in top.reasons[0]["text"]
    assert second.score == pytest.approx(0.4) and second.lane == "yellow"
    assert second.reasons == [
        {"source": "profile", "text": second.reasons[0]["text"], "weight": 0.4, "profile_id": str(mismatch)}
    ]
    assert {r.lane for r in ranked[2:]} == {"green"} and all(r.score == 0 for r in ranked[2:])
    with world.session() as s:
        stats = service.profile_stats(s, [red, mismatch])
    assert stats[red].hits == 1 and stats[mismatch].hits == 1


def test_profile_errors_name_the_condition(client: TestClient, world: World) -> None:
    bad = {
        "all": [
            {"field": "hs_code", "op": "eq", "value": "29"},
            {"field": "colour", "op": "eq", "value": "x"},
            {"field": "hs_in_list", "op": "eq", "value": "no-such-list"},
            {"field": "phone", "op": "eq", "value": "0903 555 777"},
        ]
    }
    with pytest.raises(InvalidInput) as exc:
        profile(world, "analyst", bad, weight=0.5)
    locs = {".".join(map(str, e.loc)) for e in exc.value.errors}
    assert locs == {"criteria.all.1.field", "criteria.all.2.value", "criteria.all.3.value"}
    assert any("country code" in e.msg for e in exc.value.errors)
    with pytest.raises(InvalidInput) as exc:
        profile(world, "analyst", {"all": [{"field": "hs_code", "op": "eq", "value": "29"}]})
    assert exc.value.errors[0].loc == ("weight",)
    from interdict.core.errors import Forbidden

    with pytest.raises(Forbidden):
        profile(world, "officer.hp", {"all": [{"field": "hs_code", "op": "eq", "value": "29"}]}, weight=0.2)


def test_python_and_sql_forms_of_profiles_agree(client: TestClient, world: World, tmp_path: Path) -> None:
    rnd = random.Random(7)
    origins, hs = ["CN", "IN", "MM", "TH"], ["29152400", "38249999", "94036090", "39269099", "28061000"]
    goods = ["acetic anhydride", "chemical powder", "wooden furniture", "plastic bottles", "hoá chất tẩy rửa"]
    rows = [
        row(
            f"Q{i}",
            containers="",
            country_of_origin=rnd.choice(origins),
            hs_code=rnd.choice([*hs, ""]),
            goods_description=rnd.choice([*goods, ""]),
            consignee=rnd.choice(["Hoàng Phát Co", "Minh Long JSC", ""]),
            value=str(rnd.choice([100, 5000, 90000])),
            ports_of_transshipment=rnd.choice(["", "SGSIN", "SGSIN;MYPKG"]),
            gross_weight_kg=str(rnd.choice([300, 1000, 2500])),
            consignee_phone=rnd.choice(["", "0903 555 777", "+84 912 345 678"]),
            notify_party_phone=rnd.choice(["", "", "0903555777"]),
        )
        for i in range(40)
    ]
    result = load(world, write(tmp_path / "q.csv", rows))
    trees = [
        PRECURSOR_CN,
        MISMATCH,
        {
            "any": [
                {"field": "hs_code", "op": "in", "value": ["29", "38"]},
                {"field": "consignee", "op": "contains", "value": "hoang"},
            ]
        },
        {"not": {"field": "hs_code", "op": "eq", "value": "2915"}},
        {
            "all": [
                {"field": "goods_text", "op": "match", "value": "hoa chat"},
                {"field": "value_per_kg", "op": "gte", "value": 1},
            ]
        },
        {
            "all": [
                {"field": "port_transshipment", "op": "eq", "value": "MYPKG"},
                {"not": {"field": "country_origin", "op": "eq", "value": "CN"}},
            ]
        },
        {"all": [{"field": "phone", "op": "eq", "value": "+84 903 555 777"}]},
        {"any": [{"field": "phone", "op": "in", "value": ["0084912345678", "+86 138 0013 8000"]}]},
        {"all": [{"field": "phone", "op": "exists", "value": True}, {"field": "hs_code", "op": "eq", "value": "29"}]},
        {
            "all": [
                {"field": "weight", "op": "between", "value": [500, 2000]},
                {"field": "vessel", "op": "eq", "value": "ever  lucky"},
            ]
        },
    ]
    with world.session() as s:
        reg = profiles.registry(s)
        recs = list(s.scalars(select(TargetingRecord).where(TargetingRecord.batch_id == result["batch_id"])))
        for tree in trees:
            node = Group.model_validate(tree)
            sql = set(
                s.scalars(
                    select(TargetingRecord.record_id).where(
                        TargetingRecord.batch_id == result["batch_id"], reg.compile(node)
                    )
                )
            )
            test = reg.matcher(node)
            py = {r.record_id for r in recs if test(r) is True}
            assert sql == py, tree
            assert 0 < len(py) < len(recs) or tree is PRECURSOR_CN, tree


def test_reloading_the_same_file_under_another_name_keeps_the_records_in_their_load(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    from interdict.targeting.models import TargetingBatch

    path = write(tmp_path / "manifest.csv", GOOD)
    first = load(world, path, name="first arrival", targeting_random_share=0.25)
    assert (first["new"], first["loaded"]) == (4, 4)
    with world.session() as s:
        random_before = {r.record_id for r in s.scalars(select(TargetingRecord)) if r.selected_reason == "random"}
    assert len(random_before) == 1

    again = load(world, path, name="uploaded again", targeting_random_share=0.25)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert again["batch_id"] == first["batch_id"] and again["loaded"] == 4
    with world.session() as s:
        batches = {b.name: b for b in s.scalars(select(TargetingBatch))}
        assert set(batches) == {"first arrival"}  # no empty load claiming the records
        assert batches["first arrival"].loaded == 4 and batches["first arrival"].random_share == 0.25
        assert {r.batch_id for r in s.scalars(select(TargetingRecord))} == {first["batch_id"]}

    # A file with one changed record and one new one: the changed record is updated where it is, the new one
    # goes into the new load, and both loads count what they hold.
    changed = write(tmp_path / "m2.csv", [row("R1", goods_description="wooden chairs"), row("R9")])
    third = load(world, changed, name="second arrival")
    assert (third["new"], third["updated"], third["unchanged"]) == (1, 1, 0)
    with world.session() as s:
        batches = {b.name: b for b in s.scalars(select(TargetingBatch))}
        assert (batches["first arrival"].loaded, batches["second arrival"].loaded) == (4, 1)
        r1 = s.scalar(select(TargetingRecord).where(TargetingRecord.record_id == "R1"))
        assert r1 is not None and r1.batch_id == first["batch_id"] and r1.goods_description == "wooden chairs"
