"""The Vercel AI SDK (`ai` 6 with `@ai-sdk/openai` chat and responses, `@ai-sdk/anthropic`,
`@ai-sdk/google`, pinned in .ci/node-clients) pointed at the gateway as each provider package
documents it, on an open and on a locked gateway: text, a stream, a tool round trip the SDK
runs itself, and errors in each provider's own shape (the SDK reads the message from it).

On a locked gateway each package's own key variable holds the token, which it sends the way
it sends an API key: `Authorization: Bearer`, `x-api-key`, `x-goog-api-key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clients.harness import LOCK_TOKEN, WEATHER_ARGS, KeyedGateway, script_weather_round_trip
from tests.clients.node import node_environment, run_node
from tests.fakes.upstream import DEFAULT_ANSWER, Dialect, Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

PACKAGE = "ai"
TOOL_OUTPUT = "18 C and sunny in Paris"


@dataclass(frozen=True)
class Provider:
    """One AI SDK provider as the scripts build it, and what it should reach upstream."""

    kind: str
    key_variable: str
    model: str
    dialect: Dialect


PROVIDERS = [
    Provider("openai-chat", "OPENAI_API_KEY", "gpt-4o-mini", "chat"),
    Provider("openai-responses", "OPENAI_API_KEY", "gpt-4o-mini", "responses"),
    Provider("anthropic", "ANTHROPIC_API_KEY", "claude-sonnet-4-6", "anthropic"),
    Provider("google", "GOOGLE_GENERATIVE_AI_API_KEY", "gemini-2.5-flash", "gemini"),
]


@pytest.fixture(params=PROVIDERS, ids=lambda provider: provider.kind)
def provider(request: pytest.FixtureRequest) -> Provider:
    chosen: Provider = request.param
    return chosen


async def run_case(
    script: str, provider: Provider, gateway: KeyedGateway, home: Path
) -> dict[str, Any]:
    """`script` for `provider`, pointed at the gateway and given its key."""
    variables = {"GATEWAY_URL": gateway.runtime.base_url, provider.key_variable: gateway.key}
    env = node_environment(home, variables)
    return await run_node(PACKAGE, script, provider.kind, provider.model, env=env, cwd=home)


async def test_ai_sdk_text(
    keyed_gateway: KeyedGateway, provider: Provider, upstream: ScriptedUpstream, home: Path
) -> None:
    answer = await run_case("ai_text.cjs", provider, keyed_gateway, home)
    assert answer["text"].startswith(DEFAULT_ANSWER), answer
    assert answer["finishReason"] == "stop", answer
    assert answer["usage"]["inputTokens"] > 0 and answer["usage"]["outputTokens"] > 0, answer
    (request,) = upstream.llm_requests
    assert request.dialect == provider.dialect and not request.stream


async def test_ai_sdk_stream(
    keyed_gateway: KeyedGateway, provider: Provider, upstream: ScriptedUpstream, home: Path
) -> None:
    answer = await run_case("ai_stream.cjs", provider, keyed_gateway, home)
    assert answer["errors"] == [], answer
    assert answer["chunks"] and answer["text"] == "".join(answer["chunks"]), answer
    assert answer["text"].startswith(DEFAULT_ANSWER), answer
    assert answer["finishReason"] == "stop", answer
    assert answer["usage"]["outputTokens"] > 0, answer
    (request,) = upstream.llm_requests
    assert request.dialect == provider.dialect and request.stream


async def test_ai_sdk_tool_round_trip_runs_once(
    keyed_gateway: KeyedGateway, provider: Provider, upstream: ScriptedUpstream, home: Path
) -> None:
    script_weather_round_trip(upstream)
    answer = await run_case("ai_tools.cjs", provider, keyed_gateway, home)
    first, second = answer["steps"]
    assert first["finishReason"] == "tool-calls", answer
    assert first["toolCalls"] == [{"name": "get_weather", "input": WEATHER_ARGS}], answer
    assert first["toolResults"] == [{"name": "get_weather", "output": TOOL_OUTPUT}], answer
    assert second["finishReason"] == "stop" and answer["text"] == "It is sunny.", answer
    # Two upstream calls, the second carrying the tool's output.
    called, answered = upstream.llm_requests
    assert "get_weather" in called.raw_body.decode()
    assert TOOL_OUTPUT in answered.raw_body.decode()


async def test_ai_sdk_upstream_error_reaches_it_in_its_providers_shape(
    keyed_gateway: KeyedGateway, provider: Provider, upstream: ScriptedUpstream, home: Path
) -> None:
    upstream.script(Reply.error(400, "The prompt was refused (fake)"))
    answer = await run_case("ai_error.cjs", provider, keyed_gateway, home)
    error = answer.get("error")
    assert error is not None, answer
    assert error["name"] == "AI_APICallError" and error["statusCode"] == 400, error
    # The SDK found the message where its provider puts it.
    assert error["message"] == "The prompt was refused (fake)", error
    assert error["isRetryable"] is False
    assert len(upstream.llm_requests) == 1


async def test_ai_sdk_with_a_wrong_key_is_refused_by_a_locked_gateway(
    locked_with_a_wrong_key: KeyedGateway,
    provider: Provider,
    upstream: ScriptedUpstream,
    home: Path,
) -> None:
    answer = await run_case("ai_error.cjs", provider, locked_with_a_wrong_key, home)
    error = answer.get("error")
    assert error is not None, answer
    assert error["statusCode"] == 401, error
    assert "not valid" in error["message"], error
    assert upstream.llm_requests == []


async def test_ai_sdk_object(
    keyed_gateway: KeyedGateway, provider: Provider, upstream: ScriptedUpstream, home: Path
) -> None:
    answer = await run_case("ai_object.cjs", provider, keyed_gateway, home)
    # The scripted upstream fills the schema it was sent: the schema reached it intact.
    assert answer["object"] == {"city": "fake", "temperature": 0}, answer
    assert len(upstream.llm_requests) == 1


# Each package asking for a model of another dialect: the gateway translates both ways.
CROSS = [
    Provider("openai-chat", "OPENAI_API_KEY", "claude-sonnet-4-6", "anthropic"),
    Provider("openai-responses", "OPENAI_API_KEY", "gemini-2.5-flash", "gemini"),
    Provider("anthropic", "ANTHROPIC_API_KEY", "gpt-4o-mini", "chat"),
    Provider("google", "GOOGLE_GENERATIVE_AI_API_KEY", "claude-sonnet-4-6", "anthropic"),
]


@pytest.mark.parametrize("crossed", CROSS, ids=lambda p: f"{p.kind}-to-{p.dialect}")
async def test_ai_sdk_tool_round_trip_across_dialects(
    start_gateway: GatewayFactory, crossed: Provider, upstream: ScriptedUpstream, home: Path
) -> None:
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    script_weather_round_trip(upstream)
    keyed = KeyedGateway(locked, LOCK_TOKEN, locked=True)
    answer = await run_case("ai_tools.cjs", crossed, keyed, home)
    first, _ = answer["steps"]
    assert first["toolResults"] == [{"name": "get_weather", "output": TOOL_OUTPUT}], answer
    assert answer["text"] == "It is sunny.", answer
    called, answered = upstream.llm_requests
    assert called.dialect == answered.dialect == crossed.dialect
    assert TOOL_OUTPUT in answered.raw_body.decode()
