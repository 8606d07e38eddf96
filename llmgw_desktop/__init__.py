"""llmgw-desktop: a local-first gateway between your coding tools and every LLM."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("llmgw-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
