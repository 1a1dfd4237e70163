"""The server is killed (SIGKILL) in the middle of issuing a warning notice — the notice marked issued, its
recipient units' notifications being written — and started again: the notice is still approved and unissued,
nobody was told, the audit chain verifies, and issuing it again tells each recipient exactly once.
Real processes on a file SQLite database and on PostgreSQL (tests/faults.py)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.audit import service as audit
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.notifications.models import Notification, NotificationDelivery
from tests.conftest import BACKENDS, PASSWORD, prepared_database
from tests.faults import SECRET, kill, kill_during, start_server
from tests.notices.conftest import notice_body
from tests.notifications.conftest import free_port

RECIPIENTS = {"VNC-HP": ["officer.hp", "officer2.hp"], "VNC-HCM": ["officer.hcm"]}


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from prepared_database(request.param, tmp_path)


def _setup(database: str) -> dict[str, dict[str, str]]:
    """The national unit (an analyst who drafts, an administrator who approves) and two recipient units."""
    engine = make_engine(database)
    headers = {}
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_organisation(
            s, OrganisationCreate(code="VNC", name="Vietnam Customs", kind="agency", country="VN")
        )
        for code in ("VNC-ASID", *RECIPIENTS):
            accounts.create_organisation(
                s, OrganisationCreate(code=code, name=code, kind="provincial_unit", country="VN", parent_code="VNC")
            )
        for code, usernames in RECIPIENTS.items():
            for username in usernames:
                accounts.create_user(
                    s,
                    UserCreate(username=username, full_name=username, role="officer", org_code=code, password=PASSWORD),
                )
        for username, role in (("analyst", "analyst"), ("admin", "admin")):
            user = accounts.create_user(
                s,
                UserCreate(username=username, full_name=username, role=role, org_code="VNC-ASID", password=PASSWORD),  # type: ignore[arg-type]
            )
            token, _ = accounts.create_api_token(
                s, user, TokenCreate(name="t", scopes=["read", "write"]), pepper=SECRET
            )
            headers[username] = {"Authorization": f"Bearer {token}"}
    engine.dispose()
    return headers


def _post(base: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{base}{path}", json=body, headers=headers, timeout=60)
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def _notifications(database: str) -> tuple[int, int]:
    engine = make_engine(database)
    with unit_of_work(make_sessionmaker(engine)) as s:
        counts = (
            s.scalar(select(func.count()).select_from(Notification)) or 0,
            s.scalar(select(func.count()).select_from(NotificationDelivery)) or 0,
        )
        assert audit.verify(s).intact
    engine.dispose()
    return counts


def test_a_server_killed_while_issuing_a_notice_leaves_it_unissued_and_the_retry_tells_everyone_once(
    database: str, tmp_path: Path
) -> None:
    h = _setup(database)
    data_dir, marker, port = tmp_path / "data", tmp_path / "paused", free_port()
    base = f"http://127.0.0.1:{port}"
    body = notice_body(recipients=list(RECIPIENTS))
    proc = start_server(database, data_dir, port)
    try:
        n = _post(base, "/api/v1/notices", h["analyst"], body)
        n = _post(base, f"/api/v1/notices/{n['id']}/submit", h["analyst"], {"version": n["version"]})
        n = _post(base, f"/api/v1/notices/{n['id']}/approve", h["admin"], {"version": n["version"]})
        told_before = _notifications(database)  # the drafter may have been told of the approval
        kill(proc, signal.SIGTERM)

        proc = start_server(database, data_dir, port, pause="INSERT INTO notifications", marker=marker)
        issue = f"{base}/api/v1/notices/{n['id']}/issue"
        paused_at = kill_during(
            proc, marker, lambda: httpx.post(issue, json={"version": n["version"]}, headers=h["analyst"], timeout=60)
        )
        assert paused_at.upper().startswith("INSERT INTO NOTIFICATIONS")
        assert _notifications(database) == told_before

        proc = start_server(database, data_dir, port)
        still = httpx.get(f"{base}/api/v1/notices/{n['id']}", headers=h["analyst"], timeout=60).json()
        assert still["status"] == "approved" and still["version"] == n["version"]
        issued = _post(base, f"/api/v1/notices/{n['id']}/issue", h["analyst"], {"version": n["version"]})
        assert issued["status"] == "issued"
        told_after = _notifications(database)
        assert told_after[0] - told_before[0] == 3  # each of the three recipients' users, once
    finally:
        kill(proc, signal.SIGTERM)
