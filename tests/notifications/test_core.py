"""The notification core on both databases: one notification per user and event however often the event is
produced, inactive users skipped, and what a user is shown decided by the record's renderer as that user."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.accounts.models import User
from interdict.core.errors import InvalidInput
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from tests.conftest import World

HIDDEN: set[uuid.UUID] = set()


def _render(session: object, subject: object, n: Notification) -> notifications.Rendered | None:
    return None if n.ref_id in HIDDEN else notifications.Rendered(title=f"record {n.ref_id}", text="", url="/")


notifications.register_renderer("test-record", _render)


def _user_id(world: World, username: str) -> uuid.UUID:
    with world.session() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


def test_an_event_tells_each_user_once(client: TestClient, world: World) -> None:
    a, b = _user_id(world, "officer.hp"), _user_id(world, "analyst")
    ref = uuid.uuid4()
    with world.session() as s:
        first = notifications.notify(
            s, user_ids=[a, b], kind="test", ref_type="test-record", ref_id=ref, event_key=f"k:{ref}"
        )
        again = notifications.notify(
            s, user_ids=[a, b], kind="test", ref_type="test-record", ref_id=ref, event_key=f"k:{ref}"
        )
    assert len(first) == 2 and again == []
    with world.session() as s:
        assert len(s.scalars(select(Notification).where(Notification.ref_id == ref)).all()) == 2


def test_repeated_events_of_a_folding_kind_are_one_item_counted_and_unread_again(
    client: TestClient, world: World
) -> None:
    """Kinds that fold (notifications.kinds) keep one row per user and event key: each new event adds one to the
    count, merges the reason, keeps the higher urgency and makes it unread; delivery is planned again only when the
    item became more urgent. Kinds that do not fold still tell once."""
    a, b = _user_id(world, "officer.hp"), _user_id(world, "analyst")
    ref = uuid.uuid4()
    planned: list[tuple[int, str]] = []

    def hook(session: object, rows: list[Notification]) -> None:
        planned.extend((n.id, n.urgency) for n in rows)

    notifications.on_notified(hook)
    try:

        def tell(users: list[uuid.UUID], rule: str, urgency: str = "routine") -> list[Notification]:
            with world.session() as s:
                return notifications.notify(
                    s,
                    user_ids=users,
                    kind="watch.rule",
                    ref_type="test-record",
                    ref_id=ref,
                    event_key=f"fold:{ref}",
                    urgency=urgency,
                    reason={"rules": [{"name": rule}]},
                )

        first = tell([a], "r1")
        assert [(n.count, n.urgency) for n in first] == [(1, "routine")]
        with world.session() as s:
            notifications.mark_read(s, world.subject("officer.hp"))
        again = tell([a, b], "r2")  # a: folded; b: new
        assert sorted((n.user_id == a, n.count) for n in again) == [(False, 1), (True, 2)]
        tell([a], "r2", urgency="urgent")  # the same rule again (a new event) and more urgent
        with world.session() as s:
            row = s.scalars(select(Notification).where(Notification.user_id == a, Notification.ref_id == ref)).one()
            assert (row.id, row.count, row.urgency, row.read_at) == (first[0].id, 3, "urgent", None)
            assert row.reason == {"rules": [{"name": "r1"}, {"name": "r2"}]}
            assert row.updated_at >= row.created_at
            assert len(s.scalars(select(Notification).where(Notification.ref_id == ref)).all()) == 2
        # Delivery was planned for the new rows and for the one that became urgent, never for a mere count.
        assert [u for _, u in planned] == ["routine", "routine", "urgent"]
        assert planned[0][0] == planned[2][0] == first[0].id
    finally:
        notifications._HOOKS.remove(hook)


def test_every_kind_has_an_urgency_and_deconfliction_is_routine() -> None:
    from interdict.notifications import kinds

    assert kinds.urgency("linkage.deconfliction", "urgent") == "routine"
    assert kinds.urgency("rapid_alert.issued", "immediate") == "immediate"  # the issuer's choice
    assert kinds.urgency("notice.issued", "routine") == "urgent"
    assert all(k.urgency in (None, "routine", "urgent", "immediate") for k in kinds.KINDS.values())


def test_unknown_urgency_is_refused_naming_the_field(client: TestClient, world: World) -> None:
    with world.session() as s, pytest.raises(InvalidInput) as err:
        notifications.notify(
            s,
            user_ids=[_user_id(world, "officer.hp")],
            kind="test",
            ref_type="test-record",
            ref_id=uuid.uuid4(),
            event_key="x",
            urgency="panic",
        )
    assert err.value.errors[0].path == "urgency"


def test_what_the_renderer_hides_is_not_listed_nor_counted(client: TestClient, world: World) -> None:
    user = _user_id(world, "officer.hp")
    shown, hidden = uuid.uuid4(), uuid.uuid4()
    HIDDEN.add(hidden)
    with world.session() as s:
        for ref in (shown, hidden):
            notifications.notify(
                s, user_ids=[user], kind="test", ref_type="test-record", ref_id=ref, event_key=str(ref)
            )
    subject = world.subject("officer.hp")
    with world.session() as s:
        listed = notifications.visible(s, subject)
        assert [n.ref_id for n, _ in listed] == [shown]
        assert notifications.unread_count(s, subject) == 1
        assert notifications.mark_read(s, subject) == 2
        assert notifications.unread_count(s, subject) == 0


def test_a_user_with_hundreds_unread_marks_one_read_without_rendering_them_all(
    client: TestClient, world: World
) -> None:
    """Counting renders each notification (it reveals nothing the reader may not read); the count stops at 100, shown
    as "99+" (the soak run saw "mark read" take 5 s for users with hundreds unread)."""
    from tests.web.test_pages import login

    user = _user_id(world, "officer.hp")
    rendered: list[uuid.UUID] = []

    def counting(session: object, subject: object, n: Notification) -> notifications.Rendered | None:
        rendered.append(n.ref_id)
        return _render(session, subject, n)

    notifications.register_renderer("test-many", counting)
    with world.session() as s:
        notifications.mark_read(s, world.subject("officer.hp"))
        for _ in range(250):
            ref = uuid.uuid4()
            notifications.notify(s, user_ids=[user], kind="test", ref_type="test-many", ref_id=ref, event_key=str(ref))
        newest = s.scalars(
            select(Notification.id).where(Notification.user_id == user).order_by(Notification.id.desc())
        ).first()
    r = client.post("/api/v1/notifications/read", json={"ids": [newest]}, headers=world.h("officer.hp"))
    assert r.status_code == 200 and r.json() == {"marked": 1, "unread": notifications.UNREAD_COUNT_CAP}
    assert len(rendered) <= 2 * notifications.UNREAD_COUNT_CAP
    login(client)
    assert "99+ unread" in client.get("/notifications").text
    with world.session() as s:
        notifications.mark_read(s, world.subject("officer.hp"))
