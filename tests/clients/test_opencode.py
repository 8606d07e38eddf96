"""OpenCode 1.18 (`opencode run`) with an OpenAI-compatible provider pointing at the gateway,
as its documentation shows (`@ai-sdk/openai-compatible`, `baseURL` = the gateway's `/v1`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import (
    assert_last_call,
    opencode_config,
    run_shell_round_trip,
    say_hello,
    write_opencode_config,
)
from tests.fakes.upstream import ScriptedUpstream

pytestmark = pytest.mark.contract


async def test_opencode_reaches_openai_with_its_request_unchanged(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    write_opencode_config(home, opencode_config(gateway.base_url, "gpt-4.1"))
    await say_hello("opencode", env=env, cwd=home / "work")
    assert {r.path for r in upstream.llm_requests} == {"/v1/chat/completions"}
    request = upstream.llm_requests[-1]
    assert request.body["stream_options"] == {"include_usage": True}
    assert "x-session-affinity" in request.headers
    await assert_last_call(gateway, provider="openai", caller="opencode")


async def test_opencode_on_a_gemini_model(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    write_opencode_config(home, opencode_config(gateway.base_url, "gemini-2.5-flash"))
    await say_hello("opencode", env=env, cwd=home / "work")
    assert {r.path for r in upstream.llm_requests} == {
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    }


async def test_opencode_on_an_anthropic_model_runs_its_shell_tool(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    write_opencode_config(home, opencode_config(gateway.base_url, "claude-sonnet-4-6"))
    await run_shell_round_trip(upstream, "opencode", env=env, cwd=home / "work")
    assert {r.path for r in upstream.llm_requests} == {"/v1/messages"}
    result = upstream.llm_requests[-1].body["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and "TOOL-RAN-42" in str(result["content"])
