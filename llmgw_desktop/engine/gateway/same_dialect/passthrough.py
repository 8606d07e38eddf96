"""Same dialect, same bytes: forwarding a request to an upstream that speaks the client's
dialect, and reading back only what the recorder needs.

The client's body goes out as it came (unknown fields, tool types, content blocks and roles
included); only the model name changes, our own fields (`project`) are taken out, and an OpenAI
Chat stream is asked for its usage. Headers go out as the client sent them, except credentials,
hop-by-hop headers and our own. The answer comes back as the upstream sent it; usage is read
from it on the side, leniently: an answer we cannot read is still the client's answer.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
)
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.translation import encode_request
from llmgw_desktop.engine.values import stores_directly

__all__ = [
    "GATEWAY_FIELDS",
    "forwardable_headers",
    "forwardable_query",
    "passthrough_body",
    "relayable_headers",
    "splice_field",
    "splice_members",
]

log = logging.getLogger(__name__)

# The query parameters each dialect's chat endpoint defines, passed on to its own upstream.
_FORWARDED_QUERY: Mapping[str, frozenset[str]] = {DIALECT_ANTHROPIC: frozenset({"beta"})}
# Gateway-only fields a client may put in its body; never sent upstream.
GATEWAY_FIELDS = ("project",)
_GATEWAY_FIELD_SET = frozenset(GATEWAY_FIELDS)  # asked of every body at once
# Request headers that never go upstream: the connection's own, the client's credentials (the
# upstream gets ours), our own routing headers, and where the request came from.
_NOT_FORWARDED = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        # The body goes as the gateway writes it: inflated if it came compressed.
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "accept-encoding",
        "cookie",
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "origin",
        "referer",
        "forwarded",
        "x-real-ip",
        "x-caller",
        "x-project",
        "x-workspace",
        "x-session-id",
        "x-llmgw-instance-token",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
        # They pick which account the operator's key bills; a caller must not choose that.
        "openai-organization",
        "openai-project",
        "x-goog-user-project",
    }
)
_NOT_FORWARDED_PREFIXES = ("x-gateway-", "x-forwarded-", "sec-", "proxy-")
# Client header names whose fate is remembered (`_forwarded_name`): past this many, the least
# recently sent are worked out again.
FORWARDED_NAMES_KEPT = 256
# Upstream answer headers that describe the upstream's connection, not the answer.
_NOT_RELAYED = frozenset(
    {
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "set-cookie",
        "date",
        "server",
        "alt-svc",
        "strict-transport-security",
        "via",
        "cf-ray",
        "cf-cache-status",
        # They name the operator's account at the vendor (organisation, project): a caller
        # learns whose key it spends, and could name it to the vendor.
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
        "x-goog-user-project",
        # Hop-by-hop (RFC 9110 7.6.1): they describe the upstream's connection, and our answer
        # is framed again by our own server (no trailers, no protocol switch).
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "proxy-authenticate",
    }
)
_NOT_RELAYED_PREFIXES = ("x-gateway-", "access-control-")


def forwardable_headers(
    headers: Iterable[tuple[str, str]], *, private: Iterable[str] = ()
) -> dict[str, str]:
    """The client's headers that go upstream with a same-dialect request, names lower-cased
    (repeated ones joined). `private` names more headers to keep back (the trusted-principal
    header, when one is configured)."""
    kept_back = {name.lower() for name in private if name}
    out: dict[str, str] = {}
    for raw_name, value in headers:
        name = _forwarded_name(raw_name)
        if name is None or (kept_back and name in kept_back):
            continue
        if not value.isascii():
            # aiohttp reads header bytes as UTF-8 (the rest as surrogates) and our HTTP client
            # writes latin-1: written back as the client's own bytes, an emoji in an `X-Title`
            # goes through instead of failing the request (and `é` is not sent as another byte).
            value = value.encode("utf-8", "surrogateescape").decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


@functools.lru_cache(maxsize=FORWARDED_NAMES_KEPT)
def _forwarded_name(raw_name: str) -> str | None:
    """A client's header name as it goes upstream (lower case), or None for one that never
    does. Kept by the name as the client wrote it: clients send the same few names with every
    request, found by their hash where lowering and testing each cost a request thousands of
    instructions."""
    name = raw_name.lower()
    if name in _NOT_FORWARDED or name.startswith(_NOT_FORWARDED_PREFIXES):
        return None
    return name


def relayable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The upstream's answer headers a same-dialect client gets back (request ids, rate-limit
    figures), without those of the upstream's connection, ours, and any CORS grant: browsers
    are answered by our own policy (closed unless configured), never by the upstream's."""
    return {
        name: value
        for name, value in headers.items()
        if name not in _NOT_RELAYED and not name.startswith(_NOT_RELAYED_PREFIXES)
    }


@stores_directly
@dataclass(frozen=True)
class ForwardedBody:
    """What goes upstream, and whether the gateway added a usage chunk to an OpenAI Chat
    stream that the client did not ask for (and must not see)."""

    data: bytes
    added_usage: bool = False


def forwardable_query(dialect: str, query: str) -> str:
    """The parameters of a client's query string that `dialect` defines for its chat
    endpoint, encoded for the upstream (`beta=true` on Anthropic's `/v1/messages`, which
    Claude Code sends); none else goes on: a name the gateway sets itself (Gemini's `key`,
    `alt`) must not be the client's to change."""
    names = _FORWARDED_QUERY.get(dialect)
    if not names or not query:
        return ""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in names]
    return urlencode(kept)


def passthrough_body(
    dialect: str,
    body: dict[str, Any],
    raw: bytes,
    model: str,
    *,
    stream: bool,
    stream_usage: bool,
    sent_with: Mapping[str, Any] | None = None,
) -> ForwardedBody:
    """The client's request for an upstream of its own dialect: the raw bytes themselves when
    nothing has to change, else the body with the model replaced, our fields taken out and
    `sent_with` (what the gateway sets on the caller's behalf, `remote_passthrough.py`) set.

    Raises:
        InvalidRequest: the body must be written again and is nested too deeply for that.
    """
    changes: dict[str, Any] = dict(sent_with or {})
    if dialect != DIALECT_GEMINI and body.get("model") != model:
        changes["model"] = model
    added_usage = dialect == DIALECT_OPENAI_CHAT and stream and not stream_usage
    options = body.get("stream_options")
    if added_usage:
        changes["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    # Our own fields are taken out, so a body holding one must be written again.
    ours = not _GATEWAY_FIELD_SET.isdisjoint(body)
    if not ours and not changes:
        return ForwardedBody(raw)
    if not ours and changes.keys().isdisjoint(body):
        # Only members the client did not send (the usual OpenAI Chat stream's usage, the
        # output limit a hard budget held): appended, and the client's bytes stay as they are
        # (writing a coding agent's 40 KB request again cost more than the rest of it). Never
        # over a member that is there, even `null`: spliced again it would be a duplicate key,
        # which strict parsers refuse and first-wins parsers read as the client's value.
        spliced = splice_members(raw, changes)
        if spliced is not None:
            return ForwardedBody(spliced, added_usage)
    out = {k: v for k, v in body.items() if k not in GATEWAY_FIELDS} | changes
    return ForwardedBody(encode_request(out), added_usage)


# What JSON allows between tokens (`bytes.rstrip` strips these and a few more).
_JSON_SPACE = frozenset(b" \t\r\n")


def splice_field(raw: bytes, name: str, value: Any) -> bytes:
    """`raw` (a JSON object's text) with one more member at its end, without parsing it
    again: the answer's own bytes stay as the upstream wrote them."""
    return splice_members(raw, {name: value}) or raw


def splice_members(raw: bytes, members: Mapping[str, Any]) -> bytes | None:
    """`raw` (a JSON object's text, none of whose members `members` names) with `members`
    added at its end, without parsing it again; None where `raw` does not end the object
    (the caller then writes the body again: a limit must never be dropped for its bytes)."""
    end = raw.rstrip()
    if not end.endswith(b"}"):
        return None
    cut = len(end) - 1  # the object's body ends here, before its closing brace
    while cut and end[cut - 1] in _JSON_SPACE:
        cut -= 1
    # The members written as one object, its braces cut: the same text as each written on
    # its own and joined by commas, in one call.
    added = jsonio.dumps(members if type(members) is dict else dict(members))[1:-1]
    comma = b"" if end[cut - 1 : cut] == b"{" or not added else b","
    # Joined from a view: the client's bytes copied once (an agent's body is 40 KB).
    return b"".join((memoryview(end)[:cut], comma, added, b"}"))
