"""The `openai` npm package (pinned in .ci/node-clients) in its default configuration
(`OPENAI_BASE_URL` and `OPENAI_API_KEY`), on an open and on a locked gateway: Chat Completions
and Responses, each with text, a stream, a tool round trip and an error in OpenAI's shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.clients.harness import WEATHER_ARGS, KeyedGateway, script_weather_round_trip
from tests.clients.node import node_environment, run_node
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream

PACKAGE = "openai"
MODEL = "gpt-4o-mini"
TOOL_OUTPUT = "18 C and sunny in Paris"

api = pytest.mark.parametrize("api", ["chat", "responses"])


async def run_case(script: str, api: str, gateway: KeyedGateway, home: Path) -> dict[str, Any]:
    """`script` on `api`, with the package pointed at the gateway and given its key."""
    base_url = gateway.runtime.base_url + "/v1"
    env = node_environment(home, {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": gateway.key})
    return await run_node(PACKAGE, script, api, MODEL, env=env, cwd=home)


@api
async def test_openai_npm_text(
    keyed_gateway: KeyedGateway, api: str, upstream: ScriptedUpstream, home: Path
) -> None:
    answer = await run_case("openai_text.cjs", api, keyed_gateway, home)
    assert answer["text"].startswith(DEFAULT_ANSWER), answer
    assert answer["finish"] == ("stop" if api == "chat" else "completed"), answer
    assert answer["usage"], answer
    (request,) = upstream.llm_requests
    assert request.dialect == api


@api
async def test_openai_npm_stream(
    keyed_gateway: KeyedGateway, api: str, upstream: ScriptedUpstream, home: Path
) -> None:
    answer = await run_case("openai_stream.cjs", api, keyed_gateway, home)
    assert "".join(answer["chunks"]).startswith(DEFAULT_ANSWER), answer
    assert answer["finish"] == ("stop" if api == "chat" else "completed"), answer
    assert answer["usage"], answer
    if api == "responses":
        assert answer["sequence"] == list(range(len(answer["sequence"]))), answer
    (request,) = upstream.llm_requests
    assert request.stream


@api
async def test_openai_npm_tool_round_trip(
    keyed_gateway: KeyedGateway, api: str, upstream: ScriptedUpstream, home: Path
) -> None:
    script_weather_round_trip(upstream)
    answer = await run_case("openai_tools.cjs", api, keyed_gateway, home)
    assert answer["calls"] == [{"name": "get_weather", "arguments": WEATHER_ARGS}], answer
    assert answer["firstFinish"] == ("tool_calls" if api == "chat" else "completed"), answer
    assert answer["text"] == "It is sunny.", answer
    _, answered = upstream.llm_requests
    assert TOOL_OUTPUT in answered.raw_body.decode()


@api
async def test_openai_npm_upstream_error_in_openais_shape(
    keyed_gateway: KeyedGateway, api: str, upstream: ScriptedUpstream, home: Path
) -> None:
    upstream.script(Reply.error(400, "The prompt was refused (fake)"))
    answer = await run_case("openai_error.cjs", api, keyed_gateway, home)
    assert answer.get("isApiError") and answer["name"] == "BadRequestError", answer
    assert answer["status"] == 400 and answer["error"]["message"] == "The prompt was refused (fake)"
    assert len(upstream.llm_requests) == 1


@api
async def test_openai_npm_with_a_wrong_key_is_refused_by_a_locked_gateway(
    locked_with_a_wrong_key: KeyedGateway, api: str, upstream: ScriptedUpstream, home: Path
) -> None:
    answer = await run_case("openai_error.cjs", api, locked_with_a_wrong_key, home)
    assert answer.get("isApiError") and answer["name"] == "AuthenticationError", answer
    assert answer["status"] == 401 and "not valid" in answer["error"]["message"], answer
    assert upstream.llm_requests == []
