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
    found = _installed_version()
    if found is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("llmgw-desktop")
        except PackageNotFoundError:  # running from a source tree that was never installed
            found = "0.0.0+source"
    globals()["__version__"] = found
    return found


def _installed_version() -> str | None:
    """The `Version:` of our own `.dist-info` on `sys.path`, read directly: importing
    `importlib.metadata` (and the email parser it loads) took longer than the rest of
    `--version` together. None when there is none to read (importlib.metadata then looks)."""
    import sys
    from pathlib import Path

    for entry in sys.path:
        try:
            found = list(Path(entry or ".").glob("llmgw_desktop-*.dist-info"))
        except OSError:
            continue
        for folder in found:
            try:
                with (folder / "METADATA").open(encoding="utf-8") as meta:
                    for line in meta:
                        if line.startswith("Version:"):
                            return line.split(":", 1)[1].strip()
                        if not line.strip():
                            break  # the headers ended without one
            except OSError:
                continue
    return None
