"""Native endpoints (/v1/generate, /v1/providers, /openapi.json), the vault over HTTP, and
errors in each caller's own dialect."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream


async def call(
    gateway: GatewayRuntime, method: str, path: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, gateway.base_url + path, json=body, **kwargs) as response,
    ):
        return response.status, await response.json(content_type=None)


async def test_generate_routes_and_reports_the_route(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    status, body = await call(
        gateway,
        "POST",
        "/v1/generate",
        {
            "prompt": "haiku",
            "system": "You are a poet.",
            "provider": "anthropic",
            "model": "claude-sonnet-4-6",
            "maxTokens": 64,
        },
    )
    assert status == 200, body
    assert body["text"].startswith(DEFAULT_ANSWER)
    assert body["resolvedProvider"] == "anthropic"
    assert body["requestedProvider"] == "anthropic"
    assert body["fallbackUsed"] is False
    assert body["tokensUsed"] > 0
    sent = upstream.llm_requests[0].body
    assert sent["system"] == [{"type": "text", "text": "You are a poet."}] or sent["system"]
    assert sent["max_tokens"] == 64


async def test_generate_names_bad_fields(gateway: GatewayRuntime) -> None:
    status, body = await call(gateway, "POST", "/v1/generate", {"prompt": "x", "maxTokns": 5})
    assert status == 400 and "maxTokns" in body["error"]["message"]
    status, body = await call(gateway, "POST", "/v1/generate", {"prompt": ""})
    assert status == 400 and "prompt" in body["error"]["message"]


async def test_providers_say_why_not(
    gateway: GatewayRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body = await call(gateway, "GET", "/v1/providers")
    assert status == 200
    by_id = {p["id"]: p for p in body["providers"]}
    assert by_id["openai"]["available"] is True
    assert by_id["openai"]["keySources"] == ["env:OPENAI_API_KEY"]
    assert by_id["groq"]["available"] is False
    assert "GROQ_API_KEY" in by_id["groq"]["reason"]
    assert by_id["ollama"]["available"] is False
    assert by_id["claude-cli"]["type"] == "cli"
    assert "sk-" not in json.dumps(body)


async def test_openapi_describes_the_native_endpoints(gateway: GatewayRuntime) -> None:
    status, body = await call(gateway, "GET", "/openapi.json")
    assert status == 200
    assert body["openapi"].startswith("3.")
    for path in ("/v1/generate", "/v1/providers", "/v1/credentials", "/v1/files/{id}"):
        assert path in body["paths"]
    # Every state a route's target can be in, `hung` (no answer to the probe) too.
    schemas = body["components"]["schemas"]
    states = next(
        schema["properties"]["state"]["enum"]
        for schema in schemas.values()
        if "trialInFlight" in schema.get("properties", {})
    )
    assert set(states) == {"closed", "cooling", "open", "half_open", "hung"}


async def test_credentials_round_trip_masked(gateway: GatewayRuntime) -> None:
    secret = "sk-ant-api03-abcdefghijklmnop"
    status, stored = await call(
        gateway, "POST", "/v1/credentials", {"provider": "anthropic", "apiKey": secret}
    )
    assert status == 201, stored
    assert stored["project"] == "_global" and stored["keyName"] == "default"
    status, _scoped = await call(
        gateway,
        "POST",
        "/v1/credentials",
        {"provider": "openai", "apiKey": "sk-proj-zzzzzzzzzz", "project": "my-app"},
    )
    status, listed = await call(gateway, "GET", "/v1/credentials")
    assert {c["provider"] for c in listed["credentials"]} == {"anthropic", "openai"}
    assert secret not in json.dumps(listed) and "sk-proj-zzzz" not in json.dumps(listed)
    assert all(c["maskedValue"].endswith("***") for c in listed["credentials"])
    status, other = await call(gateway, "GET", "/v1/credentials?project=other")
    assert [c["provider"] for c in other["credentials"]] == ["anthropic"]
    status, body = await call(gateway, "DELETE", f"/v1/credentials/{stored['id']}")
    assert (status, body) == (200, {"ok": True})
    status, body = await call(gateway, "DELETE", f"/v1/credentials/{stored['id']}")
    assert status == 404


async def test_a_locked_vault_is_a_refusal_no_client_retries(
    start_gateway: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A master key that is not one: the vault stays locked, and waiting will not open it, so
    # the answer is one no client retries (a 503 had SDKs retry it, and Claude Code for three
    # minutes, before anyone read why).
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", "too-short")
    gateway = await start_gateway()
    for method, path, body in (
        ("POST", "/v1/credentials", {"provider": "openai", "apiKey": "sk-proj-zzzzzzzzzz"}),
        ("GET", "/v1/credentials", None),
    ):
        status, refused = await call(gateway, method, path, body)
        assert status == 400, refused
        assert refused["error"]["code"] == "vault_locked"
        assert "LLM_GATEWAY_MASTER_KEY" in refused["error"]["message"]


async def test_credentials_reject_bad_input_by_name(gateway: GatewayRuntime) -> None:
    status, body = await call(gateway, "POST", "/v1/credentials", {"provider": "openai"})
    assert status == 400 and "apiKey" in body["error"]["message"]
    status, body = await call(
        gateway, "POST", "/v1/credentials", {"provider": "../x", "apiKey": "sk-1234567890"}
    )
    assert status == 400 and "provider" in body["error"]["message"]


async def test_auth_files_list_metadata_only(gateway: GatewayRuntime) -> None:
    content = '{"token": "oc-secret-token-value"}'
    status, stored = await call(
        gateway,
        "POST",
        "/v1/files",
        {"provider": "opencode", "fileName": "auth.json", "content": content},
    )
    assert status == 201, stored
    status, listed = await call(gateway, "GET", "/v1/files")
    (row,) = listed["files"]
    assert row["fileName"] == "auth.json" and row["size"] == len(content)
    assert "oc-secret" not in json.dumps(listed)
    status, body = await call(
        gateway,
        "POST",
        "/v1/files",
        {"provider": "opencode", "fileName": "../../etc/x", "content": "x"},
    )
    assert status == 400 and "file" in body["error"]["message"].lower()


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/v1/chat/completions", "openai"),
        ("/v1/responses", "openai"),
        ("/v1/messages", "anthropic"),
        ("/v1beta/models/gemini-2.5-flash:generateContent", "gemini"),
    ],
)
async def test_malformed_json_is_a_400_in_the_callers_dialect(
    gateway: GatewayRuntime, path: str, envelope: str
) -> None:
    status, body = await call(
        gateway, "POST", path, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    if envelope == "anthropic":
        assert body["type"] == "error" and "JSON" in body["error"]["message"]
    elif envelope == "gemini":
        assert body["error"]["status"] == "INVALID_ARGUMENT" and body["error"]["code"] == 400
    else:
        assert "JSON" in body["error"]["message"] and body["error"]["type"]


async def test_gemini_stream_without_sse_is_one_json_array(gateway: GatewayRuntime) -> None:
    status, body = await call(
        gateway,
        "POST",
        "/v1beta/models/claude-sonnet-4-6:streamGenerateContent",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
    )
    assert status == 200
    assert isinstance(body, list) and len(body) > 1
    text = "".join(p.get("text", "") for c in body for p in c["candidates"][0]["content"]["parts"])
    assert text.startswith(DEFAULT_ANSWER)
    assert body[-1]["usageMetadata"]["promptTokenCount"] > 0


async def test_unknown_gemini_method_is_a_404_in_gemini_form(gateway: GatewayRuntime) -> None:
    status, body = await call(gateway, "POST", "/v1beta/models/gemini-2.5-flash:explode", {})
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"
