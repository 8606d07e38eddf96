"""The address of the client behind a request, seen through the reverse proxies we trust.

A proxy in front of the gateway makes every request come from the proxy's address; the
client's own is in `Forwarded` (RFC 7239) or `X-Forwarded-For`. Anyone can send those headers,
so they are read only when the connection comes from an address in `http.trusted_proxies`,
and then from the right: each trusted proxy appends the address it saw, so the first address
from the right that is not a trusted proxy is the client (what came before it is whatever the
client chose to write).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

from multidict import MultiMapping

__all__ = ["IPV6_HOST_PREFIX", "TrustedProxies", "address_key", "client_address"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# One host usually holds a whole IPv6 /64: limits counted per address would give it 2**64
# fresh allowances.
IPV6_HOST_PREFIX = 64
# One `for=` parameter of a Forwarded element: a token or a quoted string.
_FORWARDED_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]+)', re.IGNORECASE)


class TrustedProxies:
    """The addresses (and networks) whose forwarding headers are believed."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry.strip(), strict=False) for entry in entries
        )

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        """Whether `address` is one of the trusted proxies (False for anything unparsable)."""
        parsed = _parse(address)
        return parsed is not None and any(parsed in network for network in self.networks)


def client_address(peer: str, headers: MultiMapping[str], proxies: TrustedProxies) -> str:
    """The client's address: `peer` itself unless it is a trusted proxy that forwarded one."""
    if not proxies or not proxies.trusts(peer):
        return peer
    hops = _forwarded_hops(headers.getall("Forwarded", ()))
    if not hops:
        hops = [
            hop.strip()
            for value in headers.getall("X-Forwarded-For", ())
            for hop in value.split(",")
        ]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            return peer  # a hop we cannot read: trust nothing further left
        if not any(parsed in network for network in proxies.networks):
            return str(parsed)
    return peer  # only proxies all the way: the proxy itself is the client


def address_key(address: str) -> str:
    """The key a client's address counts under in per-address limits: an IPv4 address (also
    when it reached a dual-stack socket as IPv4-mapped IPv6), or an IPv6 address's /64."""
    parsed = _parse(address)
    if parsed is None:
        return address or "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_HOST_PREFIX}", strict=False))
    return str(parsed)


def _forwarded_hops(values: Sequence[str]) -> list[str]:
    """The `for=` addresses of every Forwarded element, in order."""
    hops: list[str] = []
    for value in values:
        for element in value.split(","):
            match = _FORWARDED_FOR.search(element)
            if match:
                hops.append(match.group(1).strip('"'))
    return hops


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a header or a peer: `[v6]:port`, `v4:port`, bare forms; else None."""
    text = value.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
