"""The answer scan (`guard.scan_answers`) through the official SDKs: a scripted upstream that
echoes one of the operator's keys, whole and streamed (split across the stream's deltas, as a
model writes a key a few tokens at a time), in each of the four dialects, sent as they came and
translated; what the client read, the row, `/metrics` and the notice. Off by default; a caller's
own keys are never taken for the operator's.

The operator's keys here are the environment's (`conftest.point_providers_at`), as an existing
OpenAI, Anthropic or Gemini setup provides them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.api import Notice
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.transports.gateway.conftest import ANTHROPIC_KEY, GatewayFactory
from tests.transports.gateway.test_outbound_guard import DOOR_IDS, DOORS, Ask

SCAN = {"guard.scan_answers": True}
MASKED = "[OPERATOR_KEY:env:ANTHROPIC_API_KEY]"
# A key of the caller's own, sent in its request: never the operator's.
CALLERS_KEY = "sk-proj-callersOwnKey0123456789abcdefghijklmnopqrstuv"


def _echo(key: str = ANTHROPIC_KEY) -> Reply:
    """An answer that repeats `key`, split across three deltas when streamed."""
    return Reply.in_pieces("Found ", key[:5], key[5:13], key[13:], " in your .env")


async def _chat_stream(gateway: GatewayRuntime, model: str, text: str) -> str:
    stream = await openai_client(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], stream=True
    )
    return "".join([(c.choices[0].delta.content or "") async for c in stream if c.choices])


async def _responses_stream(gateway: GatewayRuntime, model: str, text: str) -> str:
    events = await openai_client(gateway).responses.create(model=model, input=text, stream=True)
    kept = [e async for e in events if e.type == "response.output_text.delta"]
    return "".join(getattr(e, "delta", "") for e in kept)


async def _anthropic_stream(gateway: GatewayRuntime, model: str, text: str) -> str:
    async with claude_client(gateway).messages.stream(
        model=model, max_tokens=100, messages=[{"role": "user", "content": text}]
    ) as stream:
        return "".join([piece async for piece in stream.text_stream])


async def _gemini_stream(gateway: GatewayRuntime, model: str, text: str) -> str:
    chunks = await gemini_client(gateway).aio.models.generate_content_stream(
        model=model, contents=text
    )
    return "".join([chunk.text or "" async for chunk in chunks])


STREAMS: dict[str, Callable[[GatewayRuntime, str, str], Awaitable[str]]] = {
    "openai-chat": _chat_stream,
    "openai-responses": _responses_stream,
    "anthropic": _anthropic_stream,
    "gemini": _gemini_stream,
}


@pytest.mark.parametrize(("door", "ask", "own", "translated"), DOORS, ids=DOOR_IDS)
async def test_an_echoed_key_is_masked_whole_and_streamed_in_every_dialect(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    door: str,
    ask: Ask,
    own: str,
    translated: str,
) -> None:
    gateway = await start_gateway(SCAN)
    stream = STREAMS[door]
    upstream.script(*[_echo()] * 4)
    named = 0
    for model in (own, translated):
        # An answer repeating the very key its request was sent is masked by the gateway before
        # the scan reads it (SECURITY.md 26), whole or split across a stream's deltas; another
        # of the operator's keys, the scan names.
        sent_it = model.startswith("claude")
        masked = "[REDACTED]" if sent_it else MASKED
        assert await ask(gateway, model, "hi") == f"Found {masked} in your .env", (door, model)
        assert await stream(gateway, model, "hi") == f"Found {masked} in your .env", door
        named += 0 if sent_it else 2
    counts = gateway.engine.guard.stats.counts()
    assert {(c.kind, c.action) for c in counts} == {("operator_key", "answer_masked")}
    assert sum(c.count for c in counts) == named


async def test_off_by_default_the_answer_is_as_the_model_wrote_it(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway()
    upstream.script(_echo(), _echo())
    assert ANTHROPIC_KEY in await STREAMS["openai-chat"](gateway, "gpt-4o", "hi")
    whole = await openai_client(gateway).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert ANTHROPIC_KEY in (whole.choices[0].message.content or "")
    assert gateway.engine.guard.stats.counts() == []


async def test_a_callers_own_key_comes_back_beside_the_operators_masked(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """The caller sends its own key; the model repeats it and the operator's, each split
    across deltas: the caller's comes back as it sent it, only the operator's is masked (the
    one the stream's request was sent with by the gateway itself), and the row names only the
    operator's."""
    gateway = await start_gateway(SCAN)
    pieces = (CALLERS_KEY[:9], CALLERS_KEY[9:], " and ", ANTHROPIC_KEY[:9], ANTHROPIC_KEY[9:])
    upstream.script(Reply.in_pieces(*pieces), Reply.in_pieces(*pieces))
    asked = f"My key is {CALLERS_KEY}; what is yours?"
    streamed = await STREAMS["anthropic"](gateway, "claude-sonnet-4-6", asked)
    assert streamed == f"{CALLERS_KEY} and [REDACTED]"
    reply = await openai_client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": asked}]
    )
    assert reply.parse().choices[0].message.content == f"{CALLERS_KEY} and {MASKED}"
    detail = await gateway.engine.recorder_query.detail(reply.headers["x-gateway-request-id"])
    assert detail is not None
    assert detail.record["route"]["guard"]["answer_masked"] == ["env:ANTHROPIC_API_KEY"]
    assert ANTHROPIC_KEY not in json.dumps(detail.record["route"])


async def test_the_row_the_metrics_and_one_notice_say_which_key_never_its_value(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(SCAN)
    notices: list[Any] = []
    gateway.engine.events.subscribe(Notice, notices.append)
    upstream.script(_echo(), _echo())
    client = openai_client(gateway).chat.completions.with_raw_response
    ids = []
    for _ in range(2):
        reply = await client.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        ids.append(reply.headers["x-gateway-request-id"])
        assert "answer masked: env:ANTHROPIC_API_KEY" in reply.headers["x-gateway-guard"]
    for request_id in ids:
        detail = await gateway.engine.recorder_query.detail(request_id)
        assert detail is not None
        assert detail.record["route"]["guard"] == {"answer_masked": ["env:ANTHROPIC_API_KEY"]}
        assert detail.record["cost_source"] == "table"  # the row's own facts are kept
        assert detail.record["route"]["attempts"][0]["outcome"] == "ok"
    (notice,) = [n for n in notices if n.topic == "guard"]
    assert "env:ANTHROPIC_API_KEY" in notice.message and ANTHROPIC_KEY not in notice.message
    async with aiohttp.ClientSession() as http, http.get(gateway.base_url + "/metrics") as got:
        text = await got.text()
    line = (
        'llmgw_guard_secrets_total{action="answer_masked",key="local",kind="operator_key",'
        'process="main",provider="openai"} 2.0'
    )
    assert line in text, [t for t in text.splitlines() if "guard" in t]
    assert ANTHROPIC_KEY not in text


async def test_a_streamed_rows_route_names_the_key(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(SCAN)
    upstream.script(_echo())
    # A model of another provider: the key it repeats is not the one its request was sent.
    async with claude_client(gateway).messages.with_streaming_response.create(
        model="gpt-4o",
        max_tokens=100,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
    ) as response:
        request_id = response.headers["x-gateway-request-id"]
        body = (await response.read()).decode()
    assert ANTHROPIC_KEY not in body and "OPERATOR_KEY" in body
    detail = await gateway.engine.recorder_query.detail(request_id)
    assert detail is not None
    assert detail.record["route"]["guard"]["answer_masked"] == ["env:ANTHROPIC_API_KEY"]
    assert "firstTokenMs" in detail.record["route"], detail.record["route"]


async def test_the_gateways_own_secret_split_across_a_stream_is_masked(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """The static bearer token, which no caller may learn: whole in one event or split across
    deltas, the gateway masks it before the answer scan reads it (SECURITY.md 26)."""
    token = "operator-bearer-token-0123456789-abcdefghij"
    gateway = await start_gateway({**SCAN, "http.auth_token": token})
    upstream.script(Reply.in_pieces("t=", token[:10], token[10:]))
    stream = await openai_client(gateway, token).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join([(c.choices[0].delta.content or "") async for c in stream if c.choices])
    assert text == "t=[REDACTED]"
