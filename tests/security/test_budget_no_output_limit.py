"""Issue 37, item 2: a call that names no output limit cannot spend past a hard budget.

The vendor's default output limit is the model's maximum. A call naming none was held at
4,096 tokens and sent as it came, so five at once under a $0.20 budget spent 15 times it. Now
such a call is held at the model's maximum output (the price table's figure) and the upstream
is sent the limit the hold paid for, in its dialect's spelling, lowered to what the budget has
room for (said in `x-gateway-max-tokens`). Each dialect is tried through its official client
(raw HTTP for Anthropic Messages, whose SDK always names `max_tokens`, as a hostile client
need not), same-dialect and translated; five calls at once get one answer and four 402s.
Beside them, the legitimate path: a call naming its own limit within the budget goes as the
client sent it (the same bytes, no header).

Prices: the person's own prices (`gateway.prices`) make output cost $100 a million tokens and
input nothing, so a $1.00 budget has room for 10,000 output tokens.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from google import genai
from google.genai import types

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

HI = [{"role": "user", "content": "hi"}]
PRICE = {"input": 0.0, "output": 100.0, "cache_read": 0.0}
MODELS = ("gpt-4o-mini", "claude-sonnet-4-6", "gemini-2.5-flash")
BUDGET = 1.0
ROOM = 10_000  # output tokens $1.00 pays for
AT_ONCE = 5


@pytest.fixture
async def budgeted(start_gateway: GatewayFactory) -> GatewayRuntime:  # noqa: F811
    gateway: GatewayRuntime = await start_gateway({"gateway.prices": dict.fromkeys(MODELS, PRICE)})
    return gateway


async def _key(gateway: GatewayRuntime, name: str, budget: float = BUDGET) -> str:
    made = await gateway.engine.keys.create(OPERATOR, KeySpec(name=name, budget_usd=budget))
    return made.secret


async def _post(
    gateway: GatewayRuntime, path: str, body: dict[str, Any], key: str
) -> tuple[int, dict[str, str]]:
    headers = {"Authorization": f"Bearer {key}", "x-api-key": key}
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + path, json=body, headers=headers) as answer,
    ):
        await answer.read()
        return answer.status, dict(answer.headers)


def _limit_sent(body: dict[str, Any]) -> Any:
    """The output limit an upstream request carries, in whichever dialect it is."""
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        if name in body:
            return body[name]
    return (body.get("generationConfig") or {}).get("maxOutputTokens")


# (client path, body without an output limit, the upstream field that must carry it)
CASES = {
    "openai-chat": (
        "/v1/chat/completions",
        {"model": "gpt-4o-mini", "messages": HI},
        "max_completion_tokens",
    ),
    "openai-responses": (
        "/v1/responses",
        {"model": "gpt-4o-mini", "input": "hi"},
        "max_output_tokens",
    ),
    "anthropic": ("/v1/messages", {"model": "claude-sonnet-4-6", "messages": HI}, "max_tokens"),
    "gemini": (
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        "maxOutputTokens",
    ),
    # Translated: an Anthropic client's call without `max_tokens` to an OpenAI model, and an
    # OpenAI client's to Claude.
    "anthropic-to-openai": (
        "/v1/messages",
        {"model": "gpt-4o-mini", "messages": HI},
        "max_completion_tokens",
    ),
    "openai-to-anthropic": (
        "/v1/chat/completions",
        {"model": "claude-sonnet-4-6", "messages": HI},
        "max_tokens",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_calls_at_once_without_a_limit_get_one_answer_limited_to_the_budget(
    budgeted: GatewayRuntime,
    upstream: ScriptedUpstream,
    case: str,
) -> None:
    path, body, field = CASES[case]
    key = await _key(budgeted, f"bot-{case}")
    upstream.default = Reply.ok(delay_s=0.5)  # all five in flight together
    answers = await asyncio.gather(*(_post(budgeted, path, body, key) for _ in range(AT_ONCE)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [402] * (AT_ONCE - 1), answers
    (sent,) = upstream.llm_requests
    config = sent.body.get("generationConfig") or {}
    assert (config if field == "maxOutputTokens" else sent.body)[field] == ROOM, sent.body
    (headers,) = [h for status, h in answers if status == 200]
    assert headers["x-gateway-max-tokens"] == str(ROOM)
    status = budgeted.engine.budget_ledger.key_status(f"key:bot-{case}")
    assert status is not None and status.spent <= BUDGET


async def test_a_call_within_the_budget_goes_with_its_own_limit_or_the_models_maximum(
    budgeted: GatewayRuntime,
    upstream: ScriptedUpstream,
) -> None:
    key = await _key(budgeted, "roomy", budget=50.0)  # room for 500,000 output tokens
    client = openai_client(budgeted, key)
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=HI, max_tokens=100
    )
    assert "x-gateway-max-tokens" not in raw.headers
    sent = upstream.llm_requests[-1]
    assert sent.body["max_tokens"] == 100 and "max_completion_tokens" not in sent.body
    # Named no limit: sent the model's own maximum (the price table's), and told so.
    raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
    assert raw.headers["x-gateway-max-tokens"] == "16384"
    assert upstream.llm_requests[-1].body["max_completion_tokens"] == 16384
    # Gemini through its own SDK, no limit named: the same.
    options = types.HttpOptions(base_url=budgeted.base_url, retry_options=None)
    gemini = genai.Client(api_key=key, http_options=options)
    reply = await gemini.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert reply.text
    assert upstream.llm_requests[-1].body["generationConfig"]["maxOutputTokens"] == 65536


async def test_the_operators_own_calls_without_a_budget_go_as_sent(
    budgeted: GatewayRuntime,
    upstream: ScriptedUpstream,
) -> None:
    body = {"model": "gpt-4o-mini", "messages": HI}
    async with (
        aiohttp.ClientSession() as http,
        http.post(budgeted.base_url + "/v1/chat/completions", json=body) as answer,
    ):
        assert answer.status == 200, await answer.text()
        assert "x-gateway-max-tokens" not in answer.headers
    sent = upstream.llm_requests[-1]
    assert json.loads(sent.raw_body) == body


def _deep(depth: int = 400) -> Any:
    """A value nested deeper than a body can be written again (orjson writes 254 levels)."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# Bodies the gateway must write again (a model renamed, a translation) and cannot: too deep,
# in a member of the client's own, in the member the limit is set on, and translated.
UNWRITABLE = {
    "renamed": ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": HI}, "user"),
    "its-limit": (
        "/v1/chat/completions",
        {"model": "openai/gpt-4o-mini", "messages": HI},
        "max_tokens",
    ),
    "translated": ("/v1/messages", {"model": "gpt-4o-mini", "messages": HI}, "metadata"),
}


@pytest.mark.parametrize("case", sorted(UNWRITABLE))
async def test_a_body_that_cannot_be_written_is_refused_for_that_before_the_budget(
    budgeted: GatewayRuntime,
    upstream: ScriptedUpstream,
    case: str,
) -> None:
    # Built once with the limit the hold is expected to send: where that limit would replace a
    # member the client sent, the body is still refused for itself first, as before.
    path, body, member = UNWRITABLE[case]
    key = await _key(budgeted, f"tight-{case}", budget=0.01)  # room for 100 output tokens
    status, _ = await _post(budgeted, path, body, key)
    assert status == 402  # too little room for any answer: the budget refuses the call
    deep = json.dumps({**body, member: {"deep": _deep()} if case == "translated" else _deep()})
    headers = {"Authorization": f"Bearer {key}", "x-api-key": key}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            budgeted.base_url + path,
            data=deep,
            headers=headers | {"Content-Type": "application/json"},
        ) as answer,
    ):
        assert answer.status == 400, await answer.text()
        assert "nested too deeply" in await answer.text()
    assert upstream.llm_requests == []
