"""The key sent and the gateway's own secrets masked where a stream splits them over its events
(`split_secrets.py`): found when a piece spells the secret's first characters with escapes or
carries it in a tool call's arguments; a stream without a secret's start relayed byte for byte,
comments and ids kept, even where a name or an id ends as a secret begins."""

from __future__ import annotations

import json

from llmgw_desktop.engine.gateway.http_client.sse import SseParser, frame
from llmgw_desktop.engine.gateway.split_secrets import split_masking

SENT = "sk-split-0123456789abcdefXYZ"


def _chat(content: str, *, field: str = "content") -> bytes:
    delta = {field: content}
    if field == "arguments":
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": content}}]}
    return frame({"id": "chatcmpl-s", "choices": [{"index": 0, "delta": delta}]})


def _said(out: bytes, field: str = "content") -> str:
    parser = SseParser(1 << 20)
    text = ""
    for _name, data in parser.feed(out):
        delta = json.loads(data)["choices"][0]["delta"]
        if field == "arguments":
            text += delta["tool_calls"][0]["function"]["arguments"]
        else:
            text += delta.get(field, "")
    return text


def _through(chunks: list[bytes]) -> bytes:
    masking = split_masking("openai-chat", (SENT,))
    assert masking is not None
    return b"".join(masking.feed(chunk) for chunk in chunks) + masking.close()


def test_a_stream_without_a_secrets_start_is_relayed_byte_for_byte() -> None:
    """Its id ends as the key begins (`s`), a comment and an event's `id:` line come between:
    read, and relayed as they came."""
    chunks = [
        b": keep-alive\n\n",
        b"id: 7\n" + _chat("The answer "),
        _chat("is 42."),
        b"data: [DONE]\n\n",
    ]
    assert _through(chunks) == b"".join(chunks)


def test_a_secret_whose_first_piece_is_spelled_with_escapes_is_masked() -> None:
    """The first piece writes the key's `s` as `\\u0073`: its raw bytes hold none of the key's
    first characters, and its client reads them back."""
    first = _chat("key: sk-sp").replace(b"sk-sp", b"\\u0073k-sp")
    out = _through([first, _chat(SENT[5:] + " done")])
    assert _said(out) == "key: [REDACTED] done"


def test_a_secret_split_over_a_tool_calls_arguments_is_masked() -> None:
    args = json.dumps({"key": SENT})
    cut = args.index(SENT) + 7
    out = _through([_chat(args[:cut], field="arguments"), _chat(args[cut:], field="arguments")])
    assert json.loads(_said(out, "arguments")) == {"key": "[REDACTED]"}


def test_text_that_only_begins_as_a_secret_does_arrives_byte_for_byte() -> None:
    """A delta ending as the key begins waits, whole, for the next: which goes on otherwise,
    so both go as they came; and the last, which ends on the key's first characters, goes as
    it came at the stream's end."""
    chunks = [_chat(piece) for piece in ("it is sk-spl", "it and more", " sk-")]
    assert _through(chunks) == b"".join(chunks)


def test_nothing_to_mask_in_another_dialect_passes_through() -> None:
    assert split_masking("ollama", (SENT,)) is None
