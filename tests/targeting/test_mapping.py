from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from interdict.core.errors import InvalidInput
from interdict.targeting.mapping import Mapping, load, load_records, read_mapping, salvage, shipped_mappings
from tests.targeting.conftest import GENERIC_HEADER, container, generic_rows, write_generic_csv

GENERIC = "generic-manifest"


def test_shipped_mappings_are_valid() -> None:
    assert {"kcs-customs-declarations", "generic-manifest"} <= set(shipped_mappings())
    kcs = read_mapping("kcs-customs-declarations")
    assert kcs.fields["id"].column == "Declaration ID"
    assert kcs.outcome is not None and kcs.outcome.column == "Fraud"
    assert "Critical Fraud" not in {c for _, c in kcs.columns()}  # a second outcome: never a feature


def test_mapping_naming_a_missing_column_names_field_and_column(tmp_path: Path) -> None:
    rows = generic_rows(2)
    for r in rows:
        del r["hs_code"]
    path = tmp_path / "m.csv"
    header = [h for h in GENERIC_HEADER if h != "hs_code"]
    path.write_text(",".join(header) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load(path, read_mapping(GENERIC))
    [e] = err.value.errors
    assert e.path == "mapping"
    assert e.msg.startswith(
        "m.csv lacks the column 'hs_code': the mapping 'generic-manifest' expects 'hs_code' for hs_code"
    )


def test_a_file_for_another_mapping_gets_one_message_naming_every_missing_column(tmp_path: Path) -> None:
    """Not one error per mapped column, each repeating the file's columns: one message listing what is missing."""
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    mapping = read_mapping(GENERIC)
    with pytest.raises(InvalidInput) as err:
        load(path, mapping)
    [e] = err.value.errors
    expected = [c for _where, c in mapping.columns() if c not in mapping.optional_columns()]
    expected = [c for c in dict.fromkeys(expected) if c != (mapping.outcome.column if mapping.outcome else None)]
    assert len(expected) > 5
    assert e.msg.startswith("other.csv lacks the columns ")
    for column in expected:
        assert f"'{column}'" in e.msg
    assert e.msg.count("Its columns: 'a', 'b', 'c'") == 1


def test_absent_outcome_column_is_fine_for_scoring_not_for_fitting(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(",".join(h for h in GENERIC_HEADER if h != "inspection_result") + "\n", encoding="utf-8")
    assert load(path, read_mapping(GENERIC)).records == []
    with pytest.raises(InvalidInput) as err:
        load(path, read_mapping(GENERIC), require_outcome=True)
    [e] = err.value.errors
    assert e.path == "mapping"
    assert "lacks the column 'inspection_result'" in e.msg and "'inspection_result' for outcome" in e.msg


def test_bad_mapping_files_are_reported_with_their_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfields:\n  id: ID\n  date: D\n  colour: C\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_mapping(bad)
    assert any(e.path.startswith("mapping.fields.colour") for e in err.value.errors)
    bad.write_text("name: x\nfields:\n  date: D\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_mapping(bad)
    assert "'id'" in err.value.message
    with pytest.raises(InvalidInput, match="no such file"):
        read_mapping(tmp_path / "nope.yaml")


def test_rejected_rows_are_reported_with_row_field_column_and_reason(tmp_path: Path) -> None:
    rows = generic_rows(6)
    good = str(rows[0]["containers"]).split(";")[0]
    rows[1]["containers"] = good[:-1] + str((int(good[-1]) + 1) % 10)  # wrong check digit
    rows[2]["hs_code"] = "3926"  # 4 digits
    rows[3]["date"] = "31/02/2025"
    rows[4]["record_id"] = ""
    rows[5]["inspection_result"] = "maybe"
    records, rejections = load_records(write_generic_csv(tmp_path / "m.csv", rows), read_mapping(GENERIC))
    assert [r.id for r in records] == ["BL-0000"]
    by_row = {r.row: r for r in rejections}
    assert sorted(by_row) == [3, 4, 5, 6, 7]  # CSV lines (header = line 1)
    assert by_row[3].field == "containers" and by_row[3].column == "containers"
    assert "wrong check digit (expected" in by_row[3].reason
    assert by_row[4].field == "hs_code" and "6 to 10 digits" in by_row[4].reason
    assert by_row[5].field == "date" and "'31/02/2025' is not a date" in by_row[5].reason
    assert by_row[6].field == "id" and by_row[6].reason == "no record id"
    assert by_row[7].field == "outcome" and "'maybe'" in by_row[7].reason
    assert "row 3 [BL-0001]: containers (column 'containers'): container" in by_row[3].line()


def test_rejected_rows_keep_what_could_be_read_for_scoring(tmp_path: Path) -> None:
    rows = generic_rows(3)
    rows[1]["hs_code"] = "39AB"
    rows[2]["date"] = "yesterday"
    result = load(write_generic_csv(tmp_path / "m.csv", rows), read_mapping(GENERIC))
    salvaged = dict((r.id, (r, why)) for r, why in salvage(result, dt.date(2025, 3, 9)))
    rec, why = salvaged["BL-0001"]
    assert rec.hs_code is None and rec.importer == "IMP-1" and rec.date == dt.date(2025, 3, 1)
    assert why.startswith("hs_code: '39AB' is not an HS code")
    assert salvaged["BL-0002"][0].date == dt.date(2025, 3, 9)  # unreadable date: the fallback


def test_loading_is_idempotent_by_record_id(tmp_path: Path) -> None:
    rows = generic_rows(4)
    path = write_generic_csv(tmp_path / "once.csv", rows)
    once, _ = load_records(path, read_mapping(GENERIC))
    twice_path = write_generic_csv(tmp_path / "twice.csv", rows + rows)
    result = load(twice_path, read_mapping(GENERIC))
    assert set(result.records) == set(once)
    assert result.rejections == [] and result.collapsed == 4
    assert load_records(twice_path, read_mapping(GENERIC))[0] == load_records(twice_path, read_mapping(GENERIC))[0]


def test_a_repeated_id_with_other_content_keeps_the_last_and_reports_the_first(tmp_path: Path) -> None:
    rows = generic_rows(3)
    changed = dict(rows[0], value=99)
    records, rejections = load_records(write_generic_csv(tmp_path / "m.csv", [*rows, changed]), read_mapping(GENERIC))
    kept = {r.id: r for r in records}
    assert len(records) == 3 and kept["BL-0000"].value == 99
    [rej] = rejections
    assert rej.row == 2 and rej.field == "id" and "appears again in row 5" in rej.reason


def test_canonical_values_are_normalised(tmp_path: Path) -> None:
    [rec, *_], _ = load_records(write_generic_csv(tmp_path / "m.csv", generic_rows(1)), read_mapping(GENERIC))
    assert rec.containers == (container("MSC", 100), container("CSQ", 200))
    assert rec.hs_code == "39269099"
    assert rec.country_origin == "CN" and rec.port_transshipment == ("SGSIN",)
    assert rec.net_weight == 11000.0 and rec.gross_weight == 12000.5
    assert rec.outcome is True


def test_json_array_and_json_lines_load_like_csv(tmp_path: Path) -> None:
    rows = generic_rows(5)
    from_csv, _ = load_records(write_generic_csv(tmp_path / "m.csv", rows), read_mapping(GENERIC))
    array = tmp_path / "m.json"
    array.write_text(json.dumps(rows), encoding="utf-8")
    lines = tmp_path / "m.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    for path in (array, lines):
        records, rejections = load_records(path, read_mapping(GENERIC))
        assert rejections == [] and records == from_csv


def test_json_containers_may_be_a_list_and_numbers_may_be_numbers(tmp_path: Path) -> None:
    row = generic_rows(1)[0]
    row["containers"] = [container("MSC", 1), container("TGH", 2)]
    row["hs_code"] = 392690
    path = tmp_path / "m.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    [rec], rejections = load_records(path, read_mapping(GENERIC))
    assert rejections == [] and rec.containers == (container("MSC", 1), container("TGH", 2)) and rec.hs_code == "392690"


def test_xlsx_loads_like_csv(tmp_path: Path) -> None:
    rows = generic_rows(5)
    from_csv, _ = load_records(write_generic_csv(tmp_path / "m.csv", rows), read_mapping(GENERIC))
    book = Workbook()
    ws = book.active
    ws.append(GENERIC_HEADER)
    for r in rows:
        values = [r.get(h, "") for h in GENERIC_HEADER]
        values[1] = dt.datetime.fromisoformat(str(r["date"]))  # a real date cell
        ws.append([None if v == "" else v for v in values])
    path = tmp_path / "m.xlsx"
    book.save(path)
    records, rejections = load_records(path, read_mapping(GENERIC))
    assert rejections == [] and records == from_csv


def test_unreadable_files_are_invalid_input(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not JSON"):
        load(bad, read_mapping(GENERIC))
    with pytest.raises(InvalidInput, match="no such file"):
        load(tmp_path / "missing.csv", read_mapping(GENERIC))
    odd = tmp_path / "m.parquet"
    odd.write_bytes(b"PAR1")
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        load(odd, read_mapping(GENERIC))


def test_numbers_with_a_decimal_comma_and_padded_hs_codes(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('ID;Date;HS;Value\nA;01.03.2025;71080;"1.234,5"\n', encoding="utf-8")
    mapping = Mapping.model_validate(
        {
            "name": "semicolon",
            "delimiter": ";",
            "decimal": ",",
            "fields": {
                "id": "ID",
                "date": {"column": "Date", "format": "%d.%m.%Y"},
                "hs_code": {"column": "HS", "zfill": 6},
                "value": "Value",
            },
        }
    )
    [rec], rejections = load_records(path, mapping)
    assert rejections == [] and rec.hs_code == "071080" and rec.value == 1234.5 and rec.date == dt.date(2025, 3, 1)


def test_the_documented_generic_example_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "targeting-data.md").read_text(encoding="utf-8")
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.csv"
    path.write_text(example, encoding="utf-8")
    records, rejections = load_records(path, read_mapping(GENERIC))
    assert rejections == []
    assert [r.id for r in records] == ["BL-0001", "BL-0002"]
    assert records[0].outcome is True and records[1].outcome is None
    assert records[0].containers == ("MSCU1001008", "CSQU2002003")


def test_csv_headers_are_trimmed_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(" ID , Date \nA,2025-03-01\n,\nB,2025-03-02\n", encoding="utf-8")
    mapping = Mapping.model_validate({"name": "t", "fields": {"id": "ID", "date": "Date"}})
    records, rejections = load_records(path, mapping)
    assert [r.id for r in records] == ["A", "B"] and rejections == [] and records[1].row == 4


def test_phones_from_several_columns_in_e164_and_a_bad_one_rejected_naming_its_column(tmp_path: Path) -> None:
    rows = generic_rows(3)
    rows[0].update(shipper_phone="+86 21 6288 1234", consignee_phone="090 123 4567; 0912-345-678")
    rows[1].update(notify_party_phone="(+84) 90 123 4567")  # the same number as the consignee's above
    rows[2].update(consignee_phone="12345")
    result = load(write_generic_csv(tmp_path / "p.csv", rows), read_mapping("generic-manifest"))
    by_id = {r.id: r for r in result.records}
    first, second = (by_id[str(rows[i]["record_id"])] for i in (0, 1))
    assert first.phones == ("+862162881234", "+84901234567", "+84912345678")
    assert second.phones == ("+84901234567",)
    (bad,) = result.rejections
    assert (bad.field, bad.column) == ("phones", "consignee_phone") and "not a valid phone number" in bad.reason


def test_optional_columns_may_be_missing_and_the_region_reads_national_numbers(tmp_path: Path) -> None:
    header = [h for h in GENERIC_HEADER if not h.endswith("_phone")]
    path = tmp_path / "old.csv"
    rows = generic_rows(2)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([r.get(h, "") for h in header] for r in rows)
    result = load(path, read_mapping("generic-manifest"))
    assert len(result.records) == 2 and all(r.phones == () for r in result.records)

    spec = {"name": "kh", "phone_region": "KH", "fields": {"id": "id", "date": "date", "phones": "tel"}}
    csv_path = tmp_path / "kh.csv"
    csv_path.write_text("id,date,tel\nK1,2026-03-10,012 345 678\n", encoding="utf-8")
    (rec,) = load(csv_path, Mapping.model_validate(spec)).records
    assert rec.phones == ("+85512345678",)


def test_column_and_row_checks_agree(tmp_path: Path) -> None:
    """Files are checked a column at a time (each distinct text once); a row with a problem is
    checked again row by row. Records, rejections and partial rows are those of the row-by-row
    check (the reference), on a file mixing good rows, every kind of problem, repeated ids with
    equal and with other content, short rows and blank lines."""
    from interdict.targeting.mapping import _collect, _RowParser

    rows = generic_rows(40)
    good = str(rows[0]["containers"]).split(";")[0]
    rows[3]["containers"] = good[:-1] + str((int(good[-1]) + 1) % 10)
    rows[5]["hs_code"] = "39AB"
    rows[6]["date"] = "31/02/2025"
    rows[7]["record_id"] = ""
    rows[8]["inspection_result"] = "maybe"
    rows[9]["value"] = "-5"
    rows[10]["net_weight_kg"] = "12 tonnes"
    rows[11]["date"] = ""
    rows[12]["hs_code"] = "39AB"  # a problem seen before: remembered, still reported
    rows[13]["consignee_phone"] = "not a phone"
    rows[14]["consignee_phone"] = "0912 345 678"
    rows[15]["shipper_phone"] = "+84 24 3825 1234"
    rows[16] = dict(rows[15])  # the same id and content: one record
    rows[17] = {**rows[2], "importer": "someone else"}  # the same id, other content
    rows[18]["containers"] = ""
    rows[19]["hs_code"] = ""
    path = write_generic_csv(tmp_path / "m.csv", rows)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n  ,  ,\nBL-9999,2025-03-09\n")  # a blank line and a short row
    mapping = read_mapping(GENERIC)
    got = load(path, mapping)

    parser = _RowParser(mapping, has_outcome=True)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        reference = []
        for cells in reader:
            if any(c.strip() for c in cells):
                reference.append(parser.parse(reader.line_num, dict(zip(header, cells, strict=False))))
    expected = _collect(mapping, [reference])
    assert got.records == expected.records and [r.row for r in got.records] == [r.row for r in expected.records]
    assert got.rejections == expected.rejections
    assert got.partial == expected.partial
    assert (got.rows, got.collapsed) == (expected.rows, expected.collapsed)
    assert len(got.records) > 20 and len(got.rejections) >= 10 and got.collapsed == 1
