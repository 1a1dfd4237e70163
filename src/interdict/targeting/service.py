"""The PCU targeting workflow: loads, risk profiles, worklists, selection, outcomes, performance.

Access (one predicate, :func:`batch_visible`): loads and their records belong to the loading unit; every unit of
its organisation tree may read them; only the loading unit's officers select, assign and record outcomes
(``sharing.require_editable``). Risk profiles are read by the organisation tree and written by the owner unit's
analysts. Reasons that cite an incident are shown only to readers who may read that incident
(:func:`visible_reasons`). Services never commit.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypedDict

from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.models import Organisation, User
from interdict.accounts.subject import ROLE_RANK, Subject
from interdict.audit import service as audit
from interdict.config import Settings
from interdict.core import localtime, spreadsheet
from interdict.core.clock import utcnow
from interdict.core.errors import FieldError, Forbidden, InvalidInput, NotFound, from_validation_error
from interdict.core.filters import Group
from interdict.core.i18n import N_
from interdict.core.spreadsheet.reader import Limits
from interdict.incidents import service as incidents_service
from interdict.incidents.attachments import safe_filename
from interdict.incidents.models import Incident
from interdict.jobs import service as jobs
from interdict.jobs.models import Job
from interdict.sharing.service import decided, nominal_clause, readable_clause, require_editable
from interdict.targeting import engine, profiles
from interdict.targeting.mapping import check_file_columns, read_mapping, shipped_mappings
from interdict.targeting.models import (
    ProfileHit,
    RiskProfile,
    RiskProfileVersion,
    TargetingBatch,
    TargetingRecord,
    TargetingRejection,
)
from interdict.targeting.schemas import BatchRead, OutcomeBody, ProfileCreate, ProfileRead, ProfileUpdate, RecordRead

POSITIVE = ("irregularity", "seizure")


# --- access ------------------------------------------------------------------------------------------


def _tree(subject: Subject) -> Select[Any]:
    return select(Organisation.id).where(Organisation.root_id == subject.root_org_id)


def batch_visible(model: type[TargetingBatch] | type[TargetingRecord], subject: Subject) -> ColumnElement[bool]:
    """THE read predicate of loads and records: the loading unit's organisation tree."""
    decided("targeting:read")
    return model.owner_org_id.in_(_tree(subject))


def get_batch(session: Session, subject: Subject, batch_id: uuid.UUID | str) -> TargetingBatch:
    bid = _uuid(batch_id)
    batch = session.scalar(
        select(TargetingBatch).where(TargetingBatch.id == bid, batch_visible(TargetingBatch, subject))
    )
    if batch is None:
        raise NotFound(N_("no such load"))
    return batch


def get_record(session: Session, subject: Subject, record_id: uuid.UUID | str) -> TargetingRecord:
    rid = _uuid(record_id)
    rec = session.scalar(
        select(TargetingRecord).where(TargetingRecord.id == rid, batch_visible(TargetingRecord, subject))
    )
    if rec is None:
        raise NotFound(N_("no such record"))
    return rec


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound(N_("no such record")) from None


def list_batches(session: Session, subject: Subject) -> list[TargetingBatch]:
    stmt = (
        select(TargetingBatch).where(batch_visible(TargetingBatch, subject)).order_by(TargetingBatch.created_at.desc())
    )
    return list(session.scalars(stmt.limit(500)))


def batch_read(session: Session, batch: TargetingBatch) -> BatchRead:
    org = session.get(Organisation, batch.owner_org_id)
    return BatchRead(
        id=batch.id,
        name=batch.name,
        unit=org.code if org else "",
        source_file=batch.source_file,
        mapping_name=batch.mapping_name,
        rows=batch.rows,
        loaded=batch.loaded,
        rejected=batch.rejected,
        model_version=batch.model_version,
        random_share=batch.random_share,
        created_at=batch.created_at,
    )


@dataclass
class Guidance:
    """What a newcomer still has to do before the worklist ranks anything (said on the targeting pages)."""

    has_model: bool
    has_profiles: bool
    has_loads: bool

    @property
    def ready(self) -> bool:
        return self.has_model and self.has_profiles and self.has_loads


def guidance(session: Session, subject: Subject, settings: Settings) -> Guidance:
    has_profiles = session.scalar(select(func.count()).where(_profile_visible(subject), RiskProfile.active.is_(True)))
    has_loads = session.scalar(select(func.count()).where(batch_visible(TargetingBatch, subject)))
    return Guidance(settings.effective_targeting_model is not None, bool(has_profiles), bool(has_loads))


# --- loads -------------------------------------------------------------------------------------------


@dataclass
class LoadSummary:
    batch: TargetingBatch
    new: int
    updated: int
    unchanged: int
    rejections: list[TargetingRejection]
    note: str | None


def _canonical_json(record: Any) -> dict[str, Any]:
    d = asdict(record)
    d.pop("row", None)
    d["date"] = record.date.isoformat()
    d["containers"] = list(record.containers)
    d["port_transshipment"] = list(record.port_transshipment)
    d["phones"] = list(record.phones)
    d["extra"] = [list(x) for x in record.extra]
    return d


def _apply(row: TargetingRecord, data: dict[str, Any]) -> None:
    g = data.get
    row.data = data
    row.date = date.fromisoformat(data["date"])
    row.hs_code = g("hs_code")
    row.containers = list(g("containers") or [])
    row.vessel = profiles.name_upper(g("vessel")) if g("vessel") else None
    row.voyage = g("voyage")
    row.bill_of_lading = g("bill_of_lading")
    row.port_loading = g("port_loading")
    row.port_discharge = g("port_discharge")
    row.port_transshipment = list(g("port_transshipment") or [])
    row.transshipment_text = f" {' '.join(row.port_transshipment)} " if row.port_transshipment else ""
    phones = list(g("phones") or [])
    row.phones_text = f" {' '.join(phones)} " if phones else ""
    for role in ("shipper", "consignee", "importer", "declarant"):
        setattr(row, role, (g(role) or None) and str(g(role))[:300])
        setattr(row, f"{role}_key", profiles.party_key(g(role)))
    row.notify_party = (g("notify_party") or None) and str(g("notify_party"))[:300]
    row.goods_description = g("goods_description")
    row.goods_words = profiles.goods_words(g("goods_description"))
    row.country_origin = g("country_origin")
    row.country_departure = g("country_departure")
    row.office = profiles.name_upper(g("office")) if g("office") else None
    row.gross_weight = g("gross_weight")
    row.net_weight = g("net_weight")
    row.value = g("value")
    row.value_per_kg = profiles.value_per_kg(row.value, row.net_weight, row.gross_weight)
    row.chemical_mismatch = profiles.chemical_mismatch(row.goods_words, row.hs_code)


def _first_seen(session: Session, root_org_id: uuid.UUID, records: list[TargetingRecord]) -> None:
    """Days since each record's consignee first appeared in the agency's loaded records (0 when first seen now)."""
    keys = sorted({r.consignee_key for r in records if r.consignee_key})
    first: dict[str, date] = {}
    for i in range(0, len(keys), 500):
        first.update(
            (k, d)
            for k, d in session.execute(
                select(TargetingRecord.consignee_key, func.min(TargetingRecord.date))
                .where(TargetingRecord.root_org_id == root_org_id, TargetingRecord.consignee_key.in_(keys[i : i + 500]))
                .group_by(TargetingRecord.consignee_key)
            ).tuples()
            if k is not None
        )
    for r in records:
        seen = first.get(r.consignee_key) if r.consignee_key else None
        r.consignee_first_seen_days = max((r.date - seen).days, 0) if seen else None


def load_batch(
    session: Session,
    subject: Subject,
    settings: Settings,
    path: Path,
    mapping_ref: str | Path,
    *,
    source_name: str | None = None,
    batch_name: str | None = None,
    now: datetime,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> LoadSummary:
    """Load a file into a batch of the subject's unit: valid rows upserted by record id (unchanged rows are not
    touched, changed ones updated in place), every rejected row reported; then score the batch. The file is read
    through the bounded reader (:func:`load_limits`). A load that cannot be read at all, or breaks a bound, raises
    :class:`InvalidInput` before anything is written (the caller's unit of work rolls back). Reloading into the
    same batch name replaces its rejection report. ``progress(stage, done, total)``: "reading" (rows), "saving"
    (records), "scoring"."""
    from interdict.targeting.mapping import load, read_mapping

    decided("targeting:load")
    if not subject.can_write:
        raise Forbidden(N_("your role cannot load manifests"))
    mapping = read_mapping(mapping_ref)
    reading = (lambda done, total: progress("reading", done, total)) if progress else None
    source = source_name or path.name
    result = load(path, mapping, limits=load_limits(settings), progress=reading, name=source)
    name = (batch_name or "").strip() or _default_name(result.records, source)
    if len(name) > 200:
        raise InvalidInput(FieldError(("batch_name",), N_("at most 200 characters")))
    org = session.get(Organisation, subject.org_id)
    root_id = (org.root_id if org else None) or subject.root_org_id
    batch = session.scalar(
        select(TargetingBatch).where(TargetingBatch.owner_org_id == subject.org_id, TargetingBatch.name == name)
    )
    created = batch is None
    if batch is None:
        batch = TargetingBatch(
            owner_org_id=subject.org_id,
            name=name,
            source_file=source[:255],
            mapping_name=mapping.name,
            created_by_id=subject.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(batch)
        session.flush()
    else:
        batch.source_file, batch.mapping_name, batch.updated_at = source[:255], mapping.name, now
    by_id = {r.id: r for r in result.records}
    existing: dict[str, TargetingRecord] = {}
    ids = sorted(by_id)
    for i in range(0, len(ids), 500):
        for found in session.scalars(
            select(TargetingRecord).where(
                TargetingRecord.root_org_id == root_id, TargetingRecord.record_id.in_(ids[i : i + 500])
            )
        ):
            existing[found.record_id] = found
    new = updated = unchanged = 0
    touched: list[TargetingRecord] = []
    foreign: list[TargetingRejection] = []
    # Idempotent by record id (docs/targeting-data.md): a record already loaded stays in the load that brought it
    # (its worklist, selection and outcome live there); identical content is "unchanged", changed content is
    # updated in place and that load re-scored. Only new records go into this file's load.
    held: Counter[uuid.UUID] = Counter()
    for k, (rid, rec) in enumerate(by_id.items()):
        if k % 1000 == 0 and k:
            session.flush()  # written as it goes, so the progress counts the real work
        if progress is not None and k % 1000 == 0:
            progress("saving", k, len(by_id))
        data = _canonical_json(rec)
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        row: TargetingRecord | None = existing.get(rid)
        if row is not None and row.owner_org_id != subject.org_id:
            foreign.append(
                TargetingRejection(
                    row=rec.row,
                    record_id=rid,
                    field="id",
                    column=mapping.fields["id"].column,
                    reason="this record id was loaded by another unit of your organisation",
                )
            )
            continue
        if row is not None:
            held[row.batch_id] += 1
        if row is not None and row.content_hash == digest:
            unchanged += 1
            continue
        if row is None:
            row = TargetingRecord(
                batch_id=batch.id,
                owner_org_id=subject.org_id,
                root_org_id=root_id,
                record_id=rid,
                created_at=now,
                reasons=[],
            )
            session.add(row)
            new += 1
        else:
            updated += 1
        _apply(row, data)
        row.content_hash = digest
        row.updated_at = now
        touched.append(row)
    session.flush()
    if created and not new and held:
        # Every record of the file is already in other loads: no empty load claiming them; the report is about
        # the load that holds most of them.
        session.delete(batch)
        session.flush()
        batch = session.get_one(TargetingBatch, held.most_common(1)[0][0])
        batch.updated_at = now
    session.query(TargetingRejection).filter(TargetingRejection.batch_id == batch.id).delete()
    rejections = [
        TargetingRejection(
            batch_id=batch.id, row=r.row, record_id=r.record_id, field=r.field, column=r.column, reason=r.reason
        )
        for r in result.rejections
    ]
    for f in foreign:
        f.batch_id = batch.id
    rejections.extend(foreign)
    session.add_all(rejections)
    session.flush()
    _first_seen(session, root_id, touched)
    batch.rows = result.rows
    batch.rejected = result.rejected_rows
    note = None
    # Every load this file changed is re-scored and recounted (counts stay true).
    changed = {r.batch_id for r in touched} | {batch.id}
    for other in session.scalars(select(TargetingBatch).where(TargetingBatch.id.in_(changed))):
        other.loaded = session.scalar(select(func.count()).where(TargetingRecord.batch_id == other.id)) or 0
        if other.id in {r.batch_id for r in touched}:
            if progress is not None:
                progress("scoring", 0, None)
            other_note = engine.score_batch(session, other, settings, now=now)
            note = note or other_note
    audit.record(
        session,
        subject,
        "targeting.load",
        object_type="targeting_batch",
        object_id=batch.id,
        object_label=batch.name,
        summary=f"{source}: {new} new, {updated} updated, {unchanged} unchanged, {batch.rejected} rows rejected",
    )
    session.flush()
    return LoadSummary(batch, new, updated, unchanged, rejections, note)


def load_limits(settings: Settings) -> Limits:
    """Bounds of a load file (pages, API, ``interdict targeting load``): ``targeting_max_upload_rows`` rows and
    the spreadsheet limits (:mod:`interdict.core.spreadsheet.reader`)."""
    return Limits.from_settings(
        settings, rows=settings.targeting_max_upload_rows, purpose="targeting loads", field="data"
    )


SNIFF_BYTES = 65536


def sniff_load(name: str, head: bytes) -> str:
    """The load's format from the start of its content (not its name alone): XLSX (a zip workbook), JSON, or UTF-8
    CSV. The rest of the file is checked as it is read."""
    head = head[:SNIFF_BYTES]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if head.startswith(b"PK\x03\x04"):
        if ext == "xlsx" and b"xl/" in head:
            return "xlsx"
        raise InvalidInput(FieldError(("file",), N_("this zip file is not an Excel workbook (.xlsx)")))
    if b"\x00" in head[:8192]:
        raise InvalidInput(FieldError(("file",), N_("this file type is not accepted: upload CSV, XLSX or JSON")))
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        raise InvalidInput(FieldError(("file",), N_("not UTF-8 text: save the CSV or JSON as UTF-8"))) from None
    first = text.lstrip()[:1]
    if ext in ("json", "jsonl", "ndjson") or first in ("[", "{"):
        if first not in ("[", "{"):
            raise InvalidInput(FieldError(("file",), N_("not JSON (an array of objects or one object a line)")))
        return "json"
    if ext in ("csv", "txt"):
        return "csv"
    raise InvalidInput(FieldError(("file",), N_("this file type is not accepted: upload CSV, XLSX or JSON")))


def queue_upload(
    session: Session,
    subject: Subject,
    settings: Settings,
    *,
    filename: str | None,
    stream: BinaryIO,
    mapping: str,
    batch_name: str | None,
) -> Job:
    """An uploaded file (web form or API), checked and queued as a background load (:func:`run_load_job`): the
    mapping must be a shipped one, the file at most ``targeting_max_upload_bytes`` (copied to the jobs directory a
    megabyte at a time) and CSV, XLSX or JSON by its content. Its rows are read and checked by the job."""
    decided("targeting:load")
    if not subject.can_write:
        raise Forbidden(N_("your role cannot load manifests"))
    if not filename:
        raise InvalidInput(FieldError(("file",), N_("choose a file to load")))
    if mapping not in shipped_mappings():
        raise InvalidInput(
            FieldError(
                ("mapping",),
                N_("choose one of the mappings: %(shipped_mappings)s", shipped_mappings=", ".join(shipped_mappings())),
            )
        )
    name = (batch_name or "").strip()
    if len(name) > 200:
        raise InvalidInput(FieldError(("batch_name",), N_("at most 200 characters")))
    head = stream.read(SNIFF_BYTES)
    if not head:
        raise InvalidInput(FieldError(("file",), N_("the file is empty")))
    safe = safe_filename(filename)
    fmt = sniff_load(safe, head)
    limit = settings.targeting_max_upload_bytes
    chosen = read_mapping(mapping)

    def write(path: Path) -> None:
        jobs.store_upload(stream, path, limit, head=head)
        try:  # a file for another mapping is refused here, on the form, not by the job a moment later
            check_file_columns(path, chosen, fmt, load_limits(settings), safe)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    return jobs.enqueue(
        session,
        subject,
        settings,
        kind="targeting.load",
        filename=safe,
        suffix=fmt,
        params={"mapping": mapping, "batch_name": name or None, "filename": safe},
        write=write,
    )


def run_load_job(
    session: Session,
    subject: Subject,
    settings: Settings,
    *,
    path: Path,
    params: dict[str, Any],
    progress: Callable[[str, int, int | None], None] | None,
    now: datetime,
) -> dict[str, Any]:
    """The background load of an uploaded file (:func:`queue_upload`): :func:`load_batch`, and its summary."""
    summary = load_batch(
        session,
        subject,
        settings,
        path,
        str(params["mapping"]),
        source_name=str(params.get("filename") or path.name),
        batch_name=params.get("batch_name") or None,
        now=now,
        progress=progress,
    )
    b = summary.batch
    return {
        "batch_id": str(b.id),
        "batch_name": b.name,
        "rows": b.rows,
        "loaded": b.loaded,
        "rejected": b.rejected,
        "new": summary.new,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "note": summary.note,
    }


def _default_name(records: list[Any], source: str) -> str:
    vessels = {(r.vessel or "", r.voyage or "") for r in records if r.vessel}
    if len(vessels) == 1:
        vessel, voyage = next(iter(vessels))
        day = max(r.date for r in records).isoformat()
        return " ".join(p for p in (vessel, voyage, day) if p)
    return source


def rejections(session: Session, subject: Subject, batch_id: uuid.UUID | str) -> list[TargetingRejection]:
    batch = get_batch(session, subject, batch_id)
    return list(
        session.scalars(
            select(TargetingRejection)
            .where(TargetingRejection.batch_id == batch.id)
            .order_by(TargetingRejection.row, TargetingRejection.field)
        )
    )


def export_rejections(session: Session, subject: Subject, batch_id: uuid.UUID | str) -> str:
    """The load's rejection report as CSV (cells neutralised against formula injection: ``core.spreadsheet``),
    recorded as ``targeting.export_rejections``. Never commits."""
    batch = get_batch(session, subject, batch_id)
    rows = rejections(session, subject, batch.id)
    out = io.StringIO()
    w = spreadsheet.Writer(out)
    w.writerow(["row", "record_id", "field", "column", "reason"])
    w.writerows([r.row, r.record_id or "", r.field, r.column or "", r.reason] for r in rows)
    audit.record(
        session,
        subject,
        "targeting.export_rejections",
        object_type="targeting_batch",
        object_id=batch.id,
        object_label=batch.name,
        summary=f"{len(rows)} rejected rows exported as csv",
        after={"format": "csv", "rows": len(rows)},
    )
    return out.getvalue()


# --- worklist ----------------------------------------------------------------------------------------


class WorklistFilters(TypedDict, total=False):
    lane: str | None
    hs: str | None
    origin: str | None
    party: str | None
    text: str | None


def worklist(
    session: Session,
    subject: Subject,
    batch: TargetingBatch,
    *,
    lane: str | None = None,
    hs: str | None = None,
    origin: str | None = None,
    party: str | None = None,
    text: str | None = None,
    selected_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[TargetingRecord]:
    """The batch's records, ranked (highest score first; records not scored yet last), filtered through the same
    filter language; ``limit``/``offset`` give one page (:func:`worklist_total` counts them all)."""
    stmt = _worklist_stmt(
        session, subject, batch, lane=lane, hs=hs, origin=origin, party=party, text=text, selected_only=selected_only
    )
    stmt = stmt.order_by(TargetingRecord.score.desc().nulls_last(), TargetingRecord.record_id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def worklist_total(
    session: Session,
    subject: Subject,
    batch: TargetingBatch,
    *,
    lane: str | None = None,
    hs: str | None = None,
    origin: str | None = None,
    party: str | None = None,
    text: str | None = None,
    selected_only: bool = False,
) -> int:
    """How many records the worklist with these filters holds (all pages)."""
    stmt = _worklist_stmt(
        session, subject, batch, lane=lane, hs=hs, origin=origin, party=party, text=text, selected_only=selected_only
    )
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _worklist_stmt(
    session: Session,
    subject: Subject,
    batch: TargetingBatch,
    *,
    lane: str | None,
    hs: str | None,
    origin: str | None,
    party: str | None,
    text: str | None,
    selected_only: bool,
) -> Select[TargetingRecord]:
    reg = profiles.registry(session)
    # Each query parameter is one condition of the tree; errors name the parameter, not the tree's node.
    params: list[tuple[str, dict[str, Any]]] = []
    if hs:
        params.append(("hs", {"field": "hs_code", "op": "eq", "value": hs}))
    if origin:
        params.append(("origin", {"field": "country_origin", "op": "eq", "value": origin}))
    if party:
        parties = [
            {"field": f, "op": "contains", "value": party} for f in ("consignee", "shipper", "importer", "declarant")
        ]
        params.append(("party", {"any": parties}))
    if text:
        params.append(("text", {"field": "goods_text", "op": "match", "value": text}))
    stmt = select(TargetingRecord).where(TargetingRecord.batch_id == batch.id, batch_visible(TargetingRecord, subject))
    if params:
        try:
            node = Group.model_validate({"all": [cond for _, cond in params]})
            stmt = stmt.where(reg.compile(node))
        except (ValidationError, InvalidInput) as exc:
            errors = from_validation_error(exc).errors if isinstance(exc, ValidationError) else exc.errors
            raise InvalidInput([FieldError((_filter_param(e.loc, params),), e.msg) for e in errors]) from None
    if lane:
        if lane not in ("red", "yellow", "green"):
            raise InvalidInput(FieldError(("lane",), N_("choose red, yellow or green")))
        stmt = stmt.where(TargetingRecord.lane == lane)
    if selected_only:
        stmt = stmt.where(TargetingRecord.selected.is_(True))
    return stmt


def selected_for_risk(session: Session, batch: TargetingBatch) -> int:
    """Records of the load selected for inspection on risk (counted against the unit's capacity)."""
    return (
        session.scalar(
            select(func.count()).where(
                TargetingRecord.batch_id == batch.id,
                TargetingRecord.selected.is_(True),
                TargetingRecord.selected_reason == "risk",
            )
        )
        or 0
    )


def _filter_param(loc: tuple[str | int, ...], params: list[tuple[str, dict[str, Any]]]) -> str:
    """The query parameter of an error at ``[filter.]all[i]...``."""
    parts = loc[1:] if loc[:1] == ("filter",) else loc
    if len(parts) > 1 and parts[0] == "all" and isinstance(parts[1], int) and parts[1] < len(params):
        return params[parts[1]][0]
    return "filter"


def visible_reasons(
    session: Session, subject: Subject, records: list[TargetingRecord]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each record's reasons as this reader may see them: a reason citing an incident the reader may not read is
    left out entirely (its text names the incident). A reason through a person's value in an incident (a phone)
    is shown only where the reader may see that incident's persons, and showing it is audited as a read of
    nominal data (once per incident and call)."""
    cited = {uuid.UUID(x["incident_id"]) for r in records for x in (r.reasons or []) if x.get("incident_id")}
    readable: set[uuid.UUID] = set()
    persons: set[uuid.UUID] = set()
    if cited:
        readable = set(
            session.scalars(
                select(Incident.id).where(Incident.id.in_(sorted(cited)), readable_clause(Incident, subject))
            )
        )
        nominal = {uuid.UUID(x["incident_id"]) for r in records for x in (r.reasons or []) if x.get("nominal")}
        if nominal & readable:
            persons = set(
                session.scalars(
                    select(Incident.id).where(
                        Incident.id.in_(sorted(nominal & readable)), nominal_clause(Incident, subject)
                    )
                )
            )

    def shown(x: dict[str, Any]) -> bool:
        if not x.get("incident_id"):
            return True
        iid = uuid.UUID(x["incident_id"])
        return iid in persons if x.get("nominal") else iid in readable

    out = {r.id: [x for x in (r.reasons or []) if shown(x)] for r in records}
    person_reads = Counter(uuid.UUID(x["incident_id"]) for reasons in out.values() for x in reasons if x.get("nominal"))
    incidents_service.record_nominal_reads(session, subject, dict(person_reads))
    return out


ASSIGNABLE_ROLES = tuple(role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK["officer"])


def unit_officers(session: Session, org_id: uuid.UUID) -> list[User]:
    """The unit's active users who may be assigned an inspection (they can record its outcome)."""
    return list(
        session.scalars(
            select(User)
            .where(User.org_id == org_id, User.is_active.is_(True), User.role.in_(ASSIGNABLE_ROLES))
            .order_by(User.username)
        )
    )


def select_records(
    session: Session,
    subject: Subject,
    settings: Settings,
    batch_id: uuid.UUID | str,
    record_ids: list[uuid.UUID],
    *,
    now: datetime,
) -> int:
    """Select records for inspection (risk-based), within the unit's capacity per load; refuses beyond it."""
    batch = get_batch(session, subject, batch_id)
    require_editable(batch, subject)
    rows = list(
        session.scalars(
            select(TargetingRecord).where(TargetingRecord.batch_id == batch.id, TargetingRecord.id.in_(record_ids))
        )
    )
    if len(rows) != len(set(record_ids)):
        raise InvalidInput(FieldError(("selected",), N_("some of the chosen records are not in this load")))
    already = (
        session.scalar(
            select(func.count()).where(
                TargetingRecord.batch_id == batch.id,
                TargetingRecord.selected.is_(True),
                TargetingRecord.selected_reason == "risk",
            )
        )
        or 0
    )
    adding = [r for r in rows if not r.selected]
    capacity = settings.targeting_capacity
    if already + len(adding) > capacity:
        raise InvalidInput(
            FieldError(
                ("selected",),
                N_(
                    "capacity exceeded: your unit can inspect %(capacity)s containers of this load; %(already)s already selected, %(n_adding)s more chosen. Choose at most %(max)s.",
                    capacity=capacity,
                    already=already,
                    n_adding=len(adding),
                    max=max(capacity - already, 0),
                ),
            )
        )
    for r in adding:
        r.selected, r.selected_reason, r.selected_at, r.selected_by_id = True, "risk", now, subject.user_id
    audit.record(
        session,
        subject,
        "targeting.select",
        object_type="targeting_batch",
        object_id=batch.id,
        object_label=batch.name,
        summary=f"selected {', '.join(r.record_id for r in adding)}",
    )
    return len(adding)


def unselect(session: Session, subject: Subject, record_id: uuid.UUID | str) -> None:
    rec = get_record(session, subject, record_id)
    require_editable(rec, subject)
    if rec.selected_reason == "random":
        raise InvalidInput(FieldError(("selected",), N_("a random selection stays: it keeps the evidence unbiased")))
    if rec.outcome is not None:
        raise InvalidInput(FieldError(("selected",), N_("this record already has an outcome")))
    rec.selected, rec.selected_reason, rec.selected_at, rec.selected_by_id = False, None, None, None


def assign(session: Session, subject: Subject, record_id: uuid.UUID | str, username: str) -> TargetingRecord:
    rec = get_record(session, subject, record_id)
    require_editable(rec, subject)
    if not rec.selected:
        raise InvalidInput(FieldError(("username",), N_("select the record for inspection before assigning it")))
    user = session.scalar(
        select(User).where(User.username == username, User.org_id == rec.owner_org_id, User.is_active.is_(True))
    )
    if user is None:
        raise InvalidInput(
            FieldError(
                ("username",), N_("'%(username)s' is not an active officer of the loading unit", username=username)
            )
        )
    if user.role not in ASSIGNABLE_ROLES:  # the assignee records the outcome
        raise InvalidInput(
            FieldError(
                ("username",),
                N_(
                    "'%(username)s' is a %(role)s and cannot record the inspection's outcome; assign an officer or analyst",
                    username=username,
                    role=user.role,
                ),
            )
        )
    rec.assigned_to_id = user.id
    audit.record(
        session,
        subject,
        "targeting.assign",
        object_type="targeting_record",
        object_id=rec.id,
        object_label=rec.record_id,
        summary=f"assigned to {user.username}",
    )
    return rec


def record_outcome(
    session: Session, subject: Subject, record_id: uuid.UUID | str, body: OutcomeBody, *, now: datetime
) -> TargetingRecord:
    """Record the inspection result of a selected record; profile hit rates follow from it (see profile_stats)."""
    rec = get_record(session, subject, record_id)
    require_editable(rec, subject)
    if not rec.selected:
        raise InvalidInput(FieldError(("outcome",), N_("only a record selected for inspection has an outcome")))
    notes = (body.notes or "").strip()
    if body.outcome != "nothing_found" and not notes:
        raise InvalidInput(FieldError(("notes",), N_("say what was found for an irregularity or a seizure")))
    before = {"outcome": rec.outcome, "notes": rec.outcome_notes}
    rec.outcome, rec.outcome_notes, rec.outcome_at, rec.outcome_by_id = (
        body.outcome,
        notes or None,
        now,
        subject.user_id,
    )
    audit.record(
        session,
        subject,
        "targeting.outcome",
        object_type="targeting_record",
        object_id=rec.id,
        object_label=rec.record_id,
        before=before,
        after={"outcome": rec.outcome, "notes": rec.outcome_notes},
    )
    return rec


def incident_prefill(
    session: Session, subject: Subject, record_id: uuid.UUID | str
) -> tuple[TargetingRecord, dict[str, Any]]:
    """New-incident form values from a record the subject may edit (its unit's seizure)."""
    rec = get_record(session, subject, record_id)
    require_editable(rec, subject)
    parties = [
        {"kind": "company", "role": role, "name": getattr(rec, role)}
        for role in ("shipper", "consignee", "notify_party")
        if getattr(rec, role)
    ]
    data: dict[str, Any] = {
        "incident_type": "seizure",
        # The seizure's day where the officer is (a time stored in UTC may fall on the day before).
        "incident_date": localtime.local_date(rec.outcome_at or utcnow(), subject.time_zone).isoformat(),
        "country": subject.country,
        "place_type": "seaport",
        "mode_of_transport": "sea",
        "distribution": "organisation",
        "tlp": "AMBER",
        "vessel_name": rec.vessel,
        "voyage": rec.voyage,
        "bl_awb": rec.bill_of_lading,
        "containers": [{"number": c} for c in rec.containers],
        "parties": parties,
        "declared_hs_code": rec.hs_code,
        "goods_description": rec.goods_description,
        "origin_country": (rec.country_origin or "")[:2] or None,
        "departure_country": (rec.port_loading or "")[:2] or (rec.country_departure or "")[:2] or None,
        "departure_locode": rec.port_loading,
        "transits": [{"country": p[:2], "locode": p} for p in rec.port_transshipment],
        "destination_country": (rec.port_discharge or "")[:2] or None,
        "destination_locode": rec.port_discharge,
        "locode": rec.port_discharge if (rec.port_discharge or "")[:2] == subject.country else None,
        "narrative": f"Seizure at inspection of targeted record {rec.record_id}: {rec.outcome_notes or ''}".strip(),
    }
    return rec, data


def link_incident(session: Session, subject: Subject, record_id: uuid.UUID | str, incident: Incident) -> None:
    rec = get_record(session, subject, record_id)
    require_editable(rec, subject)
    rec.incident_id = incident.id


# --- risk profiles -----------------------------------------------------------------------------------


def _profile_visible(subject: Subject) -> ColumnElement[bool]:
    decided("targeting:profiles")
    return RiskProfile.root_org_id == subject.root_org_id


def can_edit_profile(profile: RiskProfile, subject: Subject) -> bool:
    decided("targeting:profile-edit")
    return subject.has_role("analyst") and subject.can_write and profile.owner_org_id == subject.org_id


def _require_analyst(subject: Subject) -> None:
    decided("targeting:profile-edit")
    if not (subject.has_role("analyst") and subject.can_write):
        raise Forbidden(N_("risk profiles are written by analysts"))


# Errors in a well-formed tree that are worth naming (a filter over the limits, a bad value); others get the hint.
_NAMED_ERRORS = {"filter_limit", "filter_value", "control_character", "string_too_long"}


def _check_criteria(session: Session, criteria: dict[str, Any]) -> dict[str, Any]:
    if "field" in criteria:  # a single condition
        criteria = {"all": [criteria]}
    try:
        node = Group.model_validate(criteria)
    except ValidationError as exc:
        named = [e for e in from_validation_error(exc, prefix=("criteria",)).errors if e.type in _NAMED_ERRORS]
        raise InvalidInput(
            named
            or FieldError(
                ("criteria",), N_('expected a filter tree: {"all": [{"field": ..., "op": ..., "value": ...}]}')
            )
        ) from None
    reg = profiles.registry(session)
    try:
        reg.matcher(node)
        reg.compile(node)
    except InvalidInput as exc:
        raise InvalidInput([FieldError(("criteria", *e.loc[1:]), e.msg) for e in exc.errors]) from None
    return node.model_dump(by_alias=True, exclude_none=True, mode="json")


def _check_profile(weight: float | None, lane: str | None, valid_from: date | None, valid_to: date | None) -> None:
    if weight is None and lane is None:
        raise InvalidInput(FieldError(("weight",), N_("give a weight (above 0, at most 1) or a direct lane")))
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidInput(FieldError(("valid_to",), N_("is before 'valid from'")))


def create_profile(session: Session, subject: Subject, body: ProfileCreate, *, now: datetime) -> RiskProfile:
    _require_analyst(subject)
    criteria = _check_criteria(session, body.criteria)
    _check_profile(body.weight, body.lane, body.valid_from, body.valid_to)
    p = RiskProfile(
        owner_org_id=subject.org_id,
        root_org_id=subject.root_org_id,
        owner_user_id=subject.user_id,
        name=body.name.strip(),
        criteria=criteria,
        weight=body.weight,
        lane=body.lane,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        rationale=body.rationale.strip(),
        active=body.active,
        created_at=now,
        updated_at=now,
    )
    session.add(p)
    session.flush()
    _save_version(session, subject, p, "created", now)
    audit.record(
        session,
        subject,
        "targeting.profile.create",
        object_type="risk_profile",
        object_id=p.id,
        object_label=p.name,
        after={"criteria": criteria, "weight": p.weight, "lane": p.lane},
    )
    return p


PROFILE_FIELDS = ("name", "criteria", "weight", "lane", "valid_from", "valid_to", "rationale", "active")


def snapshot(p: RiskProfile) -> dict[str, Any]:
    """The profile's state as a version keeps it (JSON: dates as ISO text)."""
    out: dict[str, Any] = {k: getattr(p, k) for k in PROFILE_FIELDS}
    for k in ("valid_from", "valid_to"):
        out[k] = out[k].isoformat() if out[k] else None
    out["criteria"] = json.loads(json.dumps(out["criteria"]))
    return out


def _save_version(session: Session, subject: Subject, p: RiskProfile, action: str, now: datetime) -> None:
    last = session.scalar(select(func.max(RiskProfileVersion.version)).where(RiskProfileVersion.profile_id == p.id))
    session.add(
        RiskProfileVersion(
            profile_id=p.id,
            version=(last or 0) + 1,
            action=action,
            snapshot=snapshot(p),
            changed_by_id=subject.user_id,
            changed_at=now,
        )
    )
    session.flush()


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class VersionRead:
    version: int
    action: str
    by: str
    at: datetime
    changes: list[Change]


def _shown(field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field == "criteria":
        return criteria_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def criteria_text(criteria: dict[str, Any]) -> str:
    """A filter tree in words: ``hs_code in 291524, 284161 and country_origin eq CN``."""
    for key, joiner in (("all", " and "), ("any", " or ")):
        if key in criteria:
            parts = [criteria_text(c) for c in criteria[key]]
            text = joiner.join(parts)
            return f"({text})" if len(parts) > 1 and key == "any" else text
    if "not" in criteria:
        return f"not ({criteria_text(criteria['not'])})"
    value = criteria.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{criteria.get('field')} {criteria.get('op')} {shown}"


def profile_history(session: Session, subject: Subject, profile_id: uuid.UUID | str) -> list[VersionRead]:
    """The profile's versions, newest first, each with what changed from the one before (field, before, after)."""
    p = get_profile(session, subject, profile_id)
    rows = list(
        session.scalars(
            select(RiskProfileVersion).where(RiskProfileVersion.profile_id == p.id).order_by(RiskProfileVersion.version)
        )
    )
    ids = {v.changed_by_id for v in rows if v.changed_by_id}
    users = {u.id: u.username for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    out: list[VersionRead] = []
    previous: dict[str, Any] = {}
    for v in rows:
        changes = [
            Change(k, _shown(k, previous.get(k)) if previous else "", _shown(k, v.snapshot.get(k)))
            for k in PROFILE_FIELDS
            if not previous or previous.get(k) != v.snapshot.get(k)
        ]
        by = users.get(v.changed_by_id, "") if v.changed_by_id else ""
        out.append(VersionRead(v.version, v.action, by, v.changed_at, changes))
        previous = v.snapshot
    return list(reversed(out))


PREVIEW_RECORDS = 5000


@dataclass
class Preview:
    hits: int
    considered: int


def preview_profile(session: Session, subject: Subject, criteria: dict[str, Any]) -> Preview:
    """How many of the organisation's latest ``PREVIEW_RECORDS`` records (by date) the criteria would hit."""
    checked = _check_criteria(session, criteria)
    cond = profiles.registry(session).compile(Group.model_validate(checked))
    latest = (
        select(TargetingRecord.id)
        .where(batch_visible(TargetingRecord, subject))
        .order_by(TargetingRecord.date.desc(), TargetingRecord.record_id.desc())
        .limit(PREVIEW_RECORDS)
    )
    considered = session.scalar(select(func.count()).select_from(latest.subquery())) or 0
    hits = session.scalar(select(func.count()).where(TargetingRecord.id.in_(latest), cond)) or 0
    return Preview(hits, considered)


OPEN_DAYS = 30


def open_batches(session: Session, root_org_id: uuid.UUID, *, now: datetime) -> list[TargetingBatch]:
    """The organisation tree's open loads: loaded or reloaded in the last ``OPEN_DAYS`` days, with at least one
    record still without an inspection outcome (their worklists are still worked on)."""
    from datetime import timedelta

    tree = select(Organisation.id).where(Organisation.root_id == root_org_id)
    undecided = select(TargetingRecord.batch_id).where(TargetingRecord.outcome.is_(None)).distinct()
    return list(
        session.scalars(
            select(TargetingBatch).where(
                TargetingBatch.owner_org_id.in_(tree),
                TargetingBatch.updated_at >= now - timedelta(days=OPEN_DAYS),
                TargetingBatch.id.in_(undecided),
            )
        )
    )


def rescore_open_loads(session: Session, settings: Settings, root_org_id: uuid.UUID, *, now: datetime) -> int:
    """Re-score every open load of the organisation tree with the current profiles (after a profile changed);
    selections, assignments and outcomes stay, the random draw is not repeated. Returns the loads re-scored."""
    batches = open_batches(session, root_org_id, now=now)
    for b in batches:
        engine.score_batch(session, b, settings, now=now)
    session.flush()
    return len(batches)


RESCORE_INLINE_RECORDS = 20_000


@dataclass
class Rescore:
    loads: int  # re-scored now
    job: Job | None  # or queued as a background job (many records)


def after_profile_change(session: Session, subject: Subject, settings: Settings, *, now: datetime) -> Rescore:
    """Re-score the open loads after a profile was created, changed, switched off or on, or deleted: in the
    request when they hold at most ``RESCORE_INLINE_RECORDS`` records, else as a background job (jobs page)."""
    batches = open_batches(session, subject.root_org_id, now=now)
    if not batches:
        return Rescore(0, None)
    n = session.scalar(select(func.count()).where(TargetingRecord.batch_id.in_([b.id for b in batches]))) or 0
    if n <= RESCORE_INLINE_RECORDS:
        return Rescore(rescore_open_loads(session, settings, subject.root_org_id, now=now), None)
    job = jobs.enqueue(
        session,
        subject,
        settings,
        kind="targeting.rescore",
        filename="risk profiles changed",
        suffix="json",
        params={"root_org_id": str(subject.root_org_id)},
        write=lambda path: path.write_text("{}", encoding="utf-8"),
    )
    return Rescore(0, job)


def run_rescore_job(
    session: Session,
    subject: Subject,
    settings: Settings,
    *,
    path: Path,
    params: dict[str, Any],
    progress: Callable[[str, int, int | None], None] | None,
    now: datetime,
) -> dict[str, Any]:
    """The background re-scoring of the open loads (:func:`after_profile_change`)."""
    if progress is not None:
        progress("scoring", 0, None)
    return {"loads": rescore_open_loads(session, settings, uuid.UUID(str(params["root_org_id"])), now=now)}


SUGGESTIONS = 200
_KNOWN_COLUMNS = {
    "hs_code": TargetingRecord.hs_code,
    "port_loading": TargetingRecord.port_loading,
    "port_discharge": TargetingRecord.port_discharge,
    "consignee": TargetingRecord.consignee,
    "shipper": TargetingRecord.shipper,
    "importer": TargetingRecord.importer,
    "declarant": TargetingRecord.declarant,
    "office": TargetingRecord.office,
    "vessel": TargetingRecord.vessel,
    "country_origin": TargetingRecord.country_origin,
    "country_departure": TargetingRecord.country_departure,
}


def profile_suggestions(session: Session, subject: Subject) -> dict[str, list[str]]:
    """Values the profile form offers per field (autocomplete): the organisation's most frequent values in its
    loads (HS codes, ports, parties, offices, vessels, countries), the reference data's countries and substance
    lists, and the true/false flags. At most ``SUGGESTIONS`` a field."""
    from interdict.reference.catalogue import get_index

    out: dict[str, list[str]] = {}
    for name, col in _KNOWN_COLUMNS.items():
        out[name] = [
            str(v)
            for v, _ in session.execute(
                select(col, func.count())
                .where(batch_visible(TargetingRecord, subject), col.is_not(None))
                .group_by(col)
                .order_by(func.count().desc(), col)
                .limit(SUGGESTIONS)
            )
        ]
    index = get_index(session)
    substance_codes = profiles.substance_hs_lists(session)
    countries = sorted(index.countries)
    for name in ("country_origin", "country_departure"):
        out[name] = out[name] + [c for c in countries if c not in out[name]]
    out["port_transshipment"] = sorted({*out["port_loading"], *out["port_discharge"]})
    precursors = substance_codes("precursor") or frozenset()
    out["hs_code"] = out["hs_code"] + sorted(c for c in precursors if c not in out["hs_code"])
    out["hs_in_list"] = index.known_classes()
    out["goods_mentions_chemical_but_hs_not_chemical"] = ["true", "false"]
    return out


def flat_conditions(criteria: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The criteria as the form's condition rows (all of them must hold), or None when the tree is nested (the
    expert JSON then)."""
    if not criteria:
        return []
    if "field" in criteria:
        criteria = {"all": [criteria]}
    if set(criteria) != {"all"} or not all("field" in c for c in criteria["all"]):
        return None
    return [dict(c) for c in criteria["all"]]


def conditions_criteria(rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The form's condition rows (field, operator, value as typed) as a filter tree: ``in``/``not_in`` take a
    comma-separated list, ``between`` two numbers, ``exists`` yes/no."""
    conds: list[dict[str, Any]] = []
    for field, op, text in rows:
        if not field:
            continue
        value: Any = text.strip()
        if op in ("in", "not_in", "between"):
            value = [v.strip() for v in value.split(",") if v.strip()]
        conds.append({"field": field, "op": op or "eq", "value": value})
    if not conds:
        raise InvalidInput(FieldError(("criteria",), N_("give at least one condition (a field, an operator, a value)")))
    return {"all": conds}


def list_profiles(session: Session, subject: Subject) -> list[RiskProfile]:
    return list(session.scalars(select(RiskProfile).where(_profile_visible(subject)).order_by(RiskProfile.name)))


def get_profile(session: Session, subject: Subject, profile_id: uuid.UUID | str) -> RiskProfile:
    pid = _uuid(profile_id)
    p = session.scalar(select(RiskProfile).where(RiskProfile.id == pid, _profile_visible(subject)))
    if p is None:
        raise NotFound(N_("no such risk profile"))
    return p


def update_profile(
    session: Session, subject: Subject, profile_id: uuid.UUID | str, body: ProfileUpdate, *, now: datetime
) -> RiskProfile:
    p = get_profile(session, subject, profile_id)
    if not can_edit_profile(p, subject):
        raise Forbidden(N_("only analysts of the profile's unit may change it"))
    changes = body.model_dump(exclude_unset=True)  # never null where null has no meaning (schemas.Keep)
    if "criteria" in changes:
        changes["criteria"] = _check_criteria(session, changes["criteria"])
    merged = {k: changes.get(k, getattr(p, k)) for k in ("weight", "lane", "valid_from", "valid_to")}
    _check_profile(merged["weight"], merged["lane"], merged["valid_from"], merged["valid_to"])
    before = {k: getattr(p, k) for k in changes}
    was = snapshot(p)
    for k, v in changes.items():
        setattr(p, k, v.strip() if isinstance(v, str) else v)
    p.updated_at = now
    now_is = snapshot(p)
    if now_is != was:
        changed = {k for k in now_is if now_is[k] != was[k]}
        action = "changed" if changed != {"active"} else ("activated" if p.active else "deactivated")
        _save_version(session, subject, p, action, now)
    audit.record(
        session,
        subject,
        "targeting.profile.update",
        object_type="risk_profile",
        object_id=p.id,
        object_label=p.name,
        before=json.loads(json.dumps(before, default=str)),
        after=json.loads(json.dumps(changes, default=str)),
    )
    return p


def delete_profile(session: Session, subject: Subject, profile_id: uuid.UUID | str) -> None:
    p = get_profile(session, subject, profile_id)
    if not can_edit_profile(p, subject):
        raise Forbidden(N_("only analysts of the profile's unit may delete it"))
    audit.record(
        session, subject, "targeting.profile.delete", object_type="risk_profile", object_id=p.id, object_label=p.name
    )
    session.delete(p)


@dataclass
class ProfileStats:
    hits: int = 0
    inspected: int = 0
    irregular: int = 0

    @property
    def hit_rate(self) -> float | None:
        return self.irregular / self.inspected if self.inspected else None


def profile_stats(session: Session, profile_ids: list[uuid.UUID]) -> dict[uuid.UUID, ProfileStats]:
    """Hits, inspected hits and irregularities per profile, from the records' outcomes (always current)."""
    out: dict[uuid.UUID, ProfileStats] = defaultdict(ProfileStats)
    if not profile_ids:
        return out
    rows = session.execute(
        select(ProfileHit.profile_id, TargetingRecord.outcome, func.count())
        .join(TargetingRecord, TargetingRecord.id == ProfileHit.record_id)
        .where(ProfileHit.profile_id.in_(profile_ids))
        .group_by(ProfileHit.profile_id, TargetingRecord.outcome)
    )
    for pid, outcome, n in rows:
        s = out[pid]
        s.hits += n
        if outcome is not None:
            s.inspected += n
            if outcome in POSITIVE:
                s.irregular += n
    return out


def flagged(stats: ProfileStats, settings: Settings) -> bool:
    """A profile that keeps missing: enough inspected hits, and a hit rate below the review threshold."""
    rate = stats.hit_rate
    return (
        stats.inspected >= settings.targeting_review_min_inspected
        and rate is not None
        and rate < settings.targeting_review_hit_rate
    )


def profiles_read(
    session: Session, subject: Subject, settings: Settings, items: list[RiskProfile]
) -> list[ProfileRead]:
    stats = profile_stats(session, [p.id for p in items])
    orgs = (
        {
            o.id: o.code
            for o in session.scalars(select(Organisation).where(Organisation.id.in_({p.owner_org_id for p in items})))
        }
        if items
        else {}
    )
    users = (
        {u.id: u.username for u in session.scalars(select(User).where(User.id.in_({p.owner_user_id for p in items})))}
        if items
        else {}
    )
    out = []
    for p in items:
        s = stats.get(p.id, ProfileStats())
        out.append(
            ProfileRead(
                id=p.id,
                name=p.name,
                owner_unit=orgs.get(p.owner_org_id, ""),
                owner=users.get(p.owner_user_id, ""),
                criteria=p.criteria,
                weight=p.weight,
                lane=p.lane,
                valid_from=p.valid_from,
                valid_to=p.valid_to,
                rationale=p.rationale,
                active=p.active,
                hits=s.hits,
                inspected=s.inspected,
                irregular=s.irregular,
                hit_rate=s.hit_rate,
                flagged=flagged(s, settings),
                editable=can_edit_profile(p, subject),
            )
        )
    return out


# --- performance -------------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    month: str
    risk_inspected: int = 0
    risk_hits: int = 0
    random_inspected: int = 0
    random_hits: int = 0

    @staticmethod
    def rate(hits: int, n: int) -> float | None:
        return hits / n if n else None

    @property
    def risk_rate(self) -> float | None:
        return self.rate(self.risk_hits, self.risk_inspected)

    @property
    def random_rate(self) -> float | None:
        return self.rate(self.random_hits, self.random_inspected)


@dataclass
class Performance:
    months: list[MonthFigures]
    capacity: int
    top_inspected: int
    top_hits: int

    @property
    def precision_at_capacity(self) -> float | None:
        return self.top_hits / self.top_inspected if self.top_inspected else None


def performance(session: Session, subject: Subject, settings: Settings) -> Performance:
    """Hit rate of risk-selected vs randomly selected inspections per month (of the record's date), and precision
    at the unit's capacity: of the inspected records ranked within the top ``capacity`` of their load, the share
    where something was found."""
    rows = session.execute(
        select(
            TargetingRecord.batch_id,
            TargetingRecord.date,
            TargetingRecord.selected_reason,
            TargetingRecord.outcome,
            TargetingRecord.score,
            TargetingRecord.record_id,
        ).where(batch_visible(TargetingRecord, subject), TargetingRecord.outcome.is_not(None))
    ).all()
    months: dict[str, MonthFigures] = {}
    for _, day, reason, outcome, _, _ in rows:
        key = day.strftime("%Y-%m")
        m = months.setdefault(key, MonthFigures(key))
        hit = outcome in POSITIVE
        if reason == "random":
            m.random_inspected += 1
            m.random_hits += int(hit)
        else:
            m.risk_inspected += 1
            m.risk_hits += int(hit)
    cap = settings.targeting_capacity
    top_inspected = top_hits = 0
    batches = {r[0] for r in rows}
    for bid in batches:
        top = set(
            session.scalars(
                select(TargetingRecord.id)
                .where(TargetingRecord.batch_id == bid)
                .order_by(TargetingRecord.score.desc(), TargetingRecord.record_id)
                .limit(cap)
            )
        )
        for r in session.scalars(
            select(TargetingRecord).where(TargetingRecord.id.in_(top), TargetingRecord.outcome.is_not(None))
        ):
            top_inspected += 1
            top_hits += int(r.outcome in POSITIVE)
    return Performance(sorted(months.values(), key=lambda m: m.month), cap, top_inspected, top_hits)


# --- retraining --------------------------------------------------------------------------------------


def training_records(session: Session) -> list[Any]:
    """Every record with a PCU outcome, as canonical records (outcome: irregularity or seizure = positive), plus
    the records without one (history volume), in date order. For the model's fit (all of the database's agencies:
    the model is one per installation)."""
    rows = session.scalars(select(TargetingRecord).order_by(TargetingRecord.date, TargetingRecord.record_id))
    return [engine.to_canonical(r, with_outcome=True) for r in rows]


def records_read(session: Session, subject: Subject, rows: list[TargetingRecord]) -> list[RecordRead]:
    reasons = visible_reasons(session, subject, rows)
    ids = {r.assigned_to_id for r in rows if r.assigned_to_id}
    users = {u.id: u.username for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return [
        RecordRead(
            id=r.id,
            record_id=r.record_id,
            date=r.date,
            hs_code=r.hs_code,
            containers=list(r.containers),
            vessel=r.vessel,
            voyage=r.voyage,
            bill_of_lading=r.bill_of_lading,
            port_loading=r.port_loading,
            port_discharge=r.port_discharge,
            consignee=r.consignee,
            shipper=r.shipper,
            goods_description=r.goods_description,
            country_origin=r.country_origin,
            score=r.score,
            lane=r.lane,
            reasons=reasons[r.id],
            selected=r.selected,
            selected_reason=r.selected_reason,
            assigned_to=users.get(r.assigned_to_id) if r.assigned_to_id else None,
            outcome=r.outcome,
            outcome_notes=r.outcome_notes,
            incident_id=r.incident_id,
        )
        for r in rows
    ]
