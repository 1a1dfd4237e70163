"""Telling users about records, and showing them what they were told, as themselves.

Producers (watch rules, rapid alerts, warning notices, deconfliction) call :func:`notify` inside their
unit of work; each domain registers a :data:`Renderer` for its record type, which reads the record
through that domain's access rules *as the recipient* and returns ``None`` when the recipient may not
read it. Nothing a notification shows is stored with it, so nobody learns through a notification what
they could not read directly, and narrowing a record takes effect on notifications already listed.

A fan-out (one incident alerting hundreds of users) is written with one INSERT whatever the number of recipients,
and rendered by :func:`render_many`: a domain may also register a :data:`BatchRenderer` that reads each record
once for all the recipients of a batch (readability decided per organisation), with the same result as its
:data:`Renderer` gives one by one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from interdict.accounts.models import User
from interdict.accounts.service import subject_for_user
from interdict.accounts.subject import Channel, Subject
from interdict.core import wakeup
from interdict.core.clock import utcnow
from interdict.core.errors import FieldError, InvalidInput, NotFound
from interdict.core.i18n import N_
from interdict.notifications import kinds
from interdict.notifications.models import URGENCIES, Notification


@dataclass(frozen=True)
class Rendered:
    """What a notification says to one reader: a title, a short text, and where to open the record.
    ``facts`` are label/value pairs for richer channels (the notification centre, e-mail in full mode)."""

    title: str
    text: str
    url: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    # How many natural persons of the record the text and facts show (never the title, which the digests and
    # summaries list): showing them to the reader is audited, see :func:`record_shown`.
    persons: int = 0


Renderer = Callable[[Session, Subject, Notification], Rendered | None]
# Renders many (reader, notification) pairs of one record type at once: one result per pair, in order, each exactly
# what the Renderer would give for that pair.
BatchRenderer = Callable[[Session, list[tuple[Subject, Notification]]], list[Rendered | None]]
_RENDERERS: dict[str, Renderer] = {}
# Per record type: how a read of its person data is audited (the domain's own action, e.g. incident.read_nominal),
# given the records shown and how many persons of each.
NominalReads = Callable[[Session, Subject, dict[uuid.UUID, int], str], None]
_NOMINAL_READS: dict[str, NominalReads] = {}
_BATCH_RENDERERS: dict[str, BatchRenderer] = {}

# Called for every notification created (same transaction), e.g. to plan e-mail and webhook deliveries.
NotifiedHook = Callable[[Session, list[Notification]], None]
_HOOKS: list[NotifiedHook] = []


def register_renderer(
    ref_type: str, renderer: Renderer, *, many: BatchRenderer | None = None, nominal_reads: NominalReads | None = None
) -> None:
    """``many`` renders a batch of (reader, notification) pairs at once (same results as ``renderer`` one by one);
    ``nominal_reads`` audits the person data a rendering shows (required if the renderer ever sets
    ``Rendered.persons``)."""
    _RENDERERS[ref_type] = renderer
    if many is not None:
        _BATCH_RENDERERS[ref_type] = many
    else:
        _BATCH_RENDERERS.pop(ref_type, None)
    if nominal_reads is not None:
        _NOMINAL_READS[ref_type] = nominal_reads
    else:
        _NOMINAL_READS.pop(ref_type, None)


def on_notified(hook: NotifiedHook) -> None:
    if hook not in _HOOKS:
        _HOOKS.append(hook)


@dataclass(frozen=True)
class Tell:
    """One notification to create: tell ``user_id`` about a record, once per ``event_key`` (for a kind that folds,
    a repeated ``event_key`` counts one more event on the same item; see :mod:`notifications.kinds`)."""

    user_id: uuid.UUID
    kind: str
    ref_type: str
    ref_id: uuid.UUID
    event_key: str
    urgency: str = "routine"
    reason: dict[str, Any] = field(default_factory=dict)


def notify(
    session: Session,
    *,
    user_ids: Iterable[uuid.UUID],
    kind: str,
    ref_type: str,
    ref_id: uuid.UUID,
    event_key: str,
    urgency: str = "routine",
    reason: dict[str, Any] | None = None,
) -> list[Notification]:
    """Tell each of ``user_ids`` (once per ``event_key``) about a record; returns the notifications created (or, for a
    kind that folds, updated). Users already told about this event (kinds that do not fold), and inactive users, are
    skipped."""
    return notify_all(
        session, [Tell(u, kind, ref_type, ref_id, event_key, urgency, reason or {}) for u in dict.fromkeys(user_ids)]
    )


def notify_all(session: Session, tells: list[Tell]) -> list[Notification]:
    """Create many notifications at once (a few statements whatever their number, then the hooks); see :func:`notify`.

    The urgency of a kind listed in :mod:`notifications.kinds` is the table's, unless the table leaves it to the
    record (then the tell's). New rows are written with one INSERT that skips any (user, event) already there (ON
    CONFLICT DO NOTHING on the unique (user_id, event_key)): running the same fan-out again, after a crash or by a
    second worker, adds none. For a kind that folds, an existing row of the same (user, event) is updated in place
    instead: one more event in its count, the reasons merged, the higher urgency kept, unread again. Producers call
    this only for genuinely new events, so a later edit of records already told about changes nothing.

    Returns the notifications created or updated, in id order. The hooks (delivery planning) see the created ones and
    the updated ones whose urgency rose; open streams of this process are woken at the commit when rows were created.
    """
    for t in tells:
        if t.urgency not in URGENCIES:
            raise InvalidInput(
                FieldError(("urgency",), N_("must be one of %(urgencies)s", urgencies=", ".join(URGENCIES)))
            )
    if not tells:
        return []
    users = {t.user_id for t in tells}
    active = set(session.scalars(select(User.id).where(User.id.in_(users), User.is_active.is_(True))))
    rows: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    now = utcnow()
    for t in tells:
        if t.user_id not in active:
            continue
        key = (t.user_id, t.event_key)
        folding = kinds.folds(t.kind)
        if key in rows:
            if folding:  # two events of the same item in one call
                r = rows[key]
                r["count"] += 1
                r["reason"] = merge_reasons(r["reason"], t.reason)
                r["urgency"] = _higher(r["urgency"], kinds.urgency(t.kind, t.urgency))
            continue
        rows[key] = {
            "user_id": t.user_id,
            "kind": t.kind,
            "ref_type": t.ref_type,
            "ref_id": t.ref_id,
            "event_key": t.event_key,
            "urgency": kinds.urgency(t.kind, t.urgency),
            "reason": t.reason,
            "created_at": now,
            "count": 1,
            "updated_at": now,
            "_folds": folding,
        }
    if not rows:
        return []
    session.flush()  # pending objects first (the statements below bypass the unit of work)
    updated, raised = _fold_into_existing(session, rows, now)
    created: list[Notification] = []
    if rows:
        values = [{k: v for k, v in r.items() if k != "_folds"} for r in rows.values()]
        if session.get_bind().dialect.name == "postgresql":
            from psycopg.types.json import Json

            # One statement of constant text whatever the number of rows (the rows travel as arrays).
            columns = {c: [r[c] for r in values] for c in _INSERT_COLUMNS}
            columns["reason"] = [Json(r) for r in columns["reason"]]
            stmt: Any = select(Notification).from_statement(_PG_INSERT.columns(*Notification.__table__.c))
            created = list(session.scalars(stmt, columns))
        else:
            upsert = (
                sqlite_insert(Notification)
                .on_conflict_do_nothing(index_elements=["user_id", "event_key"])
                .returning(Notification)
            )
            created = list(session.scalars(upsert, values))
    created.sort(key=lambda n: n.id)
    if created:
        wakeup.mark(session, wakeup.NOTIFICATIONS)
    planned = sorted(created + raised, key=lambda n: n.id)
    for hook in _HOOKS:
        hook(session, planned)
    return sorted(created + updated, key=lambda n: n.id)


FOLD_USERS_PER_STATEMENT = 1000


def _fold_into_existing(
    session: Session, rows: dict[tuple[uuid.UUID, str], dict[str, Any]], now: datetime
) -> tuple[list[Notification], list[Notification]]:
    """Fold the rows of folding kinds whose (user, event) already has a notification into it (removing them from
    ``rows``); returns the rows updated, and those of them whose urgency rose."""
    folding = [key for key, r in rows.items() if r["_folds"]]
    if not folding:
        return [], []
    event_keys = sorted({k for _u, k in folding})
    user_ids = sorted({u for u, _k in folding})
    updated: list[Notification] = []
    raised: list[Notification] = []
    for start in range(0, len(user_ids), FOLD_USERS_PER_STATEMENT):
        some = user_ids[start : start + FOLD_USERS_PER_STATEMENT]
        stmt = select(Notification).where(Notification.user_id.in_(some), Notification.event_key.in_(event_keys))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        for n in session.scalars(stmt):
            r = rows.get((n.user_id, n.event_key))
            if r is None or not r["_folds"]:
                continue
            del rows[(n.user_id, n.event_key)]
            urgency = _higher(n.urgency, r["urgency"])
            if urgency != n.urgency:
                raised.append(n)
            n.count += r["count"]
            n.reason = merge_reasons(n.reason or {}, r["reason"])
            n.urgency = urgency
            n.kind = r["kind"]
            n.updated_at = now
            n.read_at = None
            updated.append(n)
    session.flush()
    return updated, raised


def _higher(a: str, b: str) -> str:
    return a if URGENCIES.index(a) >= URGENCIES.index(b) else b


def merge_reasons(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The reason of a folded notification: lists are joined (each item once), mappings merged key by key, other
    values replaced by the newer one."""
    out = dict(old)
    for key, value in new.items():
        before = out.get(key)
        if isinstance(before, list) and isinstance(value, list):
            out[key] = before + [v for v in value if v not in before]
        elif isinstance(before, dict) and isinstance(value, dict):
            out[key] = merge_reasons(before, value)
        else:
            out[key] = value
    return out


_INSERT_COLUMNS = (
    "user_id",
    "kind",
    "ref_type",
    "ref_id",
    "event_key",
    "urgency",
    "reason",
    "created_at",
    "count",
    "updated_at",
)
_PG_INSERT = text(
    "INSERT INTO notifications (user_id, kind, ref_type, ref_id, event_key, urgency, reason, created_at, count, "
    "updated_at) "
    "SELECT * FROM unnest(CAST(:user_id AS uuid[]), CAST(:kind AS varchar[]), CAST(:ref_type AS varchar[]), "
    "CAST(:ref_id AS uuid[]), CAST(:event_key AS varchar[]), CAST(:urgency AS varchar[]), CAST(:reason AS json[]), "
    "CAST(:created_at AS timestamptz[]), CAST(:count AS integer[]), CAST(:updated_at AS timestamptz[])) "
    "ON CONFLICT (user_id, event_key) DO NOTHING RETURNING "
    # Named in the model's order (a migration may have added columns in another order to the table).
    + ", ".join(f"notifications.{c.name}" for c in Notification.__table__.c)
)


def recipient(session: Session, user_id: uuid.UUID, *, channel: Channel = "system") -> Subject | None:
    """The user as a reader, for rendering what they are sent; None if the account is gone or inactive."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return subject_for_user(session, user, channel=channel, scopes=frozenset({"read"}))


def render(session: Session, subject: Subject, notification: Notification) -> Rendered | None:
    renderer = _RENDERERS.get(notification.ref_type)
    return renderer(session, subject, notification) if renderer is not None else None


def render_many(session: Session, pairs: list[tuple[Subject, Notification]]) -> list[Rendered | None]:
    """Render each notification as its reader (one result per pair, in order; None where that reader may not read
    the record): the same as :func:`render` pair by pair, in a few statements per record type where its domain
    renders batches."""
    out: list[Rendered | None] = [None] * len(pairs)
    by_type: dict[str, list[int]] = {}
    for i, (_, n) in enumerate(pairs):
        by_type.setdefault(n.ref_type, []).append(i)
    for ref_type, positions in by_type.items():
        many = _BATCH_RENDERERS.get(ref_type)
        if many is not None:
            got = many(session, [pairs[i] for i in positions])
        else:
            got = [render(session, *pairs[i]) for i in positions]
        for i, rendered in zip(positions, got, strict=True):
            out[i] = rendered
    return out


def visible(
    session: Session,
    subject: Subject,
    *,
    unread_only: bool = False,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[tuple[Notification, Rendered]]:
    """The subject's notifications, newest first (oldest first with ``after_id``), each rendered as the
    subject; those about records the subject may no longer read are left out."""
    stmt = select(Notification).where(Notification.user_id == subject.user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before_id is not None:
        stmt = stmt.where(Notification.id < before_id)
    if after_id is not None:
        stmt = stmt.where(Notification.id > after_id).order_by(Notification.id)
    else:
        stmt = stmt.order_by(Notification.id.desc())
    rows = list(session.scalars(stmt.limit(limit * 2)))
    out: list[tuple[Notification, Rendered]] = []
    for start in range(0, len(rows), limit):  # rendered a page at a time, until the page is full
        chunk = rows[start : start + limit]
        for row, rendered in zip(chunk, render_many(session, [(subject, r) for r in chunk]), strict=True):
            if rendered is not None:
                out.append((row, rendered))
                if len(out) == limit:
                    return out
    return out


def record_shown(
    session: Session, subject: Subject, shown: Iterable[tuple[Notification, Rendered]], *, where: str
) -> None:
    """Audit the person data that notifications rendered as ``subject`` show it (a page of the centre or the API,
    what the live stream pushed in one tick, one e-mail, one webhook message): one entry per record however many of
    its notifications were shown, through the record type's own audit of nominal reads. Only what is shown is
    audited: counting notifications (the bell) renders them too but records nothing."""
    persons: dict[str, dict[uuid.UUID, int]] = {}
    for n, r in shown:
        if r.persons:
            per = persons.setdefault(n.ref_type, {})
            per[n.ref_id] = max(per.get(n.ref_id, 0), r.persons)
    for ref_type, reads in persons.items():
        recorder = _NOMINAL_READS.get(ref_type)
        if recorder is None:
            raise RuntimeError(f"notifications about {ref_type} show person data but no audit of it is registered")
        recorder(session, subject, reads, where)


# The bell and the centre count unread notifications up to this many, then say "99+": each counted notification is
# rendered (below), and rendering a thousand on every "mark read" made it take seconds (issue 16 soak).
UNREAD_COUNT_CAP = 100


def unread_count(session: Session, subject: Subject) -> int:
    """Unread notifications that the subject may still read, counted up to :data:`UNREAD_COUNT_CAP` (each is rendered:
    the count reveals nothing about records the subject may not read)."""
    return len(visible(session, subject, unread_only=True, limit=UNREAD_COUNT_CAP))


def mark_read(session: Session, subject: Subject, ids: Iterable[int] | None = None) -> int:
    """Mark the subject's notifications read (all when ``ids`` is None); returns how many changed."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == subject.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def acknowledge(session: Session, subject: Subject, notification_id: int) -> Notification:
    """The recipient acknowledges one of their notifications (and has read it); acknowledging twice keeps the
    first time. Only a notification the recipient may still read can be acknowledged (NotFound otherwise)."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != subject.user_id or render(session, subject, row) is None:
        raise NotFound(N_("notification not found"))
    now = utcnow()
    row.read_at = row.read_at or now
    if row.acknowledged_at is None:
        row.acknowledged_at = now
    session.flush()
    return row


def latest_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Notification.id))) or 0)
