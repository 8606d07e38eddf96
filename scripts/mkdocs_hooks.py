"""MkDocs hook (mkdocs.yml `hooks:`): the build fails under --strict when a generated page is
stale, so the site never shows a setting or an error code the code no longer has, or lacks one
it has. Regenerate with `python scripts/docs_reference.py`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from docs_reference import stale_pages

log = logging.getLogger("mkdocs.plugins.llmgw")


def on_pre_build(config: Any) -> None:
    """Warn (an error under --strict) for each generated page out of step with the code."""
    for page in stale_pages():
        log.warning("%s is out of date: run python scripts/docs_reference.py", page)
