"""Cells of files meant for spreadsheets: every CSV or XLSX file Interdict writes goes through here.

Formula injection (OWASP "CSV injection"): a spreadsheet program opening a file runs a cell whose text begins
with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)`` leaks the sheet to a web address,
``=cmd|'/C calc'!A0`` starts a program), and some also after a leading tab, carriage return or line feed, or
a full-width ``＝ ＋ － ＠`` converted on input. Text recorded by anyone — a narrative, a party's name, a failed
login's user name in the audit trail — must never become a live formula in someone else's spreadsheet.

The rule (docs/import-format.md, "Cells beginning with a formula character"):

* **Export** (:func:`neutralise`): a text cell that begins with one of :data:`FORMULA_STARTS`, or with a single
  quote, gets one single quote (``'``) put in front. A text that is a plain number (``-12.5``, ``+5``,
  ``1e-3``) is left as it is (it is a number to the spreadsheet, not a formula), and numeric values (``int``,
  ``float``, ``Decimal``) stay numbers. XLSX text cells are always written as text (never a formula, never an
  error value).
* **Import** (:func:`restore`): a cell that begins with a single quote followed by one of
  :data:`FORMULA_STARTS` or by another single quote loses that first quote. Because the export escapes a
  leading quote too, ``restore(neutralise(x)) == x`` for every text: files Interdict writes import back exactly,
  and a genuine text beginning with ``'`` survives (``'abc`` is exported as ``''abc``).

:data:`FORMULA_START_PATTERN` and :data:`NUMBER_PATTERN` say the same in regular-expression syntax common to
Python and Java, for writers that cannot call Python per cell (Apache Spark, ``targeting/cli.py``).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

QUOTE = "'"
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")  # full-width ＝ ＋ － ＠
# A cell that needs the quote: begins with a formula character or with the quote itself.
FORMULA_START_PATTERN = "^[=+\\-@\t\r\n\uff1d\uff0b\uff0d\uff20']"
# A plain decimal number (the whole cell): left as it is.
NUMBER_PATTERN = "[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_PATTERN)
_is_number = _NUMBER.fullmatch
_NEEDS_QUOTE = FORMULA_STARTS | {QUOTE}


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet cell that is never a formula (see the module's rule)."""
    if text and text[0] in _NEEDS_QUOTE and not _is_number(text):
        return QUOTE + text
    return text


def restore(text: str) -> str:
    """The text :func:`neutralise` was given (for files read back: ``restore(neutralise(x)) == x``)."""
    if len(text) > 1 and text[0] == QUOTE and text[1] in _NEEDS_QUOTE:
        return text[1:]
    return text


def _safe_cells(values: Iterable[object]) -> list[Any]:
    """:func:`safe` of each value, with the common case (a text not beginning with a formula character or a
    quote) tested inline: a writer calls this for every cell of every row."""
    return [
        (QUOTE + v if v[:1] in _NEEDS_QUOTE and not _is_number(v) else v) if v.__class__ is str else safe(v)
        for v in values
    ]


def safe(value: object) -> Any:
    """A cell value for a writer: text neutralised; numbers, ``None`` and booleans as they are; anything else
    as its text, neutralised."""
    if isinstance(value, str):
        return neutralise(value)
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    return neutralise(str(value))


class Writer:
    """``csv.writer`` whose every cell goes through :func:`safe`."""

    def __init__(self, fh: IO[str], **fmtparams: Any) -> None:
        self._w = csv.writer(fh, **fmtparams)

    def writerow(self, row: Iterable[object]) -> None:
        self._w.writerow(_safe_cells(row))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


class DictWriter:
    """``csv.DictWriter`` whose every cell (the header's too) goes through :func:`safe`."""

    def __init__(
        self,
        fh: IO[str],
        fieldnames: Sequence[str],
        *,
        extrasaction: Literal["raise", "ignore"] = "raise",
        **fmtparams: Any,
    ) -> None:
        self.fieldnames = list(fieldnames)
        self._known = frozenset(self.fieldnames)
        self._raise = extrasaction == "raise"
        self._w = csv.writer(fh, **fmtparams)

    def writeheader(self) -> None:
        self._w.writerow([safe(f) for f in self.fieldnames])

    def writerow(self, row: Mapping[str, object]) -> None:
        if self._raise and not self._known.issuperset(row):
            extra = ", ".join(repr(k) for k in row if k not in self._known)
            raise ValueError(f"dict contains fields not in fieldnames: {extra}")
        get = row.get
        self._w.writerow(_safe_cells([get(f, "") for f in self.fieldnames]))

    def writerows(self, rows: Iterable[Mapping[str, object]]) -> None:
        for row in rows:
            self.writerow(row)


def write_xlsx(
    target: str | Path | IO[bytes], sheet: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """One sheet, a header row and ``rows`` (streamed: a write-only workbook). Text cells are neutralised and
    written as text (openpyxl would otherwise store a text beginning with ``=`` as a formula and ``#N/A`` as an
    error value). Returns the number of rows written (without the header)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    from interdict.core.fields import xml_safe

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)

    def text_cell(value: str) -> Any:
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell

    def cells(values: Iterable[object]) -> list[Any]:
        # openpyxl types a text as text unless it begins with "=" (a formula; never after safe()) or is an
        # error code such as "#N/A": only those get a cell of their own, typed as text.
        # XML 1.0 cannot hold control characters: a text stored before input refused them is written without them
        # (core.fields.xml_safe) instead of failing the whole export.
        out = _safe_cells(values)
        for i, value in enumerate(out):
            if value.__class__ is str:
                value = out[i] = xml_safe(value)
                if value in ERROR_CODES or value.startswith("="):
                    out[i] = text_cell(value)
        return out

    ws.append(cells(header))
    n = 0
    for row in rows:
        ws.append(cells(row))
        n += 1
    wb.save(target if not isinstance(target, Path) else str(target))
    return n


@contextmanager
def staged(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed to it only if the block ends without an exception.

    A command that writes an export inside its unit of work and records the export in the audit trail puts
    the ``with`` around the unit of work: the file appears only once the audit entry is committed, and a failed
    write or commit leaves no file (and keeps an existing one)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
