"""OpenCode 1.18 (`opencode run`) with an OpenAI-compatible provider pointing at the gateway,
as its documentation shows (`@ai-sdk/openai-compatible`, `baseURL` = the gateway's `/v1`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import (
    assert_answered,
    assert_last_call,
    opencode_config,
    run_cli,
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


DOC = Path(__file__).resolve().parents[2] / "docs" / "connect" / "gemini-cli.md"


def documented_config(gateway_url: str) -> str:
    """The `opencode.json` docs/connect shows, on this gateway's port."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split('```json title="~/.config/opencode/opencode.json"\n', 1)[1]
    return block.split("```", 1)[0].replace("http://127.0.0.1:3333", gateway_url)


async def test_the_documented_config_runs_opencode_on_each_listed_model(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    config = documented_config(gateway.base_url)
    write_opencode_config(home, config)
    await say_hello("opencode", env=env, cwd=home / "work")
    await assert_last_call(gateway, provider="openai", caller="opencode")
    run = await run_cli(
        "opencode",
        *("run", "-m", "llmgw/claude-sonnet-4-6", "say hello"),
        env=env,
        cwd=home / "work",
    )
    assert_answered(run)
    assert upstream.llm_requests[-1].path == "/v1/messages"
