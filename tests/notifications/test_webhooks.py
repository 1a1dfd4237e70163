"""Webhooks against a real local HTTP receiver: Standard Webhooks signatures, retries with backoff while the
receiver is down or answers an error, the same webhook-id on every attempt, giving up after the configured time,
access (payloads rendered as the endpoint's owner), and endpoint management through the API and the page."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook

from interdict.core.clock import utcnow
from interdict.notifications.models import NotificationDelivery, WebhookEndpoint
from interdict.notifications.tasks import dispatch_due, drain
from interdict.notifications.webhooks import UNREACHABLE
from tests.conftest import World
from tests.notifications.conftest import HIDDEN, PUBLIC_URL, Receiver, dispatch_config, free_port, notify_one, user_id
from tests.web.test_pages import login


def _endpoint(client: TestClient, world: World, url: str, username: str = "admin", **extra: object) -> dict:
    r = client.post(
        "/api/v1/webhooks", json={"name": "Provincial case system", "url": url, **extra}, headers=world.h(username)
    )
    assert r.status_code == 201, r.text
    return r.json()


def _deliveries(world: World, endpoint_id: str) -> list[NotificationDelivery]:
    with world.session() as s:
        return list(
            s.scalars(select(NotificationDelivery).where(NotificationDelivery.endpoint_id == uuid.UUID(endpoint_id)))
        )


def test_a_notification_is_posted_signed_per_standard_webhooks(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    ep = _endpoint(client, world, receiver.url)
    assert ep["secret"].startswith("whsec_")
    n = notify_one(world, "admin", urgency="immediate")
    drain(world.app.state.sessionmaker, dispatch_config(None), now=utcnow())
    [got] = receiver.received
    payload = Webhook(ep["secret"]).verify(got.body, got.headers)  # raises if the signature is wrong
    [row] = _deliveries(world, ep["id"])
    assert got.headers["webhook-id"] == str(row.id) and row.status == "sent"
    assert payload["type"] == "notification.created"
    data = payload["data"]
    assert data["notification_id"] == n.id and data["urgency"] == "immediate" and data["kind"] == "watch_match"
    assert data["ref_id"] == str(n.ref_id) and data["title"].startswith("Seizure SECRET-")
    assert data["url"] == f"{PUBLIC_URL}/incidents/{n.ref_id}"
    tampered = dict(got.headers, **{"webhook-signature": "v1,AAAA"})
    try:
        Webhook(ep["secret"]).verify(got.body, tampered)
        raise AssertionError("a forged signature verified")
    except Exception as exc:  # standardwebhooks.WebhookVerificationError
        assert "signature" in str(exc).lower()
    # The secret is shown once: listings never carry it.
    assert "secret" not in client.get("/api/v1/webhooks", headers=world.h("admin")).json()[0]


def test_a_receiver_down_for_an_hour_gets_everything_when_it_returns(
    client: TestClient, world: World, internal_receivers: None
) -> None:
    port = free_port()
    receiver = Receiver(port)
    ep = _endpoint(client, world, receiver.url)  # nothing listens on the port yet
    notes = [notify_one(world, "admin") for _ in range(3)]
    factory, cfg = world.app.state.sessionmaker, dispatch_config(None)
    t0 = utcnow()
    now = t0
    waits = []
    for _ in range(12):  # an hour of attempts with an injected clock
        drain(factory, cfg, now=now)
        rows = _deliveries(world, ep["id"])
        assert all(r.status == "pending" and r.last_error == UNREACHABLE for r in rows)
        next_at = min(r.next_attempt_at for r in rows if r.next_attempt_at)
        waits.append((next_at - now).total_seconds())
        now = next_at
    assert waits[:6] == [5, 10, 20, 40, 80, 160] and set(waits[6:]) == {300}  # exponential, capped at 5 minutes
    assert now - t0 > timedelta(minutes=30)
    now = t0 + timedelta(hours=1)
    receiver.start()
    try:
        drain(factory, cfg, now=now + timedelta(minutes=5))  # within minutes of its return
        ids = {str(r.id) for r in _deliveries(world, ep["id"])}
        assert sorted(receiver.ok_ids()) == sorted(ids) and len(ids) == len(notes)
        assert all(r.status == "sent" for r in _deliveries(world, ep["id"]))
    finally:
        receiver.stop()


def test_an_error_answer_is_retried_with_the_same_webhook_id(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    ep = _endpoint(client, world, receiver.url)
    notify_one(world, "admin")
    factory, cfg = world.app.state.sessionmaker, dispatch_config(None)
    now = utcnow()
    for status in (500, 503, 404, 200):
        receiver.status = status
        assert dispatch_due(factory, cfg, now=now) == 1
        [row] = _deliveries(world, ep["id"])
        now = row.next_attempt_at or now
    assert [r.answered for r in receiver.received] == [500, 503, 404, 200]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    [row] = _deliveries(world, ep["id"])
    assert (row.status, row.attempts, str(row.id)) == ("sent", 4, receiver.received[0].headers["webhook-id"])


def test_a_message_is_given_up_after_the_configured_time(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    ep = _endpoint(client, world, receiver.url)
    receiver.status = 500
    notify_one(world, "admin")
    factory, cfg = world.app.state.sessionmaker, dispatch_config(None)
    drain(factory, cfg, now=utcnow() + timedelta(hours=73))
    [row] = _deliveries(world, ep["id"])
    assert row.status == "dead" and row.last_error == "HTTP 500"
    r = client.get("/api/v1/notification-deliveries", headers=world.h("admin"))
    assert r.status_code == 200 and str(row.id) in {d["id"] for d in r.json()}
    assert client.get("/api/v1/notification-deliveries", headers=world.h("officer.hp")).status_code == 403


def test_nothing_is_posted_about_a_record_the_owner_may_not_read(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    ep = _endpoint(client, world, receiver.url)
    ref = uuid.uuid4()
    HIDDEN.add((user_id(world, "admin"), ref))
    notify_one(world, "admin", ref_id=ref)
    drain(world.app.state.sessionmaker, dispatch_config(None), now=utcnow())
    assert receiver.received == []
    [row] = _deliveries(world, ep["id"])
    assert row.status == "withheld"


def test_kinds_filter_and_disabled_endpoints(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    only = _endpoint(client, world, receiver.url, kinds=["warning_notice"])
    notify_one(world, "admin", kind="watch_match")
    notify_one(world, "admin", kind="warning_notice")
    assert [r.notification_id is not None for r in _deliveries(world, only["id"])] == [True]
    h = world.h("admin")
    assert client.post(f"/api/v1/webhooks/{only['id']}/disable", headers=h).json()["active"] is False
    drain(world.app.state.sessionmaker, dispatch_config(None), now=utcnow())
    assert receiver.received == []  # disabled before it was sent: dropped
    notify_one(world, "admin", kind="warning_notice")
    assert len(_deliveries(world, only["id"])) == 1  # nothing new planned for a disabled endpoint
    # Someone else's endpoint is not found.
    for other in ("officer.hp", "analyst"):
        assert client.post(f"/api/v1/webhooks/{only['id']}/enable", headers=world.h(other)).status_code == 404


def test_only_http_and_https_urls_are_accepted(client: TestClient, world: World) -> None:
    h = world.h("admin")
    for url, fragment in [
        ("ftp://files.example.gov/in", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https://", "must name a host"),
        ("https://user:pw@example.gov/hook", "user name or password"),
    ]:
        r = client.post("/api/v1/webhooks", json={"name": "x", "url": url}, headers=h)
        assert r.status_code == 422, url
        [err] = r.json()["error"]["errors"]
        assert err["field"] == "url" and fragment in err["msg"], (url, err)
    assert client.get("/api/v1/webhooks", headers=h).json() == []


def test_endpoint_page_shows_the_secret_once_and_a_test_event_arrives(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    csrf = login(client, "admin")
    page = client.get("/account/notifications")
    assert page.status_code == 200 and "E-mail is not set up on this Interdict server" in page.text
    r = client.post("/account/webhooks", data={"csrf_token": csrf, "name": "Case system", "url": "gopher://x"})
    assert r.status_code == 422 and "must start with http:// or https://" in r.text
    r = client.post("/account/webhooks", data={"csrf_token": csrf, "name": "Case system", "url": receiver.url})
    secret = re.search(r'id="new-secret" class="token">(whsec_[^<]+)<', r.text)
    assert r.status_code == 200 and secret
    assert secret.group(1) not in client.get("/account/notifications").text
    with world.session() as s:
        endpoint = s.scalars(select(WebhookEndpoint)).one()
    r = client.post(f"/account/webhooks/{endpoint.id}/test", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200 and "test event" in r.text
    drain(world.app.state.sessionmaker, dispatch_config(None), now=utcnow())
    [got] = receiver.received
    assert Webhook(secret.group(1)).verify(got.body, got.headers)["type"] == "interdict.test"
    page = client.get(f"/account/webhooks/{endpoint.id}")
    assert got.headers["webhook-id"] in page.text and "delivered" in page.text
    assert json.loads(got.body)["data"]["endpoint_id"] == str(endpoint.id)
