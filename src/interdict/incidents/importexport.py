"""Import and export of incidents in one documented column format (CSV, XLSX; JSON for export).

One row per incident. Repeated groups are numbered columns (``substance_1_name``,
``substance_1_quantity``, ..., ``party_2_role``, ...); short lists are ``;``-separated cells
(``transits``: ``CN:CNSHK; SG:SGSIN``; ``containers`` with aligned ``container_seals``;
``modus``). The format is documented in docs/import-format.md and exported files import back
unchanged.

An import is checked completely before anything is written: every rejected row is reported
with its line and reasons, and nothing is written if any row is rejected — unless
``skip_invalid`` is set, in which case the valid rows are written and the rejected ones go to a
rejection file.
"""

from __future__ import annotations

import functools
import io
import json
import queue
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.config import Settings
from interdict.core import spreadsheet
from interdict.core.errors import ErrorCollector, FieldError, Forbidden, InvalidInput, from_validation_error
from interdict.core.filters import Group
from interdict.core.i18n import N_
from interdict.core.spreadsheet.reader import Limits, default_settings, kind_of, open_table
from interdict.incidents import numbering
from interdict.incidents import service as svc
from interdict.incidents.attachments import safe_filename
from interdict.incidents.models import Incident, IncidentParty, IncidentSubstance
from interdict.incidents.schemas import IncidentCreate
from interdict.incidents.vocab import STATUSES
from interdict.jobs import service as jobs
from interdict.jobs.models import Job
from interdict.reference.catalogue import ReferenceIndex, get_index
from interdict.sharing import groups as sharing_groups
from interdict.sharing.service import TLP_EXPORT_FORBIDDEN, can_see_nominal, decided, readable

SCALAR_COLUMNS = [
    "reference",
    "case_reference",
    "incident_type",
    "status",
    "incident_date",
    "reported_date",
    "country",
    "locode",
    "place_type",
    "place_name",
    "mode_of_transport",
    "origin_country",
    "departure_country",
    "departure_locode",
    "transits",
    "destination_country",
    "destination_locode",
    "containers",
    "container_seals",
    "bl_awb",
    "vessel_name",
    "vessel_imo",
    "voyage",
    "vehicle_plate",
    "parcel_tracking",
    "goods_description",
    "declared_hs_code",
    "detection_method",
    "modus",
    "narrative",
    "distribution",
    "sharing_group",
    "tlp",
    "share_nominal",
]
EXPORT_ONLY = ["owner_org", "created_at", "updated_at", "version"]
SUBSTANCE_FIELDS = [
    "name",
    "cas",
    "other_description",
    "declared_as",
    "quantity",
    "unit",
    "purity_percent",
    "form",
    "lab_confirmation",
]
PARTY_FIELDS = ["role", "kind", "name", "address", "country", "tax_id", "id_document", "phone", "email"]
EXTRA_CELLS = "__extra_cells__"  # marks a CSV row with more cells than the header (never silently dropped)
_GROUP_RE = re.compile(r"^(substance|party)_(\d+)_(\w+)$")
BATCH = 1000


# --- export ----------------------------------------------------------------------------------


def _max_children(session: Session, subject: Subject, model: type[Any], ids_stmt: Any) -> int:
    per = select(func.count().label("n")).where(model.incident_id.in_(ids_stmt)).group_by(model.incident_id).subquery()
    return int(session.scalar(select(func.max(per.c.n))) or 0)


def export_columns(n_substances: int, n_parties: int) -> list[str]:
    cols = list(SCALAR_COLUMNS)
    for i in range(1, n_substances + 1):
        cols += [f"substance_{i}_{f}" for f in SUBSTANCE_FIELDS]
    for i in range(1, n_parties + 1):
        cols += [f"party_{i}_{f}" for f in PARTY_FIELDS]
    return cols + EXPORT_ONLY


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def incident_row(
    incident: Incident,
    index: ReferenceIndex,
    org_code: str,
    *,
    nominal: bool = True,
    group_codes: dict[uuid.UUID, str] | None = None,
) -> dict[str, str]:
    """One export row. ``nominal`` False leaves out natural persons (a non-nominal export)."""
    snap = svc.snapshot(incident, index)
    if not nominal:
        snap["parties"] = svc.without_persons(snap["parties"])
    gid = incident.sharing_group_id
    snap["sharing_group"] = (group_codes or {}).get(gid, str(gid)) if gid else None
    row: dict[str, str] = {k: _cell(snap.get(k)) for k in SCALAR_COLUMNS if k in snap}
    row["reference"] = incident.reference
    row["transits"] = "; ".join(
        f"{t['country']}:{t['locode']}" if t["locode"] else t["country"] for t in snap["transits"]
    )
    row["containers"] = "; ".join(c["number"] for c in snap["containers"])
    seals = [c["seal_numbers"] or "" for c in snap["containers"]]
    row["container_seals"] = "; ".join(seals) if any(seals) else ""
    row["modus"] = "; ".join(snap["modus"])
    for i, line in enumerate(snap["substances"], start=1):
        row[f"substance_{i}_name"] = _cell(line["substance"])
        for f in SUBSTANCE_FIELDS[1:]:
            row[f"substance_{i}_{f}"] = _cell(line.get(f))
    for i, p in enumerate(snap["parties"], start=1):
        for f in PARTY_FIELDS:
            row[f"party_{i}_{f}"] = _cell(p.get(f))
    row["owner_org"] = org_code
    row["created_at"] = incident.created_at.isoformat()
    row["updated_at"] = incident.updated_at.isoformat()
    row["version"] = str(incident.version)
    return row


def iter_export(
    session: Session,
    subject: Subject,
    *,
    filter_node: Group | None = None,
    q: str | None = None,
    progress: Callable[[int], None] | None = None,
    nominal: bool = True,
) -> tuple[list[str], Iterator[dict[str, str]], int]:
    """(columns, rows, total): rows are produced lazily, page by page, through sharing.readable.

    TLP:RED records are never exported. Natural persons are left out of records whose nominal data the
    subject may not see, and of every record when ``nominal`` is False (a non-nominal export).
    """
    total = svc.count_incidents(session, subject, filter_node=filter_node, q=q, exporting=True)
    index = get_index(session)
    ids_stmt = readable(select(Incident.id), subject, Incident).where(Incident.tlp.not_in(TLP_EXPORT_FORBIDDEN))
    cols = export_columns(
        _max_children(session, subject, IncidentSubstance, ids_stmt),
        _max_children(session, subject, IncidentParty, ids_stmt),
    )
    orgs: dict[Any, str] = {}
    group_codes = {g.id: g.code for g in sharing_groups.visible_groups(session, subject)}

    def rows() -> Iterator[dict[str, str]]:
        for batch in svc.iter_incidents(session, subject, filter_node=filter_node, q=q, exporting=True):
            missing = {i.owner_org_id for i in batch} - set(orgs)
            orgs.update({k: o.code for k, o in svc.orgs_by_id(session, missing).items()})
            for incident in batch:
                yield incident_row(
                    incident,
                    index,
                    orgs[incident.owner_org_id],
                    nominal=nominal and can_see_nominal(session, incident, subject),
                    group_codes=group_codes,
                )
            if progress:
                progress(len(batch))
            session.expunge_all()

    return cols, rows(), total


def write_csv(fh: Any, cols: list[str], rows: Iterator[dict[str, str]]) -> int:
    """The rows as CSV (cells neutralised: ``core.spreadsheet``); returns the number of rows written."""
    writer = spreadsheet.DictWriter(fh, cols, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n


def write_xlsx(path_or_fh: Any, cols: list[str], rows: Iterator[dict[str, str]]) -> int:
    """The rows as one XLSX sheet (text cells, neutralised: ``core.spreadsheet``); returns the number written."""
    return spreadsheet.write_xlsx(path_or_fh, "incidents", cols, ([row.get(c, "") for c in cols] for row in rows))


def write_json(
    fh: Any,
    session: Session,
    rows_subject: Subject,
    filter_node: Group | None,
    q: str | None,
    *,
    nominal: bool = True,
) -> int:
    """Write the export as a JSON array; returns the number of incidents written."""
    from interdict.incidents.present import to_read

    fh.write("[\n")
    first = True
    n = 0
    for batch in svc.iter_incidents(session, rows_subject, filter_node=filter_node, q=q, exporting=True):
        for incident in batch:
            shown = to_read(
                session,
                incident,
                subject=rows_subject,
                nominal=nominal and can_see_nominal(session, incident, rows_subject),
            )
            fh.write(("" if first else ",\n") + shown.model_dump_json())
            first = False
            n += 1
        session.expunge_all()
    fh.write("\n]\n")
    return n


def export_bytes(
    session: Session,
    subject: Subject,
    *,
    fmt: str,
    filter_node: Group | None = None,
    q: str | None = None,
    nominal: bool = True,
) -> tuple[bytes, str]:
    """The export as bytes and its media type; records ``incident.export`` (format, rows written). Never commits."""
    if fmt == "json":
        sio = io.StringIO()
        n = write_json(sio, session, subject, filter_node, q, nominal=nominal)
        _audit_export(session, subject, fmt, filter_node, q, nominal, n)
        return sio.getvalue().encode(), "application/json"
    cols, rows, _total = iter_export(session, subject, filter_node=filter_node, q=q, nominal=nominal)
    if fmt == "xlsx":
        bio = io.BytesIO()
        n = write_xlsx(bio, cols, rows)
        _audit_export(session, subject, fmt, filter_node, q, nominal, n)
        return bio.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sio = io.StringIO()
    n = write_csv(sio, cols, rows)
    _audit_export(session, subject, fmt, filter_node, q, nominal, n)
    return sio.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"


def export_to_file(
    session: Session,
    subject: Subject,
    path: Path,
    *,
    fmt: str,
    filter_node: Group | None = None,
    q: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    nominal: bool = True,
) -> int:
    """Write the export to ``path`` and record ``incident.export`` (format, rows written), whatever the format.
    Never commits: the caller writes to a staged path (``core.spreadsheet.staged``) so the file appears only
    once the audit entry is committed. Returns the number of incidents written."""
    if fmt == "json":
        with path.open("w", encoding="utf-8") as fh:
            n = write_json(fh, session, subject, filter_node, q, nominal=nominal)
    else:
        cols, rows, total = iter_export(
            session, subject, filter_node=filter_node, q=q, progress=progress, nominal=nominal
        )
        if on_total:
            on_total(total)
        if fmt == "xlsx":
            n = write_xlsx(path, cols, rows)
        else:
            with path.open("w", encoding="utf-8-sig", newline="") as fh:
                n = write_csv(fh, cols, rows)
    _audit_export(session, subject, fmt, filter_node, q, nominal, n)
    return n


# --- import ----------------------------------------------------------------------------------


@dataclass
class Rejection:
    line: int
    errors: list[FieldError]
    row: dict[str, str]

    def message(self) -> str:
        return "; ".join(f"{e.path}: {e.msg}" for e in self.errors)


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    written: bool = False


def import_limits(settings: Settings | None = None) -> Limits:
    """Bounds of an incident import file (rows: ``import_max_rows``; see :mod:`interdict.core.spreadsheet.reader`)."""
    s = settings or default_settings()
    return Limits.from_settings(s, rows=s.import_max_rows, purpose="incident imports")


def iter_rows(
    path: Path, limits: Limits | None = None, *, name: str | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for CSV (UTF-8, optional BOM) or XLSX (first sheet), read through the bounded reader
    (default :func:`import_limits`); a file breaking a bound raises :class:`InvalidInput` on ``file`` naming the
    file as ``name`` (default: its file name). A cell's leading quote put there by an export against formula
    injection is removed (``core.spreadsheet.restore``), so an exported file imports back exactly."""
    kind = kind_of(path)
    with open_table(path, kind, limits or import_limits(), name=name) as table:
        header = table.header
        if kind == "xlsx":
            for n, values in table.rows():
                cells = [
                    "" if v is None else (v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)) for v in values
                ]
                if any(c.strip() for c in cells):
                    yield n, dict(zip(header, map(spreadsheet.restore, cells), strict=False))
            return
        width = len(header)
        start = 2
        for line, cells in table.rows():
            if cells:
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                row = dict(zip(header, map(spreadsheet.restore, cells), strict=False))
                if len(cells) > width and any(c.strip() for c in cells[width:]):
                    row[EXTRA_CELLS] = str(len(cells) - width)
                yield start, row
            start = line + 1


def check_header(columns: list[str]) -> None:
    known = set(SCALAR_COLUMNS) | set(EXPORT_ONLY)
    bad = []
    for c in columns:
        m = _GROUP_RE.match(c)
        if c in known or (m and m.group(3) in (SUBSTANCE_FIELDS if m.group(1) == "substance" else PARTY_FIELDS)):
            continue
        bad.append(c)
    missing = [c for c in ("incident_type", "incident_date", "country") if c not in columns]
    # One message each for the whole header, not one per column (a file of another format has dozens).
    errors = []
    if missing:
        errors.append(
            FieldError(
                ("header",),
                (
                    N_(
                        "the file lacks the columns %(columns)s: the import format expects at least incident_type, "
                        "incident_date and country (the column names of an export)",
                        columns=", ".join(missing),
                    )
                    if len(missing) > 1
                    else N_(
                        "the file lacks the column %(columns)s: the import format expects at least incident_type, "
                        "incident_date and country (the column names of an export)",
                        columns=missing[0],
                    )
                ),
                "missing_columns",
            )
        )
    if bad:
        shown = ", ".join(bad[:30]) + (f" … (+{len(bad) - 30})" if len(bad) > 30 else "")
        errors.append(
            FieldError(
                ("header",),
                (
                    N_("the file has columns the import format does not know: %(columns)s", columns=shown)
                    if len(bad) > 1
                    else N_("the file has column the import format does not know: %(columns)s", columns=shown)
                ),
                "unknown_columns",
            )
        )
    if errors:
        raise InvalidInput(errors)


def _split(cell: str) -> list[str]:
    return [p.strip() for p in cell.split(";")] if cell.strip() else []


def _column_for(loc: tuple[str | int, ...]) -> str:
    if len(loc) >= 3 and loc[0] == "substances" and isinstance(loc[1], int):
        name = "name" if loc[2] == "substance" else loc[2]
        return f"substance_{loc[1] + 1}_{name}"
    if len(loc) >= 3 and loc[0] == "parties" and isinstance(loc[1], int):
        return f"party_{loc[1] + 1}_{loc[2]}"
    if loc and loc[0] == "containers":
        return "containers"
    if loc and loc[0] == "transits":
        return "transits"
    if len(loc) >= 2 and loc[0] in ("substances", "parties") and isinstance(loc[1], int):
        return f"{'substance' if loc[0] == 'substances' else 'party'}_{loc[1] + 1}"
    return str(loc[0]) if loc else "row"


@functools.lru_cache(maxsize=4096)
def _group_of(column: str) -> tuple[str, int, str] | None:
    """('substance', 2, 'quantity') for 'substance_2_quantity'; None for other columns (cached per header)."""
    m = _GROUP_RE.match(column)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


def row_to_create(row: dict[str, str], index: ReferenceIndex) -> tuple[dict[str, Any], str, ErrorCollector]:
    """The IncidentCreate payload of one row, its status, and any cell-level errors found on the way."""
    errs = ErrorCollector()

    def g(k: str) -> str:
        return (row.get(k) or "").strip()

    data: dict[str, Any] = {
        k: g(k) or None
        for k in SCALAR_COLUMNS
        if k not in ("transits", "containers", "container_seals", "modus", "status")
    }
    for optional in ("distribution", "tlp", "share_nominal"):  # absent: the record's defaults apply
        if data.get(optional) is None:
            data.pop(optional, None)
    if row.get(EXTRA_CELLS):
        errs.add(("row",), N_("the row has %(value)s more cell(s) than the header has columns", value=row[EXTRA_CELLS]))
    status = g("status") or "submitted"
    if status not in STATUSES:
        errs.add(
            ("status",), N_("'%(status)s' is not one of %(statuses)s", status=status, statuses=", ".join(STATUSES))
        )
    transits = []
    for part in _split(g("transits")):
        country, _, locode = part.partition(":")
        transits.append({"country": country.strip(), "locode": locode.strip() or None})
    data["transits"] = transits
    numbers, seals = _split(g("containers")), _split(g("container_seals"))
    if seals and len(seals) != len(numbers):
        errs.add(
            ("container_seals",),
            N_(
                "%(n_seals)s seal entries for %(n_numbers)s containers; separate them with ';' in the same order",
                n_seals=len(seals),
                n_numbers=len(numbers),
            ),
        )
    data["containers"] = [
        {"number": n, "seal_numbers": (seals[i] if i < len(seals) else None) or None} for i, n in enumerate(numbers)
    ]
    data["modus"] = _split(g("modus"))
    groups: dict[tuple[str, int], dict[str, str]] = {}
    for key, value in row.items():
        if value and (group := _group_of(key)) is not None and value.strip():
            groups.setdefault((group[0], group[1]), {})[group[2]] = value.strip()
    substances, parties = [], []
    for (kind, _n), values in sorted(groups.items()):
        if kind == "substance":
            name, cas = values.pop("name", None), values.pop("cas", None)
            ref = name or cas
            if name and cas:
                # Exact resolution only (the fuzzy search is for error messages, done later if needed):
                # by name, then among same-named entries by CAS, then by CAS alone.
                found, same_name = index.resolve_substance(name, suggest=False)
                if found is None:
                    by_cas = [c for c in same_name if c.cas == cas]
                    found = by_cas[0] if len(by_cas) == 1 else index.resolve_substance(cas, suggest=False)[0]
                if found is not None:
                    ref = str(found.id)
            substances.append({"substance": ref, **values})
        else:
            parties.append(values)
    data["substances"] = substances
    data["parties"] = parties
    return data, status, errs


@dataclass
class _Parsed:
    line: int
    row: dict[str, str]
    item: svc.BulkItem | None
    errors: list[FieldError]


def _parse(
    rows: Iterator[tuple[int, dict[str, str]]],
    index: ReferenceIndex,
    seen_refs: set[str],
    existing_ref: Callable[[list[str]], set[str]],
    groups: dict[str, uuid.UUID] | None = None,
    *,
    foreign_ref: Callable[[list[str]], set[str]],
    org_code: str,
) -> Iterator[_Parsed]:
    """``groups``: the sharing groups the importer belongs to, by code (rows may share only with those).
    ``foreign_ref``: the references outside the importer's own numbering (refused); ``existing_ref``: the
    references of the importer's numbering that are taken already."""
    batch: list[tuple[int, dict[str, str]]] = []

    def flush() -> Iterator[_Parsed]:
        refs = [r.get("reference", "").strip() for _, r in batch if r.get("reference", "").strip()]
        foreign = foreign_ref(refs) if refs else set()
        taken = existing_ref(refs) if refs else set()
        for line, row in batch:
            data, status, errs = row_to_create(row, index)
            ref = (data.get("reference") or "").strip()
            if ref:
                if ref in foreign:
                    errs.add(("reference",), svc.not_own_reference(ref, org_code), "not_own_numbering")
                elif ref in taken:
                    errs.add(
                        ("reference",),
                        N_("reference %(ref)s is already used in your unit's numbering", ref=ref),
                        "duplicate",
                    )
                elif ref in seen_refs:
                    errs.add(("reference",), N_("reference %(ref)s appears twice in this file", ref=ref), "duplicate")
                seen_refs.add(ref)
            item = None
            try:
                model = IncidentCreate.model_validate(data)
                checked = svc.check(index, model, errors=errs)
                group_id = None
                try:
                    group_id = sharing_groups.pick_group(model.distribution, model.sharing_group, groups or {})
                except InvalidInput as exc:
                    errs.errors.extend(exc.errors)
                if not errs.errors:
                    item = svc.BulkItem(model, checked, status, group_id)
            except ValidationError as exc:
                errs.errors.extend(from_validation_error(exc).errors)
            except InvalidInput:
                pass  # already collected in errs
            errors = [FieldError((_column_for(e.loc),), e.msg, e.type) for e in errs.errors]
            yield _Parsed(line, row, item if not errors else None, errors)

    for line, row in rows:
        batch.append((line, row))
        if len(batch) >= BATCH:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


class _Writer:
    """Writes prepared batches in a background thread, so the database works while the next batch is parsed.

    The session is used by one thread at a time: the caller does not touch it between start and join.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queue: queue.Queue[svc.BulkRows | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (rows := self.queue.get()) is not None:
            if self.error is None:
                try:
                    svc.write_bulk(self.session, rows)
                except BaseException as exc:  # re-raised in the caller's thread by close()
                    self.error = exc

    def put(self, rows: svc.BulkRows) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(rows)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


@dataclass
class _Prescan:
    rows: int = 0
    references: list[str] = field(default_factory=list)
    years: Counter[int] = field(default_factory=Counter)


def _prescan(path: Path, limits: Limits, name: str) -> _Prescan:
    """Counts rows, and collects their references and the years of those without one (to reserve numbers)."""
    scan = _Prescan()
    for _, row in iter_rows(path, limits, name=name):
        scan.rows += 1
        ref = (row.get("reference") or "").strip()
        if ref:
            scan.references.append(ref)
            continue
        year = (row.get("incident_date") or "").strip()[:4]
        if year.isdigit():
            scan.years[int(year)] += 1
    return scan


def import_file(
    session: Session,
    subject: Subject,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    is_demo: bool = False,
    limits: Limits | None = None,
    source_name: str | None = None,
) -> ImportReport:
    """Check every row and write the valid ones in batches, in one pass over the file.

    The file is read through the bounded reader (``limits``, default :func:`import_limits`): a file breaking a
    bound raises :class:`InvalidInput` on ``file`` (the caller's unit of work then rolls back whatever was
    written). The writes happen inside a savepoint: if any row is rejected (and ``skip_invalid`` is not set)
    the savepoint is rolled back, so nothing of the file is written. Never commits.
    """
    limits = limits or import_limits()
    name = source_name or path.name
    first = next(iter_rows(path, limits, name=name), None)
    report = ImportReport()
    if first is None:
        return report
    check_header([k for k in first[1] if k != EXTRA_CELLS])
    if not subject.can_write:
        raise Forbidden(N_("your role cannot record incidents"))
    index = get_index(session)
    scan = _prescan(path, limits, name)
    if on_total:
        on_total(scan.rows)
    # References that exist already, looked up once before anything is written (later lookups would
    # query a table this transaction is filling, whose planner statistics still say it is small).
    # Only references of the importer's own numbering are kept (no one takes another unit's numbers); of
    # those, the ones in use are refused. Nothing is said about references outside the numbering (no oracle).
    foreign = numbering.foreign_references(session, subject.org_code, scan.references)
    taken: set[str] = set()
    own = [r for r in scan.references if r not in foreign]
    for i in range(0, len(own), BATCH):
        chunk = own[i : i + BATCH]
        taken.update(session.scalars(select(Incident.reference).where(Incident.reference.in_(chunk))))
    if session.get_bind().dialect.name == "postgresql":
        # Bulk-load settings for this transaction only: full-text index entries queue in a larger GIN
        # pending list (merged in bulk, by the inserting backend or autovacuum) and long values are
        # compressed with lz4 rather than pglz.
        session.execute(text("SET LOCAL gin_pending_list_limit = '64MB'"))
        session.execute(text("SET LOCAL default_toast_compression = 'lz4'"))
    savepoint = session.begin_nested()
    # Numbers for rows without a reference, reserved in one step (numbers of rejected rows stay unused).
    # Numbers used by the file's own references are skipped too.
    reserved = numbering.reserve_years(session, subject.org_id, subject.org_code, dict(scan.years), also=frozenset(own))
    references = {year: numbers.references() for year, numbers in reserved.items()}
    writer = _Writer(session)
    pending: list[svc.BulkItem] = []
    writing = True

    def flush() -> None:
        rows = svc.prepare_bulk(index, subject, subject.org_code, pending, references=references, is_demo=is_demo)
        writer.put(rows)
        report.imported += len(pending)
        pending.clear()

    try:
        mine = sharing_groups.my_groups(session, subject)
        for parsed in _parse(
            iter_rows(path, limits, name=name),
            index,
            set(),
            lambda refs: taken & set(refs),
            mine,
            foreign_ref=lambda refs: foreign & set(refs),
            org_code=subject.org_code,
        ):
            report.rows += 1
            if parsed.errors:
                report.rejected.append(Rejection(parsed.line, parsed.errors, parsed.row))
                writing = skip_invalid  # without --skip-invalid nothing will be kept: stop writing, keep checking
                if not writing:
                    pending.clear()
            elif writing and parsed.item is not None:
                pending.append(parsed.item)
                if len(pending) >= BATCH:
                    flush()
            if progress:
                progress(1)
        if writing and pending:
            flush()
    finally:
        writer.close()
    if report.rejected and not skip_invalid:
        savepoint.rollback()
        report.imported = 0
    else:
        savepoint.commit()
    report.written = report.imported > 0
    audit.record(
        session,
        subject,
        "incident.import",
        object_type="file",
        object_label=name,
        summary=f"{report.imported} of {report.rows} rows imported, {len(report.rejected)} rejected",
        after={"rows": report.rows, "imported": report.imported, "rejected": len(report.rejected)},
    )
    return report


SHOWN_REJECTIONS = 500  # rejected rows kept in a background import's result (their lines and reasons)


def queue_import(
    session: Session,
    subject: Subject,
    settings: Settings,
    *,
    filename: str | None,
    stream: BinaryIO,
    skip_invalid: bool,
) -> Job:
    """An uploaded import file (web form or API), checked and queued as a background import
    (:func:`run_import_job`): CSV or XLSX by its name and content, at most ``max_import_bytes`` (copied to the jobs
    directory a megabyte at a time). Its rows are read and checked by the job."""
    decided("incidents:import")
    if not subject.can_write:
        raise Forbidden(N_("your role cannot record incidents"))
    if not filename:
        raise InvalidInput(FieldError(("file",), N_("choose a file to import")))
    safe = safe_filename(filename)
    kind = kind_of(Path(safe))
    head = stream.read(8192)
    if not head:
        raise InvalidInput(FieldError(("file",), N_("the file is empty")))
    if kind == "xlsx" and not head.startswith(b"PK\x03\x04"):
        raise InvalidInput(FieldError(("file",), N_("not an Excel workbook (.xlsx is a zip file; this is not one)")))
    if kind == "csv" and b"\x00" in head:
        raise InvalidInput(FieldError(("file",), N_("not a CSV text file (it contains NUL bytes)")))
    limit = settings.max_import_bytes
    return jobs.enqueue(
        session,
        subject,
        settings,
        kind="incidents.import",
        filename=safe,
        suffix=kind,
        params={"skip_invalid": bool(skip_invalid), "filename": safe},
        write=lambda path: _store_checked(stream, path, limit, head, kind, import_limits(settings), safe),
    )


def _store_checked(stream: BinaryIO, path: Path, limit: int, head: bytes, kind: Any, limits: Limits, name: str) -> None:
    """Store an upload and check its header, so a file of another format is refused on the form at once with one
    message (:func:`check_header`), not by the job a moment later; a refused file is removed."""
    jobs.store_upload(stream, path, limit, head=head)
    try:
        with open_table(path, kind, limits, name=name) as table:
            header = [c for c in table.header if c]
        if header:
            check_header(header)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def run_import_job(
    session: Session,
    subject: Subject,
    settings: Settings,
    *,
    path: Path,
    params: dict[str, Any],
    progress: Callable[[str, int, int | None], None] | None,
    now: Any,
) -> dict[str, Any]:
    """The background import of an uploaded file (:func:`queue_import`): :func:`import_file`, and its report
    (the first :data:`SHOWN_REJECTIONS` rejected rows with their lines and reasons, never their content)."""
    total: list[int | None] = [None]
    done = [0]

    def on_total(n: int) -> None:
        total[0] = n
        if progress:
            progress("importing", 0, n)

    def advance(n: int) -> None:
        done[0] += n
        if progress and done[0] % 500 == 0:
            progress("importing", done[0], total[0])

    if progress:
        progress("checking", 0, None)
    report = import_file(
        session,
        subject,
        path,
        skip_invalid=bool(params.get("skip_invalid")),
        progress=advance,
        on_total=on_total,
        limits=import_limits(settings),
        source_name=str(params.get("filename") or path.name),
    )
    return {
        "rows": report.rows,
        "imported": report.imported,
        "written": report.written,
        "skip_invalid": bool(params.get("skip_invalid")),
        "rejected": len(report.rejected),
        "rejected_rows": [
            {"line": r.line, "errors": [{"field": e.path, "msg": e.msg} for e in r.errors]}
            for r in report.rejected[:SHOWN_REJECTIONS]
        ],
    }


def _audit_export(
    session: Session, subject: Subject, fmt: str, filter_node: Group | None, q: str | None, nominal: bool, n: int
) -> None:
    audit.record(
        session,
        subject,
        "incident.export",
        object_type="export",
        object_label=f"incidents.{fmt}",
        summary=f"{n} incidents exported as {fmt}" + ("" if nominal else ", non-nominal"),
        after={
            "format": fmt,
            "filter": filter_node.model_dump(mode="json") if filter_node else None,
            "q": q,
            "nominal": nominal,
            "rows": n,
        },
    )


def write_rejections(path: Path, report: ImportReport) -> None:
    cols: list[str] = ["line", "errors"]
    for r in report.rejected:
        for k in r.row:
            if k not in cols:
                cols.append(k)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = spreadsheet.DictWriter(fh, cols, extrasaction="ignore")
        writer.writeheader()
        for r in report.rejected:
            writer.writerow({**r.row, "line": r.line, "errors": r.message()})


def report_json(report: ImportReport) -> str:
    return json.dumps(
        {
            "rows": report.rows,
            "imported": report.imported,
            "written": report.written,
            "rejected": [{"line": r.line, "errors": [e.as_dict() for e in r.errors]} for r in report.rejected],
        },
        ensure_ascii=False,
        indent=2,
    )
