"""The largest line a pipe or socket door reads: rows of `doors.py`'s table, kept here so the
stdio relays an editor spawns read them without building the table (`tests/
test_startup_imports.py`)."""

from __future__ import annotations

__all__ = ["ACP_LINE_BYTES", "MCP_EVENT_BYTES"]

# The largest JSON-RPC line an editor may send an ACP door (the socket's message, a stdio line).
ACP_LINE_BYTES = 32 * 1024 * 1024
# The largest line the MCP stdio relay reads from its editor, and event from the gateway.
MCP_EVENT_BYTES = 64 * 1024 * 1024
