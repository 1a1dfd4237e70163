"""A fresh demo looks like a real week: `interdict demo` (a real subprocess), then the workers a starting server runs
(linkage, watch, alert and notice deadlines), and each demo user has fewer than 20 unread notifications, none of them
twice; the week holds rapid alerts and warning notices at each of their stages, the Mekong Dragon sharing group with
its members and shared incidents, and watch rules that fired a few times."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict import renderers
from interdict.accounts.models import Organisation, User
from interdict.accounts.service import subject_for_user
from interdict.accounts.subject import Subject
from interdict.alerts import service as alerts
from interdict.alerts.models import AlertAddressee, AlertResponse, RapidAlert
from interdict.config import Settings
from interdict.core.clock import utcnow
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.core.pagination import PageParams
from interdict.demo.seed import USERS, seed_last_logins
from interdict.incidents import service as incidents
from interdict.linkage.tasks import drain as link
from interdict.notices import service as notices
from interdict.notices import tasks as notice_tasks
from interdict.notices.models import WarningNotice
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from interdict.sharing import groups
from interdict.sharing.models import SharingGroup
from interdict.watch.models import WatchRule
from interdict.watch.service import fired_counts
from interdict.watch.service import process_events as watch
from tests.cli.test_cli import run
from tests.conftest import BACKENDS, prepared_database

READERS = [u["username"] for u in USERS]


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo data set as `interdict demo` makes it, after the first passes of the server's workers."""
    data_dir = tmp_path_factory.mktemp("demo")
    for url in prepared_database(request.param, tmp_path_factory.mktemp("db")):
        r = run(["demo", "--no-serve"], data_dir, db_url=url)
        assert r.returncode == 0, r.stderr
        created = re.search(r"demo data created: (\d+) incidents", r.stderr)
        assert created is not None and int(created[1]) >= 400, r.stderr  # 400 generated, and the partners' own
        renderers.install()
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        assert link(factory) > 0  # the last week is left for the workers
        while True:
            with unit_of_work(factory) as s:
                if not watch(s):
                    break
        with unit_of_work(factory) as s:  # the alert and notice deadline workers' first pass
            alerts.tick(s, utcnow(), alerts.Delays.from_settings(Settings()))
            notice_tasks.tick(s, utcnow())
        try:
            yield url
        finally:
            engine.dispose()


def test_a_demo_officer_starts_with_a_week_of_notifications_none_twice(demo: str) -> None:
    engine = make_engine(demo)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            unread: dict[str, int] = {}
            told = 0
            for username in READERS:
                user = s.scalars(select(User).where(User.username == username)).one()
                subject = subject_for_user(s, user, channel="web")
                rows = notifications.visible(s, subject, unread_only=True, limit=1000)
                unread[username] = len(rows)
                told += len(rows)
                # None twice: one item per record and what it is about, and no two read alike.
                about = Counter((n.kind, n.ref_id, repr(sorted((n.reason or {}).items()))) for n, _ in rows)
                assert max(about.values(), default=0) <= 1, (username, about.most_common(3))
                shown = Counter((r.title, r.text) for _, r in rows)
                assert max(shown.values(), default=0) <= 1, (username, shown.most_common(3))
                assert all(n.urgency == "routine" for n, _ in rows if n.kind == "linkage.deconfliction")
            print("unread per demo user:", unread)
            assert max(unread.values()) < 20, unread
            assert told > 0, unread  # the week is not empty: something to show
    finally:
        engine.dispose()


def _as(s: Session, username: str) -> Subject:
    return subject_for_user(s, s.scalars(select(User).where(User.username == username)).one(), channel="web")


def test_the_week_has_rapid_alerts_issued_acknowledged_answered_and_overdue(demo: str) -> None:
    engine = make_engine(demo)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            rows = s.execute(select(AlertAddressee, RapidAlert).join(RapidAlert)).tuples().all()
            assert {a.status for _, a in rows} == {"issued"}
            now = utcnow()
            assert all(now - timedelta(days=7) <= a.created_at <= now for _, a in rows)  # over the last week
            # Unread by an officer of the addressed unit: what officer.hp opens first, and answers.
            officer = _as(s, "officer.hp")
            unread = [a for r, a in rows if r.org_id == officer.org_id and r.first_read_at is None]
            assert unread, "no unread rapid alert for the Hai Phong officer"
            assert any(n.kind == "rapid_alert.issued" and n.ref_id == unread[0].id for n, _ in _unread(s, officer))
            # Acknowledged without an answer; answered (a thread the issuer reads).
            assert any(r.acknowledged_at is not None and r.responded_at is None for r, _ in rows)
            answered = {a.id for r, a in rows if r.responded_at is not None}
            assert answered and s.scalars(select(AlertResponse).where(AlertResponse.alert_id.in_(answered))).all()
            # Unacknowledged past its escalation: the issuer's tracking view shows it overdue.
            delays = alerts.Delays.from_settings(Settings())
            overdue = [
                (r, a)
                for r, a in rows
                if r.acknowledged_at is None and r.escalated_at is not None and (delays.escalate_at(a) or now) < now
            ]
            assert overdue, "no alert left unacknowledged past its escalation"
    finally:
        engine.dispose()


def _unread(s: Session, subject: Subject) -> list[tuple[Notification, Any]]:
    return list(notifications.visible(s, subject, unread_only=True, limit=1000))


def test_the_week_has_warning_notices_at_each_stage(demo: str) -> None:
    engine = make_engine(demo)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            found = s.scalars(select(WarningNotice)).all()
            assert {n.status for n in found} == {"draft", "submitted", "approved", "issued", "closed"}
            now = utcnow()
            issued = [n for n in found if n.status in ("issued", "closed")]
            assert any(r.reported_at is not None for n in issued for r in n.recipients)  # reports filed
            assert any(notices.is_overdue(n, r, now) for n in issued for r in n.recipients)  # and one overdue
            assert all(n.incident_links or n.entity_links for n in found)  # each about incidents or entities
            # The administrator is asked to approve the submitted one (what the guide says to try first).
            admin = _as(s, "admin")
            waiting = next(n for n in found if n.status == "submitted")
            assert notices.can_approve(waiting, admin)
            assert any(n.kind == "notice.approval_requested" and n.ref_id == waiting.id for n, _ in _unread(s, admin))
    finally:
        engine.dispose()


def test_the_mekong_dragon_group_has_its_members_and_shared_incidents(demo: str) -> None:
    engine = make_engine(demo)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            group = s.scalars(select(SharingGroup).where(SharingGroup.name == "Mekong Dragon")).one()
            codes = set(
                s.scalars(select(Organisation.code).where(Organisation.id.in_([m.org_id for m in group.members])))
            )
            assert {"VNC", "KHC", "LAC", "THC"} <= codes
            # Every member reads the incidents shared with the group, from partners and from Viet Nam alike.
            owners: set[str] = set()
            for username in ("analyst", "officer.kh", "officer.hp"):
                reader = _as(s, username)
                assert group.id in {g.id for g in groups.visible_groups(s, reader)}
                shared = [
                    i
                    for i in incidents.search_incidents(s, reader, page=PageParams(page=1, page_size=200)).items
                    if i.sharing_group_id == group.id
                ]
                assert len(shared) >= 3, username
                owners |= set(
                    s.scalars(select(Organisation.code).where(Organisation.id.in_({i.owner_org_id for i in shared})))
                )
            assert {"KHC", "LAC", "THC", "VNC-HP"} <= owners
    finally:
        engine.dispose()


def test_the_demo_officers_watch_rules_fired_a_few_times(demo: str) -> None:
    engine = make_engine(demo)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            rules = s.scalars(select(WatchRule)).all()
            owners = set(s.scalars(select(User.username).where(User.id.in_([r.owner_user_id for r in rules]))))
            assert {"officer.hp", "officer.hcm", "analyst", "pcu.hp", "officer.kh"} <= owners
            fired = fired_counts(s, [r.id for r in rules])
            print("watch hits per rule:", {r.name: fired.get(r.id, 0) for r in rules})
            assert all(fired.get(r.id, 0) > 0 for r in rules), fired
            assert sum(fired.values()) <= 3 * len(rules)  # a few, not many
    finally:
        engine.dispose()


def test_the_demo_users_signed_in_during_the_last_week(demo: str) -> None:
    engine = make_engine(demo)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            users = s.scalars(select(User).where(User.username.in_(READERS) | User.username.like("demo.%"))).all()
            assert len(users) > len(READERS)  # the named users and the units' demo officers
            now = utcnow()
            last = {u.username: u.last_login_at for u in users}
            assert all(t is not None and now - timedelta(days=7) <= t <= now for t in last.values()), last
            assert len(set(last.values())) > len(last) // 2  # not all at one moment
            assert seed_last_logins(s) == 0  # a last login once set (or a real one) is kept
            assert {u.username: u.last_login_at for u in users} == last
    finally:
        engine.dispose()
