"""The one rule for cells of files meant for spreadsheets (formula injection), and that every writer uses it."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from interdict.core import spreadsheet
from interdict.core.spreadsheet import neutralise, restore

SRC = Path(__file__).resolve().parents[2] / "src" / "interdict"
STARTS = "=+-@\t\r\n\uff1d\uff0b\uff0d\uff20"


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d1", "'\uff0d1"),
        ("\uff20SUM(1)", "'\uff20SUM(1)"),
        ("+84 28 3822 1234", "'+84 28 3822 1234"),  # not a number: a spreadsheet would mangle it anyway
        ("'quoted", "''quoted"),  # a leading quote is escaped, so reading back is unambiguous
        ("'=1+1", "''=1+1"),
        ("-12.5", "-12.5"),  # plain numbers are numbers to the spreadsheet, not formulas
        ("+5", "+5"),
        ("-1e-3", "-1e-3"),
        ("-.5", "-.5"),
        ("- 5", "'- 5"),
        ("-12.5\n", "'-12.5\n"),
        ("-\uff11", "'-\uff11"),  # full-width digit: not a plain number
        ("plain = text", "plain = text"),
        ("", ""),
        ("=", "'="),
    ],
)
def test_the_rule(text: str, cell: str) -> None:
    assert neutralise(text) == cell
    assert restore(cell) == text


def test_restore_leaves_a_quote_before_anything_else() -> None:
    assert restore("'abc") == "'abc" and restore("'") == "'" and restore("abc") == "abc"


@given(st.text(alphabet=st.sampled_from([*STARTS, "'", "a", "1", ".", "e", " ", "中"]), max_size=8) | st.text())
def test_every_text_reads_back_exactly_and_is_never_a_formula(text: str) -> None:
    cell = neutralise(text)
    assert restore(cell) == text
    if cell[:1] and cell[0] in STARTS:
        assert re.fullmatch(spreadsheet.NUMBER_PATTERN, cell), cell


def test_the_regular_expressions_say_the_same_as_the_python_rule() -> None:
    """Writers that cannot run Python per cell (Spark) use the patterns: they must agree with neutralise()."""
    samples = ["=1", "'a", "-12.5", "-12.5x", "+5", "a", "", "\uff1d1", "\t1", "1e5", "-.5", "- 5", "@a", "'"]
    for text in samples:
        risky = re.match(spreadsheet.FORMULA_START_PATTERN, text) is not None
        number = re.fullmatch(spreadsheet.NUMBER_PATTERN, text) is not None
        assert (neutralise(text) != text) == (risky and not number), text


def test_writers_neutralise_text_and_keep_numbers() -> None:
    buf = io.StringIO()
    w = spreadsheet.Writer(buf)
    w.writerow(["=1+1", -5, Decimal("-2.5"), 1.5, None, "ok"])
    assert next(csv.reader(io.StringIO(buf.getvalue()))) == ["'=1+1", "-5", "-2.5", "1.5", "", "ok"]
    buf = io.StringIO()
    d = spreadsheet.DictWriter(buf, ["@header", "b"])
    d.writeheader()
    d.writerow({"@header": "@x", "b": -1})
    assert list(csv.reader(io.StringIO(buf.getvalue()))) == [["'@header", "b"], ["'@x", "-1"]]


def test_xlsx_text_is_text_numbers_are_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    rows = [["=1+1", "#N/A", "-12.5", -5, Decimal("2.5"), None, "\uff1dA1"]]
    assert spreadsheet.write_xlsx(path, "s", ["=h", "b", "c", "d", "e", "f", "g"], rows) == 1
    ws = load_workbook(path).worksheets[0]
    header, row = ([(c.value, c.data_type) for c in r] for r in ws.iter_rows())
    assert header[0] == ("'=h", "s")
    assert row[:5] == [("'=1+1", "s"), ("#N/A", "s"), ("-12.5", "s"), (-5, "n"), (2.5, "n")]
    assert row[5][0] is None and row[6] == ("'\uff1dA1", "s")


def test_staged_output_appears_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), spreadsheet.staged(target) as part:
        part.write_text("half")
        raise RuntimeError("commit failed")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with spreadsheet.staged(target) as part:
        part.write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]


def test_every_spreadsheet_file_is_written_through_the_shared_rule() -> None:
    """No module writes CSV or XLSX by itself: a new export cannot forget the rule."""
    writers = re.compile(r"csv\.writer\(|csv\.DictWriter\(|\bWorkbook\(|xlsxwriter|\.to_csv\(|\.to_excel\(")
    spark_csv = re.compile(r"(?<!read)\.csv\(")  # a DataFrame written as CSV (Spark reads are spark.read.csv)
    # Files that are not for spreadsheets, each with its reason.
    exempt = {
        # `interdict reference unlocode-convert`: the product's own reference data in UNECE's column format, read
        # back verbatim by the loader; its function codes begin with "-" ("--3-----") and must stay as written.
        SRC / "reference" / "unlocode.py",
    }
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "core" / "spreadsheet" / "__init__.py" or path in exempt:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(SRC)}: {m.group(0)!r}" for m in writers.finditer(text)]
        if spark_csv.search(text) and "neutralised(" not in text:
            offenders.append(f"{path.relative_to(SRC)}: Spark CSV without spark.neutralised()")
    assert offenders == []
