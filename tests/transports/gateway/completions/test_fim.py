"""Fill-in-the-middle completions through the gateway with the official `openai` SDK, as editor
autocomplete sends them: to Codestral's FIM endpoint, an OpenAI-compatible server (DeepSeek's
beta API is one) and Ollama's `/api/generate`, whole and streamed; a client that hangs up
stops the upstream at once and its row says it was cut."""

from __future__ import annotations

import asyncio

import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.fakes.upstream.completions import FIM_OUTPUT_TOKENS, FIM_PROMPT_TOKENS
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import _rows

PROMPT, SUFFIX = "def add(a, b):\n    ", "\n\nprint(add(1, 2))"


def providers(upstream: ScriptedUpstream) -> dict[str, object]:
    return {
        "gateway.providers": {
            "mistral": {"api_key": "mistral-test-key-0123", "base_url": upstream.base_url + "/v1"},
            "ollama": {"enabled": True, "base_url": upstream.base_url + "/v1"},
            "deepseek": {
                "base_url": upstream.base_url,
                "api_key": "deepseek-test-key-0123",
                "models": ["deepseek-chat"],
            },
        }
    }


@pytest.fixture
async def fim_gateway(start_gateway: GatewayFactory, upstream: ScriptedUpstream) -> GatewayRuntime:
    gateway: GatewayRuntime = await start_gateway(providers(upstream))
    return gateway


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("codestral-latest", "/v1/fim/completions"),
        ("deepseek/deepseek-chat", "/completions"),
        ("ollama/qwen2.5-coder", "/api/generate"),
    ],
)
async def test_fim_with_suffix_reaches_each_wire_whole(
    fim_gateway: GatewayRuntime, upstream: ScriptedUpstream, model: str, path: str
) -> None:
    answer = await openai_client(fim_gateway).completions.create(
        model=model, prompt=PROMPT, suffix=SUFFIX, max_tokens=32, temperature=0
    )
    assert answer.choices[0].text == f"{DEFAULT_ANSWER}|{SUFFIX}"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.prompt_tokens == FIM_PROMPT_TOKENS
    (seen,) = upstream.llm_requests
    assert seen.path == path
    assert seen.body["prompt"] == PROMPT and seen.body["suffix"] == SUFFIX
    if path == "/api/generate":
        assert seen.body["options"]["num_predict"] == 32 and seen.body["stream"] is False
    else:
        assert seen.body["max_tokens"] == 32
    (row,) = await _rows(fim_gateway, 1)
    assert row["tool"] == "/v1/completions" and row["state"] == "completed"
    assert row["output_tokens"] == FIM_OUTPUT_TOKENS


@pytest.mark.parametrize(
    "model", ["codestral-latest", "deepseek/deepseek-chat", "ollama/qwen2.5-coder"]
)
async def test_fim_streams_as_openai_completion_chunks(
    fim_gateway: GatewayRuntime, model: str
) -> None:
    stream = await openai_client(fim_gateway).completions.create(
        model=model,
        prompt=PROMPT,
        suffix=SUFFIX,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.text
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert text == f"{DEFAULT_ANSWER}|{SUFFIX}"
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == FIM_OUTPUT_TOKENS
    (row,) = await _rows(fim_gateway, 1)
    assert row["state"] == "completed" and row["input_tokens"] == FIM_PROMPT_TOKENS


async def test_the_legacy_prompt_only_form_is_served(
    fim_gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    answer = await openai_client(fim_gateway).completions.create(
        model="deepseek/deepseek-chat", prompt="Once upon a time"
    )
    assert answer.choices[0].text == DEFAULT_ANSWER
    assert "suffix" not in upstream.llm_requests[0].body


async def test_a_model_without_completions_is_refused_naming_it(
    fim_gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(fim_gateway).completions.create(
            model="claude-sonnet-4-5", prompt=PROMPT, suffix=SUFFIX
        )
    assert "anthropic/claude-sonnet-4-5 does not take text completions" in str(refused.value)
    assert upstream.llm_requests == []


async def test_a_client_that_hangs_up_stops_the_upstream_and_its_row_is_cut(
    fim_gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.stream_gate = asyncio.Event()  # the upstream holds its second half
    stream = await openai_client(fim_gateway).completions.create(
        model="codestral-latest", prompt=PROMPT, suffix=SUFFIX, stream=True
    )
    first = await stream.__anext__()
    assert first.choices[0].text
    await stream.close()  # autocomplete moved on
    async with asyncio.timeout(5):
        await upstream.hung_up.wait()  # the gateway closed its upstream connection
    (row,) = await _rows(fim_gateway, 1)
    assert row["state"] == "canceled" and row["error_code"] == "client_disconnected"
    assert row["input_tokens"] > 0  # billed at its estimate, never at nothing


async def test_under_a_hard_budget_the_upstream_is_sent_the_limit_it_was_held_for(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    budget = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 600}]
    gateway: GatewayRuntime = await start_gateway({**providers(upstream), "budgets": budget})
    answer = await openai_client(gateway).completions.with_raw_response.create(
        model="ollama/qwen2.5-coder", prompt=PROMPT, suffix=SUFFIX
    )
    limit = int(answer.headers["x-gateway-max-tokens"])
    assert 0 < limit < 600
    assert upstream.llm_requests[0].body["options"]["num_predict"] == limit
