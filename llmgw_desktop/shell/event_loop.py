"""The event loop of the processes without Qt (headless, and the stdio relay an editor
launches): uvloop where it is installed (not on Windows), the same asyncio API with a faster
core. The desktop app cannot use it (Qt owns that loop)."""

from __future__ import annotations

import asyncio

__all__ = ["new_event_loop"]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop, else asyncio's own: it cut the gateway's own cost per request by about a
    fifth, and the stdio relay's per message by about as much (docs/PERFORMANCE.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
