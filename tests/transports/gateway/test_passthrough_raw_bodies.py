"""Raw bodies through the same-dialect passthrough, both ways. What a remote caller sends that
is no usable JSON object, or is nested too deeply to write again, is a clear 400, never a 500;
odd but valid JSON goes upstream as it came; a repeated `project` never reaches the upstream, nor
a usage request twice. Whatever body an upstream answers with, the client gets it or a 502, and
an absurd usage figure is not believed.

The gateway, the hostile upstream and the clients are in passthrough_attack_support.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.hostile_upstream import HostileUpstream, streamed, whole
from tests.transports.gateway.passthrough_attack_support import (
    CHAT,
    CHAT_ANSWER,
    CLAUDE,
    _gateway,  # noqa: F401 - fixture
    last_row,
    remote_post,
    sse,
)


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(
    ("path", "body"),
    [
        # Same dialect, written again (project taken out): deeper than orjson writes.
        ("/v1/chat/completions", {**CHAT, "project": "p1", "deep": "DEEP"}),
        ("/v1/messages", {**CLAUDE, "model": "anthropic/claude-sonnet-4-6", "deep": "DEEP"}),
        # Another dialect: translated.
        ("/v1/messages", {**CLAUDE, "model": "gpt-4o", "metadata": {"deep": "DEEP"}}),
        (
            "/v1/chat/completions",
            {
                **CHAT,
                "model": "claude-sonnet-4-6",
                "tools": [
                    {"type": "function", "function": {"name": "t", "parameters": {"d": "DEEP"}}}
                ],
            },
        ),
    ],
)
async def test_a_body_nested_too_deeply_to_write_again_is_a_400_not_a_500(
    gateway: GatewayRuntime, hostile: HostileUpstream, path: str, body: dict[str, Any]
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    data = json.dumps(body).replace('"DEEP"', nested(400)).encode()
    status, _, raw = await remote_post(gateway, path, data)
    assert status == 400, raw
    assert b"nested too deeply" in raw
    assert hostile.llm_requests == []
    row = await last_row(gateway)
    assert row["state"] == "refused"


@pytest.mark.parametrize(
    "data",
    [
        b"[1, 2]",
        b'"just a string"',
        b"",
        b'{"model": "gpt-4o", "messages": [], "temperature": NaN}',
        b'{"model": "gpt-4o", "messages": [], "temperature": 1e400}',
        b'\xef\xbb\xbf{"model": "gpt-4o", "messages": []}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\\ud800"}]}',
        b'{"model": 5, "messages": []}',
        b'{"model": ["gpt-4o"], "messages": []}',
        b'{"model": "gpt-4o", "stream": "yes", "messages": []}',
        b'{"model": "gpt-4o", "messages": [], "project": "../../etc"}',
        b'{"model": "gpt-4o", "messages": [], "project": ["p1"]}',
        ("[" * 1100 + "]" * 1100).encode(),
    ],
)
async def test_bodies_that_are_not_usable_json_objects_are_a_clear_400(
    gateway: GatewayRuntime, hostile: HostileUpstream, data: bytes
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 400, raw
    assert json.loads(raw)["error"]["message"]
    assert hostile.llm_requests == []


async def test_odd_but_valid_json_goes_upstream_as_it_came(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    data = (
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], '
        b'"seed": 18446744073709551615, "temperature": 1e308, "logit_bias": {"1": -0}, '
        b'"n": 1, "n": 1}'
    )
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert seen.body == data


async def test_a_repeated_project_field_never_reaches_the_upstream(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # `project` picks whose keys pay; with two, the gateway reads the last (as the upstream
    # would): both are taken out, so no parser disagreement can be played on the upstream.
    hostile.answer = whole(CHAT_ANSWER)
    data = b'{"project": "p1", "model": "gpt-4o", "messages": [], "project": "p2"}'
    # Nobody may give one key two values (SECURITY.md 33, 121), the local user neither.
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 400 and b"'project' two different values" in raw, raw
    local = {"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data, **local)
    assert status == 400 and b"'project' two different values" in raw, raw
    # The same project twice reads the same either way: taken out, and the row names it.
    once = b'{"project": "p2", "model": "gpt-4o", "messages": [], "project": "p2"}'
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", once, **local)
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert b"project" not in seen.body
    row = await last_row(gateway)
    assert row["route"]["project"] == "p2"


async def test_a_null_stream_options_is_not_sent_twice(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # The usage the gateway asks for was spliced in after the client's own `null` member: a
    # duplicate key, refused by strict parsers and read as "no usage" by first-wins ones.
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": []}
    hostile.answer = streamed(
        sse(None, chunk | {"choices": [{"index": 0, "delta": {"content": "hi"}}]}),
        sse(None, chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        sse(None, chunk | {"usage": {"prompt_tokens": 3, "completion_tokens": 1}}),
        sse(None, "[DONE]"),
    )
    data = b'{"model": "gpt-4o", "stream": true, "stream_options": null, "messages": []}'
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert seen.body.count(b'"stream_options"') == 1
    assert json.loads(seen.body)["stream_options"] == {"include_usage": True}
    assert b'"usage"' not in raw  # asked for by us, not by the client: kept from it


@pytest.mark.parametrize(
    "answer",
    [
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"{}   \r\n\t ",
        b'{"choices": []}\n\n\n',
        b'{"x_gateway": {"requestId": "forged"}, "choices": []}',
        b'{"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": -5}}',
        b"<html>nope</html>",
        b"",
        b'{"choices": [' + b'{"index": 0},' * 20000 + b'{"index": 1}]}',
    ],
)
async def test_whatever_an_upstream_answers_the_client_gets_it_or_a_502(
    gateway: GatewayRuntime, hostile: HostileUpstream, answer: bytes
) -> None:
    hostile.answer = whole(answer)
    status, headers, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    assert status in (200, 502), raw
    row = await last_row(gateway)
    if status == 502:
        assert row["state"] == "failed"
        return
    assert row["state"] == "completed"
    relayed = json.loads(raw)
    if isinstance(relayed, dict):
        # Ours is the member a client reads (a JSON parser keeps the last of repeated keys).
        assert relayed["x_gateway"]["requestId"] == headers["x-gateway-request-id"]
    else:
        assert relayed == json.loads(answer)


@pytest.mark.parametrize("figure", [2**64 - 1, 2**63, 1e300, -5])
async def test_an_absurd_usage_figure_is_not_believed(
    gateway: GatewayRuntime, hostile: HostileUpstream, figure: float
) -> None:
    # 2**64 and more could not be written in `x_gateway` (a 500); 2**63 and more could not be
    # stored by the recorder, whose failed write is retried with every later row (all lost).
    absurd = {**CHAT_ANSWER, "usage": {"prompt_tokens": figure, "completion_tokens": 1}}
    hostile.answer = whole(absurd)
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    assert status == 200, raw
    assert json.loads(raw)["x_gateway"]["tokens"]["input"] == 0
    hostile.answer = whole(CHAT_ANSWER)
    await remote_post(gateway, "/v1/chat/completions", CHAT)
    rows = await gateway.engine.recorder.recent(limit=5)
    assert [(r["state"], r["input_tokens"]) for r in rows] == [("completed", 3), ("completed", 0)]
