"""Mask secrets (API keys, bearer tokens, passwords) in text before it is logged or stored."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REDACTED", "redact", "redact_data"]

REDACTED = "[REDACTED]"

# Well-known key shapes, kept with a short prefix so a reader can still tell which kind it was.
_KEY_SHAPES = re.compile(
    r"\b(sk-ant-|sk-proj-|sk-|gsk_|xai-|ghp_|gho_|ghu_|ghs_|github_pat_|AIza|hf_|mcp_)"
    r"[A-Za-z0-9_\-]{12,}"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
# key=value and "key": "value" pairs whose name says they hold a secret.
_NAMED = re.compile(
    r"""(?ix)
    (["']?[\w.\-]*(?:api[_-]?key|token|secret|password|passwd|authorization|credential)
     [\w\-]*["']?\s*[:=]\s*)
    (["']?)([^\s"',;&}]{4,})
    """
)


def redact(text: str, *, named: bool = True) -> str:
    """Return `text` with anything that looks like a secret replaced by `[REDACTED]`.

    `named=False` masks only unmistakable secrets (known key shapes, bearer tokens) and leaves
    `password = ...`-style pairs alone: model output about code is full of those, and masking
    them would corrupt the answer a caller fetches later.
    """
    text = _KEY_SHAPES.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + " " + REDACTED, text)
    if not named:
        return text
    return _NAMED.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def redact_data(value: Any, *, named: bool = True) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string passed through `redact`."""
    if isinstance(value, str):
        return redact(value, named=named)
    if isinstance(value, dict):
        return {k: redact_data(v, named=named) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, named=named) for v in value]
    return value
