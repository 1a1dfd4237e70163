"""Live notifications for open browsers and API clients: Server-Sent Events fed by ONE broadcaster per process.

The broadcaster polls the notifications table once per tick (~250 ms) for ids it has not seen — one query for
every connection of the process, not one per connection — renders each new notification as its user (database work
in a worker thread, off the event loop) and puts it on the queues of that user's open connections. A transaction of
this process that creates notifications wakes it at its commit (core.wakeup), so the next tick starts at once; the
poll remains the rule for notifications created by other processes. A fan-out (one incident told to hundreds of
connected users) is rendered in chunks of ``RENDER_CHUNK`` notifications (notifications.service.render_many: each
record read once per chunk, decided per organisation) and each chunk is delivered as soon as it is rendered. Person data a
pushed notification shows is audited once per chunk, user and record (``service.record_shown``), committed before
the chunk is delivered.

Ids are taken at INSERT, but transactions commit in another order (PostgreSQL), so an id below the newest one seen
may still appear: ids skipped over are remembered for a minute and asked for again until they show up (a rolled-back
notification never does). A connection that comes back with ``Last-Event-ID`` first gets, from the database, every
notification above that id that it may read, then the live ones (each id sent once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from interdict.accounts.subject import Subject
from interdict.core import wakeup
from interdict.core.clock import utcnow
from interdict.core.i18n import translate
from interdict.notifications.models import Notification
from interdict.notifications.service import Rendered, latest_id, record_shown, render_many, unread_count, visible
from interdict.web.i18n import gettext

log = logging.getLogger("interdict.notifications.stream")

GAP_SECONDS = 60.0
MAX_GAPS = 10_000
TICK_ROWS = 5_000
RENDER_CHUNK = 500
BACKFILL = 200
HEARTBEAT_SECONDS = 15.0
QUEUE_SIZE = 1_000


def item(n: Notification, r: Rendered, lang: str | None = None) -> dict[str, Any]:
    """What the centre and the stream show of one notification (as its reader, in ``lang``: the reader's)."""

    def tr(value: Any) -> Any:
        return translate(value, lang)

    return {
        "id": n.id,
        "kind": n.kind,
        "urgency": n.urgency,
        "ref_type": n.ref_type,
        "ref_id": str(n.ref_id),
        "title": tr(r.title),
        "text": tr(r.text),
        "url": r.url,
        "facts": [[gettext(lang, label) if lang else label, tr(value)] for label, value in r.facts],
        "created_at": n.created_at.isoformat(),
        # Kinds that fold repeated events (notifications.kinds): how many, and when the last one came.
        "count": n.count,
        "updated_at": n.updated_at.isoformat(),
        "read": n.read_at is not None,
        "acknowledged": n.acknowledged_at is not None,
    }


def event(name: str, data: dict[str, Any], *, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


@dataclass(eq=False)
class Subscription:
    subject: Subject
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False


class Broadcaster:
    def __init__(self, factory: sessionmaker[Session], *, poll_seconds: float = 0.25) -> None:
        self.factory = factory
        self.poll_seconds = poll_seconds
        self._subs: dict[uuid.UUID, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._cursor: int | None = None
        self._gaps: dict[int, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.ticks = 0

    # --- connections ---

    @property
    def connections(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._wakeup = asyncio.Event()
            if self._unsubscribe is None:
                self._unsubscribe = wakeup.subscribe(wakeup.NOTIFICATIONS, self.wake)
            self._task = self._loop.create_task(self._run(), name="interdict-notification-stream")

    def wake(self) -> None:
        """Poll now rather than at the next tick (thread-safe: called after a commit that created notifications)."""
        loop, event = self._loop, self._wakeup
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def subscribe(self, subject: Subject) -> Subscription:
        sub = Subscription(subject)
        self._subs.setdefault(subject.user_id, set()).add(sub)
        self._ensure_running()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.subject.user_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.subject.user_id]

    # --- the poller ---

    def _poll(
        self, subjects: dict[uuid.UUID, Subject], deliver: Callable[[dict[uuid.UUID, list[dict[str, Any]]]], None]
    ) -> None:
        """One query for new (and late-committed) ids; then the connected users' ones, rendered as each user
        (``subjects``: one per connected user) in chunks, each chunk handed to ``deliver`` as soon as it is ready."""
        with self.factory() as session:
            if self._cursor is None:
                self._cursor = latest_id(session)
                return
            now = time.monotonic()
            self._gaps = {i: t for i, t in self._gaps.items() if now - t < GAP_SECONDS}
            cond = Notification.id > self._cursor
            if self._gaps:
                cond = or_(cond, Notification.id.in_(list(self._gaps)))
            rows = session.execute(
                select(Notification.id, Notification.user_id).where(cond).order_by(Notification.id).limit(TICK_ROWS)
            ).all()
            if not rows:
                return
            seen = {r.id for r in rows}
            top = max(seen)
            if top - self._cursor <= TICK_ROWS + MAX_GAPS:  # a sequence jump beyond that is not waited for
                for missing in range(self._cursor + 1, top):
                    if missing not in seen and len(self._gaps) < MAX_GAPS:
                        self._gaps[missing] = now
            for found in seen & self._gaps.keys():
                del self._gaps[found]
            self._cursor = max(self._cursor, top)
            wanted = [r.id for r in rows if r.user_id in subjects]
            for start in range(0, len(wanted), RENDER_CHUNK):
                notes = session.scalars(
                    select(Notification)
                    .where(Notification.id.in_(wanted[start : start + RENDER_CHUNK]))
                    .order_by(Notification.id)
                ).all()
                pairs = [(subjects[n.user_id], n) for n in notes]
                out: dict[uuid.UUID, list[dict[str, Any]]] = {}
                shown: dict[uuid.UUID, list[tuple[Notification, Rendered]]] = {}
                for (_, n), rendered in zip(pairs, render_many(session, pairs), strict=True):
                    if rendered is not None:
                        out.setdefault(n.user_id, []).append(item(n, rendered, subjects[n.user_id].locale))
                        shown.setdefault(n.user_id, []).append((n, rendered))
                for user_id, items in shown.items():
                    record_shown(session, subjects[user_id], items, where="the live notification stream")
                session.commit()  # the audit of the person data this chunk shows, before it is pushed
                if out:
                    deliver(out)

    def _push(self, found: dict[uuid.UUID, list[dict[str, Any]]], pushed: list[int]) -> None:
        for user_id, items in found.items():
            for sub in list(self._subs.get(user_id, ())):
                for it in items:
                    try:
                        sub.queue.put_nowait(it)
                        pushed[0] += 1
                    except asyncio.QueueFull:  # a stalled client: it resumes from Last-Event-ID after reconnecting
                        sub.overflowed = True

    async def tick(self) -> int:
        """One poll; returns how many items were pushed."""
        self.ticks += 1
        loop = asyncio.get_running_loop()
        subjects = {user_id: next(iter(subs)).subject for user_id, subs in self._subs.items() if subs}
        pushed = [0]

        def deliver(found: dict[uuid.UUID, list[dict[str, Any]]]) -> None:  # in the poll's thread
            loop.call_soon_threadsafe(self._push, found, pushed)

        await asyncio.to_thread(self._poll, subjects, deliver)
        return pushed[0]  # the pushes were queued on the loop before the poll's end was

    async def _run(self) -> None:
        while True:
            try:
                if self._subs or self._cursor is None:
                    await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be restarting: keep the connections, try again
                log.exception("notification stream poll failed; retrying")
                await asyncio.sleep(1.0)
            await self._idle()

    async def _idle(self) -> None:
        """Until the next tick, or a wake-up: whichever comes first."""
        event = self._wakeup
        if event is None:
            await asyncio.sleep(self.poll_seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self.poll_seconds)
        event.clear()

    # --- one connection ---

    async def events(self, subject: Subject, last_event_id: int | None) -> AsyncIterator[str]:
        """The text/event-stream of one connection (ends when the client goes away)."""
        sub = self.subscribe(subject)
        try:

            def start() -> tuple[int, list[dict[str, Any]], set[int]]:
                with self.factory() as session:
                    backlog = []
                    if last_event_id is not None:
                        missed = visible(session, subject, after_id=last_event_id, limit=BACKFILL)
                        record_shown(session, subject, missed, where="the live notification stream")
                        session.commit()
                        backlog = [item(n, r, subject.locale) for n, r in missed]
                    # The user's recent notifications already there (counted, or on the page being opened): the
                    # broadcaster may still push some of them, which must not count as new. The count and this list
                    # are read in one snapshot: a notification committed between two statements would otherwise be
                    # counted here and pushed as new (the bell showed one more than there was).
                    if session.get_bind().dialect.name == "postgresql":
                        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                    recent = set(
                        session.scalars(
                            select(Notification.id).where(
                                Notification.user_id == subject.user_id,
                                Notification.created_at >= utcnow() - timedelta(seconds=GAP_SECONDS * 2),
                            )
                        )
                    )
                    return unread_count(session, subject), backlog, recent

            count, backlog, existing = await asyncio.to_thread(start)
            yield "retry: 3000\n\n"
            sent: set[int] = set(existing)
            for it in backlog:
                sent.add(it["id"])
                yield event("notification", it, event_id=it["id"])
            # After the backlog, so a client that counted the backlog's items is set right.
            yield event("unread", {"count": count})
            while True:
                if sub.overflowed:
                    return  # the client reconnects with Last-Event-ID and gets the rest from the database
                try:
                    it = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if it["id"] in sent:
                    continue
                yield event("notification", it, event_id=it["id"])
        finally:
            self.unsubscribe(sub)


def parse_last_event_id(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())
