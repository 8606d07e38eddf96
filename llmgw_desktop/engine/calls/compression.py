"""Opt-in token optimisation for prompts and answers, measured rather than claimed.

- `optimize_text` (optimizePrompt, optimizeResponse): whitespace the model does not need is
  removed outside fenced code blocks: trailing spaces, runs of blank lines, runs of spaces
  inside a line (leading indentation is kept, since it can carry meaning in lists and YAML).
- `compress_text` (compressResponse): lossless folding of a line repeated three or more times
  in a row into the line and a count marker, from which the exact original can be restored.

Code blocks (``` or ~~~ fences) are never altered. Token counts are estimated the same way
before and after (`tokens.estimate.estimate_text_tokens`), and the recorder keeps both, so a
reported saving is a measurement of what was sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmgw_desktop.engine.tokens.estimate import estimate_text_tokens

__all__ = [
    "INNER_SPACES",
    "Optimized",
    "compress_text",
    "fenced_segments",
    "optimize_text",
]

# A fence line (CommonMark): indentation or blockquote markers, three or more backticks or
# tildes, then an info string (a closing fence has none).
_FENCE = re.compile(r"^[ \t]*(?:>[ \t]*)*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# Runs of spaces between words. Not tabs: a run of tabs is an empty column of pasted TSV.
INNER_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
REPEAT_MARKER = "⟦×{n}⟧"
# A line of the original that itself starts with "⟦" is escaped, so it is never mistaken
# for a marker when expanding.
ESCAPE = "⟦=⟧"
MIN_REPEAT = 3


@dataclass(frozen=True)
class Optimized:
    text: str
    tokens_before: int
    tokens_after: int

    def to_dict(self) -> dict[str, int]:
        return {"tokensBefore": self.tokens_before, "tokensAfter": self.tokens_after}


def fenced_segments(text: str) -> list[tuple[bool, list[str]]]:
    """The text as runs of lines, each marked as inside a code fence or not."""
    runs: list[tuple[bool, list[str]]] = []
    opened = ""  # the open fence's backticks or tildes; "" outside code
    for line in text.split("\n"):
        fence = _FENCE.match(line)
        if opened:
            # Only a bare fence of the same character, at least as long, closes the block: a
            # ``` line inside a ```` block (Markdown about Markdown) or a ~~~ inside ``` is code.
            closes = (
                fence is not None
                and fence["fence"][0] == opened[0]
                and len(fence["fence"]) >= len(opened)
                and not fence["info"].strip()
            )
            is_fence = closes
        else:
            # A backtick fence's info string has no backtick (CommonMark): "```a```" is inline.
            is_fence = fence is not None and not (fence["fence"][0] == "`" and "`" in fence["info"])
        inside = bool(opened) or is_fence
        if not runs or runs[-1][0] != inside:
            runs.append((inside, []))
        runs[-1][1].append(line)
        if is_fence and fence is not None:
            opened = "" if opened else fence["fence"]
    return runs


def optimize_text(text: str) -> Optimized:
    """`text` with unneeded whitespace removed outside code blocks."""
    out: list[str] = []
    for in_code, lines in fenced_segments(text):
        if in_code:
            out.extend(lines)
            continue
        blank = 0
        for line in lines:
            line = INNER_SPACES.sub(" ", line.rstrip())
            blank = blank + 1 if not line else 0
            if blank <= 1:
                out.append(line)
    result = "\n".join(out).strip("\n")
    return Optimized(result, estimate_text_tokens(text), estimate_text_tokens(result))


def compress_text(text: str) -> Optimized:
    """Fold runs of identical lines (outside code) into one line and a count; lossless."""
    out: list[str] = []
    for in_code, lines in fenced_segments(text):
        if in_code:
            out.extend(lines)
            continue
        index = 0
        while index < len(lines):
            line = lines[index]
            run = 1
            while index + run < len(lines) and lines[index + run] == line:
                run += 1
            kept = ESCAPE + line if line.startswith("⟦") else line
            if run >= MIN_REPEAT and line.strip():
                out.extend([kept, REPEAT_MARKER.format(n=run - 1)])
            else:
                out.extend([kept] * run)
            index += run
    result = "\n".join(out)
    return Optimized(result, estimate_text_tokens(text), estimate_text_tokens(result))
