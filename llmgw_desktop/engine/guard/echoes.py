"""The operator's own keys masked where an answer repeats them (`guard.scan_answers`, off by
default): a model steered into reading a `.env` file, a coding CLI that read one, an upstream
that echoes the key it was sent. Each key is replaced by `[OPERATOR_KEY:<source>]`, naming where
it comes from (`env:OPENAI_API_KEY`, `config:openai#1`, `vault:openai#1`, `gateway:http.auth_token`)
and never its value, before the client reads it, in a whole answer or a stream of any dialect.

The keys are found, whole or split over a stream's deltas, by the one matcher the gateway's own
masking uses too (`key_matcher.py`), here with the placeholder as what replaces them. Answers
are not read for other secrets: a caller's own keys, or anything key-shaped, are the caller's
business.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.results import Completed, EndingChunks, Streaming, close_chunks
from llmgw_desktop.engine.guard.key_matcher import KeyMatcher, KeyRule
from llmgw_desktop.engine.guard.stream_text import StreamRewriter, rewritten_chunks

__all__ = ["ECHO_PLACEHOLDER", "AnswerEchoes", "operator_matcher", "placeholder_for"]

# What stands for a key in an answer: the word and the source's label.
ECHO_PLACEHOLDER = "[OPERATOR_KEY:{}]"
# A source's label in a placeholder: what an answer may carry, whatever a label held.
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:#/@+-]")


def placeholder_for(source: str) -> str:
    """`[OPERATOR_KEY:env:OPENAI_API_KEY]`: what replaces a key from `source`."""
    return ECHO_PLACEHOLDER.format(_LABEL_UNSAFE.sub("_", source)[:80])


def operator_matcher(sources: Mapping[str, str]) -> KeyMatcher:
    """The operator's keys (value -> source), each found replaced by its placeholder."""
    return KeyMatcher(sources, placeholder_for)


class AnswerEchoes:
    """One answer's scan for the operator's keys: `found(source)` is told of each key masked,
    once per source (a stream repeats its text in its `done` events; the caller records and
    counts what it is told)."""

    def __init__(self, keys: KeyMatcher, found: Callable[[str], None]) -> None:
        self.keys = keys
        self._found = found
        self._told: set[str] = set()
        self.rule = KeyRule(keys, self._tell)

    def _tell(self, source: str) -> None:
        if source not in self._told:
            self._told.add(source)
            self._found(source)

    def answer(self, answer: Completed | Streaming, dialect: str) -> Completed | Streaming:
        """The answer with every key of the operator's masked, whole or as it streams."""
        if isinstance(answer, Completed):
            raw = answer.payload()
            if not self.keys.holds_bytes(raw):
                return answer
            return dataclasses.replace(answer, body=None, raw=_masked_bytes(raw, self.rule))
        inner = answer.chunks
        chunks = rewritten_chunks(inner, StreamRewriter(dialect, self.rule))
        return answer.with_chunks(EndingChunks(chunks, lambda: close_chunks(inner)))


def _masked_bytes(raw: bytes, rule: KeyRule) -> bytes:
    """A whole answer's bytes masked: its strings where it is JSON, its text where not."""
    try:
        parsed = jsonio.loads(raw)
    except ValueError:
        return rule.rewrite(raw.decode("utf-8", "replace"), False).encode()
    return jsonio.dumps(rule.whole(parsed))
