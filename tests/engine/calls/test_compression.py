from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from llmgw_desktop.engine.calls.compression import (
    ESCAPE,
    compress_text,
    fenced_segments,
    optimize_text,
)

_MARKER = re.compile(r"^⟦×(\d+)⟧$")


def expand_text(text: str) -> str:
    """Undo `compress_text` exactly: what makes it lossless (the gateway never needs it)."""
    out: list[str] = []
    for in_code, lines in fenced_segments(text):
        for line in lines:
            if in_code:
                out.append(line)
            elif line.startswith(ESCAPE):
                out.append(line[len(ESCAPE) :])
            elif (marker := _MARKER.match(line)) and out:
                out.extend([out[-1]] * int(marker.group(1)))
            else:
                out.append(line)
    return "\n".join(out)


CODE = "```python\ndef f():\n    x  =  1\n\n\n\n    return x   \n```"


def test_optimize_removes_needless_whitespace_outside_code_only() -> None:
    text = "Please   review   this.   \n\n\n\n\nIt  matters.\n  - indented  item\n" + CODE
    result = optimize_text(text)
    assert result.text.startswith("Please review this.\n\nIt matters.\n  - indented item\n")
    assert CODE in result.text
    assert result.tokens_after <= result.tokens_before


def test_compress_folds_repeats_and_expands_exactly() -> None:
    text = "header\n" + "same line\n" * 10 + "tail\n" + CODE + "\nx\nx\nx\nx"
    packed = compress_text(text)
    assert "⟦×9⟧" in packed.text and packed.tokens_after < packed.tokens_before
    assert CODE in packed.text
    assert expand_text(packed.text) == text


# Fences of every kind the segmenter tells apart (length, character, info string, blockquote).
LINES = ["a", "b", "", "```", "````", "~~~", "```py", "``` x", "> ```", "⟦×2⟧", "  c  "]


@given(st.lists(st.sampled_from(LINES), max_size=40))
def test_compress_is_lossless_for_any_text(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert expand_text(compress_text(text).text) == text
