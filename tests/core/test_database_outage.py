"""PostgreSQL goes away under a running server (a restart, a network cut) and comes back: while it is away,
requests fail cleanly (503 with a message and Retry-After, a page in the person's language, never a traceback);
once it is back, requests succeed again by themselves within seconds — no restart of Interdict.

The real server process (uvicorn, every worker thread running) reaches PostgreSQL through a TCP forwarder the
test cuts and restores (tests/tcp_proxy.py), so the PostgreSQL the other tests use keeps running."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.core.outbox import ConsumerOffset, OutboxEvent
from tests.conftest import BACKENDS, PASSWORD, minimal_incident, prepared_database
from tests.faults import SECRET, kill, start_server
from tests.notifications.conftest import free_port
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not among the test backends")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    yield from prepared_database("postgresql", tmp_path)


def _login(client: httpx.Client) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    r = client.post("/login", data={"username": "duty.officer", "password": PASSWORD, "csrf_token": token.group(1)})
    assert r.status_code == 303, r.text


def test_requests_fail_cleanly_while_postgresql_is_away_and_recover_by_themselves(
    database: str, tmp_path: Path
) -> None:
    engine = make_engine(database)
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_organisation(
            s, OrganisationCreate(code="VNC", name="Vietnam Customs", kind="agency", country="VN")
        )
        user = accounts.create_user(
            s, UserCreate(username="duty.officer", full_name="Duty", role="officer", org_code="VNC", password=PASSWORD)
        )
        token, _ = accounts.create_api_token(s, user, TokenCreate(name="t", scopes=["read", "write"]), pepper=SECRET)
    engine.dispose()
    url = make_url(database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    port = free_port()
    proc = start_server(through_proxy, tmp_path / "data", port)
    base = f"http://127.0.0.1:{port}"
    api = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base, timeout=30) as browser:
            _login(browser)
            assert httpx.post(f"{base}/api/v1/incidents", json=minimal_incident(), headers=api).status_code == 201

            proxy.cut()  # PostgreSQL "restarts": open connections drop, new ones are refused
            for _ in range(3):  # every request, not only the first on a dead connection
                r = httpx.get(f"{base}/api/v1/incidents", headers=api, timeout=30)
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "5"
                body = r.json()["error"]
                assert body["code"] == "unavailable" and "try again" in body["message"]
                assert "Traceback" not in r.text and "psycopg" not in r.text
            r = httpx.post(f"{base}/api/v1/incidents", json=minimal_incident(), headers=api, timeout=30)
            assert r.status_code == 503 and "nothing was changed" in r.json()["error"]["message"]
            page = browser.get("/incidents")
            assert page.status_code == 503 and "Temporarily unavailable" in page.text and "Traceback" not in page.text
            page = browser.get("/incidents", headers={"Accept-Language": "vi"}, cookies={"interdict_lang": "vi"})
            assert page.status_code == 503

            proxy.restore()
            deadline = time.monotonic() + 10
            while True:
                r = httpx.get(f"{base}/api/v1/incidents", headers=api, timeout=30)
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert r.status_code == 200, "the server did not recover within 10 s of the database's return"
            recovered_in = 10 - (deadline - time.monotonic())
            assert r.json()["total"] == 1  # the create refused during the outage wrote nothing
            r = httpx.post(f"{base}/api/v1/incidents", json=minimal_incident(submit=True), headers=api)
            assert r.status_code == 201
            assert browser.get("/incidents").status_code == 200  # the web session survived the outage
            # The worker threads, which failed during the outage, work again: the watch worker consumes the
            # event of the incident just submitted.
            engine = make_engine(database)
            with unit_of_work(make_sessionmaker(engine)) as s:
                event_id = s.scalar(select(func.max(OutboxEvent.id)))
            deadline = time.monotonic() + 30
            while True:
                with unit_of_work(make_sessionmaker(engine)) as s:
                    done = s.scalar(select(ConsumerOffset.last_event_id).where(ConsumerOffset.name == "watch"))
                if (done or 0) >= (event_id or 0) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            engine.dispose()
            assert (done or 0) >= (event_id or 0), "the watch worker did not resume after the outage"
            print(f"recovered {recovered_in:.1f} s after the database came back")
    finally:
        kill(proc, signal.SIGTERM)
        proxy.close()
