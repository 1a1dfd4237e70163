"""Every CSV/XLSX read is bounded (issue 16, "unbounded spreadsheet work"): a zip bomb is refused before anything
is parsed, too many rows / columns / too long cells and lines are refused naming the limit, and a file of the wrong
kind is refused naming the file field. The incident import and the targeting loader read through the same reader
(core/spreadsheet/reader.py), so each case is checked through both."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from interdict.config import Settings
from interdict.core.errors import InvalidInput
from interdict.core.spreadsheet.reader import open_table
from interdict.incidents import importexport
from interdict.targeting import mapping
from interdict.targeting.service import load_limits
from tests.targeting.workflow_data import HEADER, row

MB = 1024 * 1024
MANIFEST = mapping.read_mapping("generic-manifest")
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"


def defaults(**changes: object) -> Settings:
    """The documented defaults (no environment), with ``changes``."""
    return Settings.model_construct(**changes)


def workbook(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def with_sheet(path: Path, write_sheet: object, *, level: int = 1) -> Path:
    """A real workbook (openpyxl's) whose first sheet is replaced by what ``write_sheet(fh)`` writes."""
    base = io.BytesIO()
    wb = Workbook()
    wb.active.append(["record_id"])  # type: ignore[union-attr]
    wb.save(base)
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with dst.open(info.filename, "w", force_zip64=True) as fh:
                    write_sheet(fh)  # type: ignore[operator]
            else:
                dst.writestr(info.filename, src.read(info.filename))
    return path


def bomb(path: Path, unpacked: int, *, level: int = 1, cell: bytes = b"x") -> Path:
    """A workbook whose sheet is ``unpacked`` bytes of valid rows (a zip bomb when that is large)."""
    one = b'<row><c t="inlineStr"><is><t>' + cell + b"</t></is></c></row>"
    block = one * 20_000

    def write(fh: io.BufferedWriter) -> None:
        fh.write(SHEET_HEAD)
        n = len(SHEET_HEAD)
        while n < unpacked:
            fh.write(block)
            n += len(block)
        fh.write(SHEET_TAIL)

    return with_sheet(path, write, level=level)


def refusal(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    assert len(exc.value.errors) == 1
    return exc.value.errors[0].msg


def test_a_zip_bomb_is_refused_before_anything_is_parsed(tmp_path: Path) -> None:
    # 210 MB of valid rows packed into about 1.5 MB: over the 200 MB unpacked limit.
    path = bomb(tmp_path / "bomb.xlsx", 210 * MB)
    assert path.stat().st_size < 3 * MB
    # The incident import refuses it when it opens the file: its first row is never produced.
    with pytest.raises(InvalidInput) as exc:
        next(importexport.iter_rows(path))
    assert exc.value.errors[0].loc == ("file",)
    assert re.fullmatch(
        r"bomb\.xlsx: the workbook unpacks to 210(\.\d)? MB; the limit is 200 MB unpacked", refusal(exc)
    )
    # So does the reader itself, on opening (before any row could be asked for), and the targeting loader.
    with pytest.raises(InvalidInput, match="unpacks to 210"):
        open_table(path, "xlsx", importexport.import_limits(defaults()))
    with pytest.raises(InvalidInput, match="the limit is 200 MB unpacked"):
        mapping.load(path, MANIFEST, limits=load_limits(defaults()))
    # A smaller bomb, under the size limit, is refused by its compression ratio (a real sheet packs 5-100 times).
    ratio = bomb(tmp_path / "ratio.xlsx", 40 * MB, level=9, cell=b"y")
    with pytest.raises(InvalidInput) as exc:
        next(importexport.iter_rows(ratio))
    assert "xl/worksheets/sheet1.xml is compressed" in refusal(exc) and "the limit is 200 times" in refusal(exc)
    # The limits are settings.
    with pytest.raises(InvalidInput, match="the limit is 1 MB unpacked"):
        next(importexport.iter_rows(path, importexport.import_limits(defaults(spreadsheet_max_uncompressed_bytes=MB))))


def test_too_many_rows_are_refused_naming_the_limit(tmp_path: Path) -> None:
    csv_path = tmp_path / "in.csv"
    csv_path.write_text("incident_type,incident_date,country\n" + "seizure,2026-01-02,VN\n" * 4, encoding="utf-8")
    limits = importexport.import_limits(defaults(import_max_rows=3))
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(csv_path, limits))
    assert refusal(exc) == "in.csv: more than 3 rows; the limit for incident imports is 3 rows"
    assert len(list(importexport.iter_rows(csv_path, importexport.import_limits(defaults(import_max_rows=4))))) == 4

    # A sheet can declare a million empty rows in a few bytes: they count, and reading stops at the limit.
    def far_row(fh: io.BufferedWriter) -> None:
        fh.write(SHEET_HEAD + b'<row r="1"><c r="A1" t="inlineStr"><is><t>incident_type</t></is></c></row>')
        fh.write(b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>seizure</t></is></c></row>' + SHEET_TAIL)

    far = with_sheet(tmp_path / "far.xlsx", far_row)
    assert far.stat().st_size < 10_000
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(far, importexport.import_limits(defaults(import_max_rows=100_000))))
    assert refusal(exc) == "far.xlsx: more than 100,000 rows; the limit for incident imports is 100,000 rows"

    # Targeting loads: targeting_max_upload_rows, in CSV, XLSX and JSON alike.
    rows = [row(f"R{i}") for i in range(3)]
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows(rows)
    sheet = workbook(tmp_path / "m.xlsx", [HEADER, *[[r[h] for h in HEADER] for r in rows]])
    for path in (manifest, sheet):
        with pytest.raises(InvalidInput) as exc:
            mapping.load(path, MANIFEST, limits=load_limits(defaults(targeting_max_upload_rows=2)))
        assert refusal(exc) == f"{path.name}: more than 2 rows; the limit for targeting loads is 2 rows"
        assert len(mapping.load(path, MANIFEST, limits=load_limits(defaults())).records) == 3


def test_a_gigantic_csv_field_or_line_is_refused_naming_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "field.csv"
    big.write_text(
        'incident_type,incident_date,country,narrative\nseizure,2026-01-02,VN,"' + "a" * 200_000 + '"\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(big))
    assert refusal(exc) == "field.csv: line 2: a cell longer than 32,767 characters, the limit a cell"
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows([row("R1"), row("R2", goods_description="c" * 200_000)])
    with pytest.raises(InvalidInput, match=r"manifest\.csv: line 3: a cell longer than 32,767 characters"):
        mapping.load(manifest, MANIFEST, limits=load_limits(defaults()))
    # A line that never ends is not read whole: refused at the row limit.
    endless = tmp_path / "line.csv"
    endless.write_text("incident_type,incident_date,country\n" + "x," * 1_500_000, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(endless))
    assert refusal(exc) == "line.csv: line 2 is longer than 1,000,000 characters, the limit a row"
    # A long cell in a workbook (openpyxl itself cuts cells at Excel's 32,767 characters; a lower limit is set here).
    sheet = workbook(tmp_path / "cells.xlsx", [["incident_type", "narrative"], ["seizure", "b" * 5_000]])
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(sheet, importexport.import_limits(defaults(spreadsheet_max_cell_chars=1000))))
    assert (
        refusal(exc) == "cells.xlsx: row 2, column 2: a cell of 5,000 characters; the limit is 1,000 characters a cell"
    )
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(1001)) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(wide))
    assert refusal(exc) == "wide.csv: row 1 has 1,001 columns; the limit is 1,000 columns"


def test_a_file_of_the_wrong_kind_is_refused_naming_the_field(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"incident_type,incident_date\n")
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(fake))
    assert exc.value.errors[0].loc == ("file",)
    assert refusal(exc) == "fake.xlsx: not an Excel workbook (.xlsx is a zip file; this is not one)"
    archive = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(InvalidInput, match="a zip file but not an Excel workbook"):
        list(importexport.iter_rows(archive))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"incident_type\n\x00\x01\x02\x03")
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(binary))
    assert refusal(exc) == "binary.csv: not a CSV text file (it contains NUL bytes: a binary file?)"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("incident_type,place_name\nseizure,Hải Phòng\n".encode("utf-16"))
    with pytest.raises(InvalidInput, match=r"not a CSV text file|not UTF-8 text"):
        list(importexport.iter_rows(latin))
    cp1258 = tmp_path / "cp.csv"
    cp1258.write_bytes(b"incident_type,place_name\nseizure,H\xe0 N\xf4i\n")
    with pytest.raises(InvalidInput) as exc:
        list(importexport.iter_rows(cp1258))
    assert refusal(exc) == "cp.csv: not UTF-8 text (save it as UTF-8)"
    workbook_as_csv = tmp_path / "book.csv"
    workbook_as_csv.write_bytes(workbook(tmp_path / "b.xlsx", [["a"]]).read_bytes())
    with pytest.raises(InvalidInput, match="an Excel workbook or another zip file"):
        mapping.load(workbook_as_csv, MANIFEST, limits=load_limits(defaults()))
