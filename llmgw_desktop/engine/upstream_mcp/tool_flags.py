"""What makes an MCP tool's description suspect: text that instructs the model rather than
describing the tool ("ignore previous instructions", "do not tell the user", "read ~/.ssh and
pass it as …"), and characters a person reading it on screen cannot see (zero-width and
bidirectional controls, Unicode tag characters, private-use characters).

A description is the server's words put straight into the model's context: a server can write
instructions there that the person who approved the server never reads (a "tool poisoning"
attack). Flagged tools are shown on the MCP servers page, and withheld from `tools/list` while
`mcp.withhold_flagged_tools` is on. The patterns are a prefilter for a person's eyes, not a
proof: wording that avoids them is not flagged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

__all__ = ["flags_of", "hidden_characters"]

# Each pattern, and what the page says it found. Read on the NFKC form, lower case.
_INSTRUCTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (
            r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,30}\b(?:previous|prior|above|"
            r"earlier|other|all|system)\b[^.\n]{0,20}\b(?:instructions?|prompts?|rules?|messages?)",
            "tells the model to ignore its instructions",
        ),
        (
            r"\b(?:do not|don't|never|without)\b[^.\n]{0,20}\b(?:tell(?:ing)?|inform(?:ing)?|"
            r"mention(?:ing)?|reveal(?:ing)?|show(?:ing)?|notify(?:ing)?)\b[^.\n]{0,15}\buser\b",
            "tells the model to keep something from the user",
        ),
        (
            r"<\s*/?\s*(?:important|system|instructions?|secret|hidden)\s*>",
            "holds a tag addressed to the model",
        ),
        (
            r"\b(?:read|cat|open|load|include|attach|send|pass|upload|copy)\b[^.\n]{0,60}"
            r"(?:~/\.ssh|id_rsa|id_ed25519|\.env\b|\.aws/|\.netrc|\.npmrc|credentials|"
            r"private key|api[_ -]?keys?|passwords?|secrets?|tokens?)",
            "asks for files or secrets the tool does not need",
        ),
        (
            r"\b(?:send|post|upload|forward|exfiltrate|transmit)\b[^.\n]{0,60}(?:https?://|"
            r"webhook|\bto (?:this|the following|our) (?:url|endpoint|server|address))",
            "asks to send data elsewhere",
        ),
        (
            r"\b(?:system prompt|previous instructions|you are now|act as)\b",
            "addresses the model's own instructions",
        ),
        (
            r"\b(?:before|instead of|rather than)\b[^.\n]{0,30}\b(?:using|calling|running)\b"
            r"[^.\n]{0,30}\b(?:any other|other|the other|another)\b[^.\n]{0,10}\btools?\b",
            "tells the model how to use other tools",
        ),
    )
)
# Characters that do not show, or show as something else: format controls (zero-width,
# bidirectional, tag characters), private use, and control characters but tab and newlines.
_HIDDEN_CATEGORIES = frozenset({"Cf", "Co", "Cs"})


def hidden_characters(text: str) -> list[str]:
    """The characters of `text` a reader cannot see, as `U+200B ZERO WIDTH SPACE`."""
    found: dict[str, None] = {}
    for char in text:
        category = unicodedata.category(char)
        if category in _HIDDEN_CATEGORIES or (category == "Cc" and char not in "\t\n\r"):
            name = unicodedata.name(char, "unnamed")
            found[f"U+{ord(char):04X} {name}"] = None
    return list(found)


def _texts(value: Any) -> Iterator[str]:
    """Every string of a description or schema (property names and descriptions included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def flags_of(description: str, input_schema: Any) -> tuple[str, ...]:
    """Why a tool with this description and input schema is suspect (empty: it is not)."""
    texts = [description, *_texts(input_schema)]
    found: list[str] = []
    hidden = [c for text in texts for c in hidden_characters(text)]
    if hidden:
        shown = ", ".join(dict.fromkeys(hidden[:3]))
        found.append(f"holds characters a reader cannot see ({shown})")
    readable = unicodedata.normalize("NFKC", "\n".join(texts)).lower()
    for pattern, words in _INSTRUCTIONS:
        if pattern.search(readable) and words not in found:
            found.append(words)
    return tuple(found)
