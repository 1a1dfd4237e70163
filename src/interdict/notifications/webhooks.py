"""Webhooks for agencies' own systems, signed per the Standard Webhooks specification (``standardwebhooks``).

Each endpoint belongs to a user and receives that user's notifications, rendered as that user: an endpoint never
receives what its owner could not read. Every message carries ``webhook-id`` (the delivery id, the same on every
attempt: the receiver's idempotency key), ``webhook-timestamp`` and ``webhook-signature``. A 2xx answer is a
delivery; anything else, a connection error or a timeout is retried with backoff by the dispatcher.

Where messages may go (server-side request forgery): only administrators register or re-enable endpoints; a URL's
host is resolved and refused if any of its addresses is not a public unicast one (loopback, private, link-local
including the cloud metadata address, CGNAT, unspecified, multicast, reserved, or such an IPv4 address inside an
IPv6 one), unless the operator allowed its network (``INTERDICT_WEBHOOK_ALLOWED_NETWORKS``, for an agency's own
internal receivers). The host is resolved again at every send and the connection goes to the address just checked
(a second DNS answer cannot rebind it; the Host header and TLS server name stay the URL's host); redirects are not
followed, environment proxies are not used, and the answer's body is never read. What users see of a failure is
generic (unreachable, not permitted, or the HTTP status); the precise error goes to the server log.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from interdict.accounts.subject import Subject
from interdict.core.clock import utcnow
from interdict.core.db import new_id
from interdict.core.egress import IPAddress, Network, Resolver, refusal, resolve_host
from interdict.core.errors import FieldError, InvalidInput, NotFound
from interdict.core.i18n import N_
from interdict.notifications.models import Notification, NotificationDelivery, WebhookEndpoint
from interdict.notifications.service import Rendered
from interdict.sharing.service import require_admin

log = logging.getLogger("interdict.notifications")

MAX_KINDS = 20


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


ONLY_ADMINS = "only administrators register and enable webhook endpoints"
# What users are told of a failed delivery: nothing that tells a closed port from a silent one.
UNREACHABLE = "the receiver could not be reached"
NOT_PERMITTED = "the receiver's address is not one that webhooks may reach"
# Addresses tried for one message when the first refuses the connection (a host with IPv6 and IPv4 addresses).
MAX_ADDRESSES = 3


# Why an address is refused, by kind (interdict.core.egress): the whole sentence, so each language words it its way.
_ADDRESS_REFUSED = {
    "loopback": N_(
        "points to a loopback address, which webhooks may not reach (an operator can allow an agency's internal network)"
    ),
    "link-local": N_(
        "points to a link-local address, which webhooks may not reach (an operator can allow an agency's internal"
        " network)"
    ),
    "unspecified": N_(
        "points to an unspecified address, which webhooks may not reach (an operator can allow an agency's internal"
        " network)"
    ),
    "multicast": N_(
        "points to a multicast address, which webhooks may not reach (an operator can allow an agency's internal"
        " network)"
    ),
    "private": N_(
        "points to a private address, which webhooks may not reach (an operator can allow an agency's internal network)"
    ),
    "reserved": N_(
        "points to a reserved address, which webhooks may not reach (an operator can allow an agency's internal network)"
    ),
    "non-public": N_(
        "points to a non-public address, which webhooks may not reach (an operator can allow an agency's internal"
        " network)"
    ),
}


class Refused(Exception):
    """A destination webhooks may not reach; ``detail`` is for the server log, ``message`` for the user."""

    def __init__(self, message: str, detail: str, kind: str | None = None) -> None:
        super().__init__(detail)
        self.message = message
        self.detail = detail
        self.kind = kind  # "loopback", "private", ... (None: the host did not resolve)


def parse_url(url: str) -> httpx.URL:
    """The URL as the HTTP client will read it (one parser for checking and sending)."""
    url = url.strip()
    if len(url) > 2000:
        raise InvalidInput(FieldError(("url",), N_("must be at most 2000 characters")))
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise InvalidInput(FieldError(("url",), N_("is not a valid URL"))) from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput(FieldError(("url",), N_("must start with http:// or https://")))
    if not parsed.host:
        raise InvalidInput(FieldError(("url",), N_("must name a host, e.g. https://alerts.example.gov/interdict")))
    if parsed.userinfo:
        raise InvalidInput(FieldError(("url",), N_("must not contain a user name or password")))
    return parsed


def _host(url: httpx.URL) -> str:
    """The host as DNS and TLS know it (IDNA-encoded; an IPv6 address without brackets)."""
    return url.raw_host.decode("ascii")


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def destination(url: httpx.URL, allowed: Sequence[Network], resolve: Resolver) -> list[IPAddress]:
    """The addresses to connect to for ``url``: all that its host resolves to now, each of them permitted (one that
    is not refuses the whole URL, so an answer mixing a public and an internal address never gets through)."""
    try:
        addresses = list(resolve(_host(url), _port(url)))
    except (OSError, UnicodeError, ValueError) as exc:
        raise Refused(UNREACHABLE, f"{url.host}: not resolved ({type(exc).__name__}: {exc})") from None
    if not addresses:
        raise Refused(UNREACHABLE, f"{url.host}: no address")
    for address in addresses:
        kind = refusal(address, allowed)
        if kind is not None:
            raise Refused(NOT_PERMITTED, f"{url.host} resolves to {address}, a {kind} address", kind)
    return addresses


def check_url(url: str, *, allowed: Sequence[Network] = (), resolve: Resolver = resolve_host) -> str:
    """A URL an endpoint may be registered with (or enabled again with): http(s), no user name or password, and a
    host whose every address webhooks may reach now."""
    parsed = parse_url(url)
    try:
        destination(parsed, allowed, resolve)
    except Refused as exc:
        if exc.kind is None:
            raise InvalidInput(
                FieldError(("url",), N_("the host name could not be resolved from this server"), "unresolved")
            ) from None
        raise InvalidInput(
            FieldError(
                ("url",),
                _ADDRESS_REFUSED.get(exc.kind)
                or N_(
                    "points to an address which webhooks may not reach (an operator can allow an agency's internal network)"
                ),
                "address_not_permitted",
            )
        ) from None
    return url.strip()


def create_endpoint(
    session: Session,
    subject: Subject,
    *,
    name: str,
    url: str,
    kinds: list[str] | None,
    now: datetime,
    allowed: Sequence[Network] = (),
    resolve: Resolver = resolve_host,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the subject (an administrator); returns it and its signing secret (to show once).
    ``allowed``: the operator's networks that webhooks may reach although they are not public."""
    require_admin(subject, ONLY_ADMINS)
    errors: list[FieldError] = []
    name = name.strip()
    if not name or len(name) > 100:
        errors.append(FieldError(("name",), N_("give a name of 1 to 100 characters")))
    try:
        url = check_url(url, allowed=allowed, resolve=resolve)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    clean_kinds = sorted({k.strip() for k in kinds or [] if k.strip()})
    if len(clean_kinds) > MAX_KINDS or any(len(k) > 40 for k in clean_kinds):
        errors.append(
            FieldError(("kinds",), N_("at most %(max_kinds)s kinds of at most 40 characters", max_kinds=MAX_KINDS))
        )
    if errors:
        raise InvalidInput(errors)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id(),
        user_id=subject.user_id,
        name=name,
        url=url,
        secret=secret,
        kinds=clean_kinds or None,
        active=True,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def own_endpoint(session: Session, subject: Subject, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.user_id != subject.user_id:
        raise NotFound(N_("no such webhook endpoint"))
    return endpoint


def list_endpoints(session: Session, subject: Subject) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.user_id == subject.user_id)
            .order_by(WebhookEndpoint.active.desc(), WebhookEndpoint.created_at.desc())
        )
    )


def set_active(
    session: Session,
    subject: Subject,
    endpoint_id: uuid.UUID,
    active: bool,
    *,
    now: datetime,
    allowed: Sequence[Network] = (),
    resolve: Resolver = resolve_host,
) -> WebhookEndpoint:
    """Disable (pending messages to it are dropped) or re-enable an endpoint. Enabling is for administrators and
    checks the URL again, as registering does."""
    endpoint = own_endpoint(session, subject, endpoint_id)
    if active:
        require_admin(subject, ONLY_ADMINS)
        check_url(endpoint.url, allowed=allowed, resolve=resolve)
    endpoint.active = active
    endpoint.disabled_at = None if active else now
    if not active:
        for row in session.scalars(
            select(NotificationDelivery).where(
                NotificationDelivery.endpoint_id == endpoint.id, NotificationDelivery.status == "pending"
            )
        ):
            row.status = "withheld"
            row.last_error = "endpoint disabled"
    session.flush()
    return endpoint


def plan_test(session: Session, subject: Subject, endpoint_id: uuid.UUID, *, now: datetime) -> NotificationDelivery:
    """Queue a test event for the endpoint (sent by the dispatcher like any other message)."""
    endpoint = own_endpoint(session, subject, endpoint_id)
    if not endpoint.active:
        raise InvalidInput(FieldError(("endpoint",), N_("the endpoint is disabled; enable it first")))
    row = NotificationDelivery(
        id=new_id(),
        channel="webhook",
        kind="test",
        user_id=subject.user_id,
        endpoint_id=endpoint.id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def recent_deliveries(
    session: Session, subject: Subject, endpoint_id: uuid.UUID, *, limit: int = 50
) -> list[NotificationDelivery]:
    endpoint = own_endpoint(session, subject, endpoint_id)
    return list(
        session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.endpoint_id == endpoint.id)
            .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
            .limit(limit)
        )
    )


# --- messages ----------------------------------------------------------------------------------------


def payload(
    delivery: NotificationDelivery,
    notification: Notification | None,
    rendered: Rendered | None,
    *,
    public_url: str,
    now: datetime,
) -> dict[str, Any]:
    base = public_url.rstrip("/")
    if delivery.kind == "test" or notification is None or rendered is None:
        return {
            "type": "interdict.test",
            "timestamp": now.isoformat(),
            "data": {"message": "test event from Interdict", "endpoint_id": str(delivery.endpoint_id)},
        }
    url = rendered.url if rendered.url.startswith(("http://", "https://")) else f"{base}{rendered.url}"
    return {
        "type": "notification.created",
        "timestamp": now.isoformat(),
        "data": {
            "notification_id": notification.id,
            "kind": notification.kind,
            "urgency": notification.urgency,
            "ref_type": notification.ref_type,
            "ref_id": str(notification.ref_id),
            "title": rendered.title,
            "text": rendered.text,
            "url": url,
            "created_at": notification.created_at.isoformat(),
        },
    }


@dataclass(frozen=True)
class PostResult:
    ok: bool
    error: str | None = None  # what users see: generic (see UNREACHABLE), or the receiver's HTTP status
    # A connection-level failure (the receiver is unreachable): the rest of its queue waits for the next attempt.
    unreachable: bool = False


class Sender:
    """Posts the messages of one dispatch pass. Each message's host is resolved and checked as it is sent and the
    connection goes to the checked address (the Host header and the TLS server name stay the URL's host, so
    certificates are verified for it). Connections are reused only for the same host at the same address."""

    def __init__(self, *, timeout: float, allowed: Sequence[Network] = (), resolve: Resolver = resolve_host) -> None:
        self.timeout = timeout
        self.allowed = tuple(allowed)
        self.resolve = resolve
        self._clients: dict[tuple[str, str, str, int], httpx.Client] = {}

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _client(self, url: httpx.URL, address: IPAddress) -> httpx.Client:
        key = (url.scheme, _host(url), str(address), _port(url))
        client = self._clients.get(key)
        if client is None:
            # No redirects (a 3xx is an answer like any other), no proxies from the environment (the proxy would
            # resolve the name itself).
            client = httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False)
            self._clients[key] = client
        return client

    def post(self, url: str, secret: str, msg_id: str, body: dict[str, Any]) -> PostResult:
        """Sign and POST one message. The signature's timestamp is the real time of sending (receivers reject old
        ones), whatever clock the dispatcher was given for scheduling."""
        try:
            parsed = parse_url(url)
            addresses = destination(parsed, self.allowed, self.resolve)
        except InvalidInput:
            log.warning("webhook %s not sent: the stored URL is no longer valid", msg_id)
            return PostResult(False, NOT_PERMITTED, unreachable=True)
        except Refused as exc:
            log.warning("webhook %s not sent: %s", msg_id, exc.detail)
            return PostResult(False, exc.message, unreachable=True)
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        sent_at = utcnow()
        headers = {
            "host": parsed.netloc.decode("ascii"),
            "content-type": "application/json",
            "user-agent": "Interdict-Webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, sent_at, data),
        }
        host = _host(parsed)
        extensions = {"sni_hostname": host} if parsed.scheme == "https" and not _is_address(host) else {}
        for address in addresses[:MAX_ADDRESSES]:
            target = parsed.copy_with(host=str(address))
            try:
                with self._client(parsed, address).stream(
                    "POST", target, content=data.encode(), headers=headers, extensions=extensions
                ) as response:
                    status = response.status_code  # the body is never read
            except httpx.ConnectError as exc:
                log.warning("webhook %s to %s (%s): %s: %s", msg_id, parsed.host, address, type(exc).__name__, exc)
                continue  # the next address, if the host has one
            except httpx.HTTPError as exc:
                log.warning("webhook %s to %s (%s): %s: %s", msg_id, parsed.host, address, type(exc).__name__, exc)
                return PostResult(False, UNREACHABLE, unreachable=True)
            if 200 <= status < 300:
                return PostResult(True)
            return PostResult(False, f"HTTP {status}")
        return PostResult(False, UNREACHABLE, unreachable=True)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
