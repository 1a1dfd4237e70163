"""Import and export in the documented column format: round trips, rejections, all-or-nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from interdict.accounts.service import subject_by_username
from interdict.core.db import unit_of_work
from interdict.incidents import importexport
from tests.conftest import World, clean, minimal_incident

COMPARE_DROP = {
    "id",
    "created_at",
    "updated_at",
    "submitted_at",
    "closed_at",
    "version",
    "warnings",
    "created_by",
    "updated_by",
}


def _create(client: TestClient, world: World, **overrides: object) -> dict:
    r = client.post("/api/v1/incidents", json=minimal_incident(**overrides), headers=world.h("officer.hp"))
    assert r.status_code == 201, r.text
    return r.json()


def _comparable(incident: dict) -> dict:
    return {k: v for k, v in incident.items() if k not in COMPARE_DROP}


def _all(client: TestClient, world: World, user: str = "officer.hp") -> list[dict]:
    items = client.get(
        "/api/v1/incidents", params={"page_size": 200, "sort": "reference"}, headers=world.h(user)
    ).json()["items"]
    return [client.get(f"/api/v1/incidents/{i['id']}", headers=world.h(user)).json() for i in items]


def _seed(client: TestClient, world: World) -> None:
    _create(client, world, submit=True)
    _create(
        client,
        world,
        incident_type="seizure",
        locode=None,
        place_type="land_border",
        mode_of_transport="road",
        containers=[],
        transits=[{"country": "CN"}, {"country": "LA", "locode": "LAVTE"}],
        vehicle_plate="12C-34567",
        substances=[
            {
                "substance": "Metamfetamine",
                "quantity": "40000",
                "unit": "tablets",
                "form": "tablet",
                "lab_confirmation": "confirmed",
            },
            {"other_description": 'Unidentified pink tablets; say "WY"', "quantity": "2.5", "unit": "kg"},
        ],
        parties=[
            {
                "role": "person_involved",
                "kind": "person",
                "name": "Nguyễn Văn Hùng",
                "id_document": "001088012345",
                "address": "Số 5, P. Bến Nghé, Q.1, TP. HCM",
                "phone": "0903 123 456",
            }
        ],
        modus=["vehicle-built-compartment", "false-compartment"],
        narrative="Line one, with a comma.\nLine two; with a semicolon.\n「中文」 too.",
        tlp="AMBER+STRICT",  # TLP:RED is never exported (tests/sharing)
        distribution="unit",
    )
    _create(
        client,
        world,
        incident_type="nps_identification",
        submit=True,
        substances=[{"substance": "ADB-PINACA", "quantity": "0.35", "unit": "kg", "purity_percent": "12.5"}],
        containers=[{"number": "CSQU3054383", "seal_numbers": "A1"}, {"number": "MSCU1234566"}],
    )


def test_export_then_import_gives_the_same_incidents(client: TestClient, world: World, tmp_path: Path) -> None:
    _seed(client, world)
    before = _all(client, world)
    r = client.get("/api/v1/incidents/export", params={"format": "csv"}, headers=world.h("officer.hp"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    path = tmp_path / "export.csv"
    path.write_bytes(r.content)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[1]["substance_2_other_description"].startswith("Unidentified pink")
    # Import into an empty registry: wipe and reimport as the same unit.
    clean(client.app)  # type: ignore[arg-type]
    report = _import(client, path)
    assert report.rejected == [] and report.imported == 3
    after = _all(client, world)
    assert [_comparable(x) for x in after] == [_comparable(x) for x in before]


def test_xlsx_export_imports_back_and_json_export_is_the_api_shape(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    _seed(client, world)
    before = _all(client, world)
    j = client.get("/api/v1/incidents/export", params={"format": "json"}, headers=world.h("officer.hp"))
    exported = json.loads(j.content)
    assert [_comparable(x) for x in exported] == [_comparable(x) for x in before]
    x = client.get("/api/v1/incidents/export", params={"format": "xlsx"}, headers=world.h("officer.hp"))
    path = tmp_path / "e.xlsx"
    path.write_bytes(x.content)
    ws = load_workbook(path).worksheets[0]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert header[:4] == ["reference", "case_reference", "incident_type", "status"]
    assert ws.max_row == 4
    clean(client.app)  # type: ignore[arg-type]
    report = _import(client, path)
    assert report.imported == 3, [r.message() for r in report.rejected]
    assert [_comparable(x) for x in _all(client, world)] == [_comparable(x) for x in before]


def _import(
    client: TestClient, path: Path, *, skip_invalid: bool = False, user: str = "officer.hp"
) -> importexport.ImportReport:
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        return importexport.import_file(s, subject_by_username(s, user), path, skip_invalid=skip_invalid)


HEADER = [
    "incident_type",
    "incident_date",
    "country",
    "locode",
    "containers",
    "substance_1_name",
    "substance_1_quantity",
    "substance_1_unit",
    "party_1_role",
    "party_1_name",
    "status",
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


GOOD = ["seizure", "2026-01-02", "VN", "VNHPH", "CSQU3054383", "P2P", "10", "kg", "consignee", "Công ty A", "submitted"]


def test_any_rejected_row_means_nothing_is_written_and_every_row_is_reported(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "in.csv",
        [
            GOOD,
            ["seizure", "2026-01-02", "VN", "VNHPH", "CSQU3054384", "P2P", "10", "kg", "", "", ""],
            ["robbery", "02/01/2026", "VN", "", "", "unobtainium", "10", "bags", "", "", ""],
            GOOD,
        ],
    )
    report = _import(client, path)
    assert report.rows == 4 and report.imported == 0 and not report.written
    assert [r.line for r in report.rejected] == [3, 4]
    line3 = {e.path: e.msg for e in report.rejected[0].errors}
    assert line3 == {"containers": "container 'CSQU3054384' has a wrong check digit (expected 3)"}
    line4 = {e.path for e in report.rejected[1].errors}
    assert line4 == {"incident_type", "incident_date", "substance_1_unit"}
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0
    out = tmp_path / "rejected.csv"
    importexport.write_rejections(out, report)
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["line"] for r in rows] == ["3", "4"] and "wrong check digit" in rows[0]["errors"]


def test_unknown_substance_is_reported_with_its_column(client: TestClient, world: World, tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", [["seizure", "2026-01-02", "VN", "", "", "unobtainium", "1", "kg", "", "", ""]])
    report = _import(client, path)
    errors = {e.path: e.msg for e in report.rejected[0].errors}
    assert "unknown substance 'unobtainium'" in errors["substance_1_name"]


def test_skip_invalid_writes_the_valid_rows(client: TestClient, world: World, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.csv", [GOOD, ["seizure", "2026-01-02", "VN", "", "CSQU3054384", "", "", "", "", "", ""], GOOD]
    )
    report = _import(client, path, skip_invalid=True)
    assert report.imported == 2 and [r.line for r in report.rejected] == [3]
    body = client.get("/api/v1/incidents", params={"sort": "reference"}, headers=world.h("officer.hp")).json()
    assert body["total"] == 2 and all(i["status"] == "submitted" for i in body["items"])
    inc = client.get(f"/api/v1/incidents/{body['items'][0]['id']}", headers=world.h("officer.hp")).json()
    assert inc["substances"][0]["substance"]["cas"] == "103-79-7" and inc["parties"][0]["name"] == "Công ty A"


def test_importing_the_same_export_twice_rejects_duplicates(client: TestClient, world: World, tmp_path: Path) -> None:
    _create(client, world)
    path = tmp_path / "e.csv"
    path.write_bytes(client.get("/api/v1/incidents/export", headers=world.h("officer.hp")).content)
    report = _import(client, path)
    assert report.imported == 0
    assert "already used in your unit's numbering" in report.rejected[0].errors[0].msg


def test_unknown_columns_are_refused_before_any_row(client: TestClient, world: World, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("incident_type,incident_date,colour\nseizure,2026-01-01,red\n", encoding="utf-8")
    import pytest

    from interdict.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        _import(client, path)
    fields = {e.path: e.msg for e in exc.value.errors}
    assert fields == {"header.colour": "unknown column", "header.country": "required column is missing"}


def test_export_only_contains_what_the_user_can_read(client: TestClient, world: World) -> None:
    _create(client, world, submit=True, distribution="unit")
    _create(client, world, submit=True, distribution="all")
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/api/v1/incidents/export", headers=world.h("officer.kh")).content.decode("utf-8-sig")
            )
        )
    )
    assert len(rows) == 1


def test_a_row_with_more_cells_than_the_header_is_rejected(client: TestClient, world: World, tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", [[*GOOD, "surplus"], GOOD])
    report = _import(client, path)
    assert [r.line for r in report.rejected] == [2]
    assert "1 more cell(s) than the header" in report.rejected[0].message()
    assert report.imported == 0
