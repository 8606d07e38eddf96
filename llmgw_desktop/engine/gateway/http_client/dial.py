"""Opening a connection to an upstream: directly, through an HTTP proxy, or through a tunnel.

- Direct: TCP (and TLS for https) to the upstream itself.
- `http://` upstream behind a proxy: TCP to the proxy; requests then name the absolute URL.
- `https://` upstream behind a proxy: TCP to the proxy, `CONNECT host:port`, and once the proxy
  answers 2xx, TLS with the upstream through the tunnel (`loop.start_tls`, which uvloop
  implements too). The proxy sees only where we connect, never a prompt.

Every failure before a request could be sent is a `ConnectError` whose message names what
could not be reached (the proxy by its label: never its password), so the gateway falls back
to the next route as for any unreachable upstream.
"""

from __future__ import annotations

import asyncio
import errno
import re
import ssl
from collections.abc import Callable
from typing import TypeVar

from llmgw_desktop.engine.gateway.http_client.proxies import Proxy

__all__ = ["ConnectError", "ProxyRefused", "dial"]

# A proxy's answer to CONNECT is a status line and a few headers; more is not a proxy.
MAX_PROXY_HEAD = 64 * 1024
MAX_REASON_CHARS = 120
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")

P = TypeVar("P", bound=asyncio.Protocol)


class ConnectError(OSError):
    """The TCP or TLS connection could not be made (nothing was sent)."""

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


class ProxyRefused(ConnectError):
    """The proxy answered CONNECT with something other than 2xx (`status`: its status)."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(errno.ECONNREFUSED, message)
        self.status = status


async def dial(
    protocol_factory: Callable[[], P],
    *,
    scheme: str,
    host: str,
    port: int,
    proxy: Proxy | None,
    tls: Callable[[], ssl.SSLContext],
    user_agent: str,
) -> P:
    """Connect to `scheme://host:port` (via `proxy` if given); the protocol is connected.

    The caller bounds the time this takes.

    Raises:
        ConnectError: the upstream or the proxy could not be reached, the proxy refused the
            tunnel (`ProxyRefused`), or TLS failed.
    """
    loop = asyncio.get_running_loop()
    secure = scheme == "https"
    if proxy is None:
        try:
            _, protocol = await loop.create_connection(
                protocol_factory,
                host,
                port,
                ssl=tls() if secure else None,
                server_hostname=host if secure else None,
            )
        except OSError as exc:
            raise ConnectError(exc.errno, exc.strerror or str(exc)) from None
        return protocol
    if proxy.problem:
        raise ConnectError(errno.EINVAL, proxy.problem)
    if not secure:
        # Plain http through a proxy is ordinary requests in absolute form on this connection.
        _, protocol = await _reach_proxy(loop, protocol_factory, proxy)
        return protocol
    transport, tunnel = await _reach_proxy(loop, _Tunnel, proxy)
    try:
        await tunnel.open(host, port, proxy, user_agent)
        protocol = protocol_factory()
        try:
            tls_transport = await loop.start_tls(transport, protocol, tls(), server_hostname=host)
        except OSError as exc:
            raise ConnectError(
                exc.errno, f"TLS with {host}:{port} through proxy {proxy.label} failed: {exc}"
            ) from None
    except BaseException:
        transport.close()
        raise
    if tls_transport is None:  # the loop's type says it may; only for a closing transport
        transport.close()
        raise ConnectError(errno.ECONNRESET, f"proxy {proxy.label} closed the tunnel")
    # start_tls hands the protocol its TLS transport without calling connection_made.
    protocol.connection_made(tls_transport)
    return protocol


async def _reach_proxy(
    loop: asyncio.AbstractEventLoop, protocol_factory: Callable[[], P], proxy: Proxy
) -> tuple[asyncio.Transport, P]:
    try:
        transport, protocol = await loop.create_connection(protocol_factory, proxy.host, proxy.port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConnectError(exc.errno, f"cannot reach proxy {proxy.label}: {reason}") from None
    return transport, protocol


class _Tunnel(asyncio.Protocol):
    """Asks the proxy for a tunnel and reads its answer; the connection then carries TLS."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._answer.done():
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end >= 0:
            assert self._transport is not None
            # Nothing more may be read until TLS takes over this connection (start_tls
            # resumes reading once its own protocol is in place).
            self._transport.pause_reading()
            self._answer.set_result(bytes(self._head[:end]))
        elif len(self._head) > MAX_PROXY_HEAD:
            self._answer.set_exception(ProxyRefused("the proxy's answer is too long", None))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._answer.done():
            self._answer.set_exception(ConnectionResetError())

    async def open(self, host: str, port: int, proxy: Proxy, user_agent: str) -> None:
        """Send CONNECT and wait for a 2xx answer.

        Raises:
            ProxyRefused: the proxy answered otherwise, or closed without an answer.
        """
        assert self._transport is not None
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [
            f"CONNECT {authority} HTTP/1.1",
            f"Host: {authority}",
            f"User-Agent: {user_agent}",
        ]
        if proxy.authorization:
            lines.append(f"Proxy-Authorization: {proxy.authorization}")
        self._transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            head = await self._answer
        except ConnectionResetError:
            raise ProxyRefused(
                f"proxy {proxy.label} closed the connection instead of opening a tunnel to "
                f"{authority}",
                None,
            ) from None
        except ProxyRefused as exc:
            raise ProxyRefused(f"proxy {proxy.label}: {exc.strerror}", None) from None
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        status = int(code) if code.isdigit() and len(code) == 3 else None
        if not version.startswith("HTTP/") or status is None:
            raise ProxyRefused(f"proxy {proxy.label} did not answer CONNECT with HTTP", None)
        if not 200 <= status < 300:
            reason = _UNPRINTABLE.sub("", reason)[:MAX_REASON_CHARS]
            raise ProxyRefused(
                f"proxy {proxy.label} refused a tunnel to {authority}: {status} {reason}".rstrip(),
                status,
            )
