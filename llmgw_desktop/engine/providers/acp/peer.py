"""An editor on the other side of an ACP agent's turn (`llmgw-desktop acp --agent NAME`).

A front door that fronts an agent for an editor hands the call one of these: the turn forwards
the agent's `session/update`s to it as they come, and puts the agent's permission requests to
it (mirrored on the desk, `calls/acp_permissions.py`) once the caller's grant allows them.
Its `gateway_url` and `gateway_key` are where the agent's own model calls are sent and the
credential they carry (`gateway_env.routed_environment`), so each of them is recorded and
budgeted as the caller's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.providers.acp.turn import PermissionAsk

__all__ = ["AcpPeer", "EditorAsker"]

# The editor's answer to one permission request (True: allowed).
EditorAsker = Callable[[PermissionAsk], Awaitable[bool]]


@dataclass(frozen=True)
class AcpPeer:
    """The editor a turn talks through."""

    ask: EditorAsker  # the editor's answer to one permission request
    update: Callable[[Any], Awaitable[None]]  # one `session/update` of the agent, as it comes
    gateway_url: str = ""  # the gateway's own loopback address ("": the agent's own endpoint)
    gateway_key: str = ""  # the caller's connection key (`engine/auth/connection_keys.py`)
    # Images the editor attached to this prompt, (media type, base64 data): given to an agent
    # that takes images (its `promptCapabilities.image`), else the turn is refused.
    images: tuple[tuple[str, str], ...] = ()
