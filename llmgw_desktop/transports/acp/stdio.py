"""An ACP agent on this process's stdin and stdout, until the editor closes them.

The SDK's `run_agent` runs the agent over our framing (`NdjsonPipe` with
`answer_malformed`): a line that is not JSON-RPC gets a JSON-RPC error naming what was wrong,
and nothing but JSON-RPC is ever written to stdout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import acp

from llmgw_desktop.engine.api import NdjsonPipe
from llmgw_desktop.transports.line_caps import ACP_LINE_BYTES

__all__ = ["MAX_LINE_BYTES", "serve_agent"]

# The ACP doors' line cap, the socket's and stdio's alike (`doors.py`).
MAX_LINE_BYTES = ACP_LINE_BYTES


async def serve_agent(
    agent: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve `agent` until the editor closes its end."""
    pipe = NdjsonPipe(reader, writer, max_line_bytes=MAX_LINE_BYTES, answer_malformed=True)
    await acp.run_agent(agent, pipe)
