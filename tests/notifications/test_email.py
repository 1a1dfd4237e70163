"""E-mail delivery against a real SMTP server (aiosmtpd on a local port): full and metadata modes, the recipient's
language, the hourly limit folding a burst into a summary, the daily digest, preferences, and access (a notification
the recipient may not read is never mailed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from interdict.accounts.models import User
from interdict.core.clock import utcnow
from interdict.notifications import delivery, service
from interdict.notifications.models import NotificationDelivery
from interdict.notifications.tasks import drain
from tests.conftest import World
from tests.notifications.conftest import (
    HIDDEN,
    PUBLIC_URL,
    REF_TYPE,
    Smtp,
    dispatch_config,
    notify_one,
    user_id,
)


def _drain(world: World, smtp: Smtp | None, *, minutes: float = 0, mode: str = "full") -> int:
    cfg = dispatch_config(smtp.port if smtp else None, mode=mode)
    return drain(world.app.state.sessionmaker, cfg, now=utcnow() + timedelta(minutes=minutes))


def test_full_mode_mails_what_the_recipient_reads(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("officer.hp")
    n = notify_one(world, "officer.hp", urgency="urgent")
    assert _drain(world, smtp) == 1
    [msg] = smtp.mailbox.messages
    body = smtp.mailbox.bodies()[0]
    short = str(n.ref_id)[:8]
    assert msg["To"] == "officer.hp@customs.example.gov"
    assert f"SECRET-{short}" in msg["Subject"]
    assert f"HOANG-PHAT-{short}" in body and f"Substance: acetic anhydride {short}" in body
    assert f"{PUBLIC_URL}/incidents/{n.ref_id}" in body
    with world.session() as s:
        row = s.scalars(select(NotificationDelivery).where(NotificationDelivery.notification_id == n.id)).one()
        assert (row.status, row.attempts, row.channel) == ("sent", 1, "email")
    assert _drain(world, smtp, minutes=60) == 0 and len(smtp.mailbox.messages) == 1  # never sent twice


def test_metadata_mode_carries_no_record_content(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("officer.hp")
    n = notify_one(world, "officer.hp", urgency="immediate")
    _drain(world, smtp, mode="metadata")
    [msg] = smtp.mailbox.messages
    text = msg["Subject"] + "\n" + smtp.mailbox.bodies()[0]
    short = str(n.ref_id)[:8]
    for secret in (f"SECRET-{short}", f"HOANG-PHAT-{short}", "acetic", "Cat Lai"):
        assert secret not in text
    assert "a new immediate watch match notification" in msg["Subject"]
    assert f"{PUBLIC_URL}/incidents/{n.ref_id}" in text


def test_mail_is_in_the_recipients_language(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("officer.hcm", locale="vi")
    notify_one(world, "officer.hcm", urgency="urgent")
    _drain(world, smtp, mode="metadata")
    [msg] = smtp.mailbox.messages
    assert msg["Content-Language"] == "vi"
    assert "thông báo" in msg["Subject"] and "khẩn" in msg["Subject"]
    assert "Mở trong Interdict" in smtp.mailbox.bodies()[0]


def test_a_burst_is_folded_into_a_bounded_number_of_mails(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    """A bulk import fires 200 urgent notifications at one user: 20 mails at once, then ONE summary of the rest."""
    addresses("analyst")
    uid = user_id(world, "analyst")
    with world.session() as s:
        for i in range(200):
            service.notify(
                s,
                user_ids=[uid],
                kind="watch_match",
                ref_type=REF_TYPE,
                ref_id=uuid.uuid4(),
                event_key=f"burst:{i}",
                urgency="urgent",
            )
    _drain(world, smtp)
    assert len(smtp.mailbox.messages) == 20
    _drain(world, smtp, minutes=16)  # the summary waits email_summary_minutes
    assert len(smtp.mailbox.messages) == 21
    summary = smtp.mailbox.messages[-1]
    assert summary["Subject"] == "Interdict: 180 more notifications"
    assert smtp.mailbox.bodies()[-1].count("- [urgent] Seizure SECRET-") == 180
    with world.session() as s:
        unsent = s.scalar(
            select(func.count()).select_from(NotificationDelivery).where(NotificationDelivery.status != "sent")
        )
        assert unsent == 0
        # Every item is still in the notification centre.
        assert len(service.visible(s, world.subject("analyst"), limit=500)) == 200


def test_routine_items_wait_for_the_daily_digest(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("officer.hp")
    first = notify_one(world, "officer.hp", urgency="routine")
    second = notify_one(world, "officer.hp", urgency="routine")
    hidden = notify_one(world, "officer.hp", urgency="routine")
    HIDDEN.add((hidden.user_id, hidden.ref_id))
    assert _drain(world, smtp) == 0 and smtp.mailbox.messages == []
    _drain(world, smtp, minutes=24 * 60 + 1)  # the digest hour has come
    [digest] = smtp.mailbox.messages
    body = smtp.mailbox.bodies()[0]
    assert digest["Subject"] == "Interdict: daily digest, 2 notifications"
    assert f"SECRET-{str(first.ref_id)[:8]}" in body and f"SECRET-{str(second.ref_id)[:8]}" in body
    assert f"SECRET-{str(hidden.ref_id)[:8]}" not in body
    assert f"{PUBLIC_URL}/notifications" in body


def test_preferences_choose_what_is_mailed(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("officer.hp")
    h = world.h("officer.hp")
    r = client.put(
        "/api/v1/notifications/preferences",
        json={"email_urgencies": ["immediate"], "digest": "off", "digest_hour": 7},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"email_urgencies": ["immediate"], "digest": "off", "digest_hour": 7, "email_enabled": False}
    notify_one(world, "officer.hp", urgency="urgent")
    notify_one(world, "officer.hp", urgency="routine")
    now_item = notify_one(world, "officer.hp", urgency="immediate")
    _drain(world, smtp, minutes=3 * 24 * 60)
    assert len(smtp.mailbox.messages) == 1
    assert f"SECRET-{str(now_item.ref_id)[:8]}" in smtp.mailbox.messages[0]["Subject"]
    bad = client.put(
        "/api/v1/notifications/preferences",
        json={"email_urgencies": ["panic"], "digest": "weekly", "digest_hour": 25},
        headers=h,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["errors"]} == {"email_urgencies[0]", "digest", "digest_hour"}
    assert client.get("/api/v1/notifications/preferences", headers=h).json()["digest_hour"] == 7  # unchanged


def test_no_mail_about_a_record_the_recipient_may_not_read(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    addresses("officer.hp")
    ref = uuid.uuid4()
    HIDDEN.add((user_id(world, "officer.hp"), ref))
    n = notify_one(world, "officer.hp", urgency="immediate", ref_id=ref)
    _drain(world, smtp)
    assert smtp.mailbox.messages == []
    with world.session() as s:
        row = s.scalars(select(NotificationDelivery).where(NotificationDelivery.notification_id == n.id)).one()
        assert row.status == "withheld"


def test_smtp_server_down_is_retried_then_sent(
    client: TestClient, world: World, smtp: Smtp, email_on: object, addresses: Callable[..., None]
) -> None:
    from tests.notifications.conftest import free_port

    addresses("officer.hp")
    n = notify_one(world, "officer.hp", urgency="urgent")
    down = dispatch_config(free_port())  # nothing listens there
    factory = world.app.state.sessionmaker
    t0 = utcnow()
    drain(factory, down, now=t0)
    with world.session() as s:
        row = s.scalars(select(NotificationDelivery).where(NotificationDelivery.notification_id == n.id)).one()
        assert (row.status, row.attempts) == ("pending", 1) and row.last_error
        assert row.next_attempt_at == t0 + timedelta(seconds=5)
    drain(factory, dispatch_config(smtp.port), now=t0 + timedelta(seconds=6))
    assert len(smtp.mailbox.messages) == 1


def test_without_smtp_nothing_is_planned_by_email(
    client: TestClient, world: World, addresses: Callable[..., None]
) -> None:
    addresses("officer.hp")
    assert not delivery.config().email_enabled  # the test server has no INTERDICT_SMTP_HOST
    n = notify_one(world, "officer.hp", urgency="immediate")
    with world.session() as s:
        assert s.scalars(select(NotificationDelivery).where(NotificationDelivery.notification_id == n.id)).all() == []


def test_a_fan_out_is_planned_in_the_same_statements_for_many_recipients_as_for_two(
    client: TestClient, world: World, email_on: object, addresses: Callable[..., None]
) -> None:
    """An incident that alerts hundreds of users plans their e-mails (hourly budgets, open digests) in a few
    statements for all of them, not one or two per recipient; each recipient still gets what the rules say."""
    everyone = ["admin", "analyst", "officer.hp", "officer2.hp", "officer.hcm", "viewer.hp", "police", "officer.kh"]
    for username in everyone:
        addresses(username)

    def fan_out(usernames: list[str], urgency: str) -> int:
        seen: list[str] = []

        def count(conn: object, cursor: object, statement: str, *args: object) -> None:
            seen.append(statement)

        ref = uuid.uuid4()
        engine = world.app.state.engine
        with world.session() as s:
            ids = [user_id(world, u) for u in usernames]
            event.listen(engine, "before_cursor_execute", count)
            try:
                service.notify(
                    s,
                    user_ids=ids,
                    kind="watch_match",
                    ref_type=REF_TYPE,
                    ref_id=ref,
                    event_key=f"fan:{ref}",
                    urgency=urgency,
                )
            finally:
                event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = fan_out(["officer.hp", "viewer.hp"], "urgent")  # mailed at once, within each user's hourly budget
    assert fan_out(everyone, "urgent") == few
    few = fan_out(["admin", "officer.kh"], "routine")  # held for a daily digest that each fan-out opens or feeds
    assert fan_out(everyone, "routine") == few
    with world.session() as s:
        planned = [
            (name, kind, status)
            for name, kind, status in s.execute(
                select(User.username, NotificationDelivery.kind, NotificationDelivery.status)
                .join(User, User.id == NotificationDelivery.user_id)
                .where(NotificationDelivery.channel == "email")
            )
        ]
    for username in everyone:
        at_once = 2 if username in ("officer.hp", "viewer.hp") else 1
        held = 2 if username in ("admin", "officer.kh") else 1
        assert planned.count((username, "notification", "pending")) == at_once, username
        assert planned.count((username, "notification", "held")) == held, username
        assert planned.count((username, "digest", "pending")) == 1, username  # one digest, however many fed it


def test_a_notice_or_alert_mail_is_written_in_the_recipients_language() -> None:
    """Titles and facts made by the services (catalogue messages) are translated as the mail is composed."""
    from interdict.core.i18n import N_
    from interdict.notifications.email import notification_message
    from interdict.notifications.models import Notification
    from interdict.notifications.service import Rendered
    from tests.notifications.conftest import smtp_config

    cfg = smtp_config(2525, mode="full")
    assert cfg is not None
    note = Notification(kind="notice.approved", urgency="routine", ref_type="notice", ref_id=uuid.uuid4())
    rendered = Rendered(
        title=N_("Warning notice %(number)s was approved", number="12/CV-ĐTCBL"),
        text="Cảnh giác BMK",
        url="/notices/x",
        facts=[(N_("Status"), N_("Approved")), (N_("Report deadline"), "2026-12-31")],
    )
    vi = notification_message(cfg, to="a@example.gov", locale="vi", notification=note, rendered=rendered)
    body = vi.get_content()
    assert vi["Subject"].endswith("Văn bản cảnh báo 12/CV-ĐTCBL đã được phê duyệt")
    assert "Trạng thái: Đã phê duyệt" in body and "Hạn báo cáo: 2026-12-31" in body
    en = notification_message(cfg, to="a@example.gov", locale="en", notification=note, rendered=rendered)
    assert en["Subject"].endswith("Warning notice 12/CV-ĐTCBL was approved") and "Status: Approved" in en.get_content()
