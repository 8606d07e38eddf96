"""Google Vertex AI through the gateway: Gemini models at generateContent and Claude models at
rawPredict, tokens from Application Default Credentials fetched by google-auth from a token
endpoint on loopback (which checks google-auth's signed JWT), the same wire the official
clients write (`google-genai` with `vertexai=True`, `anthropic.AnthropicVertex`), and every
client dialect on top."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import pytest
from aiohttp import web
from anthropic import AsyncAnthropicVertex
from google import genai
from google.genai import types

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.clouds.google import GoogleTokenServer
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_READ_TOKENS,
    DEFAULT_ANSWER,
    GEMINI_CACHED_TOKENS,
    Reply,
    ScriptedUpstream,
)
from tests.sdk_clients import (
    chat_refusal,
    claude_client,
    gemini_client,
    gemini_stream_text,
    openai_client,
    responses_stream_kinds,
)
from tests.transports.gateway.clouds.conftest import (
    VERTEX_CLAUDE,
    VERTEX_GEMINI,
    VERTEX_LOCATION,
    VERTEX_PROJECT,
    assert_secret_kept,
)
from tests.transports.gateway.conftest import GatewayFactory

MESSAGES = [{"role": "user", "content": "hi"}]
PREFIX = f"/v1/projects/{VERTEX_PROJECT}/locations/{VERTEX_LOCATION}/publishers"


@pytest.fixture
async def google() -> GoogleTokenServer:
    async with GoogleTokenServer() as server:
        yield server


def bearer_check(google: GoogleTokenServer):  # type: ignore[no-untyped-def]
    def verify(request: web.Request, body: bytes) -> str | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return None if token in google.issued else "not a token Google issued"

    return verify


@pytest.fixture
def vertex_env(
    google: GoogleTokenServer,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
) -> Path:
    """A service-account key as Application Default Credentials, the project and location."""
    key = google.write(isolated_env / "sa.json", google.service_account(VERTEX_PROJECT))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", VERTEX_PROJECT)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", VERTEX_LOCATION)
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", upstream.base_url)
    upstream.verify = bearer_check(google)
    return key


async def test_gemini_goes_where_the_google_genai_vertex_client_sends_it(
    vertex_env: Path, google: GoogleTokenServer, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    sdk = genai.Client(
        vertexai=True,
        project=VERTEX_PROJECT,
        location=VERTEX_LOCATION,
        # The GA version, which the gateway uses (the SDK's default is the v1beta1 preview).
        http_options=types.HttpOptions(
            base_url=upstream.base_url, api_version="v1", retry_options=None
        ),
    )
    await sdk.aio.models.generate_content(model=VERTEX_GEMINI, contents="hi")
    reply = await gemini_client(gateway).aio.models.generate_content(
        model=f"vertex/{VERTEX_GEMINI}", contents="hi"
    )
    theirs, ours = upstream.llm_requests
    assert ours.path == theirs.path == f"{PREFIX}/google/models/{VERTEX_GEMINI}:generateContent"
    assert set(ours.secrets) == set(theirs.secrets) == {"authorization"}
    assert (reply.text or "").startswith(DEFAULT_ANSWER)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata.cached_content_token_count == GEMINI_CACHED_TOKENS
    assert google.refused == []


async def test_claude_goes_where_anthropic_vertex_sends_it_with_its_body(
    vertex_env: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    sdk = AsyncAnthropicVertex(
        region=VERTEX_LOCATION, project_id=VERTEX_PROJECT, base_url=upstream.base_url + "/v1"
    )
    await sdk.messages.create(model=VERTEX_CLAUDE, max_tokens=20, messages=MESSAGES)
    reply = await claude_client(gateway).messages.create(
        model=f"vertex/{VERTEX_CLAUDE}", max_tokens=20, messages=MESSAGES
    )
    theirs, ours = upstream.llm_requests
    assert ours.path == theirs.path == f"{PREFIX}/anthropic/models/{VERTEX_CLAUDE}:rawPredict"
    assert "model" not in ours.body and "model" not in theirs.body
    # The version in the body: Google's documented one (SDK releases write their own API
    # version there; the installed one sends its own).
    assert (
        ours.body["anthropic_version"] == "vertex-2023-10-16" and theirs.body["anthropic_version"]
    )
    assert set(ours.body) - {"stream"} == set(theirs.body) - {"stream"}
    assert reply.content[0].type == "text" and reply.content[0].text.startswith(DEFAULT_ANSWER)
    assert reply.usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["provider"] == "vertex" and rows[0]["cost_usd"] is not None


async def test_every_client_dialect_streams_from_both_publishers(
    vertex_env: Path, google: GoogleTokenServer, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    async with claude_client(gateway).messages.stream(
        model=f"vertex/{VERTEX_CLAUDE}", max_tokens=20, messages=MESSAGES
    ) as stream:
        assert "".join([p async for p in stream.text_stream]).startswith(DEFAULT_ANSWER)
    async with claude_client(gateway).messages.stream(
        model=f"vertex/{VERTEX_GEMINI}", max_tokens=20, messages=MESSAGES
    ) as stream:
        assert "".join([p async for p in stream.text_stream]).startswith(DEFAULT_ANSWER)
        final = await stream.get_final_message()
    assert final.usage.cache_read_input_tokens == GEMINI_CACHED_TOKENS
    for model in (VERTEX_CLAUDE, VERTEX_GEMINI):
        chunks = await openai_client(gateway).chat.completions.create(
            model=f"vertex/{model}", messages=MESSAGES, stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        assert text.startswith(DEFAULT_ANSWER)
        kinds = await responses_stream_kinds(gateway, f"vertex/{model}")
        assert kinds[-1] == "response.completed"
    assert (await gemini_stream_text(gateway, f"vertex/{VERTEX_CLAUDE}")).startswith(DEFAULT_ANSWER)
    paths = {r.path.rsplit(":", 1)[-1] for r in upstream.llm_requests}
    assert paths == {"streamRawPredict", "streamGenerateContent"}
    # One token, fetched once, served every request.
    assert google.issued == ["ya29.fake-1"]


async def test_a_tool_call_from_gemini_on_vertex_reaches_an_openai_client(
    vertex_env: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    upstream.script(Reply.tool_call("get_weather", {"city": "Paris"}))
    reply = await openai_client(gateway).chat.completions.create(
        model=f"vertex/{VERTEX_GEMINI}",
        messages=MESSAGES,
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    )
    (call,) = reply.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {
        "city": "Paris"
    }


async def test_credentials_in_gclouds_place_with_their_quota_project(
    google: GoogleTokenServer,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
) -> None:
    # Credentials where gcloud keeps Application Default Credentials, billed to another
    # project, and no project variable: the project comes from the table.
    google.write(
        isolated_env / "gcloud" / "application_default_credentials.json",
        google.service_account("key-project"),
    )
    monkeypatch.setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "billing-project")
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", upstream.base_url)
    upstream.verify = bearer_check(google)
    gateway = await start_gateway(
        {"gateway.providers": {"vertex": {"project": VERTEX_PROJECT, "location": "global"}}}
    )
    await openai_client(gateway).chat.completions.create(
        model=f"vertex/{VERTEX_GEMINI}", messages=MESSAGES
    )
    (seen,) = upstream.llm_requests
    assert seen.path.startswith(f"/v1/projects/{VERTEX_PROJECT}/locations/global/")
    assert seen.headers["x-goog-user-project"] == "<redacted 15 chars>"


async def test_a_stored_service_account_key_is_a_pool_member(
    google: GoogleTokenServer,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", upstream.base_url)
    upstream.verify = bearer_check(google)
    key = json.dumps(google.service_account("key-project"), separators=(",", ":"))
    gateway = await start_gateway({"gateway.providers": {"vertex": {"api_key": key}}})
    await openai_client(gateway).chat.completions.create(
        model=f"vertex/{VERTEX_GEMINI}", messages=MESSAGES
    )
    (seen,) = upstream.llm_requests
    assert seen.path.startswith("/v1/projects/key-project/locations/global/")


@pytest.mark.parametrize(
    ("status", "message", "code", "http"),
    [
        (
            429,
            "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute",
            "quota_exceeded",
            429,
        ),
        (
            404,
            f"Publisher Model `projects/{VERTEX_PROJECT}/publishers/google/models/x` not found.",
            "model_not_enabled",
            403,
        ),
    ],
)
async def test_vertex_errors_become_our_codes_with_its_message(
    status: int,
    message: str,
    code: str,
    http: int,
    vertex_env: Path,
    upstream: ScriptedUpstream,
    gateway: GatewayRuntime,
) -> None:
    upstream.by_dialect["gemini"] = Reply.error(status, message)
    status, body = await chat_refusal(gateway, f"vertex/{VERTEX_GEMINI}")
    assert status == http and body["code"] == code and message in body["message"]


async def test_without_a_project_the_client_is_told_what_to_set(gateway: GatewayRuntime) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        await claude_client(gateway).messages.create(
            model=f"vertex/{VERTEX_CLAUDE}", max_tokens=20, messages=MESSAGES
        )
    assert caught.value.status_code == 400
    assert "GOOGLE_CLOUD_PROJECT" in caught.value.message


async def test_without_credentials_the_client_is_told_how_to_sign_in(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", VERTEX_PROJECT)
    gateway = await start_gateway()
    status, body = await chat_refusal(gateway, f"vertex/{VERTEX_GEMINI}")
    assert status == 400 and body["code"] == "cloud_not_configured"
    assert "gcloud auth application-default login" in body["message"]


async def test_the_token_and_the_key_reach_neither_the_log_nor_the_recorder(
    vertex_env: Path,
    google: GoogleTokenServer,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    debug_log: pytest.LogCaptureFixture,
    isolated_env: Path,
) -> None:
    gateway = await start_gateway({"recorder.capture.providers": ["*"]})
    await openai_client(gateway).chat.completions.create(
        model=f"vertex/{VERTEX_GEMINI}", messages=MESSAGES
    )
    upstream.by_dialect["gemini"] = Reply.error(403, f"token {google.issued[0]} is not allowed")
    _, body = await chat_refusal(gateway, f"vertex/{VERTEX_GEMINI}")
    token = google.issued[0]
    stored = await assert_secret_kept(
        token, gateway, body, debug_log.text, isolated_env, but=vertex_env
    )
    assert b"PRIVATE KEY" not in stored
