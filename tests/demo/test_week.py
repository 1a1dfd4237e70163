"""A fresh demo looks like a real week: `interdict demo` (a real subprocess), then the workers a starting server runs
(linkage, watch), and each demo officer and analyst has fewer than 20 unread notifications, none of them twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from interdict import renderers
from interdict.accounts.models import User
from interdict.accounts.service import subject_for_user
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.demo.seed import USERS
from interdict.linkage.tasks import drain as link
from interdict.notifications import service as notifications
from interdict.watch.service import process_events as watch
from tests.cli.test_cli import run
from tests.conftest import BACKENDS, prepared_database

READERS = [u["username"] for u in USERS if u["role"] in ("officer", "analyst")]


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo data set as `interdict demo` makes it, after the first passes of the server's workers."""
    data_dir = tmp_path_factory.mktemp("demo")
    for url in prepared_database(request.param, tmp_path_factory.mktemp("db")):
        r = run(["demo", "--no-serve"], data_dir, db_url=url)
        assert r.returncode == 0, r.stderr
        assert "demo data created: 400 incidents" in r.stderr
        renderers.install()
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        assert link(factory) > 0  # the last week is left for the workers
        while True:
            with unit_of_work(factory) as s:
                if not watch(s):
                    break
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
            print("unread per demo officer and analyst:", unread)
            assert max(unread.values()) < 20, unread
            assert told > 0, unread  # the week is not empty: something to show
    finally:
        engine.dispose()
