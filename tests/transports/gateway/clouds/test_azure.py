"""Azure OpenAI through the gateway: the same wire the official `AzureOpenAI` client writes
(deployment URLs with api-version, and the v1 API), and every client dialect on top of it.

The fake upstream records each request; the real `openai.AzureOpenAI` (and, for the v1 API,
`openai.OpenAI` at `{endpoint}/openai/v1`, as Microsoft documents it) is pointed at it first, then
the gateway's `azure` provider is, and the two requests must match: method, path, query,
which header carries the credential and the credential itself (compared by digest).
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from tests.fakes.upstream import (
    DEFAULT_ANSWER,
    OPENAI_CACHED_TOKENS,
    OPENAI_PROMPT_TOKENS,
    RecordedRequest,
    Reply,
    ScriptedUpstream,
)
from tests.sdk_clients import (
    chat_refusal,
    claude_client,
    claude_stream,
    gemini_stream_text,
    openai_client,
    responses_stream_kinds,
)
from tests.transports.gateway.clouds.conftest import (
    AZURE_API_VERSION,
    AZURE_KEY,
    assert_secret_kept,
)
from tests.transports.gateway.conftest import GatewayFactory

DEPLOYMENT = "prod-4o"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def azure_env(upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user of `AzureOpenAI` has set already."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", upstream.base_url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", AZURE_API_VERSION)


def _wire(request: RecordedRequest) -> tuple[str, str, dict[str, str], dict[str, str]]:
    return request.method, request.path, request.query, request.secrets


async def test_chat_goes_where_azure_openai_sends_it_with_the_same_key(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    sdk = openai.AsyncAzureOpenAI(max_retries=0)  # endpoint, key and version from the env
    await sdk.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES)
    gateway = await start_gateway()
    reply = await openai_client(gateway).chat.completions.create(
        model=f"azure/{DEPLOYMENT}", messages=MESSAGES
    )
    theirs, ours = upstream.llm_requests
    assert _wire(ours) == _wire(theirs)
    assert ours.path == f"/openai/deployments/{DEPLOYMENT}/chat/completions"
    assert ours.query == {"api-version": AZURE_API_VERSION}
    assert set(ours.secrets) == {"api-key"}
    assert ours.body["model"] == DEPLOYMENT
    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
    assert reply.usage is not None and reply.usage.prompt_tokens == OPENAI_PROMPT_TOKENS


async def test_responses_go_where_azure_openai_sends_them(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    sdk = openai.AsyncAzureOpenAI(max_retries=0)
    await sdk.responses.create(model=DEPLOYMENT, input="hi")
    gateway = await start_gateway()
    reply = await openai_client(gateway).responses.create(model=f"azure/{DEPLOYMENT}", input="hi")
    theirs, ours = upstream.llm_requests
    assert _wire(ours) == _wire(theirs)
    assert ours.path == "/openai/responses" and ours.body["model"] == DEPLOYMENT
    assert DEFAULT_ANSWER in reply.output_text


@pytest.mark.parametrize("endpoint", ["root", "v1-url"])
async def test_the_v1_api_is_sent_as_the_openai_client_sends_it(
    endpoint: str,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Microsoft's v1 API: the plain OpenAI client at {endpoint}/openai/v1, no api-version.
    base = upstream.base_url + ("/openai/v1" if endpoint == "v1-url" else "")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", base)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    sdk = openai.AsyncOpenAI(
        base_url=upstream.base_url + "/openai/v1/", api_key=AZURE_KEY, max_retries=0
    )
    await sdk.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES)
    await sdk.responses.create(model=DEPLOYMENT, input="hi")
    gateway = await start_gateway()
    client = openai_client(gateway)
    await client.chat.completions.create(model=f"azure/{DEPLOYMENT}", messages=MESSAGES)
    await client.responses.create(model=f"azure/{DEPLOYMENT}", input="hi")
    chat_theirs, responses_theirs, chat_ours, responses_ours = upstream.llm_requests
    assert _wire(chat_ours) == _wire(chat_theirs)
    assert _wire(responses_ours) == _wire(responses_theirs)
    assert chat_ours.path == "/openai/v1/chat/completions" and chat_ours.query == {}
    assert set(chat_ours.secrets) == {"authorization"}


async def test_every_client_dialect_reaches_an_azure_deployment_streaming(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    gateway = await start_gateway({"gateway.aliases": {"work-4o": f"azure/{DEPLOYMENT}"}})
    text, final = await claude_stream(gateway, "work-4o", max_tokens=50)
    assert text.startswith(DEFAULT_ANSWER)
    # The cache tokens Azure reports reach an Anthropic client as cache reads.
    assert final.usage.cache_read_input_tokens == OPENAI_CACHED_TOKENS
    assert final.usage.input_tokens == OPENAI_PROMPT_TOKENS - OPENAI_CACHED_TOKENS
    assert (await gemini_stream_text(gateway, "work-4o")).startswith(DEFAULT_ANSWER)
    kinds = await responses_stream_kinds(gateway, f"azure/{DEPLOYMENT}")
    assert kinds[-1] == "response.completed"
    paths = [r.path for r in upstream.llm_requests]
    assert paths == [
        f"/openai/deployments/{DEPLOYMENT}/chat/completions",
        f"/openai/deployments/{DEPLOYMENT}/chat/completions",
        "/openai/responses",
    ]
    rows = await gateway.engine.recorder.recent(limit=5)
    assert {(r["provider"], r["state"]) for r in rows} == {("azure", "completed")}


async def test_a_tool_call_from_azure_reaches_an_anthropic_client(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    upstream.script(Reply.tool_call("get_weather", {"city": "Paris"}))
    gateway = await start_gateway()
    reply = await claude_client(gateway).messages.create(
        model=f"azure/{DEPLOYMENT}",
        max_tokens=50,
        messages=MESSAGES,
        tools=[
            {
                "name": "get_weather",
                "description": "Weather of a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
    )
    (call,) = [b for b in reply.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    sent = upstream.llm_requests[-1].body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert "max_tokens" not in sent and sent["max_completion_tokens"] == 50


async def test_a_deployment_is_priced_as_the_model_config_names(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    gateway = await start_gateway(
        {"gateway.providers": {"azure": {"deployments": {DEPLOYMENT: "gpt-4o"}}}}
    )
    await openai_client(gateway).chat.completions.create(
        model=f"azure/{DEPLOYMENT}", messages=MESSAGES
    )
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["model"] == DEPLOYMENT and row["cost_usd"] is not None and row["cost_usd"] > 0


async def test_without_an_endpoint_the_client_is_told_what_to_set(
    start_gateway: GatewayFactory,
) -> None:
    gateway = await start_gateway()
    status, body = await chat_refusal(gateway, f"azure/{DEPLOYMENT}")
    assert status == 400 and body["code"] == "cloud_not_configured"
    assert "AZURE_OPENAI_ENDPOINT" in body["message"]


async def test_without_a_key_or_entra_id_the_client_is_told_what_to_do(
    upstream: ScriptedUpstream, start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", upstream.base_url)
    # No key, and Entra ID finds no credential in this bare environment.
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "IDENTITY_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no `az` CLI to ask either
    gateway = await start_gateway()
    status, body = await chat_refusal(gateway, f"azure/{DEPLOYMENT}")
    assert status == 400 and body["code"] == "cloud_not_configured"
    assert "AZURE_OPENAI_API_KEY" in body["message"]
    assert upstream.llm_requests == []


async def test_an_entra_id_token_is_sent_as_a_bearer_token(
    upstream: ScriptedUpstream, start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "entra-token-abcdefghijklmnop"
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", upstream.base_url)
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", token)
    monkeypatch.setenv("OPENAI_API_VERSION", AZURE_API_VERSION)
    sdk = openai.AsyncAzureOpenAI(max_retries=0)  # reads AZURE_OPENAI_AD_TOKEN too
    await sdk.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES)
    gateway = await start_gateway()
    await openai_client(gateway).chat.completions.create(
        model=f"azure/{DEPLOYMENT}", messages=MESSAGES
    )
    theirs, ours = upstream.llm_requests
    assert _wire(ours) == _wire(theirs) and set(ours.secrets) == {"authorization"}


async def test_the_key_reaches_neither_the_log_nor_the_recorder(
    azure_env: None,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    debug_log: pytest.LogCaptureFixture,
    isolated_env: Path,
) -> None:
    upstream.script(Reply.error(401, f"Access denied: key {AZURE_KEY} is not valid"))
    gateway = await start_gateway({"recorder.capture.providers": ["*"]})
    _, body = await chat_refusal(gateway, f"azure/{DEPLOYMENT}")
    await assert_secret_kept(AZURE_KEY, gateway, body, debug_log.text, isolated_env)
