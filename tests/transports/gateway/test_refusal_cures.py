"""A refusal waiting will not cure is answered with a status no client retries, in each
dialect's own error shape; one waiting may cure stays a 503 with `Retry-After`.

The clients are the official SDKs in their default configuration (the OpenAI and Anthropic
SDKs retry twice by default): a refusal someone must set up reaches the gateway once, where a
503 reached it three times and left the person waiting. The first refusal of each kind is said
on the terminal's log once (`records/first_refusals.py`).
"""

from __future__ import annotations

import logging

import aiohttp
import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from llmgw_desktop.engine.api import LOCAL_CALLER, TERMINAL_LOG
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_routing import chat, post, recorded

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def openai_only(start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A gateway with only an OpenAI key: what the README's first lines meet most."""
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)
    return await start_gateway()


async def test_openai_sdk_with_its_default_retries_sends_a_no_key_refusal_once(
    openai_only: GatewayRuntime,
) -> None:
    client = openai.AsyncOpenAI(base_url=openai_only.base_url + "/v1", api_key="any")
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(model="claude-sonnet-4-6", messages=HI)  # type: ignore[arg-type]
    assert refused.value.code == "no_api_key"
    assert "ANTHROPIC_API_KEY" in refused.value.message
    rows = await recorded(openai_only)
    assert [(r["state"], r["error_code"], r["http_status"]) for r in rows] == [
        ("refused", "no_api_key", 400)
    ]


async def test_anthropic_sdk_with_its_default_retries_sends_a_no_key_refusal_once(
    openai_only: GatewayRuntime,
) -> None:
    client = anthropic.AsyncAnthropic(base_url=openai_only.base_url, api_key="any")
    with pytest.raises(anthropic.BadRequestError) as refused:
        await client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)  # type: ignore[arg-type]
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "invalid_request_error"
    assert "has no API key" in body["error"]["message"]
    assert len(await recorded(openai_only)) == 1


async def test_gemini_sdk_reads_a_no_key_refusal_as_a_failed_precondition(
    openai_only: GatewayRuntime,
) -> None:
    # google-genai retries 408, 429 and 5xx when asked to; a 400 is never among them.
    retrying = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02)
    client = genai.Client(
        api_key="any",
        http_options=types.HttpOptions(base_url=openai_only.base_url, retry_options=retrying),
    )
    with pytest.raises(genai_errors.ClientError) as refused:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert refused.value.code == 400
    assert refused.value.status == "FAILED_PRECONDITION"
    assert "GEMINI_API_KEY" in str(refused.value.message)
    assert len(await recorded(openai_only)) == 1


async def test_a_cli_model_whose_cli_is_not_installed_is_a_400_saying_how_to_install_it(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    gateway = await start_gateway()
    status, headers, body = await post(gateway, "/v1/chat/completions", chat("claude-cli/sonnet"))
    assert status == 400, body
    assert body["error"]["code"] == "not_installed"
    assert "npm install -g @anthropic-ai/claude-code" in body["error"]["message"]
    assert "Retry-After" not in headers


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", chat("gpt-4o")),
        ("/v1/messages", {"model": "gpt-4o", "max_tokens": 8, "messages": HI}),
        ("/v1beta/models/gpt-4o:generateContent", {"contents": [{"parts": [{"text": "hi"}]}]}),
    ],
    ids=["openai", "anthropic", "gemini"],
)
async def test_paused_providers_stay_a_503_clients_wait_out(
    path: str, body: dict[str, object], start_gateway: GatewayFactory
) -> None:
    gateway = await start_gateway()
    gateway.engine.providers.set_paused(LOCAL_CALLER, True)
    status, headers, answer = await post(gateway, path, body)
    assert status == 503, answer
    assert headers["Retry-After"] == "30"
    assert "gateway_paused" in str(answer)


async def test_the_first_refusal_of_each_kind_is_said_once_on_the_terminal_log(
    openai_only: GatewayRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=TERMINAL_LOG)
    headers = {"User-Agent": "claude-cli/2.1.197 (external, cli)"}
    claude = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": HI}
    for _ in range(3):
        await post(openai_only, "/v1/messages", claude, **headers)
    await post(openai_only, "/v1/chat/completions", chat("gemini-2.5-flash"))
    await post(openai_only, "/v1/chat/completions", chat("gpt-4o"))  # answered: nothing said
    said = [r.getMessage() for r in caplog.records if r.name == TERMINAL_LOG]
    assert len(said) == 2, said
    first = "refused claude-code's request for 'claude-sonnet-4-6' (400 no_api_key)"
    assert said[0].startswith(first), said
    assert "llmgw-desktop run claude" in said[0] and "ANTHROPIC_API_KEY" in said[0]
    assert "GEMINI_API_KEY" in said[1]


async def test_an_unknown_model_stays_the_404_every_dialect_knows(
    openai_only: GatewayRuntime,
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            openai_only.base_url + "/v1/messages",
            json={"model": "no-such-model", "max_tokens": 8, "messages": HI},
        ) as answer,
    ):
        assert answer.status == 404
        assert (await answer.json())["error"]["type"] == "not_found_error"
