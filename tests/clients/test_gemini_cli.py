"""The Gemini CLI 0.61 (`gemini -p`) with `GOOGLE_GEMINI_BASE_URL` = the gateway.

Headless, the CLI offers its shell tool only when the user allows it (`--allowed-tools`); that
is the one flag the tool loop needs, and it is about permissions, not about the gateway.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.conftest import GATEWAY_KEYS
from tests.clients.harness import (
    LOCK_TOKEN,
    assert_last_call,
    assert_served_as_the_bearer,
    client_environment,
    run_shell_round_trip,
    say_hello,
)
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

pytestmark = pytest.mark.contract


async def test_gemini_cli_reaches_google_with_its_request_unchanged(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    await say_hello("gemini", "gemini-2.5-flash", env=env, cwd=home)
    request = upstream.llm_requests[-1]
    assert request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert request.query == {"alt": "sse"}
    assert request.headers["x-goog-api-key"] == (
        f"<redacted {len(GATEWAY_KEYS['GEMINI_API_KEY'])} chars>"
    )
    assert request.headers["user-agent"].lower().startswith("geminicli")
    await assert_last_call(gateway, provider="google", caller="gemini-cli")


async def test_gemini_cli_on_an_openai_model(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    await say_hello("gemini", "gpt-4.1", env=env, cwd=home)
    assert {r.path for r in upstream.llm_requests} == {"/v1/chat/completions"}


async def test_gemini_cli_on_an_anthropic_model_runs_its_shell_tool(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    await run_shell_round_trip(upstream, "gemini", "claude-sonnet-4-6", env=env, cwd=home / "work")
    assert {r.path for r in upstream.llm_requests} == {"/v1/messages"}
    messages = upstream.llm_requests[-1].body["messages"]
    call = next(b for b in messages[-2]["content"] if b["type"] == "tool_use")
    assert call["name"] == "run_shell_command"
    # Gemini's signature placeholder never reaches Anthropic as a thinking block.
    assert all(b["type"] != "thinking" for b in messages[-2]["content"])
    result = messages[-1]["content"][0]
    assert result["type"] == "tool_result" and "TOOL-RAN-42" in str(result["content"])


async def test_gemini_cli_with_the_token_as_its_api_key_answers_on_a_locked_gateway(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    # README: GEMINI_API_KEY = the gateway's token; the CLI sends it as x-goog-api-key.
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    env = client_environment(home, locked.base_url) | {"GEMINI_API_KEY": LOCK_TOKEN}
    await say_hello("gemini", "gemini-2.5-flash", env=env, cwd=home)
    await assert_served_as_the_bearer(locked)


async def test_gemini_cli_with_the_token_in_a_custom_header_answers_on_a_locked_gateway(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    # README's other way: the bearer in GEMINI_CLI_CUSTOM_HEADERS, any API key.
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    env = client_environment(home, locked.base_url) | {
        "GEMINI_CLI_CUSTOM_HEADERS": f"Authorization: Bearer {LOCK_TOKEN}"
    }
    await say_hello("gemini", "gemini-2.5-flash", env=env, cwd=home)
