"""Who the client is behind a reverse proxy: ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed only when
the direct peer is one of the configured proxies (``INTERDICT_TRUSTED_PROXIES``); otherwise they are removed
before anything reads them. The client address decides the per-address login lockout and is written to the
audit trail, and the scheme decides the Secure cookie flag: neither may be chosen by the client.

``interdict serve`` starts uvicorn with its own proxy-header handling off, so this is the only place that
reads these headers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from interdict.core.egress import Network as IPNetwork

FORWARDED_HEADERS = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port", b"x-real-ip", b"forwarded"}
)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(host: str | None, networks: Iterable[IPNetwork]) -> bool:
    address = _address(host) if host else None
    return address is not None and any(address in net for net in networks)


def resolve(scope: dict[str, Any], networks: tuple[IPNetwork, ...]) -> dict[str, Any]:
    """The ASGI scope with the real client address and scheme (a new dict when anything changes)."""
    client = scope.get("client")
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
    if not client or not is_trusted(client[0], networks):
        if any(name in FORWARDED_HEADERS for name, _value in headers):
            scope = {**scope, "headers": [(n, v) for n, v in headers if n not in FORWARDED_HEADERS]}
        return scope
    hops: list[str] = []
    proto = ""
    for name, value in headers:
        if name == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.decode("latin-1").split(",") if h.strip())
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1").split(",")[-1].strip().lower()  # the nearest proxy's word
    changed = dict(scope)
    # Walk from the nearest hop back: each trusted proxy names the one before it; the first address that is not
    # a trusted proxy is the client. Anything further left was written by the client and is not believed.
    host = client[0]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        host = str(address)
        if not is_trusted(host, networks):
            break
    if host != client[0]:
        changed["client"] = (host, 0)
    if proto in ("http", "https"):
        changed["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
    return changed


class TrustedProxies:
    """ASGI middleware applying :func:`resolve` to every HTTP and WebSocket request."""

    def __init__(self, app: Any, networks: tuple[IPNetwork, ...]) -> None:
        self.app, self.networks = app, networks

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = resolve(scope, self.networks)
        await self.app(scope, receive, send)
