"""Room for the request bodies one gateway process holds at once (`http.max_body_bytes_in_flight`).

`http.max_body_bytes` bounds one body, and `http.max_connections_per_address` the connections of
one address; neither bounds their product. A caller holding 256 connections, each sending a body
near the cap, made the gateway read gigabytes into memory (and more once parsed), and behind a
trusted proxy the per-address cap does not apply at all. So every request that carries a body
takes room for it at the edge, once its door has let it in and before its handler reads a byte,
and gives it back when its handler ends (a parsed body lives as long as its request). A request
finding no room is refused at once with a wait (`saturated`, 429 and `Retry-After`), which the
SDKs and coding CLIs retry by themselves; nothing of its body was read.

A body's room is its declared length, or the whole cap for one sent without a length (reading
stops at the cap) or compressed (inflated before its handler reads it, up to the cap). A request
that carries no body (GET, an upgrade) takes none, and a single body always fits a gateway
holding none, whatever the two settings say of each other.
"""

from __future__ import annotations

from aiohttp import hdrs, web

from llmgw_desktop.engine.api import ErrorCode
from llmgw_desktop.transports.http_errors import EdgeRefusal

__all__ = ["BodyRoom", "no_room"]

# How long a caller refused for want of room is told to wait: bodies are read in milliseconds
# on loopback, and the SDKs back off further on each retry.
RETRY_AFTER_S = 1
_PLAIN = ("", "identity")  # the Content-Encoding of a body sent as it is


class BodyRoom:
    """The bytes of request bodies held now, against the process's limit."""

    def __init__(self, limit: int, body_cap: int) -> None:
        self.limit = limit
        self._body_cap = body_cap
        self.held = 0

    def take(self, request: web.BaseRequest) -> int | None:
        """Room for `request`'s body (its bytes, 0 when it has none); None when there is none
        to give, the request to be refused."""
        declared = request.content_length
        # A compressed body is inflated before its handler reads it: its declared length says
        # nothing of what it holds once read.
        coding = request.headers.get(hdrs.CONTENT_ENCODING) if declared else None
        if declared is None or (coding is not None and coding.strip().lower() not in _PLAIN):
            need = self._body_cap if request.body_exists else 0
        else:
            cap = self._body_cap
            need = declared if declared < cap else cap  # not min(): `engine/values.py`
        if not need:
            return 0
        if self.held and self.held + need > self.limit:
            return None
        self.held += need
        return need

    def give_back(self, taken: int) -> None:
        self.held -= taken


def no_room(room: BodyRoom) -> EdgeRefusal:
    """The refusal of a body that finds no room: a wait, naming the setting."""
    refusal = EdgeRefusal(
        ErrorCode.SATURATED,
        f"the gateway holds {room.held} bytes of request bodies already, and this one would "
        f"pass its {room.limit} byte limit (http.max_body_bytes_in_flight); retry after "
        "Retry-After, or raise the setting",
    )
    refusal.details["retry_after_s"] = RETRY_AFTER_S
    return refusal
