"""Mask secrets (API keys, bearer tokens, passwords) in text before it is logged or stored."""

from __future__ import annotations

import re

__all__ = ["REDACTED", "redact"]

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


def redact(text: str) -> str:
    """Return `text` with anything that looks like a secret replaced by `[REDACTED]`."""
    text = _KEY_SHAPES.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + " " + REDACTED, text)
    return _NAMED.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
