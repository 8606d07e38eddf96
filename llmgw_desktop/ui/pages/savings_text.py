"""What a call's optimisation saved, in words: "tokens 6,122 → 1,089 (saved 5,033, 82.2%) by
o200k_base (approximate for claude)". Shared by the Flight recorder's and the Jobs page's detail
panes; a pure function of the `optimization` JSON the engine records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["savings_lines"]

# What each part of the record measured; the answer's figures are the old word-based estimate.
_PARTS = (
    ("prompt", "Prompt"),
    ("response", "Answer"),
    ("compressedResponse", "Answer compression"),
)


def savings_lines(optimization: Any, indent: str = "  ") -> list[str]:
    """One line per measured part; [] when there is nothing to show."""
    if not isinstance(optimization, Mapping):
        return []
    lines = []
    for key, label in _PARTS:
        part = optimization.get(key)
        if isinstance(part, Mapping) and isinstance(part.get("tokensBefore"), int):
            lines.append(f"{indent}{label}: {_saving(part)}")
    return lines


def _saving(part: Mapping[str, Any]) -> str:
    before, after = int(part["tokensBefore"]), int(part.get("tokensAfter") or 0)
    saved = before - after
    share = f"{saved / before:.1%}" if before else "0%"
    text = f"tokens {before:,} → {after:,} (saved {saved:,}, {share})"
    text += f" by {part.get('tokenizer') or 'estimate'}"
    strategies = part.get("strategies")
    if isinstance(strategies, list):
        text += f" · {', '.join(map(str, strategies))}" if strategies else " · nothing to save"
    return text
