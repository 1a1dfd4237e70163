"""Wake-ups after a commit, within one process: what a transaction produced is picked up at once, not at the
consumer's next poll.

A producer marks its session (:func:`mark` with a topic, e.g. ``notifications`` or ``outbox``); once that session
COMMITS, every callback subscribed to the topic in this process is called (in the committing thread: callbacks only
set an event). A rolled-back transaction wakes nobody. Polling stays the consumers' rule, and the only one across
processes: a wake-up only shortens the wait, so a lost or spurious one changes nothing but timing.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("interdict.wakeup")

NOTIFICATIONS = "notifications"
OUTBOX = "outbox"

_KEY = "interdict.wakeup"
_LOCK = threading.Lock()
_SUBSCRIBERS: dict[str, list[weakref.WeakMethod[Callable[[], None]]]] = {}


def mark(session: Session, topic: str) -> None:
    """Wake the subscribers of ``topic`` when this session's transaction commits."""
    session.info.setdefault(_KEY, set()).add(topic)


def subscribe(topic: str, callback: Callable[[], None]) -> Callable[[], None]:
    """Call the bound method ``callback`` after each commit of a transaction marked with ``topic`` (held weakly: a
    collected owner unsubscribes itself); returns the function that unsubscribes it."""
    ref = weakref.WeakMethod(callback)
    with _LOCK:
        _SUBSCRIBERS.setdefault(topic, []).append(ref)

    def unsubscribe() -> None:
        with _LOCK:
            refs = _SUBSCRIBERS.get(topic, [])
            if ref in refs:
                refs.remove(ref)

    return unsubscribe


def wake(topic: str) -> None:
    with _LOCK:
        refs = _SUBSCRIBERS.get(topic, [])
        refs[:] = [r for r in refs if r() is not None]
        callbacks = [cb for r in refs if (cb := r()) is not None]
    for cb in callbacks:
        try:
            cb()
        except Exception:  # a wake-up is only an optimisation: never fail the committer
            log.exception("wake-up of %s failed", topic)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is visible to others until the transaction commits
    topics: Any = session.info.pop(_KEY, None)
    for topic in sorted(topics or ()):
        wake(topic)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or closed (a commit has already taken the marks)
        session.info.pop(_KEY, None)
