"""The live stream over real HTTP (uvicorn on a local port, httpx as the client): new notifications arrive without
asking, only the user's own and only those the user may read; a client that comes back with Last-Event-ID gets what
it missed, once."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from interdict.app import create_app
from interdict.config import Settings
from tests.conftest import World
from tests.notifications.conftest import HIDDEN, free_port, notify_one, user_id


@dataclass
class Live:
    url: str


@contextlib.contextmanager
def _serving(settings: Settings) -> Iterator[tuple[Live, FastAPI]]:
    """The application of ``settings`` served by uvicorn in a thread of this process, until the block ends."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield Live(f"http://127.0.0.1:{port}"), app
    finally:
        server.should_exit = True
        thread.join(15)
        app.state.engine.dispose()


@pytest.fixture  # per test: `client` empties the tables, and SQLite then hands out notification ids again
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory, world: World) -> Iterator[Live]:
    settings = Settings(
        database_url=database_url,
        data_dir=Path(tmp_path_factory.mktemp("stream")),
        secret_key="test-secret-key",  # the world's API tokens were made with this pepper
        linkage_worker=False,
        watch_worker=False,  # tests fire watch rules explicitly (a second consumer would race them)
        delivery_worker=False,
        jobs_worker=False,
        stream_poll_seconds=0.1,
    )
    with _serving(settings) as (live, _app):
        yield live


class Events:
    """Reads a text/event-stream: (event name, id, data) tuples."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def next(self) -> tuple[str, int | None, dict]:
        name, eid, data = "message", None, ""
        for line in self.lines:
            if line == "":
                if data:
                    return name, eid, json.loads(data)
                name, eid, data = "message", None, ""
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            if key == "event":
                name = value
            elif key == "id":
                eid = int(value)
            elif key == "data":
                data += value
        raise EOFError("the stream ended")


def _open(client: httpx.Client, url: str, token: str, last_event_id: int | None = None) -> object:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    return client.stream("GET", f"{url}/api/v1/notifications/stream", headers=headers)


def test_new_notifications_arrive_live_and_resume_after_a_break(client: TestClient, world: World, live: Live) -> None:
    token = world.tokens["officer.hp"]
    timeout = httpx.Timeout(10.0)
    with httpx.Client(timeout=timeout) as http:
        with _open(http, live.url, token) as response:  # type: ignore[attr-defined]
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = Events(response)
            assert events.next() == ("unread", None, {"count": 0})
            time.sleep(0.3)  # the broadcaster has taken its starting point
            hidden_ref = uuid.uuid4()
            HIDDEN.add((user_id(world, "officer.hp"), hidden_ref))
            notify_one(world, "officer.hp", ref_id=hidden_ref)  # may not read it: never streamed
            notify_one(world, "officer2.hp")  # someone else's
            started = time.monotonic()
            first = notify_one(world, "officer.hp", urgency="immediate")
            name, eid, data = events.next()
            assert time.monotonic() - started < 2.0
            assert (name, eid) == ("notification", first.id)
            assert data["title"].startswith("Seizure SECRET-") and data["urgency"] == "immediate"
            assert data["url"] == f"/incidents/{first.ref_id}" and data["read"] is False
        # Disconnected: two notifications meanwhile.
        missed = [notify_one(world, "officer.hp"), notify_one(world, "officer.hp")]
        with _open(http, live.url, token, last_event_id=first.id) as response:  # type: ignore[attr-defined]
            events = Events(response)
            got = [events.next(), events.next()]
            assert [(n, i) for n, i, _ in got] == [("notification", missed[0].id), ("notification", missed[1].id)]
            assert events.next() == ("unread", None, {"count": 3})
            later = notify_one(world, "officer.hp")
            assert events.next()[:2] == ("notification", later.id)  # and then live again, each id once


def test_the_stream_needs_an_event_stream_client(client: TestClient, world: World, live: Live) -> None:
    r = httpx.get(f"{live.url}/api/v1/notifications/stream", headers=world.h("officer.hp"), timeout=5)
    assert r.status_code == 406 and "text/event-stream" in r.json()["error"]["message"]
    r = httpx.get(f"{live.url}/api/v1/notifications/stream", headers={"Accept": "text/event-stream"}, timeout=5)
    assert r.status_code == 401


def test_persons_pushed_by_the_stream_are_audited_once_per_tick(client: TestClient, world: World, live: Live) -> None:
    """A notification showing a watched person as written in an incident, pushed live or sent again after a
    reconnection, records the read (issue 16); Cambodia, whose notification names only the container, records none."""
    from tests.audit.test_audit import last_seq
    from tests.notifications.test_nominal_reads import reads, scenario

    with httpx.Client(timeout=httpx.Timeout(10.0)) as http:
        with (
            _open(http, live.url, world.tokens["analyst"]) as mine,  # type: ignore[attr-defined]
            _open(http, live.url, world.tokens["officer.kh"]) as theirs,  # type: ignore[attr-defined]
        ):
            analyst, kh = Events(mine), Events(theirs)
            assert analyst.next()[0] == "unread" and kh.next()[0] == "unread"
            time.sleep(0.3)  # the broadcaster has taken its starting point
            mark = last_seq(world)
            inc = scenario(client, world)
            name, first, data = analyst.next()
            assert name == "notification" and "Lê Văn Tám" in data["text"]
            name, _, data = kh.next()
            assert name == "notification" and "CSQU3054383" in data["text"] and "Lê Văn Tám" not in data["text"]
            got = reads(world, mark)
            assert [(e.object_label, e.actor_username, e.summary) for e in got] == [
                (inc["reference"], "analyst", "1 natural person(s) shown in the live notification stream")
            ]
        mark = last_seq(world)
        with _open(http, live.url, world.tokens["analyst"], last_event_id=first - 1) as again:  # type: ignore[attr-defined]
            events = Events(again)
            assert events.next()[:2] == ("notification", first)
            assert [(e.object_label, e.actor_username) for e in reads(world, mark)] == [(inc["reference"], "analyst")]


@pytest.fixture
def slow_poll(database_url: str, tmp_path: Path, world: World) -> Iterator[tuple[Live, FastAPI]]:
    """A server whose stream polls only every 10 s: what arrives sooner was woken by the commit."""
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="test-secret-key",
        linkage_worker=False,
        delivery_worker=False,
        stream_poll_seconds=10,  # the most allowed
    )
    with _serving(settings) as served:
        yield served


def test_a_notification_committed_in_the_server_process_is_streamed_at_once(
    client: TestClient, world: World, slow_poll: tuple[Live, FastAPI]
) -> None:
    live, app = slow_poll
    http = httpx.Client(timeout=httpx.Timeout(10.0))
    with http, _open(http, live.url, world.tokens["officer.hp"]) as response:  # type: ignore[attr-defined]
        events = Events(response)
        assert events.next()[0] == "unread"
        deadline = time.monotonic() + 10
        while app.state.broadcaster.ticks == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the broadcaster has taken its starting point
        started = time.monotonic()
        note = notify_one(world, "officer.hp")  # committed in this process (a worker, a request)
        assert events.next()[:2] == ("notification", note.id)
        assert time.monotonic() - started < 5.0  # not at the next poll, 10 s later
