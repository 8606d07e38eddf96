"""llmgw-desktop: a local-first gateway between your coding tools and every LLM."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Looked up when first asked for: importlib.metadata and the scan of the installed
    # distributions cost tens of milliseconds that the stdio relay, spawned by editors on every
    # start, never needs.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("llmgw-desktop")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found
