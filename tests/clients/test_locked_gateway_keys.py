"""A locked gateway (bearer token set) reads its credential where each dialect's clients put
their key: Anthropic's `x-api-key`, Google's `x-goog-api-key` and `?key=`, besides
`Authorization: Bearer`. The official SDKs are the clients, in their default key settings.

Each place gets the same constant-time check and the same wrong-credential accounting as the
bearer; a wrong key is refused in the dialect's own envelope, and a key in the query string is
never written to the recorder or a log.
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import anthropic
import pytest
from google import genai
from google.genai import errors as genai_errors

from llmgw_desktop.engine.auth import service
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.sdk_clients import gemini_client
from tests.transports.gateway.conftest import GatewayFactory

TOKEN = "locked-gateway-token-0123456789-abcdefghij"
HI = [{"role": "user", "content": "hi"}]
GEMINI_HI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.fixture
async def locked(start_gateway: GatewayFactory) -> GatewayRuntime:
    runtime: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    return runtime


def claude(gateway: GatewayRuntime, **key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.base_url, max_retries=0, **key)


def gemini(gateway: GatewayRuntime, key: str) -> genai.Client:
    return gemini_client(gateway, key)


async def test_anthropic_sdk_with_the_token_as_its_api_key_is_let_in(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # Its api_key and auth_token (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN). This SDK (2.x) sends
    # both as a bearer token; Claude Code sends its API key as x-api-key (test_claude_code.py,
    # and raw requests below).
    for key in ({"api_key": TOKEN}, {"auth_token": TOKEN}):
        reply = await claude(locked, **key).messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=HI
        )
        assert reply.content[0].type == "text", key
        assert reply.content[0].text.startswith(DEFAULT_ANSWER)
    # The upstream got the gateway's own key, never the client's.
    assert all(TOKEN not in str(r.headers) for r in upstream.llm_requests)


async def test_anthropic_sdk_with_a_wrong_key_is_refused_in_anthropics_shape(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    with pytest.raises(anthropic.AuthenticationError) as refused:
        await claude(locked, api_key=TOKEN[:-1] + "x").messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=HI
        )
    body = refused.value.body
    assert isinstance(body, dict) and body["type"] == "error", body
    assert body["error"]["type"] == "authentication_error"
    assert "not valid" in body["error"]["message"]
    assert upstream.llm_requests == []
    # The same refusal for a wrong key where Anthropic's other clients put it.
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            locked.base_url + "/v1/messages",
            json={"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": HI},
            headers={"x-api-key": "not-the-token", "anthropic-version": "2023-06-01"},
        ) as answer,
    ):
        assert answer.status == 401
        body = await answer.json()
        assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
        assert "x-api-key" in body["error"]["message"]


async def test_google_genai_with_the_token_as_its_api_key_is_let_in(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await gemini(locked, TOKEN).aio.models.generate_content(
        model="gemini-2.5-flash", contents="hi"
    )
    assert (reply.text or "").startswith(DEFAULT_ANSWER)
    assert all(TOKEN not in str(r.headers) for r in upstream.llm_requests)


async def test_google_genai_with_a_wrong_key_is_refused_in_geminis_shape(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    with pytest.raises(genai_errors.ClientError) as refused:
        await gemini(locked, "not-the-token").aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    assert refused.value.code == 401
    assert refused.value.status == "UNAUTHENTICATED"
    assert "x-goog-api-key" in (refused.value.message or "")
    assert upstream.llm_requests == []


async def test_key_in_the_query_is_let_in_and_never_recorded_or_logged(
    locked: GatewayRuntime,
    upstream: ScriptedUpstream,
    isolated_env: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = locked.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
    wrong = "wrong-query-key-9876543210-zyxwvutsrq"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, params={"key": TOKEN}, json=GEMINI_HI) as right:
            assert right.status == 200, await right.text()
        async with http.post(url, params={"key": wrong}, json=GEMINI_HI) as refused:
            assert refused.status == 401
            error = (await refused.json())["error"]
            assert error["status"] == "UNAUTHENTICATED" and "?key=" in error["message"]
        # Only the Gemini routes read it: an OpenAI route wants the bearer.
        async with http.get(locked.base_url + "/v1/models", params={"key": TOKEN}) as openai:
            assert openai.status == 401
    rows = await locked.engine.recorder.recent(limit=10)
    assert rows and rows[0]["provider"] == "google"
    await locked.stop()  # everything the recorder and the logs hold is on disk now
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    stored = b"".join(path.read_bytes() for path in isolated_env.rglob("*") if path.is_file())
    for secret in (TOKEN, wrong):
        assert secret not in logged
        assert secret not in str(rows)
        assert secret.encode() not in stored
    assert all(TOKEN not in str(r.query) for r in upstream.llm_requests)


async def test_wrong_keys_in_any_place_are_counted_like_wrong_bearers(
    locked: GatewayRuntime,
) -> None:
    # One allowance per client address, whatever place the guesses come in: half as bearer
    # tokens, half as x-api-key, then the query; the next guess is throttled.
    messages = locked.base_url + "/v1/messages"
    generate = locked.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
    statuses: list[int] = []
    async with aiohttp.ClientSession() as http:
        for n in range(service.FAILED_BURST + 1):
            if n % 3 == 0:
                request = http.post(messages, json={}, headers={"Authorization": f"Bearer g{n}"})
            elif n % 3 == 1:
                request = http.post(messages, json={}, headers={"x-api-key": f"guess-{n}"})
            else:
                request = http.post(generate, json=GEMINI_HI, params={"key": f"guess-{n}"})
            async with request as answer:
                statuses.append(answer.status)
        assert statuses[:-1] == [401] * service.FAILED_BURST
        assert statuses[-1] == 429
        # The right key is checked first, whichever place holds it: still in.
        async with http.post(
            messages,
            json={"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": HI},
            headers={"x-api-key": TOKEN, "anthropic-version": "2023-06-01"},
        ) as right:
            assert right.status == 200, await right.text()
        async with http.post(
            generate, json=GEMINI_HI, headers={"x-goog-api-key": "yet-another-guess"}
        ) as throttled:
            assert throttled.status == 429
            assert (await throttled.json())["error"]["status"] == "RESOURCE_EXHAUSTED"
