"""A 2025-era request whose client went away before its answer is cancelled, as the client
would have cancelled it.

In a 2025-era session the SDK runs each request in the session's own task, not in its HTTP
request's: a client whose POST goes away before the answer (an editor killed, its stdio relay
stopped, the network gone) does not cancel it, and no answer can reach that client any more
(this front door keeps no event store to resume a stream from). A tool call running a coding
CLI then ran to its end for nobody, spending on the vendor account. So the front door says
what the client would have said: `notifications/cancelled` for the request of that POST,
through the SDK's own entry, as a POST of the same session by the same principal. The SDK
ignores it for a request answered meanwhile. A 2026-07-28 request, and every request of a
stateless front door, runs in its HTTP request's own scope, which the SDK cancels itself when
the client leaves.

The 2025 spec says a disconnect should not be taken for a cancel, because a client may resume
the stream (GET with Last-Event-ID) and read the answer from the server's event store. The SDK
drops an answer whose stream is gone unless it has one, and this front door gives it none, so
here the answer is lost for good; with an event store, this would have to go.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from llmgw_desktop.transports.asgi import ASGIApp, post_to_app

__all__ = ["REASON", "cancel_left", "request_ids"]

log = logging.getLogger(__name__)

# What the cancellation says, as `notifications/cancelled` carries a reason.
REASON = "the client went away before the answer"
# The answer the SDK gives a notification it took.
ACCEPTED = 202


def request_ids(body: bytes) -> list[str | int]:
    """The id of the JSON-RPC request `body` holds; none when it holds no request, or a batch.

    The SDK runs one request per POST and refuses a batch whole, before any of it runs, so a
    batch has nothing to cancel. Read as one id per message, one POST of a 16 MiB batch whose
    client left became some 300,000 notifications posted to the SDK (SECURITY finding 82).
    """
    try:
        message = json.loads(body)
    except ValueError:
        return []
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return []
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return []
    return [request_id]


async def cancel_left(
    app: ASGIApp, request: web.Request, body: bytes, *, state: dict[str, Any], user: Any
) -> None:
    """Tell the session of `request`, a 2025-era POST whose client left before its answer,
    that each request `body` held is cancelled. `state` and `user` are the POST's own."""
    for request_id in request_ids(body):
        notice = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": REASON},
        }
        status = await post_to_app(
            app, request, json.dumps(notice).encode(), state=state, user=user
        )
        if status == ACCEPTED:
            log.info("MCP request %r: %s; cancelled it", request_id, REASON)
        else:
            # The session ended meanwhile (its requests ended with it).
            log.debug("MCP request %r: the cancellation was answered %s", request_id, status)
