"""Which 2026-07-28 requests the front door may answer beside the SDK (`direct_calls.py`).

A 2026-era request is one POST with its whole envelope (protocol version, client info and
capabilities in `params._meta`), no session. The SDK's entry for it checks the Accept header,
parses the body, validates the request, refuses a routing header sent twice, runs the inbound
ladder (`classify_inbound_request`: the envelope's keys, and the MCP-Protocol-Version,
Mcp-Method and Mcp-Name headers against the body), checks `Mcp-Param-*` headers against the
tool's input schema, then runs the middleware chain, where our upstream middleware relays a
call of the user's server's tool. This module runs the same checks with the SDK's own functions
and leaves to the SDK every request one of them would refuse (so its answer is the SDK's,
word for word), one that sends `Mcp-Param-*` headers or names a tool with an input schema of
ours, and one that asks for progress (that is streamed). The SDK is imported before this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from mcp.server.streamable_http import check_accept_headers
from mcp.shared.inbound import (
    MCP_PARAM_HEADER_PREFIX,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types import ClientCapabilities, Implementation
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError

from llmgw_desktop.transports.gateway.callers import clean_caller
from llmgw_desktop.transports.mcp.upstream import progress_token

__all__ = ["ModernCall", "is_modern", "modern_call"]

_PARAM_PREFIX = MCP_PARAM_HEADER_PREFIX.lower()

# The low-level server's lookup of one of our tools' input schemas (None for any other name).
SchemaLookup = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class ModernCall:
    """A 2026-era `tools/call` of the user's server's tool that passed the SDK's checks."""

    request_id: str | int
    name: str
    arguments: dict[str, Any] | None
    client: str  # the `clientInfo` name of its envelope, cleaned ("" without one)


def is_modern(request: web.Request) -> bool:
    """Whether the SDK serves `request` as a 2026-era one (by its header alone, as it routes)."""
    version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
    return version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS


def modern_call(
    request: web.Request,
    message: dict[str, Any],
    owns: Callable[[str], bool],
    input_schema: SchemaLookup | None,
) -> ModernCall | None:
    """The call to answer beside the SDK, or None for the SDK to serve `request` (a POST whose
    JSON body is `message`). `owns` says whether a name is a tool of the user's servers."""
    if check_accept_headers(request) != (True, True):  # type: ignore[arg-type]
        return None
    request_id, method, params = message.get("id"), message.get("method"), message.get("params")
    if (
        message.get("jsonrpc") != "2.0"
        or method != "tools/call"
        or isinstance(request_id, bool)
        or not isinstance(request_id, str | int)
        or not isinstance(params, dict)
        or progress_token(params) is not None
    ):
        return None
    name, arguments = params.get("name"), params.get("arguments")
    if not isinstance(name, str) or not owns(name):
        return None
    if not (arguments is None or isinstance(arguments, dict)):
        return None
    if find_duplicated_routing_header(request.headers.items()) is not None:
        return None
    headers = {key.lower(): value for key, value in request.headers.items()}
    verdict = classify_inbound_request(message, headers=headers)
    if not isinstance(verdict, InboundModernRoute):
        return None
    if any(key.startswith(_PARAM_PREFIX) for key in headers):
        return None  # the SDK checks them against the tool's schema, and answers a mismatch
    if input_schema is not None and input_schema(name) is not None:
        return None  # a tool of ours by that name: the SDK's to serve
    return ModernCall(request_id, name, arguments, _client_name(verdict))


def _client_name(verdict: InboundModernRoute) -> str:
    """The client's name as the SDK's path finds it: from the envelope's client info, only
    when it and the capabilities are well-formed (else the SDK's connection has no client)."""
    try:
        info = Implementation.model_validate(verdict.client_info, by_name=False)
        ClientCapabilities.model_validate(verdict.client_capabilities, by_name=False)
    except ValidationError:
        return ""
    return clean_caller(info.name)
