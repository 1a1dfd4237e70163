"""Column mappings and loaders: any agency's manifest or declaration file -> canonical records.

A mapping (YAML, see docs/targeting-data.md) names, for each canonical field, the source column
that holds it, with per-field options (date format, separator of multi-valued columns, zero
padding), the outcome column and which of its values mean "positive" (an irregularity was found),
and ``extra`` columns the model should use as they are (categorical or numeric).

:func:`load` reads CSV, XLSX (first sheet, or ``sheet``) or JSON (an array of objects, or one object
a line) and checks every row: ISO 6346 container check digits, HS codes of 6-10 digits, dates,
numbers, a record id. It returns the valid records, one :class:`Rejection` per problem, and, for the
rejected rows, a partial record (the readable fields) so that a scorer can still give every input
record a line. Loading is idempotent by record id: a repeated id with identical content is one
record; a repeated id with different content keeps the last occurrence and reports the earlier one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import itertools
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from interdict.config import Settings
from interdict.core.errors import FieldError, InvalidInput, from_validation_error
from interdict.core.gcpause import gc_paused
from interdict.core.i18n import N_
from interdict.core.spreadsheet.reader import Kind, Limits, default_settings, open_table
from interdict.core.text import strip_bidi
from interdict.reference.validators import normalise_container

TextField = Literal[
    "vessel",
    "voyage",
    "bill_of_lading",
    "port_loading",
    "port_discharge",
    "shipper",
    "seller",
    "consignee",
    "notify_party",
    "declarant",
    "importer",
    "goods_description",
    "country_origin",
    "country_departure",
    "office",
]
NumberField = Literal["gross_weight", "net_weight", "value", "packages", "tax_rate"]
ListField = Literal["containers", "port_transshipment", "phones"]
CanonicalField = Literal["id", "date", "hs_code", TextField, NumberField, ListField]

TEXT_FIELDS: tuple[str, ...] = get_args(TextField)
NUMBER_FIELDS: tuple[str, ...] = get_args(NumberField)
LIST_FIELDS: tuple[str, ...] = get_args(ListField)
# Codes compared upper-case without inner spaces (ports, countries, offices); names are kept as written.
_CODE_FIELDS = {"port_loading", "port_discharge", "country_origin", "country_departure", "port_transshipment"}

MAPPINGS_DIR = "mappings"
BLOCK_ROWS = 8192  # rows checked together, a column at a time


class FieldSpec(BaseModel):
    """Where one canonical field comes from. In YAML, a plain string is the column name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)
    format: list[str] | None = Field(
        default=None, description="date formats (strptime), tried in order; default ISO 8601 (2021-03-31)"
    )
    separator: str | None = Field(default=None, description="splits a multi-valued column (containers, ports, phones)")
    optional: bool = Field(
        default=False, description="the column(s) may be missing from a file; the field is then empty"
    )
    also: list[str] = Field(
        default_factory=list,
        description="multi-valued fields: further columns whose values are added (e.g. the consignee's and the "
        "notify party's phones)",
    )
    zfill: int | None = Field(
        default=None, ge=1, le=12, description="left-pad with zeros to this width (HS codes stored as numbers)"
    )

    @field_validator("format", mode="before")
    @classmethod
    def _one_format(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class OutcomeSpec(BaseModel):
    """The inspection outcome: ``positive`` values mean an irregularity was found.

    With ``negative`` given, any other non-empty value is a rejection; without it, every other
    non-empty value is negative. An empty cell is an unknown outcome (not inspected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)
    positive: list[str] = Field(min_length=1)
    negative: list[str] | None = None

    @field_validator("positive", "negative", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        if isinstance(value, str | int | float | bool):
            value = [value]
        if isinstance(value, list):
            return [_cell_text(v) for v in value]
        return value


class ExtraSpec(BaseModel):
    """A source column kept as a model feature as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)
    type: Literal["categorical", "numeric"]


class Mapping(BaseModel):
    """A column mapping file (YAML): which source column holds which canonical field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    format: Literal["csv", "xlsx", "json"] | None = Field(default=None, description="default: from the file suffix")
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    sheet: str | None = None
    decimal: Literal[".", ","] = "."
    phone_region: str = Field(
        default="VN",
        pattern=r"^[A-Z]{2}$",
        description="country (ISO 3166 alpha-2) of phone numbers written without a +country code",
    )
    fields: dict[CanonicalField, FieldSpec]
    outcome: OutcomeSpec | None = None
    extra: dict[str, ExtraSpec] = Field(default_factory=dict)

    @field_validator("fields", mode="before")
    @classmethod
    def _short_fields(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: ({"column": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("extra", mode="before")
    @classmethod
    def _short_extra(cls, value: object) -> object:
        if value is None:
            return {}
        if isinstance(value, dict):
            return {k: ({"column": k, "type": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("fields", mode="after")
    @classmethod
    def _required(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in ("id", "date"):
            if name not in fields:
                raise PydanticCustomError(
                    "required_field", N_("the mapping must name the column of '{name}'"), {"name": name}
                )
        for name, spec in fields.items():
            if spec.format is not None and name != "date":
                raise PydanticCustomError(
                    "invalid", N_("'format' applies to the date only, not to '{name}'"), {"name": name}
                )
            if (spec.separator is not None or spec.also) and name not in LIST_FIELDS:
                raise PydanticCustomError(
                    "invalid",
                    N_("'separator' and 'also' apply to containers, port_transshipment and phones, not to '{name}'"),
                    {"name": name},
                )
        return fields

    @field_validator("extra", mode="after")
    @classmethod
    def _extra_names(cls, extra: dict[str, ExtraSpec]) -> dict[str, ExtraSpec]:
        for name in extra:
            if not re.fullmatch(r"[A-Za-z][\w ]*", name):
                raise PydanticCustomError(
                    "invalid", N_("extra feature name '{name}' must be letters, digits, _ or spaces"), {"name": name}
                )
        return extra

    def optional_columns(self) -> set[str]:
        """Columns a file may lack (fields marked ``optional``)."""
        return {c for v in self.fields.values() if v.optional for c in (v.column, *v.also)}

    def columns(self) -> list[tuple[str, str]]:
        """(where in the mapping, source column) for every column the mapping names."""
        out = [(f"fields.{k}", v.column) for k, v in self.fields.items()]
        out += [(f"fields.{k}.also", c) for k, v in self.fields.items() for c in v.also]
        out += [(f"extra.{k}", v.column) for k, v in self.extra.items()]
        if self.outcome is not None:
            out.append(("outcome.column", self.outcome.column))
        return out

    def fingerprint(self) -> str:
        """Stable digest of what the mapping means (not of its comments or layout)."""
        payload = self.model_dump(mode="json", exclude={"name", "description"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def read_mapping(path: str | Path) -> Mapping:
    """Read a mapping file, or a shipped mapping by name (``kcs-customs-declarations``).

    Raises :class:`InvalidInput` naming the field of the mapping and the reason."""
    import yaml

    p = Path(path)
    if not p.is_file():
        shipped = resources.files("interdict.targeting") / MAPPINGS_DIR / f"{p.name.removesuffix('.yaml')}.yaml"
        if p.parent == Path() and shipped.is_file():
            p = Path(str(shipped))
        else:
            raise InvalidInput(
                FieldError(("mapping",), N_("%(path)s: no such file (and no shipped mapping of that name)", path=path))
            )
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            FieldError(("mapping",), N_("%(p)s: not a readable YAML file (%(exc)s)", p=p, exc=exc))
        ) from None
    if not isinstance(raw, dict):
        raise InvalidInput(FieldError(("mapping",), N_("%(p)s: expected a YAML mapping with 'name' and 'fields'", p=p)))
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise from_validation_error(exc, ("mapping",)) from None


def shipped_mappings() -> list[str]:
    folder = resources.files("interdict.targeting") / MAPPINGS_DIR
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


# --- records -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One manifest line, bill of lading or declaration in canonical form.

    ``row`` is where it was read (not part of its content: two rows with equal content are one record).
    ``outcome``: True = irregularity found, False = inspected/cleared without one, None = unknown."""

    id: str
    date: dt.date
    row: int = field(default=0, compare=False)
    hs_code: str | None = None
    containers: tuple[str, ...] = ()
    port_transshipment: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    vessel: str | None = None
    voyage: str | None = None
    bill_of_lading: str | None = None
    port_loading: str | None = None
    port_discharge: str | None = None
    shipper: str | None = None
    seller: str | None = None
    consignee: str | None = None
    notify_party: str | None = None
    declarant: str | None = None
    importer: str | None = None
    goods_description: str | None = None
    country_origin: str | None = None
    country_departure: str | None = None
    office: str | None = None
    gross_weight: float | None = None
    net_weight: float | None = None
    value: float | None = None
    packages: float | None = None
    tax_rate: float | None = None
    outcome: bool | None = None
    extra: tuple[tuple[str, str | float | None], ...] = ()

    def extra_value(self, name: str) -> str | float | None:
        for key, value in self.extra:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Rejection:
    """One problem with one source row. ``row``: CSV line / sheet row (header = 1), JSON item or line."""

    row: int
    record_id: str | None
    field: str
    column: str | None
    reason: str

    def line(self) -> str:
        where = f"{self.field} (column '{self.column}')" if self.column else self.field
        rid = f" [{self.record_id}]" if self.record_id else ""
        return f"row {self.row}{rid}: {where}: {self.reason}"


@dataclass(frozen=True)
class Partial:
    """What could be read of a rejected row. ``id`` is ``row-<n>`` when the row has none."""

    row: int
    id: str
    date: dt.date | None
    values: dict[str, Any]
    extra: tuple[tuple[str, str | float | None], ...]
    reason: str


@dataclass
class LoadResult:
    records: list[Record]
    rejections: list[Rejection]
    # The readable part of each rejected row (bad fields left empty), for scorers that owe every
    # input record a line: see :func:`salvage`.
    partial: list[Partial] = field(default_factory=list)
    rows: int = 0
    collapsed: int = 0  # repeated ids with identical content

    @property
    def rejected_rows(self) -> int:
        return len({r.row for r in self.rejections})


def load_records(path: str | Path, mapping: Mapping) -> tuple[list[Record], list[Rejection]]:
    """Valid canonical records (in file order, one per id) and every rejection (the public loader)."""
    result = load(path, mapping)
    return result.records, result.rejections


Progress = Callable[[int, int | None], None]  # (rows read so far, estimated total or None)


def file_limits(settings: Settings | None = None, *, rows: int | None = None, purpose: str | None = None) -> Limits:
    """Bounds of a file the targeting model reads (fit, score, evaluate); loads pass their own (see
    :func:`interdict.targeting.service.load_batch`)."""
    s = settings or default_settings()
    return Limits.from_settings(
        s,
        rows=rows if rows is not None else s.targeting_max_file_rows,
        purpose=purpose or "targeting files",
        field="data",
    )


def load(
    path: str | Path,
    mapping: Mapping,
    *,
    require_outcome: bool = False,
    limits: Limits | None = None,
    progress: Progress | None = None,
    name: str | None = None,
) -> LoadResult:
    """Read and check every row of ``path``; see the module docstring.

    Raises :class:`InvalidInput` when the file cannot be read, breaks one of ``limits`` (rows, columns, cell
    and row sizes, an XLSX's unpacked size: :mod:`interdict.core.spreadsheet.reader`; default :func:`file_limits`),
    or a mapped column is not in it (naming the mapping field and the column). The outcome column may be
    absent unless ``require_outcome``. ``progress(rows read, estimated rows)`` is called as the file is read.
    ``name``: the file as messages name it (default: its file name; an upload is stored under another)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(FieldError(("data",), N_("%(path)s: no such file", path=path)))
    with gc_paused():
        return _load(p, mapping, require_outcome, limits or file_limits(), progress, name or p.name)


def check_file_columns(path: Path, mapping: Mapping, fmt: str, limits: Limits, name: str) -> None:
    """Check a CSV or XLSX file's header against ``mapping`` (:func:`check_columns`) without reading its rows, so
    an upload for the wrong mapping is refused on its form at once; a JSON file's keys are checked as it loads."""
    if (mapping.format or fmt) not in ("csv", "xlsx"):
        return
    kind: Kind = "xlsx" if (mapping.format or fmt) == "xlsx" else "csv"
    opened = open_table(
        path, kind, limits, delimiter=mapping.delimiter, sheet=mapping.sheet, sheet_loc=("mapping", "sheet"), name=name
    )
    with opened as table:
        check_columns(mapping, table.header, name)


def _load(
    p: Path, mapping: Mapping, require_outcome: bool, limits: Limits, progress: Progress | None, name: str
) -> LoadResult:
    fmt = mapping.format or _format_of(p)
    if fmt == "json":
        header, items = _read_json(p, limits, name)
        has_outcome = check_columns(mapping, header, name, require_outcome=require_outcome)
        return parse_rows(mapping, _counted(items, None, progress), has_outcome=has_outcome)
    kind: Kind = "xlsx" if fmt == "xlsx" else "csv"
    opened = open_table(
        p, kind, limits, delimiter=mapping.delimiter, sheet=mapping.sheet, sheet_loc=("mapping", "sheet"), name=name
    )
    with opened as table:
        header = table.header
        has_outcome = check_columns(mapping, header, name, require_outcome=require_outcome)
        if fmt == "xlsx":
            rows = (
                (n, dict(zip(header, values, strict=False)))
                for n, values in table.rows()
                if not all(v is None or v == "" for v in values)
            )
            return parse_rows(mapping, _counted(rows, table.estimated_rows, progress), has_outcome=has_outcome)
        parser = _ColumnParser(mapping, has_outcome)
        where = {name: i for i, name in enumerate(header)}  # a repeated header: the last column, as dict(zip())

        def block(numbers: list[int], rows: list[list[str]]) -> list[tuple[Record | Partial, list[Rejection]]]:
            full = min(map(len, rows)) >= len(header)

            def column(name: str) -> list[Any]:
                i = where.get(name)
                if i is None:
                    return [None] * len(rows)
                if full:
                    return list(map(operator.itemgetter(i), rows))
                return [r[i] if i < len(r) else None for r in rows]

            return parser.block(numbers, column, lambda k: dict(zip(header, rows[k], strict=False)))

        blocks = _csv_blocks(table.rows(), table.estimated_rows, progress)
        return _collect(mapping, (block(numbers, rows) for numbers, rows in blocks))


def _counted(
    rows: Iterable[tuple[int, Cells]], estimated: int | None, progress: Progress | None
) -> Iterator[tuple[int, Cells]]:
    if progress is None:
        yield from rows
        return
    n = 0
    for item in rows:
        n += 1
        if n % 1000 == 0:
            progress(n, estimated)
        yield item
    progress(n, estimated)


def _csv_blocks(
    rows: Iterator[tuple[int, list[Any]]], estimated: int | None, progress: Progress | None
) -> Iterator[tuple[list[int], list[list[str]]]]:
    """Blocks of (line numbers, rows as lists of cells); blank rows are skipped."""
    numbers: list[int] = []
    block: list[list[str]] = []
    read = 0
    for line, cells in rows:
        read += 1
        if any(cells) and any(c.strip() for c in cells):
            numbers.append(line)
            block.append(cells)
            if len(block) == BLOCK_ROWS:
                yield numbers, block
                if progress is not None:
                    progress(read, estimated)
                numbers, block = [], []
    if block:
        yield numbers, block
    if progress is not None:
        progress(read, estimated)


def check_columns(mapping: Mapping, columns: Sequence[str], source: str, *, require_outcome: bool = False) -> bool:
    """Check that every column the mapping names is among ``columns`` (those of ``source``).

    Returns whether the outcome column is present. Raises :class:`InvalidInput` with one message naming every
    missing column and the mapping fields that read it (the outcome column only if ``require_outcome``)."""
    present = set(columns)
    has_outcome = mapping.outcome is not None and mapping.outcome.column in present
    missing: dict[str, list[str]] = {}  # column -> the mapping's fields reading it
    for where, column in mapping.columns():
        if (
            column not in present
            and not (where == "outcome.column" and not require_outcome)
            and column not in mapping.optional_columns()
        ):
            parts = where.split(".")  # fields.<name>[.also], extra.<name>, outcome.column
            missing.setdefault(column, []).append(parts[1] if parts[0] in ("fields", "extra") else parts[0])
    errors = []
    if missing:
        # One message for the file, not one per column (a file for another mapping lacks most of them).
        expects = "; ".join(f"'{c}' for {', '.join(dict.fromkeys(fields))}" for c, fields in missing.items())
        params = {
            "source": source,
            "columns": _list(missing),
            "mapping": mapping.name,
            "expects": expects,
            "present": _list(columns),
        }
        errors.append(
            FieldError(
                ("mapping",),
                N_(
                    "%(source)s lacks the columns %(columns)s: the mapping '%(mapping)s' expects %(expects)s. Its "
                    "columns: %(present)s. Choose the mapping that fits the file, or rename the columns",
                    **params,
                )
                if len(missing) > 1
                else N_(
                    "%(source)s lacks the column %(columns)s: the mapping '%(mapping)s' expects %(expects)s. Its "
                    "columns: %(present)s. Choose the mapping that fits the file, or rename the columns",
                    **params,
                ),
                "missing_columns",
            )
        )
    if require_outcome and mapping.outcome is None:
        errors.append(
            FieldError(("mapping", "outcome"), N_("the mapping names no outcome column; fitting needs outcomes"))
        )
    if errors:
        raise InvalidInput(errors)
    return has_outcome


def parse_rows(mapping: Mapping, rows: Iterable[tuple[int, Cells]], *, has_outcome: bool) -> LoadResult:
    """Check rows already read (``(row number, {column: cell})``) as :func:`load` checks a file's.

    The cells may be text or typed values (numbers, dates, lists), as CSV, XLSX, JSON, Arrow or
    Parquet give them. Repeated ids collapse as in :func:`load`; ``has_outcome``: read the
    outcome column (see :func:`check_columns`)."""
    parser = _ColumnParser(mapping, has_outcome)
    blocks = (
        parser.block(
            [n for n, _ in chunk],
            lambda column, chunk=chunk: [c.get(column) for _, c in chunk],  # type: ignore[misc]
            lambda k, chunk=chunk: chunk[k][1],  # type: ignore[misc]
        )
        for chunk in _chunks(rows)
    )
    return _collect(mapping, blocks)


def _chunks(rows: Iterable[Any]) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, BLOCK_ROWS)):
        yield chunk


def _collect(mapping: Mapping, blocks: Iterable[Iterable[tuple[Record | Partial, list[Rejection]]]]) -> LoadResult:
    """Records one per id (in file order), every rejection, the partial rows (see :func:`load`)."""
    by_id: dict[str, Record] = {}
    rejections: list[Rejection] = []
    partial: dict[str, Partial] = {}
    n = collapsed = 0
    for block in blocks:
        for record, problems in block:
            n += 1
            if isinstance(record, Partial):
                rejections.extend(problems)
                partial[record.id] = record
                continue
            previous = by_id.get(record.id)
            if previous is not None:
                if previous == record:
                    collapsed += 1
                    continue
                rejections.append(
                    Rejection(
                        previous.row,
                        record.id,
                        "id",
                        mapping.fields["id"].column,
                        f"id '{record.id}' appears again in row {record.row} with different content; "
                        f"row {record.row} is kept",
                    )
                )
                del by_id[record.id]  # re-inserted below: file order follows the kept occurrence
            by_id[record.id] = record
    kept_partial = [v for k, v in partial.items() if k not in by_id]
    return LoadResult(list(by_id.values()), rejections, kept_partial, n, collapsed)


def _list(columns: Iterable[str], limit: int = 30) -> str:
    cols = list(columns)
    text = ", ".join(f"'{c}'" for c in cols[:limit])
    return text + (f" and {len(cols) - limit} more" if len(cols) > limit else "") if cols else "none"


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    raise InvalidInput(
        FieldError(
            ("data",),
            N_(
                "%(name)s: cannot tell the format from '%(suffix)s' (use .csv, .xlsx, .json or set 'format' in the mapping)",
                name=path.name,
                suffix=suffix,
            ),
        )
    )


# --- reading files -------------------------------------------------------------------------------------

Cells = dict[str, Any]


def _read_json(path: Path, limits: Limits, name: str) -> tuple[list[str], Iterator[tuple[int, Cells]]]:
    """The items of a JSON file (an array, or one object a line): bounded by the file's size (the upload
    limit) and by the limits' row count."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            FieldError(("data",), N_("%(name)s: not UTF-8 text (save it as UTF-8)", name=name))
        ) from None
    items: list[tuple[int, object]]
    try:
        if text.lstrip().startswith("["):
            items = list(enumerate(json.loads(text), start=1))
        else:
            items = [(n, json.loads(line)) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            FieldError(
                ("data",),
                N_("%(name)s: not JSON (an array of objects or one object a line): %(exc)s", name=name, exc=exc),
            )
        ) from None
    if len(items) > limits.rows:
        raise InvalidInput(
            FieldError(
                (limits.field,),
                N_(
                    "%(name)s: more than %(rows)s rows; the limit for %(purpose)s is %(rows)s rows",
                    name=name,
                    rows=f"{limits.rows:,}",
                    purpose=limits.purpose,
                ),
            )
        )
    header: dict[str, None] = {}
    for n, item in items:
        if not isinstance(item, dict):
            raise InvalidInput(FieldError(("data", n), N_("%(name)s: item %(n)s is not an object", name=name, n=n)))
        header.update(dict.fromkeys(item))
    return list(header), iter([(n, item) for n, item in items if isinstance(item, dict)])


def _plain_text(text: str | None) -> str | None:
    return strip_bidi(text) if text is not None else None


def _cell_text(value: object) -> str | None:
    """A cell as text: None/blank -> None; 97061800.0 -> '97061800'; dates -> ISO 8601."""
    if type(value) is str:  # CSV cells: the common case first
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


# --- checking rows -------------------------------------------------------------------------------------

_HS_CLEAN = re.compile(r"[\s.\-]")


class _RowParser:
    def __init__(self, mapping: Mapping, has_outcome: bool) -> None:
        self.mapping = mapping
        self.has_outcome = has_outcome

    def parse(self, row: int, cells: Cells) -> tuple[Record | Partial, list[Rejection]]:
        m = self.mapping
        problems: list[Rejection] = []
        values: dict[str, Any] = {}
        rid = _cell_text(cells.get(m.fields["id"].column))

        def bad(name: str, column: str | None, reason: str) -> None:
            problems.append(Rejection(row, rid, name, column, reason))

        if rid is None:
            bad("id", m.fields["id"].column, "no record id")
        for name, spec in m.fields.items():
            if name == "id":
                continue
            if spec.also:  # several columns, each possibly holding several values
                merged: list[str] = []
                for column in (spec.column, *spec.also):
                    try:
                        got = self._field(name, spec, cells.get(column))
                    except ValueError as exc:
                        bad(name, column, str(exc))
                        continue
                    if isinstance(got, tuple):
                        merged += [str(x) for x in got]
                if merged:
                    values[name] = tuple(dict.fromkeys(merged))
                continue
            raw = cells.get(spec.column)
            try:
                value = self._field(name, spec, raw)
            except ValueError as exc:
                bad(name, spec.column, str(exc))
                continue
            if value is not None:
                values[name] = value
        if "date" not in values and not any(p.field == "date" for p in problems):
            bad("date", m.fields["date"].column, "no date")
        extras: list[tuple[str, str | float | None]] = []
        for extra_name, extra in m.extra.items():
            try:
                extras.append((extra_name, self._extra(extra, cells.get(extra.column))))
            except ValueError as exc:
                bad(f"extra.{extra_name}", extra.column, str(exc))
                extras.append((extra_name, None))
        outcome: bool | None = None
        if self.has_outcome and m.outcome is not None:
            try:
                outcome = _outcome(m.outcome, cells.get(m.outcome.column))
            except ValueError as exc:
                bad("outcome", m.outcome.column, str(exc))
        date = values.pop("date", None)
        if problems:
            reason = "; ".join(f"{p.field}: {p.reason}" for p in problems)
            return Partial(row, rid or f"row-{row}", date, values, tuple(extras), reason), problems
        assert rid is not None and date is not None
        return Record(id=rid, date=date, row=row, outcome=outcome, extra=tuple(extras), **values), problems

    def _field(self, name: str, spec: FieldSpec, raw: object) -> object:
        if name == "date":
            return _date(raw, spec.format)
        if isinstance(raw, list) and name in LIST_FIELDS:
            parts: list[str] = [t for t in (_cell_text(v) for v in raw) if t]
        else:
            text = _cell_text(raw)
            if text is None:
                return None
            if name in LIST_FIELDS:
                sep = spec.separator
                default = r"[;,|/]+" if name == "phones" else r"[;,|\s]+"  # a phone has spaces inside
                parts = [p.strip() for p in (re.split(default, text) if sep is None else text.split(sep))]
                parts = [p for p in parts if p]
            elif name == "hs_code":
                return _hs(text, spec.zfill)
            elif name in NUMBER_FIELDS:
                return _number(text, self.mapping.decimal, nonnegative=True)
            else:
                return _code(text) if name in _CODE_FIELDS else strip_bidi(text)  # names, free text
        if name == "containers":
            return tuple(dict.fromkeys(_container(p) for p in parts))
        if name == "phones":
            return tuple(dict.fromkeys(_phone(p, self.mapping.phone_region) for p in parts))
        return tuple(_code(p) for p in parts)

    def _extra(self, spec: ExtraSpec, raw: object) -> str | float | None:
        text = _cell_text(raw)
        if text is None:
            return None
        if spec.type == "numeric":
            return _number(text, self.mapping.decimal, nonnegative=False)
        return text


_MISSING = object()
_CACHE_MAX = 200_000  # distinct cells remembered per column (a column of unique values is parsed anew)
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Record))


class _Bad:
    """A cell that failed its check (the row is then checked again by :class:`_RowParser`)."""


_BAD = _Bad()
_TEXT_TYPES = {str, type(None)}


def _try(check: Callable[[Any], object], raw: object) -> object:
    try:
        return check(raw)
    except ValueError:
        return _BAD


class _ColumnParser:
    """:class:`_RowParser`'s checks a column at a time over blocks of rows.

    Each distinct text of a column is checked once (countries, ports, offices, HS codes, dates and
    outcomes repeat row after row), and a record is built from its row's cells in one call. A row
    with any problem is checked again by :class:`_RowParser`, which reports every problem of the
    row in order and keeps what could be read: both paths give the same records and rejections
    (test ``test_column_and_row_checks_agree``)."""

    def __init__(self, mapping: Mapping, has_outcome: bool) -> None:
        self.mapping = mapping
        self.rows = _RowParser(mapping, has_outcome)
        self.has_outcome = has_outcome and mapping.outcome is not None
        self.caches: dict[str, dict[object, object]] = {}

    def _checked(self, key: str, check: Callable[[Any], object], cells: list[Any], bad: set[int]) -> list[object]:
        """``check`` of every cell (``_BAD`` where it raises ValueError, its index added to ``bad``);
        text cells are checked once per distinct text."""
        cache = self.caches.setdefault(key, {})
        if set(map(type, cells)) <= _TEXT_TYPES:
            here: dict[object, object] = {}
            for raw in set(cells):
                value = cache.get(raw, _MISSING)
                if value is _MISSING:
                    value = _try(check, raw)
                    if len(cache) >= _CACHE_MAX:
                        cache.clear()
                    cache[raw] = value
                here[raw] = value
            out = list(map(here.__getitem__, cells))
        else:  # typed cells (XLSX, JSON): 1 and 1.0 and True are equal keys, so no cache
            out = [_try(check, raw) for raw in cells]
        if _BAD in out:  # a C-level scan (identity first); the indices only when there are some
            bad.update(i for i, v in enumerate(out) if v is _BAD)
        return out

    def _plain(self, cells: list[Any]) -> list[str | None]:
        """Names and free text: kept as written, trimmed, without bidirectional formatting characters (no cache:
        they rarely repeat)."""
        return [
            (strip_bidi(raw).strip() or None) if type(raw) is str else _plain_text(_cell_text(raw)) for raw in cells
        ]

    def _field(self, name: str, spec: FieldSpec, column: Callable[[str], list[Any]], bad: set[int]) -> list[object]:
        def check(raw: object) -> object:
            return self.rows._field(name, spec, raw)

        if not spec.also:
            if name in TEXT_FIELDS and name not in _CODE_FIELDS:
                return list(self._plain(column(spec.column)))
            return self._checked(name, check, column(spec.column), bad)
        parts = [self._checked(f"{name}:{c}", check, column(c), bad) for c in (spec.column, *spec.also)]
        merged: list[object] = []
        for values in zip(*parts, strict=True):
            if any(v is _BAD for v in values):
                merged.append(_BAD)
                continue
            items = [str(x) for v in values if isinstance(v, tuple) for x in v]
            merged.append(tuple(dict.fromkeys(items)) if items else None)
        return merged

    def block(
        self, numbers: list[int], column: Callable[[str], list[Any]], cells_of: Callable[[int], Cells]
    ) -> list[tuple[Record | Partial, list[Rejection]]]:
        """Check a block of rows: ``numbers`` are their row numbers, ``column(name)`` the cells of a
        source column (None where absent), ``cells_of(k)`` row ``k``'s cells by column."""
        m = self.mapping
        n = len(numbers)
        bad: set[int] = set()
        ids = self._plain(column(m.fields["id"].column))
        values: dict[str, list[Any]] = {"id": ids, "row": numbers}
        for name, spec in m.fields.items():
            if name != "id":
                values[name] = self._field(name, spec, column, bad)
        if self.has_outcome and m.outcome is not None:
            spec_o = m.outcome
            values["outcome"] = self._checked("outcome", lambda raw: _outcome(spec_o, raw), column(spec_o.column), bad)
        if m.extra:
            per_extra = [
                self._checked(f"extra.{name}", lambda raw, e=e: self.rows._extra(e, raw), column(e.column), bad)  # type: ignore[misc]
                for name, e in m.extra.items()
            ]
            names = list(m.extra)
            values["extra"] = [tuple(zip(names, vals, strict=True)) for vals in zip(*per_extra, strict=True)]
        bad.update(k for k, v in enumerate(ids) if v is None)
        bad.update(k for k, v in enumerate(values["date"]) if v is None)
        args: list[Iterable[Any]] = []
        for fname in _RECORD_FIELDS:
            got = values.get(fname)
            if got is None:
                args.append(itertools.repeat(() if fname in LIST_FIELDS or fname == "extra" else None, n))
            elif fname in LIST_FIELDS:
                args.append([() if v is None else v for v in got])
            else:
                args.append(got)
        out: list[tuple[Record | Partial, list[Rejection]]] = []
        append = out.append
        for k, row in enumerate(zip(*args, strict=True)):
            if k in bad:
                append(self.rows.parse(numbers[k], cells_of(k)))
            else:
                append((Record(*row), []))
        return out


@functools.lru_cache(maxsize=65536)  # countries, ports and offices repeat row after row
def _code(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


@functools.lru_cache(maxsize=65536)
def _hs(text: str, zfill: int | None) -> str:
    digits = _HS_CLEAN.sub("", text)
    if zfill is not None and digits.isdigit():
        digits = digits.zfill(zfill)
    if not re.fullmatch(r"\d{6,10}", digits):
        raise ValueError(f"'{text}' is not an HS code: expected 6 to 10 digits, e.g. 392690 or 3926.90.99")
    return digits


def _phone(text: str, region: str) -> str:
    from interdict.linkage.identifiers import phone_e164

    e164 = phone_e164(text, region)
    if e164 is None:
        raise ValueError(f"'{text}' is not a valid phone number (with the country code, or one of {region})")
    return e164


def _container(text: str) -> str:
    try:
        return normalise_container(text)
    except PydanticCustomError as exc:
        raise ValueError(exc.message()) from None


def _number(text: str, decimal: str, *, nonnegative: bool) -> float:
    cleaned = text.replace("\u00a0", "").replace(" ", "")
    cleaned = cleaned.replace(".", "").replace(",", ".") if decimal == "," else cleaned.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite number")
    if nonnegative and value < 0:
        raise ValueError(f"'{text}' is negative")
    return value


def _date(raw: object, formats: list[str] | None) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = _cell_text(raw)
    if text is None:
        return None
    return _date_text(text, tuple(formats or ()))


@functools.lru_cache(maxsize=4096)  # a file holds few distinct dates: strptime once per date and format
def _date_text(text: str, formats: tuple[str, ...]) -> dt.date:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if not formats:
        try:
            return dt.date.fromisoformat(text[:10]) if len(text) == 10 else dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    expected = " or ".join(formats) if formats else "an ISO 8601 date such as 2021-03-31"
    raise ValueError(f"'{text}' is not a date (expected {expected})")


def _outcome(spec: OutcomeSpec, raw: object) -> bool | None:
    text = _cell_text(raw)
    if text is None:
        return None
    folded = text.casefold()
    if folded in {v.casefold() for v in spec.positive}:
        return True
    if spec.negative is None or folded in {v.casefold() for v in spec.negative}:
        return False
    raise ValueError(
        f"'{text}' is neither a positive ({', '.join(spec.positive)}) nor a negative ({', '.join(spec.negative)}) outcome"
    )


def salvage(result: LoadResult, fallback_date: dt.date) -> list[tuple[Record, str]]:
    """The partial records of rejected rows, each with the reason it was rejected.

    A row whose date could not be read is dated ``fallback_date`` (scorers use the latest date of
    the file: the whole history counts)."""
    return [
        (Record(id=p.id, date=p.date or fallback_date, row=p.row, extra=p.extra, **p.values), p.reason)
        for p in result.partial
    ]
