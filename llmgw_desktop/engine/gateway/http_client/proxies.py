"""Which proxy, if any, an upstream is reached through: the environment's proxy variables.

Read once, when the upstream client is built (`ProxyRules.from_environ`), with the rules curl
and requests follow so a corporate setup that works for them works here:

- `https_proxy`/`HTTPS_PROXY` for https upstreams (a CONNECT tunnel), `http_proxy`/`HTTP_PROXY`
  for http ones (absolute-form requests), `all_proxy`/`ALL_PROXY` for either when its own is
  unset. The lowercase name wins when both are set. A URL without a scheme is `http://`.
- `no_proxy`/`NO_PROXY`: a comma (or space) list of `*`, host names (`example.com` also covers
  its subdomains; a leading `.` or `*.` means the same), IP addresses, CIDR networks, each
  optionally with `:port`. Names are compared as written, never resolved.
- Loopback and unspecified hosts (`localhost`, `*.localhost`, 127.0.0.0/8, ::1, 0.0.0.0, ::)
  are always reached directly: local model servers see prompts a proxy must never see.
  `proxy_loopback` lifts that, for a debugging proxy and for tests whose servers are local.

Credentials in a proxy URL become `Proxy-Authorization: Basic`; everywhere else (messages,
logs) a proxy is named by `label`, its URL without them.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["Proxy", "ProxyRules", "is_local_host"]

log = logging.getLogger(__name__)

# Where each upstream scheme looks for its proxy, in order (lowercase first, as curl does).
PROXY_VARIABLES = {
    "http": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
    "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
}
NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")
DEFAULT_PROXY_PORT = 80  # a proxy URL is an http URL; requests and urllib3 agree
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it listens, what it is called in messages, how to log in to it.

    `problem` is set when the variable could not be used (a SOCKS or https:// proxy, a bad
    URL): requests that would go through it fail with it rather than silently go direct.
    """

    host: str
    port: int
    label: str
    authorization: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class _Exemption:
    """One `no_proxy` entry: a name suffix or an address network, optionally one port."""

    name: str | None
    network: Network | None
    port: int | None

    def covers(
        self, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, port: int
    ) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and address in self.network
        assert self.name is not None
        return host == self.name or host.endswith("." + self.name)


@dataclass(frozen=True)
class ProxyRules:
    """The proxies the environment names, and the hosts that bypass them."""

    http: Proxy | None = None
    https: Proxy | None = None
    exemptions: tuple[_Exemption, ...] = ()
    bypass_all: bool = False
    proxy_loopback: bool = False

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, proxy_loopback: bool = False
    ) -> ProxyRules:
        """The rules the environment's proxy variables describe (see the module docstring)."""
        proxies = {scheme: _proxy_from(environ, names) for scheme, names in PROXY_VARIABLES.items()}
        no_proxy = next((environ[n] for n in NO_PROXY_VARIABLES if environ.get(n)), "")
        entries = [e for e in no_proxy.replace(",", " ").split() if e]
        exemptions = tuple(x for x in map(_exemption, entries) if x is not None)
        for proxy in {p for p in proxies.values() if p is not None and p.problem}:
            log.warning("upstream proxy not usable: %s", proxy.problem)
        return cls(
            http=proxies["http"],
            https=proxies["https"],
            exemptions=exemptions,
            bypass_all="*" in entries,
            proxy_loopback=proxy_loopback,
        )

    def select(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy for an upstream at `scheme://host:port`, or None to connect directly.

        `host` is as `urlsplit(...).hostname` gives it: lowercase, IPv6 without brackets.
        """
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypass_all:
            return None
        host = host.rstrip(".")
        if not self.proxy_loopback and is_local_host(host):
            return None
        address = _address(host)
        if any(x.covers(host, address, port) for x in self.exemptions):
            return None
        return proxy


def is_local_host(host: str) -> bool:
    """True for hosts that name this machine by themselves: loopback and unspecified."""
    host = host.lower().strip("[]").rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    address = _address(host)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # without an IPv6 zone id
    except ValueError:
        return None


def _proxy_from(environ: Mapping[str, str], names: tuple[str, ...]) -> Proxy | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return parse_proxy_url(value, source=name)
    return None


def parse_proxy_url(value: str, *, source: str) -> Proxy:
    """A `Proxy` from a proxy variable's value; an unusable one carries its `problem`."""
    if "://" not in value:
        value = "http://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = parts.port or DEFAULT_PROXY_PORT
    except ValueError:
        # Never echo the value: it may hold a password.
        return Proxy("", 0, f"({source})", problem=f"{source} is not a valid proxy URL")
    shown = f"[{host}]" if ":" in host else host
    label = f"{parts.scheme}://{shown}:{port}"
    if parts.scheme != "http":
        return Proxy(
            host,
            port,
            label,
            problem=f"{source} names {label}, but only http:// proxies are supported",
        )
    if not host:
        return Proxy(host, port, label, problem=f"{source} names no proxy host")
    authorization = None
    if parts.username is not None:
        user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(user_pass.encode()).decode("ascii")
    return Proxy(host, port, label, authorization)


def _exemption(entry: str) -> _Exemption | None:
    """One `no_proxy` entry, or None for `*` and entries that cannot match anything."""
    entry = entry.strip().lower()
    if entry == "*":
        return None
    port: int | None = None
    if entry.startswith("["):  # [v6] or [v6]:port
        address, _, rest = entry[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        entry = address
    elif entry.count(":") == 1:  # name:port or v4:port (several colons: a bare IPv6)
        name, _, number = entry.partition(":")
        if not number.isdigit():
            return None
        entry, port = name, int(number)
    try:
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        name = entry.removeprefix("*").lstrip(".").rstrip(".")
        return _Exemption(name, None, port) if name else None
    return _Exemption(None, network, port)
