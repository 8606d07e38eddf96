"""The translators under a fuzzer: whatever JSON a client sends, and whatever an upstream of
another dialect answers, the gateway either translates it or refuses it with a 400.

A request goes the way the gateway takes it (`service.py`, `api_targets.py`): `ClientRequest`
(the routing facts), the same dialect's `passthrough_body`, then `neutral()` and every other
dialect's `render_request`, the rendered body written as JSON, and the token estimate. The only
exception allowed on that way is `InvalidRequest` (`Untranslatable` included): anything else
(KeyError, TypeError, RecursionError) would be a 500. Answers go `parse_response` (an
`UpstreamMalformed` says "malformed", and the gateway falls back; any other exception would be a
bug, a 500) then every other dialect's `render_response`, which must not fail at all.

Bodies come from three sources: JSON built from the words the translators look for (their own
string constants and the recorded clients' keys), mutated copies of the recorded client
requests in tests/fixtures/clients, and bodies nested as deep as the JSON parser lets through.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.capabilities import target_model
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.facts import has_images
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.ir import ChatRequest
from llmgw_desktop.engine.gateway.request_tokens import estimate_tokens
from llmgw_desktop.engine.gateway.same_dialect.passthrough import passthrough_body
from llmgw_desktop.engine.gateway.translation import (
    TargetModel,
    encode_request,
    notice_for,
)

ROOT = Path(__file__).resolve().parents[3]
DIALECT_SOURCES = ROOT / "llmgw_desktop" / "engine" / "gateway" / "dialects"
CLIENT_FIXTURES = ROOT / "tests" / "fixtures" / "clients"
NAMES = tuple(DIALECTS)
# Per target dialect: a model that reasons and one that does not (reasoning settings are
# rendered for the first only).
TARGETS: dict[str, tuple[TargetModel, ...]] = {
    "anthropic": (
        target_model("anthropic", "claude-sonnet-4-6", "anthropic"),
        target_model("anthropic", "claude-3-5-haiku", "anthropic"),
    ),
    "openai-chat": (
        target_model("openai", "o4-mini", "openai-chat"),
        target_model("openai", "gpt-4.1", "openai-chat"),
    ),
    "openai-responses": (
        target_model("openai", "gpt-5.1", "openai-responses"),
        target_model("openai", "gpt-4.1", "openai-responses"),
    ),
    "gemini": (
        target_model("google", "gemini-2.5-flash", "gemini"),
        target_model("google", "gemini-2.0-flash", "gemini"),
    ),
}
# Bounded runs: seconds per test on a shared two-core machine.
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
# Nesting the parser accepts (orjson reads up to 1024 levels) and around what it can write.
DEPTHS = (50, 200, 253, 256, 400, 900, 1000)


# -- the words translators look for -----------------------------------------------------------


def _source_words() -> set[str]:
    """String constants of the dialect modules: field names, block types, roles, reasons."""
    words: set[str] = set()
    for path in sorted(DIALECT_SOURCES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if 0 < len(text) <= 40 and text.isprintable() and " " not in text:
                    words.add(text)
    return words


def _recorded_bodies() -> list[tuple[str, dict[str, Any], str | None]]:
    """(dialect, body, model from the URL) of every recorded client request."""
    out = []
    for path in sorted(CLIENT_FIXTURES.glob("*/*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            body, dialect = entry.get("body"), entry.get("dialect")
            if not isinstance(body, dict) or dialect not in DIALECTS:
                continue
            url_model = None
            if dialect == "gemini":
                target = entry.get("path", "").rsplit("/", 1)[-1]
                url_model = target.partition(":")[0] or "gemini-2.5-flash"
            out.append((dialect, body, url_model))
    return out


def _keys_of(value: Any, into: set[str]) -> set[str]:
    if isinstance(value, dict):
        into.update(value)
        for item in value.values():
            _keys_of(item, into)
    elif isinstance(value, list):
        for item in value:
            _keys_of(item, into)
    return into


RECORDED = _recorded_bodies()
WORDS = sorted(_source_words() | set().union(*(_keys_of(b, set()) for _, b, _ in RECORDED)))

# JSON as orjson hands it to the gateway: integers within 64 bits, finite floats.
leaves = st.one_of(
    st.sampled_from(WORDS),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from([0.5, -1.0, 1e300, 2.0**64]),
    st.text(max_size=6),
)


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    fields = st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), children, max_size=5)
    typed = st.builds(lambda kind, rest: {**rest, "type": kind}, st.sampled_from(WORDS), fields)
    return fields | typed


json_values = st.recursive(
    leaves, lambda children: st.lists(children, max_size=4) | _objects(children), max_leaves=12
)
roles = st.sampled_from(["user", "assistant", "system", "developer", "tool", "model"]) | leaves
contents = st.text(max_size=20) | st.lists(json_values, max_size=4) | json_values
messages = st.lists(
    st.fixed_dictionaries(
        {"role": roles},
        optional={
            "content": contents,
            "parts": st.lists(json_values, max_size=3) | json_values,
            "tool_calls": st.lists(json_values, max_size=2) | json_values,
            "tool_call_id": leaves,
            "name": leaves,
            "type": st.sampled_from(WORDS),
        },
    )
    | json_values,
    max_size=5,
)
optional_fields = st.dictionaries(st.sampled_from(WORDS), json_values, max_size=6)


def _shaped(dialect: str) -> st.SearchStrategy[dict[str, Any]]:
    """A body with the dialect's own top-level fields, filled with anything."""
    main = {
        "anthropic": {"messages": messages, "max_tokens": leaves},
        "openai-chat": {"messages": messages},
        "openai-responses": {"input": st.text(max_size=10) | messages},
        "gemini": {"contents": messages},
    }[dialect]
    fixed = st.fixed_dictionaries(
        main,
        optional={
            "model": st.sampled_from(["m", "gpt-4o", "claude-x"]) | leaves,
            "stream": st.booleans(),
            "tools": st.lists(json_values, max_size=3) | json_values,
        },
    )
    return st.builds(lambda extra, body: {**extra, **body}, optional_fields, fixed)


# -- the way a request takes through the gateway --------------------------------------------


def _translate_everywhere(
    client: str,
    body: dict[str, Any],
    *,
    url_model: str | None = None,
    reasoning: bool = True,
    raw: bytes | None = None,
) -> None:
    """Everything the gateway does with `body` before sending it anywhere. Raises only what a
    client may be answered with (InvalidRequest, a 400)."""
    if raw is None:
        # The body as the front door hands it over: what orjson reads back from its bytes.
        raw = jsonio.dumps(body)
        body = jsonio.loads(raw)
    try:
        incoming = ClientRequest(client, body, raw, url_model=url_model)
    except InvalidRequest:
        return
    facts = incoming.facts
    has_images(client, body)
    try:
        forwarded = passthrough_body(
            client, body, raw, "renamed", stream=facts.stream, stream_usage=facts.stream_usage
        )
        assert isinstance(forwarded.data, bytes)
    except InvalidRequest:
        pass
    try:
        neutral = incoming.neutral()
    except InvalidRequest:
        return
    estimate_tokens(neutral)
    for name in NAMES:
        if name == client:
            continue
        target = TARGETS[name][0 if reasoning else 1]
        notes = list(neutral.left_out)
        try:
            rendered = DIALECTS[name].render_request(
                dataclasses.replace(neutral, model=target.model, stream_usage=True),
                target=target,
                notes=notes,
            )
            encode_request(rendered)
        except InvalidRequest:
            continue
        notice_for(target, notes)


@FUZZ
@given(
    client=st.sampled_from(NAMES),
    body=st.dictionaries(st.text(max_size=8) | st.sampled_from(WORDS), json_values),
)
def test_any_json_object_is_translated_or_refused(client: str, body: dict[str, Any]) -> None:
    _translate_everywhere(client, body, url_model="gemini-2.5-flash")


@FUZZ
@given(client=st.sampled_from(NAMES), data=st.data(), reasoning=st.booleans())
def test_bodies_shaped_like_the_dialect_are_translated_or_refused(
    client: str, data: st.DataObject, reasoning: bool
) -> None:
    body = data.draw(_shaped(client))
    _translate_everywhere(client, body, url_model="gemini-2.5-flash", reasoning=reasoning)


# -- mutated copies of what real clients sent --------------------------------------------------


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside `value` (dict keys and list indexes)."""
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _places(item, (*path, index))
    return out


def _mutate(body: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        places = [p for p in _places(body) if p]
        if not places:
            break
        path = data.draw(st.sampled_from(places), label="where")
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        how = data.draw(st.sampled_from(["replace", "drop", "wrap", "null", "str"]), label="how")
        if how == "drop":
            del parent[last]
        elif how == "wrap":
            parent[last] = [parent[last]]
        elif how == "null":
            parent[last] = None
        elif how == "str":
            parent[last] = json.dumps(parent[last])[:30]
        else:
            parent[last] = data.draw(json_values, label="with")
    return body


@pytest.mark.parametrize(
    ("client", "body", "url_model"),
    RECORDED,
    ids=[f"{d}-{i}" for i, (d, _, _) in enumerate(RECORDED)],
)
@FUZZ
@given(data=st.data(), reasoning=st.booleans())
def test_mutated_recorded_requests_are_translated_or_refused(
    client: str,
    body: dict[str, Any],
    url_model: str | None,
    data: st.DataObject,
    reasoning: bool,
) -> None:
    _translate_everywhere(client, _mutate(body, data), url_model=url_model, reasoning=reasoning)


def test_the_recorded_requests_themselves_translate() -> None:
    assert {d for d, _, _ in RECORDED} == set(NAMES)  # every dialect has a recorded client
    for client, body, url_model in RECORDED:
        _translate_everywhere(client, body, url_model=url_model)


# What the fuzzer found (each a TypeError, a 500, before the fix), kept as plain examples: a
# derandomized run of 200 is not sure to draw them again.
FOUND_REQUESTS = [
    # A list where a string was expected, looked up in a set or dict: unhashable.
    (
        "anthropic",
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": ["image"], "source": {}}]}],
        },
    ),
    ("openai-responses", {"model": "m", "input": [{"type": ["message"], "role": "user"}]}),
    ("gemini", {"contents": [{"role": ["user"], "parts": [{"text": "x"}]}]}),
]


@pytest.mark.parametrize(("client", "body"), FOUND_REQUESTS, ids=lambda v: str(v)[:20])
def test_what_the_fuzzer_found_in_requests(client: str, body: dict[str, Any]) -> None:
    _translate_everywhere(client, body, url_model="gemini-2.5-flash")


def test_what_the_fuzzer_found_in_answers() -> None:
    _answer_everywhere("gemini", {"candidates": [{"finishReason": []}], "usageMetadata": []})


# -- deep nesting -----------------------------------------------------------------------------


DEEP = "__deep__"


def _nested_text(depth: int) -> str:
    """JSON text `depth` levels deep, alternating schema-like objects and arrays (written
    out as text: building it as objects would recurse as deep)."""
    heads = ['{"type": "array", "items": ' if level % 2 else "[" for level in range(depth)]
    tails = ["}" if level % 2 else "]" for level in reversed(range(depth))]
    return "".join(heads) + '"leaf"' + "".join(tails)


def _deep_bodies() -> list[tuple[str, dict[str, Any]]]:
    """A body per dialect with a deep value (`DEEP`, replaced by `_deep_raw`) in a tool's
    schema, in a message and in an unknown field, and `project` so that the same-dialect body
    must be written again."""
    schema = {"type": "object", "properties": {"x": DEEP}}
    common = {"project": "p", "future_field": DEEP}
    return [
        (
            "anthropic",
            {
                "model": "claude-x",
                "max_tokens": 5,
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "hi", "extra": DEEP}]},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "c", "name": "t", "input": DEEP}],
                    },
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "c", "content": "x"}],
                    },
                ],
                "tools": [{"name": "t", "input_schema": schema}],
                **common,
            },
        ),
        (
            "openai-chat",
            {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi", "extra": DEEP}],
                "tools": [{"type": "function", "function": {"name": "t", "parameters": schema}}],
                "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
                **common,
            },
        ),
        (
            "openai-responses",
            {
                "model": "gpt-5.1",
                "input": [{"role": "user", "content": "hi", "extra": DEEP}],
                "tools": [{"type": "function", "name": "t", "parameters": schema}],
                **common,
            },
        ),
        (
            "gemini",
            {
                "contents": [
                    {"role": "user", "parts": [{"text": "hi"}]},
                    {"role": "model", "parts": [{"functionCall": {"name": "t", "args": DEEP}}]},
                    {
                        "role": "user",
                        "parts": [{"functionResponse": {"name": "t", "response": DEEP}}],
                    },
                ],
                "tools": [{"functionDeclarations": [{"name": "t", "parameters": schema}]}],
                "generationConfig": {"responseSchema": schema},
                **common,
            },
        ),
    ]


def _deep_raw(body: dict[str, Any], depth: int) -> bytes:
    return json.dumps(body).replace(json.dumps(DEEP), _nested_text(depth)).encode()


@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_bodies_are_translated_or_refused(depth: int) -> None:
    for client, body in _deep_bodies():
        raw = _deep_raw(body, depth)
        try:
            parsed = jsonio.loads(raw)
        except ValueError:
            continue  # deeper than the parser takes: the front door's 400
        _translate_everywhere(client, parsed, url_model="gemini-2.5-flash", raw=raw)


@pytest.mark.parametrize("depth", [260, 600])
def test_a_same_dialect_body_too_deep_to_write_again_is_a_400(depth: int) -> None:
    for client, body in _deep_bodies():
        raw = _deep_raw(body, depth)
        parsed = jsonio.loads(raw)
        with pytest.raises(InvalidRequest, match="nested too deeply"):
            passthrough_body(client, parsed, raw, "renamed", stream=False, stream_usage=False)


# -- answers from an upstream of another dialect --------------------------------------------


def _client_request(client: str) -> ChatRequest:
    """A parsed client request (render_response reads its tool declarations)."""
    bodies: dict[str, dict[str, Any]] = {
        "anthropic": {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "x"}],
        },
        "openai-chat": {"model": "m", "messages": [{"role": "user", "content": "x"}]},
        "openai-responses": {"model": "m", "input": "x"},
        "gemini": {"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
    }
    return ClientRequest(client, bodies[client], url_model="m").neutral()


def _answer_everywhere(upstream: str, answer: Any) -> None:
    """What `AnswerRelay.complete` (`answers.py`) does with a whole answer: `UpstreamMalformed`
    is a malformed answer (fallback, 502), anything else a bug; once parsed, every client dialect
    must be able to render it."""
    try:
        parsed = DIALECTS[upstream].parse_response(answer)
    except UpstreamMalformed:
        return
    for client in NAMES:
        if client != upstream:
            out = DIALECTS[client].render_response(parsed, _client_request(client))
            jsonio.dumps(out)


def _shaped_answer(upstream: str) -> st.SearchStrategy[Any]:
    main: dict[str, st.SearchStrategy[Any]] = {
        "anthropic": {"content": st.lists(json_values, max_size=4), "usage": json_values},
        "openai-chat": {"choices": st.lists(json_values, max_size=3), "usage": json_values},
        "openai-responses": {"output": st.lists(json_values, max_size=4), "usage": json_values},
        "gemini": {"candidates": st.lists(json_values, max_size=3), "usageMetadata": json_values},
    }[upstream]
    return st.builds(
        lambda extra, body: {**extra, **body}, optional_fields, st.fixed_dictionaries(main)
    )


@FUZZ
@given(upstream=st.sampled_from(NAMES), data=st.data())
def test_any_upstream_answer_is_rendered_or_called_malformed(
    upstream: str, data: st.DataObject
) -> None:
    answer = data.draw(_shaped_answer(upstream) | json_values)
    _answer_everywhere(upstream, answer)


def _frames(upstream: str) -> st.SearchStrategy[list[tuple[str | None, str]]]:
    """SSE frames an upstream might send: JSON objects (typed by the dialect's event names)
    or any text, with or without an `event:` name."""
    data = st.one_of(
        st.builds(jsonio.dumps_text, _objects(json_values)),
        st.builds(jsonio.dumps_text, json_values),
        st.text(max_size=20),
        st.just("[DONE]"),
    )
    event = st.none() | st.sampled_from(WORDS)
    return st.lists(st.tuples(event, data), max_size=8)


Encoder = Callable[[Any], bytes]


@FUZZ
@given(upstream=st.sampled_from(NAMES), data=st.data())
def test_any_upstream_stream_is_relayed_or_called_broken(
    upstream: str, data: st.DataObject
) -> None:
    """What `relay.UpstreamStream` and `relay_events` do: a decoder may say the stream is
    broken (UpstreamMalformed, or an InvalidRequest-like EngineError from an error event); every
    event it does hand over must encode in every other dialect."""
    from llmgw_desktop.engine.errors import EngineError

    frames = data.draw(_frames(upstream))
    decoder = DIALECTS[upstream].stream_decoder()
    events = []
    try:
        for item in frames:
            events += decoder.feed(item)
        events += decoder.close()
    except (UpstreamMalformed, EngineError):
        pass
    for client in NAMES:
        if client == upstream:
            continue
        encoder = DIALECTS[client].stream_encoder(_client_request(client))
        for event in events:
            assert isinstance(encoder.encode(event), bytes)
        encoder.close()
        encoder.error(502, "upstream_stream_broken", "x")
