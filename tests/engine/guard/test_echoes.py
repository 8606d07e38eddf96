"""The answer scan for the operator's own keys: a key found whole and replaced by a placeholder
naming its source, never its value; split anywhere across a stream's deltas, in each dialect,
still caught; text without a key passed as it came; and the keys gathered from the gateway's
own sources (its providers' pools, its own secrets), never from what a caller sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmgw_desktop.engine.gateway.http_client.sse import SseParser, frame
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import Completed
from llmgw_desktop.engine.guard.echoes import AnswerEchoes, operator_matcher
from llmgw_desktop.engine.guard.key_matcher import KeyMatcher, KeyRule
from llmgw_desktop.engine.guard.operator_keys import OperatorKeys
from llmgw_desktop.engine.guard.stream_text import StreamRewriter, TextRewriter
from llmgw_desktop.engine.redact import KnownSecrets
from llmgw_desktop.engine.tokens.usage import Usage

KEY = "sk-proj-op3rat0rK3yAbCdEfGhIjKlMn"
OTHER = "sk-ant-api03-anotherOperatorKey99"
SOURCES = {KEY: "env:OPENAI_API_KEY", OTHER: "vault:anthropic#1"}
MASKED = "[OPERATOR_KEY:env:OPENAI_API_KEY]"


def _matcher() -> KeyMatcher:
    return operator_matcher(SOURCES)


def test_a_whole_key_is_replaced_by_its_source_and_told_once() -> None:
    told: list[str] = []
    text = f"use {KEY} or {KEY}, and {OTHER}."
    masked = _matcher().mask(text, told.append)
    assert masked == f"use {MASKED} or {MASKED}, and [OPERATOR_KEY:vault:anthropic#1]."
    assert told == ["env:OPENAI_API_KEY", "env:OPENAI_API_KEY", "vault:anthropic#1"]


def test_text_without_a_key_is_the_same_object() -> None:
    text = "sk-proj- is how a project key begins; sk-ant- an Anthropic one"
    assert _matcher().mask(text, lambda _s: None) is text


def test_short_values_are_not_keys() -> None:
    assert not operator_matcher({"abc": "config:x#1", "": "env:EMPTY"})


@pytest.mark.parametrize("cut", range(1, len(KEY)))
def test_a_key_split_anywhere_in_plain_text_is_masked(cut: int) -> None:
    """A text completion's stream: the key in two pieces, cut at every place."""
    told: list[str] = []
    rewriter = TextRewriter(KeyRule(_matcher(), told.append))
    pieces = [f"key: {KEY[:cut]}", f"{KEY[cut:]} end"]
    out = "".join(rewriter.feed(p) for p in pieces) + rewriter.close()
    assert out == f"key: {MASKED} end"
    assert told == ["env:OPENAI_API_KEY"]


def test_a_held_start_that_is_no_key_is_let_go_unchanged() -> None:
    rewriter = TextRewriter(KeyRule(_matcher(), lambda _s: None))
    assert rewriter.feed("ask sk-pro") == "ask "  # may still become the key
    assert rewriter.feed("blem solved") == "sk-problem solved"
    assert rewriter.feed("s") == ""
    assert rewriter.close() == "s"


def _events(chunks: list[bytes]) -> list[tuple[str | None, Any]]:
    parser = SseParser()
    out = []
    for chunk in chunks:
        for name, data in parser.feed(chunk):
            out.append((name, json.loads(data) if data.startswith("{") else data))
    return out


def _scanned(dialect: str, events: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
    rewriter = StreamRewriter(dialect, KeyRule(_matcher(), lambda _s: None))
    out = [rewriter.feed(frame(data, name)) for name, data in events]
    return _events([*out, rewriter.close()])


def _pieces(cut: int) -> list[str]:
    return ["The key is ", KEY[:cut], KEY[cut:], " done."]


def _chat_text(out: list[tuple[str | None, Any]]) -> str:
    deltas = [e["choices"][0]["delta"] for _, e in out if isinstance(e, dict)]
    return "".join(d.get("content", "") for d in deltas)


@pytest.mark.parametrize("cut", [1, 3, 4, 9, len(KEY) - 1])
def test_openai_chat_stream_text_and_arguments(cut: int) -> None:
    def chunk(text: str = "", arguments: str = "") -> dict[str, Any]:
        delta: dict[str, Any] = {"content": text} if text else {}
        if arguments:
            delta["tool_calls"] = [{"index": 0, "function": {"arguments": arguments}}]
        return {"choices": [{"index": 0, "delta": delta}]}

    arguments = json.dumps({"content": f"OPENAI_API_KEY={KEY}\n"})
    at = arguments.index(KEY) + cut
    events: list[tuple[str | None, Any]] = [(None, chunk(p)) for p in _pieces(cut)]
    events += [(None, chunk(arguments=arguments[:at])), (None, chunk(arguments=arguments[at:]))]
    events += [(None, "[DONE]")]
    out = _scanned("openai-chat", events)
    assert _chat_text(out) == f"The key is {MASKED} done."
    called = "".join(
        e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
        for _, e in out
        if isinstance(e, dict) and "tool_calls" in e["choices"][0]["delta"]
    )
    assert json.loads(called) == {"content": f"OPENAI_API_KEY={MASKED}\n"}
    assert out[-1] == (None, "[DONE]")


@pytest.mark.parametrize("cut", [1, 5, len(KEY) - 1])
def test_anthropic_responses_and_gemini_streams(cut: int) -> None:
    def block(piece: str) -> tuple[str, Any]:
        delta = {"type": "text_delta", "text": piece}
        return "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}

    out = _scanned("anthropic", [block(p) for p in _pieces(cut)])
    assert "".join(e["delta"]["text"] for _, e in out) == f"The key is {MASKED} done."

    def item(piece: str) -> tuple[str, Any]:
        event = {"type": "response.output_text.delta", "item_id": "m", "content_index": 0}
        return "response.output_text.delta", {**event, "delta": piece}

    done = {"type": "response.output_text.done", "text": f"The key is {KEY} done."}
    out = _scanned("openai-responses", [*map(item, _pieces(cut)), (done["type"], done)])
    text = "".join(e["delta"] for n, e in out if n == "response.output_text.delta")
    assert text == f"The key is {MASKED} done."
    assert out[-1][1]["text"] == f"The key is {MASKED} done."

    def candidate(piece: str) -> tuple[None, Any]:
        return None, {"candidates": [{"content": {"parts": [{"text": piece}], "role": "model"}}]}

    out = _scanned("gemini", [candidate(p) for p in _pieces(cut)])
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for _, e in out)
    assert text == f"The key is {MASKED} done."


def test_events_without_a_key_pass_as_they_came_unparsed() -> None:
    rewriter = StreamRewriter("openai-chat", KeyRule(_matcher(), lambda _s: None))
    # A name ending as a key begins ("choices": an `s`, as `sk-` begins) is no delta's end.
    sent = b'data: {"choices":[{"index":0,"delta":{"content":"hello there"}}]}\n\n'
    assert rewriter.feed(sent) is sent


@pytest.mark.parametrize(
    ("raw", "may"),
    [
        ('{"content":"it is"}', True),  # may go on as `sk-proj-...`
        ('{"content": "it is" }', True),
        ('{"content":"it is "}', False),
        ('{"choices":[], "s" : 1}', False),  # names, not values
        ('{"content":"sk-proj-op and more"}', True),  # a key's first eight characters
        ('{"arguments":"{\\"k\\": \\"s"}', True),  # the delta ends as a key begins
    ],
)
def test_which_raw_events_are_read(raw: str, may: bool) -> None:
    assert _matcher().may_begin(raw) is may
    assert _matcher().may_begin(raw.encode()) is may


@pytest.mark.parametrize("size", [1, 7, 64])
def test_a_stream_cut_into_any_pieces_reads_the_same(size: int) -> None:
    """The events fed as the network may cut them, `size` bytes at a time: the client reads
    the same text, the key masked."""
    pieces = _pieces(9)
    whole = b"".join(frame({"choices": [{"index": 0, "delta": {"content": p}}]}) for p in pieces)
    rewriter = StreamRewriter("openai-chat", KeyRule(_matcher(), lambda _s: None))
    out = [rewriter.feed(whole[at : at + size]) for at in range(0, len(whole), size)]
    assert _chat_text(_events([*out, rewriter.close()])) == f"The key is {MASKED} done."


class _Keys:
    """The gateway's key chain as the answer scan reads it (a stand-in: `KeyChain.sendable`
    has its own tests with the real chain)."""

    def __init__(self, found: dict[str, str]) -> None:
        self.found = found
        self.version = 1
        self.vault_problem: str | None = None
        self.asked: list[str | None] = []

    async def sendable(self, project: str | None = None) -> dict[str, str]:
        self.asked.append(project)
        return dict(self.found)


async def test_operator_keys_are_the_gateways_and_its_own_secrets_rebuilt_on_change() -> None:
    secrets = KnownSecrets()
    secrets.add("bearer-token-of-the-gateway", source="gateway:http.auth_token")
    keys = _Keys({KEY: "env:OPENAI_API_KEY"})
    operator = OperatorKeys(keys, secrets)
    first = await operator.matcher(None)
    told: list[str] = []
    first.mask(f"{KEY} bearer-token-of-the-gateway", told.append)
    assert told == ["env:OPENAI_API_KEY", "gateway:http.auth_token"]
    assert await operator.matcher(None) is first  # nothing changed: not read again
    keys.found[OTHER] = "vault:anthropic#1"
    keys.version += 1
    second = await operator.matcher(None)
    assert second is not first and len(second) == 3
    assert keys.asked == [None, None]


async def test_a_whole_answer_is_masked_and_each_source_told_once() -> None:
    told: list[str] = []
    body = {"content": [{"type": "text", "text": f"{KEY} and again {KEY}"}]}
    answer = Completed(None, RouteReport("r", "m"), Usage(), raw=json.dumps(body).encode())
    masked = AnswerEchoes(_matcher(), told.append).answer(answer, "anthropic")
    assert isinstance(masked, Completed)
    assert json.loads(masked.payload())["content"][0]["text"] == f"{MASKED} and again {MASKED}"
    assert told == ["env:OPENAI_API_KEY"]
