"""The gateway's own secrets (`redact.known_secrets`) and the key an upstream was sent, masked
as `[REDACTED]` where a stream splits them over its events (SECURITY.md 26).

Each frame of an answer is masked whole as it is read (`http_client/answer.py`), but a model
streams its text a few characters an event, so a secret it repeats may come in pieces, none
of which holds it. Here, in the client's dialect, each stream's text deltas are read as one
text per channel, by the guard's stream rewriter (`guard/stream_text.py`) with the one matcher
of known values (`guard/key_matcher.py`): an event whose delta ends as a secret begins waits
for the next event of its channel; where that shows no secret, the event goes on as it came,
byte for byte, and where it completes one, the secret goes out as `[REDACTED]`. Held text is
never lost nor reordered: it goes before any other event, and at the stream's end. A stream
holding no secret's start passes as it came, byte for byte, unparsed.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine.gateway.completions.wires import FimPiece
from llmgw_desktop.engine.gateway.results import EndingChunks, close_chunks
from llmgw_desktop.engine.guard.key_matcher import KeyMatcher, KeyRule
from llmgw_desktop.engine.guard.stream_text import StreamRewriter, TextRewriter, rewritten_pieces
from llmgw_desktop.engine.redact import REDACTED, known_secrets

__all__ = ["masked_pieces", "split_masking"]

# The dialects whose streams are server-sent events of text deltas the rewriter knows.
_STREAMED_DIALECTS = frozenset(
    {DIALECT_OPENAI_CHAT, DIALECT_OPENAI_RESPONSES, DIALECT_ANTHROPIC, DIALECT_GEMINI}
)


def _redacted(_source: str) -> str:
    return REDACTED


def _nothing_told(_source: str) -> None:
    """A secret masked here is not a finding: the frame masking is the same rule, unrecorded."""


@functools.lru_cache(maxsize=64)
def _matcher(sent: tuple[str, ...], own: tuple[str, ...]) -> KeyMatcher:
    """The matcher of `sent` and `own` together, made once for each set (as `spellings_of`)."""
    return KeyMatcher(dict.fromkeys((*sent, *own), "gateway"), _redacted)


def _rule(sent: tuple[str, ...]) -> KeyRule | None:
    """The rule masking `sent` (what the upstream was sent) and the gateway's own secrets;
    None when there is nothing to mask."""
    matcher = _matcher(sent, known_secrets.values)
    return KeyRule(matcher, _nothing_told) if matcher else None


def split_masking(dialect: str, sent: tuple[str, ...]) -> StreamRewriter | None:
    """What a stream's bytes in `dialect` pass through as they go (`sent`: what the upstream
    was sent that it may echo), fed in the generator that relays them (a wrapper costs a step
    more at every chunk); None where there is nothing to mask."""
    rule = _rule(sent)
    if rule is None or dialect not in _STREAMED_DIALECTS:
        return None
    return StreamRewriter(dialect, rule)


def masked_pieces(
    pieces: AsyncIterator[FimPiece], sent: tuple[str, ...]
) -> AsyncIterator[FimPiece]:
    """A text completion's pieces, secrets split over them masked (as `split_masking`'s);
    closed unread, `pieces` are closed unread."""
    rule = _rule(sent)
    if rule is None:
        return pieces
    masked = rewritten_pieces(pieces, TextRewriter(rule))
    return EndingChunks(masked, functools.partial(close_chunks, pieces))
