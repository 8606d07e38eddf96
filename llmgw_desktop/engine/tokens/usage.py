"""The token counts of one exchange, in one shape for every dialect and every CLI.

The convention is Anthropic's: `input_tokens` excludes cache reads and writes, which are
counted apart; OpenAI's and Gemini's prompt counts include them (`total_input_tokens`). Each
dialect and CLI parser converts at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from llmgw_desktop.engine.values import stores_directly

__all__ = ["Usage"]


@stores_directly
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

    @property
    def total_tokens(self) -> int:
        """Everything the exchange used: all input plus the output (the dialects' `total`)."""
        # Summed here, not through `total_input_tokens`: reading a property is a call (about
        # 1,300 instructions on 3.11), and a request reads this twice.
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
            + self.output_tokens
        )

    def as_dict(self) -> dict[str, int]:
        """The counts by name, as the stores keep them (a dict made by hand: `asdict` copies
        deeply)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def since(self, earlier: Usage) -> Usage:
        """What was used after `earlier`, a snapshot of the same running totals (never below 0:
        a CLI that restarts its count reports the new count, not a negative one)."""
        return Usage(
            **{
                f.name: max(0, getattr(self, f.name) - getattr(earlier, f.name))
                for f in fields(self)
            }
        )
