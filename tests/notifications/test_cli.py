"""``interdict notifications dispatch --once`` as an operator runs it (a real subprocess on a scratch SQLite
database): a queued webhook message is sent, signed, and recorded as sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from standardwebhooks import Webhook

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, UserCreate
from interdict.core.clock import utcnow
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.core.egress import parse_networks
from interdict.notifications import webhooks
from interdict.notifications.models import NotificationDelivery
from tests.conftest import PASSWORD, prepared_database
from tests.notifications.conftest import RECEIVER_NETWORKS, Receiver


def test_dispatch_once_sends_what_is_due(tmp_path: Path, receiver: Receiver) -> None:
    database = prepared_database("sqlite", tmp_path)
    url = next(database)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        accounts.create_organisation(
            s, OrganisationCreate(code="VNC", name="Vietnam Customs", kind="agency", country="VN")
        )
        user = accounts.create_user(
            s, UserCreate(username="duty.officer", full_name="Duty", role="admin", org_code="VNC", password=PASSWORD)
        )
        subject = accounts.subject_for_user(s, user, channel="api")
        endpoint, secret = webhooks.create_endpoint(
            s,
            subject,
            name="Case system",
            url=receiver.url,
            kinds=None,
            now=utcnow(),
            allowed=parse_networks(RECEIVER_NETWORKS),
        )
        row = webhooks.plan_test(s, subject, endpoint.id, now=utcnow())
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")}
    env.update(
        INTERDICT_DATABASE_URL=url,
        INTERDICT_DATA_DIR=str(tmp_path / "data"),
        INTERDICT_WEBHOOK_ALLOWED_NETWORKS=",".join(RECEIVER_NETWORKS),  # the receiver listens on 127.0.0.1
    )
    r = subprocess.run(
        [sys.executable, "-m", "interdict", "notifications", "dispatch", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "dispatched 1 deliveries" in r.stdout
    assert "e-mail is off" in r.stderr
    [got] = receiver.received
    assert got.headers["webhook-id"] == str(row.id)
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "interdict.test"
    with unit_of_work(factory) as s:
        assert s.scalars(select(NotificationDelivery.status)).one() == "sent"
    engine.dispose()
    database.close()
