"""Crash safety with the real server process (uvicorn in a subprocess, its dispatcher thread running) on a file SQLite
database and on PostgreSQL: notifications are created with pending webhook deliveries, the server is killed with
SIGKILL while it is sending them, and started again. Every delivery then arrives (at least once, with the same
webhook-id on every attempt) and no in-app notification is duplicated, even when the producer repeats its events."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.core.clock import utcnow
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.core.egress import parse_networks
from interdict.notifications import delivery, service, webhooks
from interdict.notifications.models import Notification, NotificationDelivery
from tests.conftest import BACKENDS, PASSWORD, prepared_database
from tests.faults import SECRET, kill, start_server, wait_for
from tests.notifications.conftest import RECEIVER_NETWORKS, Receiver, free_port
from tests.notifications.records import REF_TYPE


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from prepared_database(request.param, tmp_path)


def _start(url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return start_server(
        url,
        data_dir,
        port,
        INTERDICT_WEBHOOK_ALLOWED_NETWORKS=json.dumps(RECEIVER_NETWORKS),  # the receiver listens on 127.0.0.1
        INTERDICT_DELIVERY_INTERVAL_SECONDS="0.2",
        INTERDICT_WEBHOOK_TIMEOUT_SECONDS="1",  # a claimed message is retried 7 s after a crash
        INTERDICT_STREAM_POLL_SECONDS="0.1",
    )


def test_a_killed_server_loses_no_delivery_and_duplicates_no_notification(database: str, tmp_path: Path) -> None:
    engine = make_engine(database)
    factory = make_sessionmaker(engine)
    previous = delivery.set_config(delivery.DeliveryConfig())  # this process plans deliveries like the server
    receiver = Receiver(free_port())
    receiver.hang.set()  # accepts each message but never answers: the server is killed mid-send
    receiver.start()
    port = free_port()
    proc: subprocess.Popen[bytes] | None = None
    try:
        with unit_of_work(factory) as s:
            accounts.create_organisation(
                s, OrganisationCreate(code="VNC", name="Vietnam Customs", kind="agency", country="VN")
            )
            user = accounts.create_user(
                s,
                UserCreate(username="duty.officer", full_name="Duty", role="admin", org_code="VNC", password=PASSWORD),
            )
            token, _ = accounts.create_api_token(s, user, TokenCreate(name="t", scopes=["read"]), pepper=SECRET)
            subject = accounts.subject_for_user(s, user, channel="api")
            webhooks.create_endpoint(
                s,
                subject,
                name="Case system",
                url=receiver.url,
                kinds=None,
                now=utcnow(),
                allowed=parse_networks(RECEIVER_NETWORKS),
            )
        proc = _start(database, tmp_path / "data", port)
        refs = [uuid.uuid4() for _ in range(5)]

        def produce() -> list[Notification]:
            with unit_of_work(factory) as s:
                return [
                    n
                    for ref in refs
                    for n in service.notify(
                        s, user_ids=[user.id], kind="watch_match", ref_type=REF_TYPE, ref_id=ref, event_key=f"e:{ref}"
                    )
                ]

        assert len(produce()) == 5
        wait_for("the dispatcher to start sending", lambda: len(receiver.received) >= 1)
        kill(proc, signal.SIGKILL)  # while a message is being sent and the rest are pending
        first_attempt_ids = {r.headers["webhook-id"] for r in receiver.received}
        with unit_of_work(factory) as s:
            assert s.scalar(select(func.count()).where(NotificationDelivery.status == "sent")) == 0

        receiver.hang.clear()  # the receiver answers 200 from now on
        assert produce() == []  # the producer repeats its batch after the crash: nobody is told twice
        proc = _start(database, tmp_path / "data", port)
        with unit_of_work(factory) as s:
            delivery_ids = {str(i) for i in s.scalars(select(NotificationDelivery.id))}
        assert len(delivery_ids) == 5
        wait_for("every delivery to arrive", lambda: set(receiver.ok_ids()) == delivery_ids)
        assert first_attempt_ids <= delivery_ids  # the interrupted message came again under the same webhook-id
        wait_for(
            "every delivery to be recorded as sent",
            lambda: _count(factory, NotificationDelivery.status == "sent") == 5,
        )

        # In the notification centre and on the live stream: each notification exactly once.
        with unit_of_work(factory) as s:
            assert s.scalar(select(func.count()).select_from(Notification)) == 5
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream", "Last-Event-ID": "0"}
        seen: list[int] = []
        with httpx.stream(
            "GET", f"http://127.0.0.1:{port}/api/v1/notifications/stream", headers=headers, timeout=10
        ) as r:
            event = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "notification":
                    seen.append(json.loads(line[6:])["id"])
                elif line.startswith("data: ") and event == "unread":
                    assert json.loads(line[6:])["count"] == 5
                    break
        assert len(seen) == 5 and len(set(seen)) == 5
    finally:
        if proc is not None:
            kill(proc, signal.SIGTERM)
        receiver.hang.clear()
        receiver.stop()
        delivery.set_config(previous)
        engine.dispose()


def _count(factory: object, condition: object) -> int:
    with unit_of_work(factory) as s:  # type: ignore[arg-type]
        return int(s.scalar(select(func.count()).select_from(NotificationDelivery).where(condition)) or 0)  # type: ignore[arg-type]
