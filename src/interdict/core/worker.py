"""Background work of the server: a thread that runs one step (in its own transaction) again and again.

A step returns how much it did; a full batch runs the next step at once, anything less waits ``interval`` — or less:
a worker given ``wake_on`` starts its next step as soon as a transaction of this process that marked that topic
commits (core.wakeup; e.g. the watch worker on an outbox event), so in-process work does not wait for the tick.
A failed step is rolled back, logged and retried on the next tick; the server keeps serving. Several server
processes may run the same worker: steps that consume the outbox lock their position (core.outbox.claim).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from interdict.core import wakeup
from interdict.core.db import unit_of_work

log = logging.getLogger("interdict.worker")

Step = Callable[[Session], int]


def run_once(factory: Any, step: Step) -> int:
    with unit_of_work(factory) as session:
        return step(session)


def drain(factory: Any, step: Step, *, batch: int) -> int:
    """Run ``step`` until it does less than a full batch; returns the total done."""
    total = 0
    while True:
        n = run_once(factory, step)
        total += n
        if n < batch or n == 0:
            return total


class Worker:
    """Runs ``step`` (in a transaction of ``factory``) or, without a factory, ``step`` as a plain callable that
    manages its own transactions (e.g. the delivery dispatcher, which commits its claim before sending)."""

    def __init__(
        self,
        name: str,
        factory: Any,
        step: Step | Callable[[], int],
        *,
        interval: float = 1.0,
        batch: int = 200,
        wake_on: str | None = None,
    ) -> None:
        self.name = name
        self.factory = factory
        self.step = step
        self.interval = interval
        self.batch = batch
        self.wake_on = wake_on
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name=f"interdict-{name}", daemon=True)

    def start(self) -> None:
        if self.wake_on is not None:
            self._unsubscribe = wakeup.subscribe(self.wake_on, self.wake)
        self._thread.start()

    def wake(self) -> None:
        """Run the next step now (thread-safe; a step already running is followed by another one)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        outage = 0  # steps failed in a row because the database was unreachable
        while not self._stop.is_set():
            try:
                if self.factory is not None:
                    done = run_once(self.factory, cast(Step, self.step))
                else:
                    done = cast(Callable[[], int], self.step)()
                busy = done >= self.batch
                if outage:
                    log.warning("%s: the database is back after %d failed steps; working again", self.name, outage)
                outage = 0
            except (OperationalError, InterfaceError) as exc:
                # The database restarts or the network to it is cut: one line, not a traceback per tick, and
                # waits growing to 10 intervals (at most 30 s) until it is back.
                if not outage:
                    log.warning(
                        "%s: the database cannot be reached (%s); retrying", self.name, str(exc).splitlines()[0]
                    )
                outage += 1
                busy = False
                self._stop.wait(min(self.interval * min(outage, 10), 30.0))
                continue
            except Exception:
                log.exception("%s step failed; retrying", self.name)
                self._stop.wait(self.interval)  # a failing step is retried on the tick, whatever wakes it
                continue
            if not busy:
                self._wake.wait(self.interval)
            self._wake.clear()
