"""Routing through the gateway: fallback, key pools, pins, aliases, the small-request rule."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream
from tests.ports import free_port
from tests.transports.gateway.conftest import GEMINI_KEY, OPENAI_KEY, GatewayFactory

FALLBACK_ROUTE = {"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}}


async def post(
    gateway: GatewayRuntime, path: str, body: dict[str, Any], **headers: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.base_url + path, json=body, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.json()


def chat(model: str, text: str = "hi") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


async def recorded(gateway: GatewayRuntime) -> list[dict[str, Any]]:
    return list(reversed(await gateway.engine.recorder.recent(limit=20)))


async def test_429_falls_back_to_the_next_route_and_says_so(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    upstream.script(Reply.error(429, retry_after_s=3))
    status, headers, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert status == 200, body
    assert body["choices"][0]["message"]["content"].startswith(DEFAULT_ANSWER)
    route = body["x_gateway"]
    assert route["requestedModel"] == "gpt-4o"
    assert route["resolvedProvider"] == "anthropic"
    assert route["fallbackUsed"] is True
    assert [a["outcome"] for a in route["attempts"]] == ["429", "ok"]
    assert headers["x-gateway-fallback"] == "true"
    assert headers["x-gateway-provider"] == "anthropic"
    assert [r.path for r in upstream.llm_requests] == ["/v1/chat/completions", "/v1/messages"]
    rows = await recorded(gateway)
    assert [(r["provider"], r["state"]) for r in rows] == [
        ("openai", "failed"),
        ("anthropic", "completed"),
    ]
    assert rows[0]["http_status"] == 429
    assert rows[1]["fallback_used"] and rows[1]["requested_model"] == "gpt-4o"
    assert rows[1]["route"]["attempts"][0]["outcome"] == "429"
    assert OPENAI_KEY not in str(rows)


@pytest.mark.parametrize("status", [501, 520, 522, 524, 526])
async def test_any_5xx_falls_back_to_the_next_route(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, status: int
) -> None:
    # A CDN's 520-527 (its origin down, timed out, its certificate bad) and a server that does
    # not implement the call are the provider's trouble, which another provider may not share
    # and another key of the same one would meet again: the next target, not the next key.
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    await gateway.engine.vault.store_key(OPERATOR, "openai", "sk-second-key-1", key_name="b")
    upstream.script(Reply.error(status))
    code, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert code == 200, body
    attempts = [(a["target"], a["outcome"]) for a in body["x_gateway"]["attempts"]]
    assert [outcome for _, outcome in attempts] == [str(status), "ok"], attempts
    assert attempts[1][0].startswith("anthropic/"), attempts


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_refusal_of_the_request_itself_does_not_fall_back(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, status: int
) -> None:
    # The same request would be refused by the next provider too, at its cost.
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    upstream.script(Reply.error(status))
    code, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert code == status, body
    assert [r.path for r in upstream.llm_requests] == ["/v1/chat/completions"]


async def test_connection_refused_falls_back(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert status == 200, body
    assert [a["outcome"] for a in body["x_gateway"]["attempts"]] == ["connect", "ok"]


async def test_streams_fall_back_before_the_first_byte(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    upstream.script(Reply.error(503))
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.base_url + "/v1/chat/completions", json=chat("gpt-4o") | {"stream": True}
        ) as response,
    ):
        assert response.status == 200
        assert response.headers["x-gateway-provider"] == "anthropic"
        body = (await response.read()).decode()
    assert DEFAULT_ANSWER.split("-")[0] in body
    assert body.rstrip().endswith("data: [DONE]")


async def test_a_request_error_is_not_retried_elsewhere(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    upstream.script(Reply.error(400, "max_tokens is too large"))
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert status == 400
    assert "max_tokens is too large" in body["error"]["message"]
    assert len(upstream.llm_requests) == 1


async def test_every_route_failing_is_a_clear_502(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    upstream.script(Reply.error(500), Reply.error(529))
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert status == 502
    assert body["error"]["code"] == "all_routes_failed"
    assert "openai/gpt-4o: 500" in body["error"]["message"]
    assert "anthropic/claude-sonnet-4-6: 529" in body["error"]["message"]


async def test_no_key_anywhere_is_a_400_saying_how_to_add_one(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 400 (`Cure.SET_UP`): no client retries it, so the person reads this at once.
    monkeypatch.delenv("OPENAI_API_KEY")
    gateway = await start_gateway()
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert status == 400
    assert body["error"]["code"] == "no_api_key"
    assert "POST /v1/credentials" in body["error"]["message"]


async def test_a_claude_model_with_only_an_openai_key_names_anthropic_s_own_variable(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Claude Code meets with only an OpenAI key: the hint names ANTHROPIC_API_KEY and
    the vault, never another provider's variable, and where to find a model that answers."""
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)
    gateway = await start_gateway()
    status, _, body = await post(
        gateway,
        "/v1/messages",
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    assert status == 400
    message = body["error"]["message"]
    assert body["error"]["code"] == "no_api_key"
    assert "anthropic/claude-sonnet-4-6 has no API key" in message
    assert "For anthropic: set ANTHROPIC_API_KEY where the gateway runs" in message
    assert "store a key in the vault" in message
    assert "OPENAI_API_KEY" not in message
    assert "GET /v1/models" in message


async def test_key_pool_round_robin_rotates_and_skips_a_rate_limited_key(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"gateway.routes": {"gpt-*": {"strategy": "round-robin"}}})
    vault = gateway.engine.vault
    await vault.store_key(OPERATOR, "openai", "sk-pool-key-1", key_name="a")
    await vault.store_key(OPERATOR, "openai", "sk-pool-key-number-2", key_name="b")
    for _ in range(3):
        status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
        assert status == 200, body
    lengths = [r.headers["authorization"] for r in upstream.llm_requests]
    # Three keys in the pool (two in the vault, one from the environment), each used once.
    assert len(set(lengths)) == 3
    upstream.script(Reply.error(429, retry_after_s=30))
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert status == 200
    outcomes = [(a["key"], a["outcome"]) for a in body["x_gateway"]["attempts"]]
    assert outcomes[0][1] == "429" and outcomes[1][1] == "ok"
    assert outcomes[0][0] != outcomes[1][0]
    assert "sk-pool" not in str(body)


async def test_project_keys_come_before_global_ones(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway()
    await gateway.engine.vault.store_key(
        OPERATOR, "anthropic", "sk-ant-project-key-x", project="my-app"
    )
    status, _, body = await post(
        gateway, "/v1/chat/completions", chat("claude-sonnet-4-6"), **{"X-Project": "my-app"}
    )
    assert status == 200
    assert body["x_gateway"]["attempts"][0]["key"] == "vault:anthropic#1"
    status, _, body = await post(gateway, "/v1/chat/completions", chat("claude-sonnet-4-6"))
    assert body["x_gateway"]["attempts"][0]["key"] == "env:ANTHROPIC_API_KEY"
    first, second = (r.headers["x-api-key"] for r in upstream.llm_requests)
    assert first == "<redacted 20 chars>" and second != first


async def test_a_caller_pin_goes_first(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(
        {"gateway.routes": {"*": {"pin": {"codex": "gemini-2.5-flash"}}}},
    )
    status, headers, body = await post(
        gateway, "/v1/chat/completions", chat("gpt-4o"), **{"X-Caller": "codex"}
    )
    assert status == 200
    assert body["x_gateway"]["resolvedProvider"] == "google"
    assert body["x_gateway"]["rule"] == "pin"
    assert headers["x-gateway-rule"] == "pin"
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    assert body["x_gateway"]["resolvedProvider"] == "openai"


async def test_small_requests_go_to_the_cheaper_model(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(
        {"gateway.small_request_model": "gemini-2.5-flash", "gateway.small_request_max_tokens": 50}
    )
    _, _, small = await post(gateway, "/v1/chat/completions", chat("claude-sonnet-4-6", "hi"))
    _, _, large = await post(
        gateway, "/v1/chat/completions", chat("claude-sonnet-4-6", "word " * 200)
    )
    assert small["x_gateway"]["resolvedProvider"] == "google"
    assert small["x_gateway"]["rule"] == "small_request"
    assert large["x_gateway"]["resolvedProvider"] == "anthropic"
    # A request with tools or an image is never small, however few its words.
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    with_tools = {**chat("claude-sonnet-4-6"), "tools": [tool]}
    with_image = chat("claude-sonnet-4-6")
    with_image["messages"][0]["content"] = [{"type": "text", "text": "hi"}, image]
    for body in (with_tools, with_image):
        _, _, answer = await post(gateway, "/v1/chat/completions", body)
        assert answer["x_gateway"]["resolvedProvider"] == "anthropic", body


async def test_aliases_resolve_and_a_stale_one_is_a_config_fix(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(
        {
            "gateway.aliases": {
                "sonnet": "claude-sonnet-4-6",
                "best": "sonnet",
                "loop": "loop2",
                "loop2": "loop",
            }
        }
    )
    status, _, body = await post(gateway, "/v1/chat/completions", chat("best"))
    assert status == 200
    assert body["x_gateway"]["resolvedModel"] == "claude-sonnet-4-6"
    assert upstream.llm_requests[0].body["model"] == "claude-sonnet-4-6"
    status, _, body = await post(gateway, "/v1/chat/completions", chat("loop"))
    assert status == 404
    assert "[gateway.aliases]" in body["error"]["message"]


async def test_explicit_provider_prefix_picks_the_provider(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    status, _, _body = await post(gateway, "/v1/chat/completions", chat("openai/my-finetune"))
    assert status == 200
    assert upstream.llm_requests[0].body["model"] == "my-finetune"


async def test_a_provider_prefix_wins_over_ids_other_providers_list(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # OpenRouter lists "google/gemini-2.5-flash" and Groq "openai/gpt-oss-120b": still, the
    # prefix names the provider, and their own ids take their own prefix.
    here = upstream.base_url + "/v1"
    gateway = await start_gateway(
        {
            "gateway.providers": {
                "openrouter": {"api_key": "or-test-key", "base_url": here},
                "groq": {"api_key": "gsk-test-key", "base_url": here},
            }
        }
    )
    cases = [
        ("google/gemini-2.5-flash", "google", "/v1beta/models/gemini-2.5-flash:generateContent"),
        ("openrouter/google/gemini-2.5-flash", "openrouter", "google/gemini-2.5-flash"),
        ("groq/openai/gpt-oss-120b", "groq", "openai/gpt-oss-120b"),
        ("openai/gpt-oss-120b", "openai", "gpt-oss-120b"),
        ("deepseek/deepseek-chat", "openrouter", "deepseek/deepseek-chat"),  # no such provider
    ]
    for model, provider, sent in cases:
        status, headers, body = await post(gateway, "/v1/chat/completions", chat(model))
        assert status == 200, body
        assert headers["x-gateway-provider"] == provider, model
        seen = upstream.llm_requests[-1]
        assert sent in (seen.path, seen.body.get("model")), (model, seen.path)


async def test_a_prefixed_provider_without_a_key_names_the_one_listing_the_id(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    here = upstream.base_url + "/v1"
    gateway = await start_gateway(
        {"gateway.providers": {"openrouter": {"api_key": "or-test-key", "base_url": here}}}
    )
    status, _, body = await post(gateway, "/v1/chat/completions", chat("google/gemini-2.5-flash"))
    assert status == 400, body
    assert "google/gemini-2.5-flash has no API key" in body["error"]["message"]
    assert "use openrouter/google/gemini-2.5-flash" in body["error"]["message"]
    assert upstream.llm_requests == []  # never sent to OpenRouter behind the caller's back


async def test_a_base_url_pointing_at_the_gateway_itself_is_ignored(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch, upstream: ScriptedUpstream
) -> None:
    port = free_port()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://localhost:{port}/v1")
    gateway = await start_gateway({"http.port": port})
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    # The real OpenAI URL is used instead; offline, that cannot connect, which is the point:
    # the gateway never called itself.
    assert status in (502, 503)
    assert not any(r.path for r in upstream.llm_requests)
    assert "api.openai.com" in body["error"]["message"]


async def test_keys_never_reach_logs_errors_or_the_recorder(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    gateway = await start_gateway({"gateway.routes": {"gemini-*": {"fallback": ["gpt-4o"]}}})
    await gateway.engine.vault.store_key(OPERATOR, "google", "plainvaultkey-0001")
    # Upstreams sometimes quote the key they were sent.
    upstream.script(
        Reply.error(401, f"API key not valid: {GEMINI_KEY}"),
        Reply.error(401, "API key not valid: plainvaultkey-0001"),
        Reply.error(400, f"bad request for key {OPENAI_KEY}"),
    )
    status, _, body = await post(gateway, "/v1/chat/completions", chat("gemini-2.5-flash"))
    assert status == 400
    rows = await recorded(gateway)
    for secret in (GEMINI_KEY, "plainvaultkey-0001", OPENAI_KEY):
        assert secret not in str(body)
        assert secret not in caplog.text
        assert secret not in str(rows)


async def test_a_model_id_cannot_inject_request_lines(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # Gemini puts the model in the URL: there it is quoted into one path segment.
    await post(gateway, "/v1/chat/completions", chat("google/x HTTP/1.1\r\nX-Evil: 1"))
    (seen,) = upstream.requests
    assert "x-evil" not in seen.headers
    # The whole id arrived inside the path (percent-encoded on the wire, decoded here).
    assert seen.path == "/v1beta/models/x HTTP/1.1\r\nX-Evil: 1:generateContent"


async def test_requests_refused_before_any_provider_are_still_recorded(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    gateway = await start_gateway()
    await post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    await post(gateway, "/v1/chat/completions", chat("no-such-model"), **{"X-Caller": "ci"})
    rows = await recorded(gateway)
    assert [(r["state"], r["error_code"], r["http_status"]) for r in rows] == [
        ("refused", "no_api_key", 400),
        ("refused", "model_not_found", 404),
    ]
    assert rows[0]["requested_model"] == "gpt-4o" and rows[0]["provider"] == "openai"
    assert rows[0]["route"]["attempts"] == [
        {"target": "openai/gpt-4o", "key": "", "outcome": "no_key"}
    ]
    assert rows[1]["caller"] == "ci"
