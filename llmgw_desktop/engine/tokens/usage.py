"""The token counts of one exchange, in one shape for every dialect and every CLI.

The convention is Anthropic's: `input_tokens` excludes cache reads and writes, which are
counted apart; OpenAI's and Gemini's prompt counts include them (`total_input_tokens`). Each
dialect and CLI parser converts at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage"]


@dataclass(frozen=True)
class Usage:
    """Tokens of one exchange. `input_tokens` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        """All input, cached or not (OpenAI's and Gemini's `prompt` count)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
