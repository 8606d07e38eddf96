"""`/v1/generate` naming no model: `gateway.default_model`, else the first model that answers
(the settings reference's "empty: the first available"), within the caller's key scope."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

PROMPT = {"prompt": "Explain quicksort in one paragraph"}
TOKEN = "operator-bearer-token-0123456789-abcdefghij"


async def generate(
    gateway: GatewayRuntime, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + "/v1/generate", json=body, headers=headers) as answer,
    ):
        return answer.status, await answer.json()


async def test_no_model_is_the_first_provider_that_answers(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    status, body = await generate(gateway, PROMPT)
    assert status == 200, body
    # OpenAI, Anthropic and Gemini all have keys: the catalogue's first provider answers.
    assert body["resolvedProvider"] == "anthropic" and body["requestedModel"] is None
    assert body["text"].startswith(DEFAULT_ANSWER)
    assert upstream.llm_requests[0].body["model"] == body["resolvedModel"]


async def test_a_named_provider_without_a_model_is_its_first_that_answers(
    gateway: GatewayRuntime,
) -> None:
    status, body = await generate(gateway, {**PROMPT, "provider": "openai"})
    assert status == 200, body
    assert body["resolvedProvider"] == "openai" and body["requestedProvider"] == "openai"
    # A provider with no key answers nothing: said, naming where a key goes.
    status, body = await generate(gateway, {**PROMPT, "provider": "groq"})
    assert status == 400 and body["error"]["code"] == "no_provider_available", body
    assert "'groq'" in body["error"]["message"] and "/v1/credentials" in body["error"]["message"]


async def test_the_configured_default_model_comes_first(start_gateway: GatewayFactory) -> None:
    gateway = await start_gateway({"gateway.default_model": "gpt-4o-mini"})
    status, body = await generate(gateway, PROMPT)
    assert status == 200, body
    assert (body["resolvedProvider"], body["resolvedModel"]) == ("openai", "gpt-4o-mini")


async def test_nothing_answering_is_a_400_that_says_what_to_do(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)
    gateway = await start_gateway()
    status, body = await generate(gateway, PROMPT)
    assert status == 400 and body["error"]["code"] == "no_provider_available", body
    assert "POST /v1/credentials" in body["error"]["message"]


async def test_a_key_is_given_a_model_in_its_own_scope(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """The first provider that answers is Anthropic; a key scoped to OpenAI is never given a
    model outside its scope, nor told which answer outside it."""
    gateway = await start_gateway({"http.auth_token": TOKEN})
    made = await gateway.engine.keys.create(
        OPERATOR, KeySpec(name="openai-only", scope=KeyScope.of(providers=["openai"]))
    )
    status, body = await generate(gateway, PROMPT, {"Authorization": f"Bearer {made.secret}"})
    assert status == 200, body
    assert body["resolvedProvider"] == "openai"
    nothing = await gateway.engine.keys.create(
        OPERATOR, KeySpec(name="groq-only", scope=KeyScope.of(providers=["groq"]))
    )
    status, body = await generate(gateway, PROMPT, {"Authorization": f"Bearer {nothing.secret}"})
    assert status == 400 and body["error"]["code"] == "no_provider_available", body
    assert "anthropic" not in body["error"]["message"]
    assert len(upstream.llm_requests) == 1  # the refused call sent nothing


async def test_no_model_under_a_project_not_granted_is_refused_before_choosing(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """Which model answers reads the project's key pool: a key outside the project learns
    nothing of it, as a call naming a model would not."""
    gateway = await start_gateway({"http.auth_token": TOKEN})
    made = await gateway.engine.keys.create(
        OPERATOR, KeySpec(name="team-a", scope=KeyScope.of(projects=["team-a"]))
    )
    headers = {"Authorization": f"Bearer {made.secret}", "X-Project": "team-b"}
    status, body = await generate(gateway, PROMPT, headers)
    assert status == 403 and body["error"]["code"] == "outside_key_scope", body
    assert "team-b" in body["error"]["message"] and upstream.llm_requests == []


async def test_a_default_model_no_provider_lists_is_named_as_the_setting_to_fix(
    start_gateway: GatewayFactory,
) -> None:
    """Every request naming no model got "unknown model 'no-such-model-zzz': ... Name its
    provider", though its caller named none: the setting is what to fix (second person pass,
    2026-11-29). A request naming another unknown model is told as before."""
    gateway = await start_gateway({"gateway.default_model": "no-such-model-zzz"})
    status, body = await generate(gateway, PROMPT)
    assert status == 404, body
    said = body["error"]["message"]
    assert "'no-such-model-zzz', which is gateway.default_model" in said, said
    assert "Settings" in said
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.base_url + "/v1/chat/completions",
            json={"model": "other-model-zzz", "messages": [{"role": "user", "content": "hi"}]},
        ) as answer,
    ):
        named = await answer.json()
    assert answer.status == 404 and "default_model" not in named["error"]["message"], named
