"""The one reader of uploaded tables (CSV and XLSX): streaming, and bounded before and while it reads.

Every import reads its file through :func:`open_table` (incident imports, targeting loads from the pages, the
API and the command line, the targeting model's files), with :class:`Limits` from the settings:

- **XLSX**: the file must be a zip holding an Excel workbook; its members' declared sizes are checked *before*
  anything is parsed — the total unpacked size against ``uncompressed_bytes`` and each large member's
  compression ratio against ``compression_ratio`` (a zip bomb) — and Python's zip reader never unpacks more
  than a member declares. The sheet is then read row by row (openpyxl read-only mode), never held whole.
- **CSV**: UTF-8 text without NUL bytes, read line by line with every physical line bounded (``row_chars``)
  and every field bounded (``cell_chars``, through ``csv.field_size_limit``).
- **Both**: at most ``rows`` rows after the header (blank rows count: a sheet can declare a million empty rows
  in a few bytes), at most ``columns`` cells a row, ``cell_chars`` characters a cell and ``row_chars``
  characters a row.

A file breaking a bound is refused with :class:`InvalidInput` on the upload's field, naming the file, the
reason and the limit; nothing has been written then (callers read before they write, or roll back).
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from interdict.config import Settings
from interdict.core.errors import FieldError, InvalidInput
from interdict.core.i18n import N_

Kind = Literal["csv", "xlsx"]
MIB = 1024 * 1024
RATIO_FLOOR = MIB  # members smaller than this unpacked are not judged by their compression ratio
MAX_MEMBERS = 10_000  # an XLSX has a few dozen members


@dataclass(frozen=True)
class Limits:
    """Bounds of one kind of read (see the module docstring). ``purpose`` names the use in messages
    ("incident imports"), ``field`` the input the errors are reported on."""

    rows: int
    columns: int
    cell_chars: int
    row_chars: int
    uncompressed_bytes: int
    compression_ratio: float
    purpose: str = "this upload"
    field: str = "file"

    @classmethod
    def from_settings(cls, settings: Settings, *, rows: int, purpose: str, field: str = "file") -> Limits:
        return cls(
            rows=rows,
            columns=settings.spreadsheet_max_columns,
            cell_chars=settings.spreadsheet_max_cell_chars,
            row_chars=settings.spreadsheet_max_row_chars,
            uncompressed_bytes=settings.spreadsheet_max_uncompressed_bytes,
            compression_ratio=settings.spreadsheet_max_compression_ratio,
            purpose=purpose,
            field=field,
        )


def default_settings() -> Settings:
    """The settings' documented defaults, without reading the environment (for library calls given no settings)."""
    return Settings.model_construct()


def size(n: int) -> str:
    """Bytes as people read them: 200 MB, 1.5 MB, 900 bytes."""
    if n >= MIB:
        return f"{n / MIB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n} bytes"


class Table:
    """An open table: ``header`` (the first row, as text), ``rows()`` the following rows as
    ``(row number, cells)`` — the CSV line or the sheet row, header = 1 — and ``estimated_rows`` for progress
    (counted from the file's lines, or the sheet's declared size; None when unknown). Close it (or use it as a
    context manager) when done; ``rows()`` closes it when exhausted."""

    def __init__(self, path: Path, kind: Kind, limits: Limits, name: str | None = None) -> None:
        self.path = path
        self.name = name or path.name  # as the user knows the file (an upload is stored under another name)
        self.kind = kind
        self.limits = limits
        self.header: list[str] = []
        self.estimated_rows: int | None = None
        self._book: Any = None
        self._rows: Iterator[tuple[int, list[Any]]] = iter(())
        self._fh: Any = None

    # --- errors -------------------------------------------------------------------------------------------

    def refuse(self, reason: str) -> InvalidInput:
        return InvalidInput(FieldError((self.limits.field,), N_("%(name)s: %(reason)s", name=self.name, reason=reason)))

    def _check_row(self, n: int, cells: list[Any]) -> None:
        lim = self.limits
        if n - 1 > lim.rows:
            raise self.refuse(f"more than {lim.rows:,} rows; the limit for {lim.purpose} is {lim.rows:,} rows")
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        if len(cells) > lim.columns:
            raise self.refuse(f"row {n} has {len(cells):,} columns; the limit is {lim.columns:,} columns")
        total = 0
        for k, cell in enumerate(cells):
            if type(cell) is str:
                total += len(cell)
                if len(cell) > lim.cell_chars:
                    raise self.refuse(
                        f"row {n}, column {k + 1}: a cell of {len(cell):,} characters; "
                        f"the limit is {lim.cell_chars:,} characters a cell"
                    )
        if total > lim.row_chars:
            raise self.refuse(f"row {n} holds {total:,} characters; the limit is {lim.row_chars:,} characters a row")

    # --- CSV ----------------------------------------------------------------------------------------------

    def _open_csv(self, delimiter: str) -> None:
        with self.path.open("rb") as raw:
            head = raw.read(8192)
            if b"\x00" in head:
                kind = "an Excel workbook or another zip file" if head.startswith(b"PK\x03\x04") else "a binary file"
                raise self.refuse(f"not a CSV text file (it contains NUL bytes: {kind}?)")
            lines = head.count(b"\n")
            while chunk := raw.read(MIB):
                lines += chunk.count(b"\n")
        self.estimated_rows = max(lines - 1, 0)
        # Fields are bounded by csv itself (a process-wide setting: every reader uses the configured bound).
        csv.field_size_limit(self.limits.cell_chars)
        self._fh = self.path.open(encoding="utf-8-sig", newline="")
        reader = csv.reader(self._lines(), delimiter=delimiter, strict=False)
        try:
            first = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            self.close()
            raise self._csv_error(1, exc) from None
        except InvalidInput:
            self.close()
            raise
        if first is not None:
            self._check_row(1, list(first))
        self.header = [h.strip() for h in first or []]
        self._rows = self._csv_rows(reader)

    def _lines(self) -> Iterator[str]:
        """Physical lines, each at most ``row_chars`` characters (a row longer than that is refused anyway)."""
        limit = self.limits.row_chars
        n = 0
        while line := self._fh.readline(limit + 2):
            n += 1
            if len(line.rstrip("\r\n")) > limit:
                raise self.refuse(f"line {n} is longer than {limit:,} characters, the limit a row")
            if "\x00" in line:
                raise self.refuse(f"line {n} contains a NUL byte: not a CSV text file")
            yield line

    def _csv_error(self, line: int, exc: Exception) -> InvalidInput:
        if isinstance(exc, UnicodeDecodeError):
            return self.refuse("not UTF-8 text (save it as UTF-8)")  # decoded by blocks: the line is not known
        text = str(exc)
        if "field larger than field limit" in text:
            return self.refuse(
                f"line {line}: a cell longer than {self.limits.cell_chars:,} characters, the limit a cell"
            )
        return self.refuse(f"not a readable CSV file at line {line} ({text})")

    def _csv_rows(self, reader: Any) -> Iterator[tuple[int, list[Any]]]:
        try:
            n = 1
            while True:
                try:
                    cells = next(reader, None)
                except csv.Error as exc:  # the line is counted already
                    raise self._csv_error(reader.line_num, exc) from None
                except UnicodeDecodeError as exc:  # the line could not be read
                    raise self._csv_error(reader.line_num + 1, exc) from None
                if cells is None:
                    return
                n += 1
                self._check_row(n, list(cells))
                yield reader.line_num, cells
        finally:
            self.close()

    # --- XLSX ---------------------------------------------------------------------------------------------

    def _check_zip(self) -> None:
        """Refuse what is not a workbook, or unpacks to too much, before any of it is unpacked."""
        lim = self.limits
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise self.refuse("not an Excel workbook (.xlsx is a zip file; this is not one)") from None
        if len(infos) > MAX_MEMBERS:
            raise self.refuse(f"a zip file of {len(infos):,} members is not an Excel workbook")
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise self.refuse("a zip file but not an Excel workbook (it has no xl/workbook.xml)")
        total = sum(i.file_size for i in infos)
        if total > lim.uncompressed_bytes:
            raise self.refuse(
                f"the workbook unpacks to {size(total)}; the limit is {size(lim.uncompressed_bytes)} unpacked"
            )
        for i in infos:
            ratio = i.file_size / max(i.compress_size, 1)
            if i.file_size > RATIO_FLOOR and ratio > lim.compression_ratio:
                raise self.refuse(
                    f"{i.filename} is compressed {ratio:,.0f} times (a zip bomb?); "
                    f"the limit is {lim.compression_ratio:,.0f} times"
                )

    def _open_xlsx(self, sheet: str | None, sheet_loc: tuple[str | int, ...]) -> None:
        self._check_zip()
        from openpyxl import load_workbook

        try:
            self._book = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise self.refuse(f"not a readable Excel workbook ({type(exc).__name__})") from None
        names = list(self._book.sheetnames)
        if sheet is not None and sheet not in names:
            self.close()
            listed = ", ".join(f"'{s}'" for s in names[:30])
            raise InvalidInput(
                FieldError(
                    sheet_loc,
                    N_(
                        "no sheet '%(sheet)s' in %(name)s (sheets: %(listed)s)",
                        sheet=sheet,
                        name=self.name,
                        listed=listed,
                    ),
                )
            )
        if not names:
            self.close()
            raise self.refuse("the workbook has no sheet")
        ws = self._book[sheet] if sheet is not None else self._book.worksheets[0]
        declared = getattr(ws, "max_row", None)
        self.estimated_rows = max(declared - 1, 0) if isinstance(declared, int) else None
        it = ws.iter_rows(values_only=True)
        try:
            first = next(it, None)
        except Exception as exc:
            self.close()
            raise self.refuse(f"not a readable Excel workbook ({type(exc).__name__})") from None
        cells = list(first or ())
        self._check_row(1, cells)
        self.header = [_header_text(c) for c in cells]
        self._rows = self._xlsx_rows(it)

    def _xlsx_rows(self, it: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[Any]]]:
        try:
            n = 1
            while True:
                try:
                    values = next(it, None)
                except InvalidInput:
                    raise
                except Exception as exc:  # a malformed sheet part
                    raise self.refuse(f"row {n + 1} cannot be read ({type(exc).__name__})") from None
                if values is None:
                    return
                n += 1
                cells = list(values)
                self._check_row(n, cells)
                yield n, cells
        finally:
            self.close()

    # --- use ----------------------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return self._rows

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _header_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def open_table(
    path: Path,
    kind: Kind,
    limits: Limits,
    *,
    delimiter: str = ",",
    sheet: str | None = None,
    sheet_loc: tuple[str | int, ...] = ("sheet",),
    name: str | None = None,
) -> Table:
    """Open ``path`` as a ``kind`` table under ``limits`` (see the module docstring). XLSX: the first sheet, or
    ``sheet`` (a missing sheet is an error on ``sheet_loc``). Raises :class:`InvalidInput` on the limits' field,
    naming the file as ``name`` (default: its file name)."""
    table = Table(path, kind, limits, name)
    if not path.is_file():
        raise table.refuse("no such file")
    if kind == "xlsx":
        table._open_xlsx(sheet, sheet_loc)
    else:
        table._open_csv(delimiter)
    return table


def kind_of(path: Path, *, field: str = "file") -> Kind:
    """CSV or XLSX from the file's suffix (.csv, .txt, .tsv / .xlsx, .xlsm)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    raise InvalidInput(FieldError((field,), N_("unsupported file type '%(suffix)s': use .csv or .xlsx", suffix=suffix)))
