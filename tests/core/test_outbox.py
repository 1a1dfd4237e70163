"""The outbox's consumer positions: the worker processes of `interdict serve --workers N` start together, and each
may be the first to read the outbox for a consumer (issue 16 soak: the second one failed with a unique-key error)."""

from __future__ import annotations

import threading
import time
import uuid

from fastapi import FastAPI

from interdict.core import outbox
from interdict.core.db import unit_of_work


def test_two_workers_starting_together_share_one_position_without_error(app: FastAPI) -> None:
    factory = app.state.sessionmaker
    consumer = f"test-{uuid.uuid4().hex[:8]}"
    outcome: dict[str, object] = {}

    def second_worker() -> None:
        try:
            with unit_of_work(factory) as s:
                outcome["claimed"] = outbox.claim(s, consumer, topics=["test.first"])
        except Exception as exc:  # the failure under test
            outcome["error"] = exc

    with unit_of_work(factory) as first:
        assert outbox.claim(first, consumer, topics=["test.first"]) == []  # creates the position, not yet committed
        other = threading.Thread(target=second_worker)
        other.start()
        time.sleep(0.5)  # the second worker is now waiting for the first one's transaction
    other.join(30)
    assert not other.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["claimed"] in ([], None)  # nothing to read yet (or: the position is busy, try later)
    with unit_of_work(factory) as s:
        assert s.get(outbox.ConsumerOffset, consumer) is not None
