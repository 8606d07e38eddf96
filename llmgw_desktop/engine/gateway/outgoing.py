"""What one API target is sent: the bytes, the client's headers where the request goes as it
came, and for a translation the request in neutral form and what was left out of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.gateway.ir import ChatRequest

__all__ = ["Outgoing"]


@dataclass(frozen=True)
class Outgoing:
    """What one target is sent: bytes, the client's headers (same dialect only), and for a
    translation, the client's request in neutral form and what was left out."""

    data: bytes
    passthrough: bool
    headers: Mapping[str, str] | None = None
    request: ChatRequest | None = None
    added_usage: bool = False
    notice: str | None = None
    # The remote principal a relayed Responses answer's id is recorded for (its owner).
    owner: str | None = None
    # A translation's body before it was written (never changed after): a hard budget's
    # output limit is set on a copy of it instead of translating the request again.
    rendered: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
