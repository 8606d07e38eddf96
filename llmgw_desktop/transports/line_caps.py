"""The largest line a pipe or socket door reads: rows of `doors.py`'s table, kept here so the
stdio relays an editor spawns read them without building the table (`tests/
test_startup_imports.py`); and `LineTooLong`, how a stdio door refuses a line past its cap."""

from __future__ import annotations

__all__ = ["ACP_LINE_BYTES", "MCP_EVENT_BYTES", "LineTooLong"]

# The largest JSON-RPC line an editor may send an ACP door (the socket's message, a stdio line).
ACP_LINE_BYTES = 32 * 1024 * 1024
# The largest line the MCP stdio relay reads from its editor, and event from the gateway.
MCP_EVENT_BYTES = 64 * 1024 * 1024


class LineTooLong(ValueError):
    """An editor wrote a line past its stdio door's cap: the session ends, as a pipe that
    framed nothing more can end (what follows is the rest of that line, not a message).
    `llmgw-desktop mcp` says this and exits 1, whether it relays or serves in process."""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"a line on stdin passed {cap // (1024 * 1024)} MiB without a newline, the largest "
            "message this door reads; the connection is closed (an MCP message is one JSON "
            "line: send large content in parts, or as a file path)"
        )
        self.cap = cap
