"""Fixtures for delivery tests: a real SMTP server (aiosmtpd) and real HTTP receivers on free local ports, a test
record type with a renderer (hidden per user and record, as a record's own access rules would decide), and the
delivery configuration switched to e-mail for the test."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import select, update

from interdict.accounts.models import User
from interdict.core.db import unit_of_work
from interdict.core.egress import parse_networks
from interdict.notifications import delivery, service
from interdict.notifications import email as email_channel
from interdict.notifications.models import Notification
from interdict.notifications.tasks import DispatchConfig
from tests.conftest import World
from tests.notifications.records import HIDDEN, REF_TYPE, render_test_record

__all__ = ["HIDDEN", "REF_TYPE", "render_test_record"]

PUBLIC_URL = "https://interdict.example.gov"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- SMTP --------------------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def bodies(self) -> list[str]:
        return [m.get_body(preferencelist=("plain",)).get_content() for m in self.messages]  # type: ignore[union-attr]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


@dataclass
class Smtp:
    port: int
    mailbox: Mailbox
    controller: Controller


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Smtp]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield Smtp(port, mailbox, controller)
    controller.stop()


@pytest.fixture
def smtp(smtp_server: Smtp) -> Smtp:
    smtp_server.mailbox.clear()
    return smtp_server


def smtp_config(port: int, *, mode: str = "full") -> email_channel.SmtpConfig:
    return email_channel.SmtpConfig(
        host="127.0.0.1",
        port=port,
        username=None,
        password=None,
        starttls=False,
        ssl=False,
        sender="alerts@interdict.example.gov",
        timeout=5.0,
        mode=mode,
        public_url=PUBLIC_URL,
    )


# The test receivers listen on 127.0.0.1, which webhooks may not reach by default (it is how a request forgery
# would reach the server's own services). Tests that deliver to them allow it, as an operator allows an agency's
# internal receivers with INTERDICT_WEBHOOK_ALLOWED_NETWORKS.
RECEIVER_NETWORKS = ["127.0.0.1/32"]


def dispatch_config(
    smtp_port: int | None,
    *,
    mode: str = "full",
    webhook_networks: list[str] = RECEIVER_NETWORKS,
    webhook_timeout: float = 2.0,
) -> DispatchConfig:
    return DispatchConfig(
        smtp=smtp_config(smtp_port, mode=mode) if smtp_port else None,
        public_url=PUBLIC_URL,
        webhook_timeout=webhook_timeout,
        max_backoff=300.0,
        give_up=timedelta(hours=72),
        webhook_allowed=parse_networks(webhook_networks),
    )


@contextlib.contextmanager
def webhook_networks(app: FastAPI, networks: list[str]) -> Iterator[None]:
    """The server's INTERDICT_WEBHOOK_ALLOWED_NETWORKS for the duration (registration and enabling read it)."""
    before = app.state.settings
    app.state.settings = before.model_copy(update={"webhook_allowed_networks": networks})
    try:
        yield
    finally:
        app.state.settings = before


@pytest.fixture
def internal_receivers(world: World) -> Iterator[None]:
    """The operator allows the test receivers' network (127.0.0.1) for webhook endpoints."""
    with webhook_networks(world.app, RECEIVER_NETWORKS):
        yield


@pytest.fixture
def email_on() -> Iterator[delivery.DeliveryConfig]:
    """Plan e-mails (as a server with INTERDICT_SMTP_HOST set does), 20 immediate ones per user and hour."""
    cfg = delivery.DeliveryConfig(email_enabled=True, email_max_per_hour=20, summary_minutes=15, digest_hour=1)
    previous = delivery.set_config(cfg)
    yield cfg
    delivery.set_config(previous)


# --- HTTP receiver -------------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """A webhook receiver on a real local port. ``status`` is what it answers; ``hang`` makes it never answer."""

    port: int
    status: int = 200
    location: str | None = None  # sent with the answer (a redirect)
    hang: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/interdict"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                hang = receiver.hang.is_set()
                status = 0 if hang else receiver.status  # 0: never answered
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, status))
                if hang:
                    time.sleep(30)  # the sender times out (or is killed) first
                    return
                self.send_response(status)
                if receiver.location:
                    self.send_header("location", receiver.location)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ok_ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received if 200 <= r.answered < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    r.start()
    yield r
    r.stop()


# --- helpers -------------------------------------------------------------------------------------------


def user_id(world: World, username: str) -> uuid.UUID:
    with world.session() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


@pytest.fixture
def addresses(world: World) -> Iterator[Callable[..., None]]:
    """Give users e-mail addresses (and a locale) for a test; taken away afterwards."""
    changed: list[str] = []

    def give(username: str, *, locale: str = "en") -> None:
        with world.session() as s:
            s.execute(
                update(User)
                .where(User.username == username)
                .values(email=f"{username}@customs.example.gov", locale=locale)
            )
        changed.append(username)

    yield give
    with unit_of_work(world.app.state.sessionmaker) as s:
        s.execute(update(User).where(User.username.in_(changed)).values(email=None, locale="en"))


def notify_one(
    world: World, username: str, *, urgency: str = "urgent", ref_id: uuid.UUID | None = None, kind: str = "watch_match"
) -> Notification:
    ref = ref_id or uuid.uuid4()
    with world.session() as s:
        created = service.notify(
            s,
            user_ids=[user_id(world, username)],
            kind=kind,
            ref_type=REF_TYPE,
            ref_id=ref,
            event_key=f"test:{ref}:{uuid.uuid4()}",
            urgency=urgency,
        )
    return created[0]
