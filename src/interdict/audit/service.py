"""Audit trail: record, verify, read. Never commits.

``record`` queues an entry on the session; the entries are chained and written when the session
commits (a ``before_commit`` hook), under a lock on the one-row ``audit_head`` table held only for
that moment. So an entry exists exactly when the change it describes was committed, and several
application processes append one linear chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, event, func, insert, or_, select, update
from sqlalchemy.orm import Session

from interdict.accounts.models import Organisation
from interdict.accounts.subject import Subject
from interdict.audit.models import GENESIS, AuditEntry, AuditEntryOrg, AuditHead
from interdict.core import localtime
from interdict.core.clock import utcnow
from interdict.core.i18n import N_
from interdict.sharing.service import decided

PENDING = "audit_pending"
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_user_id",
    "actor_username",
    "actor_org_id",
    "channel",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "summary",
    "before",
    "after",
    "prev_hash",
    "org_ids",
)
# Hashed only when set: a field added to the entry after entries were written without it, so those entries
# hash exactly as they did (their stored hashes stay valid and the chain format of old entries is unchanged).
OPTIONAL_HASHED = frozenset({"org_ids"})


def _plain(value: Any) -> Any:
    """JSON-ready and canonical: what is hashed is exactly what is stored and read back."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False)) if value is not None else None


def record(
    session: Session,
    subject: Subject | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    object_label: str | None = None,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_username: str | None = None,
    actor_user_id: uuid.UUID | None = None,
    actor_org_id: uuid.UUID | None = None,
    channel: str | None = None,
    ip: str | None = None,
    org_ids: Iterable[uuid.UUID] | None = None,
) -> None:
    """Queue an audit entry; it is written, chained, when (and only if) the session commits. ``org_ids``:
    organisations (tree roots) whose auditors read the entry besides those of the actor's organisation tree
    (e.g. the owners of the records a judgement concerns)."""
    orgs = sorted({str(o) for o in org_ids}) if org_ids is not None else []
    entry = {
        "at": utcnow(),
        "actor_user_id": subject.user_id if subject else actor_user_id,
        "actor_username": subject.username if subject else actor_username,
        "actor_org_id": subject.org_id if subject else actor_org_id,
        "channel": (subject.channel if subject else channel) or "system",
        "ip": (subject.ip if subject else ip) or ip,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "object_label": (object_label or "")[:200] or None,
        "summary": summary,
        "before": _plain(before),
        "after": _plain(after),
        "org_ids": orgs or None,
    }
    session.info.setdefault(PENDING, []).append(entry)


def _canonical_value(key: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def entry_hash(values: dict[str, Any]) -> str:
    body = {
        k: _canonical_value(k, values.get(k))
        for k in HASHED_FIELDS
        if k not in OPTIONAL_HASHED or values.get(k) is not None
    }
    return _digest(body)


def _digest(body: dict[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


# What verify reads: the hashed fields in HASHED_FIELDS order, then the stored hash. By the columns' types only
# ``at`` is a datetime and the two actor ids are UUIDs (every other value is a string, a number, None or parsed
# JSON), so verify converts those three by position instead of testing every value's type (entry_hash's
# _canonical_value); tests check the two agree.
_AT = HASHED_FIELDS.index("at")
_IDS = (HASHED_FIELDS.index("actor_user_id"), HASHED_FIELDS.index("actor_org_id"))
_ORGS = HASHED_FIELDS.index("org_ids")


def _stored_hash(row: tuple[Any, ...]) -> str:
    """entry_hash of a row read by verify (hashed fields in order, then the hash), computed faster."""
    values = list(row[: len(HASHED_FIELDS)])
    values[_AT] = values[_AT].astimezone(UTC).isoformat(timespec="microseconds")
    for i in _IDS:
        if values[i] is not None:
            values[i] = str(values[i])
    body = dict(zip(HASHED_FIELDS, values, strict=True))
    if values[_ORGS] is None:
        del body["org_ids"]
    return _digest(body)


def _append(session: Session, entries: list[dict[str, Any]]) -> None:
    # Take the chain head first: on PostgreSQL the UPDATE locks the row (other writers wait here until
    # this transaction ends); on SQLite it takes the database write lock.
    lock = update(AuditHead).where(AuditHead.id == 1).values(last_seq=AuditHead.last_seq + 0)
    if session.get_bind().dialect.name == "postgresql":  # one round trip: lock and read
        head = session.execute(lock.returning(AuditHead.last_seq, AuditHead.last_hash)).one()
    else:
        session.execute(lock)
        head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)).one()
    seq, prev = head.last_seq, head.last_hash
    rows = []
    for e in entries:
        seq += 1
        row = {**e, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    session.execute(insert(AuditEntry), rows)
    shown = [{"org_id": uuid.UUID(o), "seq": r["seq"]} for r in rows for o in r["org_ids"] or ()]
    if shown:
        session.execute(insert(AuditEntryOrg), shown)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_seq=seq, last_hash=prev))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    entries = session.info.pop(PENDING, None)
    if entries:
        _append(session, entries)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


# --- verification ----------------------------------------------------------------------------


@dataclass
class Problem:
    seq: int
    kind: str  # altered | missing | out_of_order | head
    message: str


@dataclass
class VerifyReport:
    entries: int = 0
    last_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session, *, progress: Callable[[int], None] | None = None, batch: int = 20_000) -> VerifyReport:
    """Recompute the whole chain in sequence order, streaming (constant memory), and name every break:
    an altered entry (its hash does not match its content), missing entries (a gap in the sequence),
    an entry out of order or inserted (it does not chain to the entry before it), and a head that does
    not match the last entry (entries removed at the end)."""
    report = VerifyReport()
    cols = [getattr(AuditEntry, k) for k in (*HASHED_FIELDS, "hash")]
    stmt = select(*cols).order_by(AuditEntry.seq).execution_options(yield_per=batch, stream_results=True)
    expected_seq, prev_hash = 1, GENESIS
    done = 0
    seq_at, prev_at, hash_at = HASHED_FIELDS.index("seq"), HASHED_FIELDS.index("prev_hash"), len(HASHED_FIELDS)
    for row in session.execute(stmt).tuples():
        seq = row[seq_at]
        if seq != expected_seq:
            if seq > expected_seq:
                report.problems.append(
                    Problem(
                        expected_seq,
                        "missing",
                        f"entries {expected_seq}–{seq - 1} are missing (deleted)"
                        if seq - 1 > expected_seq
                        else f"entry {expected_seq} is missing (deleted)",
                    )
                )
            else:
                report.problems.append(Problem(seq, "out_of_order", f"entry {seq} appears twice or out of order"))
        if row[prev_at] != prev_hash:
            report.problems.append(
                Problem(seq, "out_of_order", f"entry {seq} does not follow the entry before it (reordered or inserted)")
            )
        if _stored_hash(row) != row[hash_at]:
            report.problems.append(Problem(seq, "altered", f"entry {seq} was altered after it was written"))
        prev_hash, expected_seq = row[hash_at], seq + 1
        report.entries += 1
        report.last_seq = seq
        done += 1
        if progress and done % batch == 0:
            progress(batch)
    if progress:
        progress(done % batch)
    head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)).first()
    if head is not None and (head.last_seq, head.last_hash) != (report.last_seq, prev_hash):
        report.problems.append(
            Problem(
                report.last_seq,
                "head",
                f"the trail ends at entry {report.last_seq} but {head.last_seq} were written: "
                "entries at the end are missing or the last entries were altered",
            )
        )
    return report


# --- reading (auditors) ------------------------------------------------------------------------


def require_auditor(subject: Subject) -> None:
    from interdict.core.errors import Forbidden

    decided("auditor")
    if subject.role not in ("auditor", "admin") or "read" not in subject.scopes:
        raise Forbidden(N_("the audit trail is for auditors and administrators"))


@dataclass
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    object: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    before_seq: int | None = None


def _visible(subject: Subject) -> Any:
    """Entries of actors in the subject's organisation tree, entries that name the subject's organisation tree
    among the organisations concerned (``org_ids``: e.g. a partner's judgement of links between its records),
    and system-wide security events without an organisation (e.g. failed logins with an unknown username)."""
    tree = select(Organisation.id).where(Organisation.root_id == subject.root_org_id)
    concerned = select(AuditEntryOrg.seq).where(AuditEntryOrg.org_id == subject.root_org_id)
    return or_(AuditEntry.actor_org_id.in_(tree), AuditEntry.actor_org_id.is_(None), AuditEntry.seq.in_(concerned))


def query(subject: Subject, f: AuditFilter) -> Select[Any]:
    require_auditor(subject)
    stmt = select(AuditEntry).where(_visible(subject))
    if f.actor:
        stmt = stmt.where(AuditEntry.actor_username == f.actor.strip().lower())
    if f.action:
        stmt = stmt.where(AuditEntry.action.startswith(f.action.strip(), autoescape=True))
    if f.object:
        o = f.object.strip()
        stmt = stmt.where(or_(AuditEntry.object_label == o, AuditEntry.object_id == o))
    if f.channel:
        stmt = stmt.where(AuditEntry.channel == f.channel)
    # Days are the subject's calendar days (their time zone), as the pages show the times.
    if f.date_from:
        stmt = stmt.where(AuditEntry.at >= localtime.day_bounds(f.date_from, subject.time_zone)[0])
    if f.date_to:
        stmt = stmt.where(AuditEntry.at < localtime.day_bounds(f.date_to, subject.time_zone)[1])
    if f.before_seq:
        stmt = stmt.where(AuditEntry.seq < f.before_seq)
    return stmt.order_by(AuditEntry.seq.desc())


def page(session: Session, subject: Subject, f: AuditFilter, size: int = 50) -> list[AuditEntry]:
    return list(session.scalars(query(subject, f).limit(size)))


def iter_entries(session: Session, subject: Subject, f: AuditFilter) -> Iterator[AuditEntry]:
    yield from session.scalars(query(subject, f).execution_options(yield_per=2000))


# The hashed fields without the internal ids, and the hash: a copy that can be checked against the chain.
EXPORT_COLUMNS = [f for f in HASHED_FIELDS if f not in ("actor_user_id", "actor_org_id", "org_ids")] + ["hash"]


def export_row(e: AuditEntry) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in EXPORT_COLUMNS:
        v = getattr(e, c)
        if isinstance(v, datetime):
            out[c] = v.isoformat()
        elif isinstance(v, dict | list):
            out[c] = json.dumps(v, ensure_ascii=False, sort_keys=True)
        else:
            out[c] = "" if v is None else str(v)
    return out


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
