"""What one API target is sent: the bytes, the client's headers where the request goes as it
came, and for a translation the request in neutral form and what was left out of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.gateway.ir import ChatRequest
from llmgw_desktop.engine.gateway.output_limit import limit_changes
from llmgw_desktop.engine.gateway.translation import encode_request
from llmgw_desktop.engine.values import stores_directly

__all__ = ["Outgoing"]


@stores_directly
@dataclass(frozen=True)
class Outgoing:
    """What one target is sent: bytes, the client's headers (same dialect only), and for a
    translation, the client's request in neutral form and what was left out."""

    # A request that goes as it came sets the first six (positionally: `engine/values.py`),
    # a translation the first two and the last three.
    data: bytes
    passthrough: bool
    headers: Mapping[str, str] | None = None
    query: str = ""  # the client's query parameters the upstream's dialect defines, encoded
    added_usage: bool = False
    # The remote principal a relayed Responses answer's id is recorded for (its owner).
    owner: str | None = None
    request: ChatRequest | None = None
    notice: str | None = None
    # A translation's body before it was written (never changed after): a hard budget's
    # output limit is set on a copy of it instead of translating the request again.
    rendered: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def with_limit(
        self, rendered: Mapping[str, Any], dialect: str, chat_limit: str, limit: int | None
    ) -> Outgoing:
        """This translation with a hard budget's output limit (None: none) set on its rendered
        body `rendered` (whole top-level members: a shallow copy is enough), instead of the
        request translated again."""
        changes = (
            limit_changes(dialect, dict(rendered), limit, chat_limit=chat_limit) if limit else {}
        )
        sent = encode_request({**rendered, **changes})
        return dataclasses.replace(self, data=sent, rendered=None)
