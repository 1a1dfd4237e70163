"""Where webhooks may go (issue 16, server-side request forgery): only administrators register or enable endpoints;
loopback, private, link-local and other non-public addresses are refused at registration and again when each
message is sent (the connection goes to the address just checked), unless the operator allowed the network; what
users see of a failed delivery does not tell a closed port from a silent one."""

from __future__ import annotations

import ipaddress
import logging
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook

from interdict.core.clock import utcnow
from interdict.core.egress import IPAddress, parse_networks, refusal
from interdict.notifications import webhooks
from interdict.notifications.models import NotificationDelivery, WebhookEndpoint
from interdict.notifications.tasks import drain
from tests.conftest import World
from tests.notifications.conftest import (
    Receiver,
    Smtp,
    dispatch_config,
    free_port,
    notify_one,
    user_id,
    webhook_networks,
)
from tests.web.test_pages import login

UNREACHABLE = "the receiver could not be reached"
NOT_PERMITTED = "the receiver's address is not one that webhooks may reach"


def _register(client: TestClient, world: World, url: str, username: str = "admin") -> tuple[int, dict]:
    r = client.post("/api/v1/webhooks", json={"name": "Case system", "url": url}, headers=world.h(username))
    return r.status_code, r.json()


def _rows(world: World, endpoint_id: str) -> list[NotificationDelivery]:
    with world.session() as s:
        return list(
            s.scalars(select(NotificationDelivery).where(NotificationDelivery.endpoint_id == uuid.UUID(endpoint_id)))
        )


def test_only_administrators_register_and_enable_webhooks(
    client: TestClient, world: World, receiver: Receiver, internal_receivers: None
) -> None:
    for username in ("viewer.hp", "officer.hp", "analyst"):  # a viewer's write token too
        status, body = _register(client, world, receiver.url, username)
        assert status == 403, (username, body)
        assert body["error"]["message"] == "only administrators register and enable webhook endpoints"
    with world.session() as s:
        assert s.scalars(select(WebhookEndpoint)).all() == []
    # The page hides the form from them, and a forged form post is refused all the same.
    csrf = login(client, "officer.hp")
    page = client.get("/account/notifications")
    assert page.status_code == 200 and 'action="/account/webhooks"' not in page.text
    assert "Only administrators register webhook endpoints" in page.text
    r = client.post("/account/webhooks", data={"csrf_token": csrf, "name": "x", "url": receiver.url})
    assert r.status_code == 403
    # An endpoint a user registered before this rule: the owner may still disable it, not enable it again.
    with world.session() as s:
        legacy = WebhookEndpoint(
            id=uuid.uuid4(),
            user_id=user_id(world, "officer.hp"),
            name="Older endpoint",
            url=receiver.url,
            secret=webhooks.new_secret(),
            kinds=None,
            active=True,
            created_at=utcnow(),
        )
        s.add(legacy)
    h = world.h("officer.hp")
    assert client.post(f"/api/v1/webhooks/{legacy.id}/disable", headers=h).json()["active"] is False
    r = client.post(f"/api/v1/webhooks/{legacy.id}/enable", headers=h)
    assert r.status_code == 403 and "administrators" in r.json()["error"]["message"]
    assert 'action="/account/webhooks/' + str(legacy.id) + '/enable"' not in client.get("/account/notifications").text
    # An administrator registers one (the form is there for them).
    login(client, "admin")
    assert 'action="/account/webhooks"' in client.get("/account/notifications").text
    status, body = _register(client, world, receiver.url)
    assert status == 201, body


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks/interdict",
        "http://localhost:{port}/hooks/interdict",
        "http://[::1]:{port}/",
        "http://2130706433:{port}/",  # 127.0.0.1 written as one number
        "http://127.1:{port}/",
        "http://0.0.0.0:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fe80::1]/",
        "http://10.1.2.3/",
        "http://172.16.5.4:8080/",
        "https://192.168.1.10/",
        "http://[fd00::1]/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_non_public_addresses_are_refused_at_registration(client: TestClient, world: World, url: str) -> None:
    status, body = _register(client, world, url.format(port=free_port()))
    assert status == 422, body
    [err] = body["error"]["errors"]
    assert err["field"] == "url" and err["type"] == "address_not_permitted" and "may not reach" in err["msg"]
    with world.session() as s:
        assert s.scalars(select(WebhookEndpoint)).all() == []


def test_registration_refuses_unresolvable_hosts_and_the_allow_list_admits_a_network(
    client: TestClient, world: World, receiver: Receiver
) -> None:
    status, body = _register(client, world, "https://receiver.agency.invalid/hooks")
    assert status == 422 and body["error"]["errors"][0]["msg"] == "the host name could not be resolved from this server"
    assert _register(client, world, receiver.url)[0] == 422
    with webhook_networks(world.app, ["127.0.0.0/8", "::1/128"]):
        assert _register(client, world, receiver.url)[0] == 201
        assert _register(client, world, f"http://localhost:{receiver.port}/x")[0] == 201
        assert _register(client, world, "http://10.1.2.3/")[0] == 422  # only the networks allowed
    # The page says the same.
    csrf = login(client, "admin")
    r = client.post("/account/webhooks", data={"csrf_token": csrf, "name": "x", "url": "http://169.254.169.254/"})
    assert r.status_code == 422 and "link-local address, which webhooks may not reach" in r.text


def test_the_address_is_checked_again_when_each_message_is_sent(
    client: TestClient, world: World, receiver: Receiver
) -> None:
    """Registered while the operator allowed loopback; the allow-list is gone (or the name now resolves elsewhere)
    by the time a message is sent: nothing reaches the receiver, and the endpoint cannot be enabled again."""
    with webhook_networks(world.app, ["127.0.0.0/8", "::1/128"]):
        status, ep = _register(client, world, f"http://localhost:{receiver.port}/hooks/interdict")
        assert status == 201, ep
    notify_one(world, "admin")
    drain(world.app.state.sessionmaker, dispatch_config(None, webhook_networks=[]), now=utcnow())
    assert receiver.received == []
    [row] = _rows(world, ep["id"])
    assert row.status == "pending" and row.last_error == NOT_PERMITTED
    [shown] = client.get(f"/api/v1/webhooks/{ep['id']}/deliveries", headers=world.h("admin")).json()
    assert shown["last_error"] == NOT_PERMITTED
    h = world.h("admin")
    assert client.post(f"/api/v1/webhooks/{ep['id']}/disable", headers=h).status_code == 200
    r = client.post(f"/api/v1/webhooks/{ep['id']}/enable", headers=h)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["type"] == "address_not_permitted"
    # Allowed again by the operator: the endpoint is enabled and a new message arrives.
    with webhook_networks(world.app, ["127.0.0.0/8", "::1/128"]):
        assert client.post(f"/api/v1/webhooks/{ep['id']}/enable", headers=h).json()["active"] is True
    notify_one(world, "admin")
    cfg = dispatch_config(None, webhook_networks=["127.0.0.0/8", "::1/128"])
    drain(world.app.state.sessionmaker, cfg, now=utcnow())
    assert len(receiver.ok_ids()) == 1
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"


def test_redirects_are_not_followed(client: TestClient, world: World, internal_receivers: None) -> None:
    first, second = Receiver(free_port(), status=307), Receiver(free_port())
    first.location = second.url
    first.start()
    second.start()
    try:
        _, ep = _register(client, world, first.url)
        notify_one(world, "admin")
        drain(world.app.state.sessionmaker, dispatch_config(None), now=utcnow())
        assert len(first.received) == 1 and second.received == []
        assert _rows(world, ep["id"])[0].last_error == "HTTP 307"
    finally:
        first.stop()
        second.stop()


def test_the_connection_goes_to_the_address_that_was_checked(receiver: Receiver) -> None:
    """DNS rebinding: the host is resolved once per message, checked, and that very address is connected to (the
    HTTP client never resolves the name again: ``receiver.agency.test`` exists for no resolver but this one)."""
    answers: list[list[IPAddress]] = []

    def dns(*addresses: str) -> webhooks.Resolver:
        def resolve(host: str, port: int) -> list[IPAddress]:
            assert host == "receiver.agency.test"
            answers.append([ipaddress.ip_address(a) for a in addresses])
            return answers[-1]

        return resolve

    url = f"http://receiver.agency.test:{receiver.port}/hooks/interdict"
    secret = webhooks.new_secret()
    body = {"type": "interdict.test", "data": {}}
    allowed = parse_networks(["127.0.0.1/32"])
    with webhooks.Sender(timeout=2.0, allowed=allowed, resolve=dns("127.0.0.1")) as sender:
        assert sender.post(url, secret, "msg-1", body).ok
    [got] = receiver.received
    assert got.headers["host"] == f"receiver.agency.test:{receiver.port}"
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "interdict.test"
    # The name checked public at registration now answers loopback: refused at send, nothing is sent.
    assert webhooks.check_url(url, resolve=dns("93.184.215.14")) == url
    for answer in (["127.0.0.1"], ["93.184.215.14", "127.0.0.1"], ["::ffff:127.0.0.1"]):
        with webhooks.Sender(timeout=2.0, resolve=dns(*answer)) as sender:
            result = sender.post(url, secret, "msg-2", body)
        assert (result.ok, result.error) == (False, NOT_PERMITTED), answer
    assert len(receiver.received) == 1


def test_delivery_errors_do_not_tell_a_closed_port_from_a_silent_or_foreign_one(
    client: TestClient, world: World, smtp_server: Smtp, internal_receivers: None, caplog: pytest.LogCaptureFixture
) -> None:
    hanging = Receiver(free_port())
    hanging.hang.set()
    hanging.start()
    try:
        targets = {
            "closed": f"http://127.0.0.1:{free_port()}/",
            "smtp": f"http://127.0.0.1:{smtp_server.port}/",  # a service that is not HTTP
            "silent": hanging.url,
        }
        ids = {what: _register(client, world, url)[1]["id"] for what, url in targets.items()}
        notify_one(world, "admin")
        with caplog.at_level(logging.WARNING, logger="interdict.notifications"):
            cfg = dispatch_config(None, webhook_timeout=0.5)
            drain(world.app.state.sessionmaker, cfg, now=utcnow())
        h = world.h("admin")
        shown = {
            what: client.get(f"/api/v1/webhooks/{i}/deliveries", headers=h).json()[0]["last_error"]
            for what, i in ids.items()
        }
        assert shown == {"closed": UNREACHABLE, "smtp": UNREACHABLE, "silent": UNREACHABLE}
        login(client, "admin")
        for i in ids.values():
            page = client.get(f"/account/webhooks/{i}").text
            assert UNREACHABLE in page
            for word in ("refused", "timed out", "Timeout", "ConnectError", "Errno", "RemoteProtocol"):
                assert word not in page
        # The precise reasons are in the server's log.
        logged = caplog.text
        assert "ConnectError" in logged and "Timeout" in logged
    finally:
        hanging.stop()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.31.255.1", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:192.168.0.1", "private"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 carrying 127.0.0.1
        ("64:ff9b::a00:1", "reserved"),  # NAT64 carrying 10.0.0.1
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
    ],
)
def test_address_policy(address: str, kind: str | None) -> None:
    assert refusal(ipaddress.ip_address(address), ()) == kind
    allowed = parse_networks(["10.0.0.0/8", "fd12::/16"])
    assert refusal(ipaddress.ip_address("10.20.30.40"), allowed) is None
    assert refusal(ipaddress.ip_address("::ffff:10.20.30.40"), allowed) is None
    assert refusal(ipaddress.ip_address("192.168.0.1"), allowed) == "private"
