"""Mistakes in MCP prompt and tool arguments, through the official `mcp` SDK client over
streamable HTTP: a prompt without its required argument is JSON-RPC -32602 naming it (and
logs no traceback), the review loop never names a tool that does not exist, and a tool's bad
arguments come back as the usual structured error rather than pydantic's text."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.logged_errors import errors_logged
from tests.mcp_wire import mcp_session

INVALID_PARAMS = -32602


def mcp_client(gateway: GatewayRuntime) -> AbstractAsyncContextManager[Client]:
    return mcp_session(gateway.mcp_url)


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def test_a_prompt_without_its_required_argument_is_invalid_params(
    gateway: GatewayRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with mcp_client(gateway) as client:
        for name, missing in (("review_loop", "task"), ("consensus", "claim")):
            with pytest.raises(MCPError) as refused:
                await client.get_prompt(name, {})
            assert refused.value.code == INVALID_PARAMS, refused.value
            assert missing in refused.value.message
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("red_team_blue_team", {"subject": "  "})
        assert refused.value.code == INVALID_PARAMS
        # Given, it renders.
        ok = await client.get_prompt("consensus", {"claim": "water is wet"})
        assert "consensus_check" in str(ok.messages[0].content)
    assert not errors_logged(caplog.records), caplog.text


@pytest.mark.parametrize(
    ("implementer", "tool"),
    [
        ("codex", "codex_request"),
        ("gpt-4o-mini", "ask_model"),
        ("openai/gpt-4o-mini", "ask_model"),
        ("claude-cli/sonnet", "claude_request"),
    ],
)
async def test_review_loop_names_only_tools_that_exist(
    implementer: str, tool: str, gateway: GatewayRuntime
) -> None:
    async with mcp_client(gateway) as client:
        names = await tool_names(client)
        prompt = await client.get_prompt(
            "review_loop", {"task": "add a test", "implementer": implementer}
        )
    text = str(prompt.messages[0].content)
    assert f"Call {tool}" in text, text
    words = {word.strip(".,()[]`") for word in text.split()}
    named = {w for w in words if w.endswith(("_request", "_model", "_models"))}
    assert named and named <= names, named - names
    assert f"{implementer}_request" not in text or implementer == "codex"


async def test_review_loop_with_an_unknown_implementer_is_invalid_params(
    gateway: GatewayRuntime,
) -> None:
    async with mcp_client(gateway) as client:
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("review_loop", {"task": "t", "implementer": "nobody-9"})
    assert refused.value.code == INVALID_PARAMS
    assert "implementer" in refused.value.message


async def test_tool_argument_errors_are_structured(gateway: GatewayRuntime) -> None:
    async with mcp_client(gateway) as client:
        missing = await client.call_tool("ask_model", {"provider": "openai"})
        wrong_type = await client.call_tool("llm_job_result", {"jobId": "j", "offset": "lots"})
        # A list given as JSON text is what the SDK itself accepts: not refused here.
        as_text = await client.call_tool(
            "validate_with_models", {"claim": "c", "providers": '["chatgpt"]'}
        )
    for result, param in ((missing, "prompt"), (wrong_type, "offset")):
        assert result.is_error and result.structured_content is not None, result
        error = result.structured_content["error"]
        assert error["code"] == "invalid_request", error
        assert error["details"]["param"] == param and param in error["message"]
    assert as_text.is_error and as_text.structured_content is not None
    assert as_text.structured_content["error"]["details"]["param"] == "providers"
    assert "chatgpt" in as_text.structured_content["error"]["message"]
