"""The ERROR records a test may hold the gateway to, less what an earlier test left behind.

An official SDK client (anthropic, openai, google-genai) dropped without being closed closes
itself from `__del__` by scheduling its `aclose()` on whatever loop is running when the garbage
collector finds it: often a later test's. Its connections were made on the earlier test's loop,
closed since, so that task fails with "Event loop is closed" and asyncio logs it at ERROR in
the later test, which did nothing wrong (seen in CI: an MCP prompt test failed on a client an
earlier test on its worker had dropped)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

__all__ = ["errors_logged"]


def _dropped_client_closing_late(record: logging.LogRecord) -> bool:
    if record.name != "asyncio" or record.exc_info is None:
        return False
    error = record.exc_info[1]
    return (
        isinstance(error, RuntimeError)
        and str(error) == "Event loop is closed"
        and ".aclose()" in record.getMessage()
    )


def errors_logged(records: Iterable[logging.LogRecord]) -> list[logging.LogRecord]:
    """The records at ERROR or above, but an earlier test's dropped SDK client closing late."""
    return [
        r for r in records if r.levelno >= logging.ERROR and not _dropped_client_closing_late(r)
    ]
