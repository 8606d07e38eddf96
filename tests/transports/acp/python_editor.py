"""An editor written with the official Python ACP SDK (`agent-client-protocol`'s client side),
driving `llmgw-desktop acp --model/--agent` as a child process: what it was sent (updates,
permission questions) is kept for the test to read, and each permission question is answered
by the test's chosen option kind."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import acp
from acp import schema

__all__ = ["PythonEditor", "editor_of", "open_session"]


@dataclass
class PythonEditor:
    """The client side: it records `session/update`s and answers permission requests."""

    answer_kind: str = "allow_once"
    # An option id to answer with whatever was offered (an editor forging the agent's own).
    forged_option_id: str | None = None
    updates: list[Any] = field(default_factory=list)
    asked: list[list[str]] = field(default_factory=list)

    def on_connect(self, conn: Any) -> None:
        """Nothing to keep: the test holds the connection."""

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update)

    async def request_permission(
        self, session_id: str, tool_call: Any, options: list[Any], **_: Any
    ) -> Any:
        self.asked.append([str(o.kind) for o in options])
        if self.forged_option_id is not None:
            return schema.RequestPermissionResponse(
                outcome=schema.AllowedOutcome(outcome="selected", option_id=self.forged_option_id)
            )
        chosen = next((o for o in options if o.kind == self.answer_kind), None)
        if chosen is None:
            return schema.RequestPermissionResponse(
                outcome=schema.DeniedOutcome(outcome="cancelled")
            )
        return schema.RequestPermissionResponse(
            outcome=schema.AllowedOutcome(outcome="selected", option_id=chosen.option_id)
        )

    def texts(self, kind: str = "agent_message_chunk") -> list[str]:
        """The text of each update of `kind`, in order."""
        return [
            u.content.text
            for u in self.updates
            if getattr(u, "session_update", None) == kind and hasattr(u.content, "text")
        ]


@asynccontextmanager
async def editor_of(
    *args: str, cwd: Path, editor: PythonEditor | None = None, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[Any, PythonEditor]]:
    """`llmgw-desktop acp ARGS` spawned as an editor spawns it, initialised as "pyzed"; the
    connection and the editor side."""
    side = editor or PythonEditor()
    async with acp.spawn_agent_process(
        side,  # type: ignore[arg-type]
        sys.executable,
        "-m",
        "llmgw_desktop",
        "acp",
        *args,
        cwd=cwd,
        # The SDK trims the environment to a few names; the app finds its data directory (the
        # test's) through LLM_GATEWAY_DATA_DIR.
        env=dict(os.environ if env is None else env),
    ) as (conn, _process):
        await conn.initialize(
            protocol_version=acp.PROTOCOL_VERSION,
            client_capabilities=schema.ClientCapabilities(),
            client_info=schema.Implementation(name="pyzed", version="1"),
        )
        yield conn, side


async def open_session(conn: Any, cwd: Path) -> str:
    """A new session in `cwd`; its id."""
    return str((await conn.new_session(cwd=str(cwd), mcp_servers=[])).session_id)
