"""How the gateway reaches one of the user's MCP servers over Streamable HTTP (its headers,
and OAuth through the vault), and the `vault:NAME` values of a server's `env` and `headers`.

A stdio server's process is `stdio.py`'s; the connection (`connection.py`) picks the one or the
other for each run. Every secret read from the vault here is masked wherever this process
redacts from then on: a server may echo its own environment (red-team finding 4).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from llmgw_desktop.config.upstream_mcp import VAULT_PREFIX, UpstreamServerConfig
from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.engine.upstream_mcp.oauth import (
    OAuthVault,
    SignIn,
    VaultTokenStorage,
    oauth_provider,
)

__all__ = [
    "ANSWER_LIMIT_BYTES",
    "HTTP_CLOSE_S",
    "HTTP_TIMEOUT_S",
    "SecretLookup",
    "ServerDown",
    "http_streams",
    "resolved",
]

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 300.0
# How long the end of a Streamable HTTP connection may take: the SDK's DELETE of the session,
# and the requests still under way. A hung server (stopped, deadlocked) accepts them and never
# answers, and the HTTP client waits `HTTP_TIMEOUT_S` for each: the gateway's stop, or the
# server's restart after it was found hung, waited 300 s on it. A server that answers ends
# its session in milliseconds.
HTTP_CLOSE_S = 2.0
# The most of one answer read from a server over HTTP: a JSON body, or one event of a stream.
# The same as a stdio server's line (`stdio.LINE_LIMIT_BYTES`), see `http_cap.py`.
ANSWER_LIMIT_BYTES = 64 * 1024 * 1024

SecretLookup = Callable[[str], Awaitable[str | None]]


class ServerDown(Exception):
    """The server is not connected (would not start, or ended); the message says why."""


async def resolved(
    config: UpstreamServerConfig, values: Mapping[str, str], field: str, secret: SecretLookup
) -> dict[str, str]:
    """`values` (the server's `field`, "env" or "headers") with each `vault:NAME` replaced by
    the vault's key of that name.

    Raises:
        ServerDown: a value names a vault key that is not stored.
    """
    out: dict[str, str] = {}
    for key, value in values.items():
        if value.startswith(VAULT_PREFIX):
            name = value[len(VAULT_PREFIX) :].strip()
            found = await secret(name)
            if found is None:
                raise ServerDown(
                    f"{config.key(field)}.{key} names the vault key {name!r}, which "
                    f"is not stored (vault_store with provider {name!r} stores it)"
                )
            # Masked wherever this process redacts (recorder, logs, what remote callers
            # get back): a server may echo its own environment (red-team finding 4).
            known_secrets.add(found, source=f"vault:{name}")
            value = found
        out[key] = value
    return out


async def http_streams(
    config: UpstreamServerConfig,
    *,
    secret: SecretLookup,
    vault: OAuthVault | None,
    sign_in: SignIn,
    version: str,
) -> contextlib.AbstractAsyncContextManager[tuple[Any, Any]]:
    """The read and write streams of a Streamable HTTP server, to be entered (the SDK's client
    over our own httpx client, with the server's headers and, with `oauth`, its sign-in).

    Raises:
        ServerDown: a header names a vault key that is not stored, or `oauth` is on without a
            vault.
    """
    import anyio
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from llmgw_desktop.engine.upstream_mcp.http_cap import capped_json

    headers = await resolved(config, config.headers or {}, "headers", secret)
    auth = None
    if config.oauth:
        if vault is None:
            raise ServerDown(f"{config.key('oauth')} needs the vault, and there is none")
        storage = VaultTokenStorage(vault, config.name)
        auth = await oauth_provider(config.url, config.name, version, storage, sign_in)

    @contextlib.asynccontextmanager
    async def streams() -> Any:
        limit = ANSWER_LIMIT_BYTES
        async with httpx2.AsyncClient(
            # An answer's size on the wire is what the cap counts: no compression.
            headers={"Accept-Encoding": "identity", **headers},
            auth=auth,
            timeout=HTTP_TIMEOUT_S,
            event_hooks={"response": [capped_json(limit)]},
        ) as http:
            # No deadline while the connection serves (a tool may run for as long as the
            # call timeout allows); its end gets HTTP_CLOSE_S, then what is left is cancelled.
            with anyio.CancelScope() as ending:
                async with streamable_http_client(
                    config.url, http_client=http, max_sse_event_size=limit
                ) as pair:
                    try:
                        yield pair
                    finally:
                        ending.deadline = anyio.current_time() + HTTP_CLOSE_S
            if ending.cancelled_caught:
                log.warning(
                    "MCP server %s did not end its session within %g s; its connection was "
                    "closed without it",
                    config.name,
                    HTTP_CLOSE_S,
                )

    return streams()
