"""How a serving process collects cyclic garbage: less often, and never walking what start-up
made.

Every gateway request builds thousands of short-lived containers (a coding agent's request is
tens of kilobytes of JSON). With Python's defaults the youngest generation is collected every
700 allocations, several times per request, and every full collection walks all the modules,
protocol models and engine parts loaded at start-up. Measured with `bench/gateway_overhead.py`
(docs/PERFORMANCE.md): freezing what is alive once the gateway serves, and collecting the
youngest generation every 10,000 allocations, cut the gateway's CPU per request by about a
quarter for one-line requests and two fifths for 40 KB agent requests. Garbage cycles live a
little longer; memory stays flat, because request objects are freed by reference counting.

The desktop app does the same through `ui/gc_guard.py`, which also keeps collection on the
GUI thread.
"""

from __future__ import annotations

import gc

__all__ = ["SERVING_THRESHOLDS", "freeze_late_arrivals", "note_frozen", "tune_for_serving"]

# Allocations before a young collection, then young (and middle) collections before the next
# older one. Python's defaults are (700, 10, 10).
SERVING_THRESHOLDS = (10_000, 20, 20)

# Whether this process froze its start-up objects itself (a test runner hosting many apps
# manages its own permanent generation, and is left alone).
_froze = False


def note_frozen(frozen: bool = True) -> None:
    """Record that the app froze its start-up objects, or gave them back (`ui/gc_guard.py`
    freezes its own way, and unfreezes when it stops)."""
    global _froze
    _froze = frozen


def tune_for_serving() -> None:
    """Collect once, freeze everything alive now, and collect less often from here on
    (automatically: a headless start turns collection off until now, `shell/startup.py`)."""
    gc.collect()
    gc.freeze()
    note_frozen()
    gc.set_threshold(*SERVING_THRESHOLDS)
    gc.enable()


def freeze_late_arrivals() -> None:
    """Freeze what loaded after start-up (the MCP SDK and its protocol models load in the
    background once the door is open: tens of thousands of objects every full collection would
    otherwise walk again). No collection first: that would hold the loop for a full walk, and
    what little import garbage there is stays frozen."""
    if _froze:
        gc.freeze()
