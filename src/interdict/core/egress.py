"""Where the server may open outgoing connections to addresses that users choose (webhooks): public unicast
addresses, and the networks the operator allows. Pure Python (ipaddress, socket), no domain logic."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses the host resolves to (socket.getaddrinfo; tests give names of their own).
Resolver = Callable[[str, int], Sequence[IPAddress]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR blocks (``10.20.0.0/16``, ``fd12::/48``, a single address) as networks; ValueError names a bad one."""
    out: list[Network] = []
    for value in values:
        text = value.strip()
        if text:
            try:
                out.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValueError(f"'{text}' is not an IP network (e.g. 10.20.0.0/16)") from None
    return tuple(out)


def _carried(ip: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address carried inside it (IPv4-mapped, 6to4, Teredo, NAT64)."""
    out: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        out += [a for a in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())) if a is not None]
        if ip in _NAT64:
            out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def _kind(ip: IPAddress) -> str | None:
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"  # e.g. 100.64.0.0/10, shared by carrier-grade NAT
    return None


def refusal(ip: IPAddress, allowed: Sequence[Network]) -> str | None:
    """Why the server may not connect to ``ip`` ("loopback", "private", "link-local", ...), or None when it may: a
    public unicast address (and so is every IPv4 address it carries), or one in the operator's ``allowed``
    networks."""
    plain = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
    if any(plain.version == net.version and plain in net for net in allowed):
        return None
    for address in _carried(ip):
        kind = _kind(address)
        if kind is not None:
            return kind
    return None


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address literal: itself), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in infos))
