"""Token estimates without a tokenizer, labelled as estimates wherever they are reported; real
counts come from the upstream's or the CLI's usage.

Two rules, each kept because its numbers are already reported and stored:
- `estimate_text_tokens`: words and punctuation, long words counted per four characters. Close
  to BPE tokenizers for English prose and code (within ~15%); answer optimisation and
  compression report their saving with it, and prompt optimisation falls back to it only when
  the `o200k_base` tokenizer (`tokenizer.py`) cannot load.
- `tokens_for_chars`: four characters a token, for a size with no text at hand (a request's
  parts summed by `gateway/request_tokens.py`, a raw body's length).

And one bound, which is not an estimate: `tokens_at_most`, what a hard budget holds a call's
input at (one token a byte).
"""

from __future__ import annotations

import math
import re

__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "MESSAGE_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "TOOLS_PROMPT_TOKENS",
    "estimate_text_tokens",
    "tokens_at_most",
    "tokens_for_chars",
]

CHARS_PER_TOKEN = 4
# What an image is counted as, whatever its size.
IMAGE_TOKENS = 1600

# What a chat template adds around each message (its role and separators), and before the
# reply it primes: OpenAI's published counting rule for its chat models (3 and 3); the others'
# templates are of the same size. In a conversation of short messages they are most of what
# is billed.
MESSAGE_TOKENS = 3
REPLY_PRIMING_TOKENS = 3

# What a vendor may add to a request that offers tools, beyond the tools' own text (Anthropic's
# tool-use system prompt is a few hundred tokens).
TOOLS_PROMPT_TOKENS = 1024

_TOKENISH = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def estimate_text_tokens(text: str) -> int:
    """Estimated tokens of `text`: one per word or punctuation mark, a long word one per four
    characters; 0 for empty text."""
    return sum(max(1, (len(piece) + 3) // 4) for piece in _TOKENISH.findall(text))


def tokens_for_chars(chars: int) -> int:
    """Estimated tokens of `chars` characters of text or JSON, rounded up."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def tokens_at_most(size: int) -> int:
    """The most input tokens `size` bytes of UTF-8 text (or of the JSON carrying it) can be
    billed as: one a byte, as every current vendor's tokenizer spends at least a byte of text on
    a token (byte-level BPE; SentencePiece falls back to bytes). Four bytes a token is an
    estimate, not a bound: o200k_base reads random ASCII at 1.3 bytes a token and rare CJK
    characters at 1.0, so a prompt of them held at four passed a hard budget 3.2 times over
    (red team, 2026-11-29). A hard budget holds this."""
    return size if size > 1 else 1
