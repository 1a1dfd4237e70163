"""An incident that alerts many users at once (a fan-out), on both databases: each recipient is told once, a repeated
run adds nothing, and the live stream renders the whole fan-out in a few statements — each recipient still sees only
what they may read, in their own language, exactly as their notification reads alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select, update

from interdict.accounts.models import User
from interdict.core.outbox import ConsumerOffset
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from interdict.notifications.stream import Broadcaster
from interdict.watch.models import WatchFire
from tests.conftest import World
from tests.watch.test_watch import ACETIC, fire, report, rule

# Everyone but the reporter (officer.hp): police (another agency, same country) reads a national incident,
# Cambodia does not.
OTHERS = ["admin", "analyst", "officer2.hp", "officer.hcm", "viewer.hp", "police", "officer.kh"]


def _count(world: World) -> dict[str, int]:
    with world.session() as s:
        rows = s.execute(
            select(User.username, func.count(Notification.id))
            .join(Notification, Notification.user_id == User.id)
            .group_by(User.username)
        )
        return {name: int(n) for name, n in rows}


def test_a_fan_out_tells_each_recipient_once_and_a_repeated_run_adds_none(client: TestClient, world: World) -> None:
    for user in OTHERS:
        rule(client, world, user, ACETIC)
    rule(client, world, "analyst", ACETIC, scope="unit")  # admin and analyst once more: still one notification each
    report(client, world, distribution="national")
    fire(world)
    expected = {u: 1 for u in OTHERS if u != "officer.kh"}
    assert _count(world) == expected
    # A crash after the notifications were written but before the rest of the step was kept: the event is read
    # again and its rules fire afresh (their fires are gone). The same recipients are told nothing new.
    with world.session() as s:
        s.execute(delete(WatchFire))
        s.execute(update(ConsumerOffset).where(ConsumerOffset.name == "watch").values(last_event_id=0, last_xid=0))
    fire(world)
    assert _count(world) == expected
    with world.session() as s:  # recorded again, once per rule that fired (not officer.kh's; the unit rule too)
        assert s.scalar(select(func.count()).select_from(WatchFire)) == len(OTHERS)


@contextmanager
def _statements(world: World) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = world.app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _stream_fan_out(world: World, users: list[str], incident_id: uuid.UUID) -> tuple[dict[str, dict[str, Any]], int]:
    """Every user connected to a broadcaster; one notification about the incident to each; one tick. Returns what
    each user's connection received and how many statements the tick took."""
    factory = world.app.state.sessionmaker
    subjects = {u: world.subject(u) for u in users}

    async def run() -> tuple[dict[str, dict[str, Any]], int]:
        broadcaster = Broadcaster(factory, poll_seconds=3600)
        subs = {u: broadcaster.subscribe(subject) for u, subject in subjects.items()}
        await broadcaster.stop()  # this test ticks itself
        await broadcaster.tick()  # the starting point
        with world.session() as s:
            tells = [
                notifications.Tell(
                    subject.user_id,
                    "watch.rule",
                    "incident",
                    incident_id,
                    f"test:{incident_id}:{len(users)}",
                    "urgent",
                    {"rules": [{"id": str(uuid.uuid4()), "name": f"rule of {u}"}]},
                )
                for u, subject in subjects.items()
            ]
            notifications.notify_all(s, tells)
        with _statements(world) as statements:
            await broadcaster.tick()
        got = {u: sub.queue.get_nowait() for u, sub in subs.items() if not sub.queue.empty()}
        return got, len(statements)

    return asyncio.run(run())


def test_the_stream_renders_a_fan_out_in_a_few_statements_each_as_its_reader(client: TestClient, world: World) -> None:
    incident = report(client, world, distribution="national")
    incident_id = uuid.UUID(incident["id"])
    with world.session() as s:
        s.execute(update(User).where(User.username.in_(["officer.hcm", "police"])).values(locale="vi"))
    try:
        few, few_statements = _stream_fan_out(world, ["officer2.hp", "officer.kh"], incident_id)
        many, many_statements = _stream_fan_out(world, OTHERS, incident_id)
        # Each item is what that reader's notification says when rendered alone, in the reader's language.
        with world.session() as s:
            for user, item in many.items():
                subject = world.subject(user)
                note = s.get(Notification, item["id"])
                assert note is not None and note.user_id == subject.user_id
                alone = notifications.render(s, subject, note)
                assert alone is not None
                assert (item["title"], item["text"], item["url"]) == (alone.title, alone.text, alone.url)
                assert item["facts"] == [list(f) for f in alone.facts]
                assert f"rule of {user}" in item["text"]
    finally:
        with world.session() as s:
            s.execute(update(User).where(User.username.in_(["officer.hcm", "police"])).values(locale="en"))
    # Seven recipients in four organisations and two languages: as many statements as for two.
    assert many_statements == few_statements <= 6
    assert "officer.kh" not in few and "officer.kh" not in many  # may not read the incident: nothing is streamed
    assert set(many) == set(OTHERS) - {"officer.kh"}
    assert many["officer.hcm"]["facts"][0][0] == "Vụ việc" and many["officer2.hp"]["facts"][0][0] == "Incident"
    assert many["officer.hcm"]["title"] == many["police"]["title"]


def test_a_batch_larger_than_one_statement_renders_as_each_notification_alone(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many incidents and many organisations in one batch are decided in several statements (the databases cap the
    parameters of one): the split changes nothing — each reader sees what they may read, as alone."""
    from interdict.watch import render

    incidents = [
        uuid.UUID(report(client, world, distribution=d)["id"]) for d in ("national", "organisation", "unit", "all")
    ]
    readers = ["officer2.hp", "officer.hcm", "police", "officer.kh", "analyst"]
    with world.session() as s:
        tells = [
            notifications.Tell(world.subject(u).user_id, "watch.rule", "incident", i, f"split:{i}", "routine", {})
            for u in readers
            for i in incidents
        ]
        notifications.notify_all(s, tells)
    monkeypatch.setattr(render, "READERS_PER_STATEMENT", 2)
    monkeypatch.setattr(render, "IDS_PER_STATEMENT", 3)
    with world.session() as s:
        notes = s.scalars(select(Notification).where(Notification.event_key.like("split:%"))).all()
        subjects = {u: world.subject(u) for u in readers}
        by_user = {subject.user_id: subject for subject in subjects.values()}
        pairs = [(by_user[n.user_id], n) for n in notes]
        with _statements(world) as statements:
            together = notifications.render_many(s, pairs)
        alone = [render.render_incidents(s, [pair])[0] for pair in pairs]
    assert together == alone
    assert len(statements) > 2  # several statements did decide this batch
    shown = {(subject.username, n.ref_id) for (subject, n), r in zip(pairs, together, strict=True) if r is not None}
    national, organisation, unit, everyone = incidents
    assert shown == {
        *((u, everyone) for u in readers),
        *((u, national) for u in ("officer2.hp", "officer.hcm", "police", "analyst")),
        *((u, organisation) for u in ("officer2.hp", "officer.hcm", "analyst")),
        ("officer2.hp", unit),
    }
