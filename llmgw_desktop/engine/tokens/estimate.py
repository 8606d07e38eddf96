"""Token estimates without a tokenizer, labelled as estimates wherever they are reported; real
counts come from the upstream's or the CLI's usage.

Two rules, each kept because its numbers are already reported and stored:
- `estimate_text_tokens`: words and punctuation, long words counted per four characters. Close
  to BPE tokenizers for English prose and code (within ~15%); answer optimisation and
  compression report their saving with it, and prompt optimisation falls back to it only when
  the `o200k_base` tokenizer (`tokenizer.py`) cannot load.
- `tokens_for_chars`: four characters a token, for a size with no text at hand (a request's
  parts summed by `gateway/request_tokens.py`, a raw body's length).
"""

from __future__ import annotations

import math
import re

__all__ = ["CHARS_PER_TOKEN", "IMAGE_TOKENS", "estimate_text_tokens", "tokens_for_chars"]

CHARS_PER_TOKEN = 4
# What an image is counted as, whatever its size.
IMAGE_TOKENS = 1600

_TOKENISH = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def estimate_text_tokens(text: str) -> int:
    """Estimated tokens of `text`: one per word or punctuation mark, a long word one per four
    characters; 0 for empty text."""
    return sum(max(1, (len(piece) + 3) // 4) for piece in _TOKENISH.findall(text))


def tokens_for_chars(chars: int) -> int:
    """Estimated tokens of `chars` characters of text or JSON, rounded up."""
    return math.ceil(chars / CHARS_PER_TOKEN)
