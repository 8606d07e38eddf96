"""The TypeScript MCP SDK (`@modelcontextprotocol/sdk`, pinned in .ci/node-clients) as a client
of the gateway's /mcp over streamable HTTP, on an open and on a locked gateway (its token as a
bearer header, as the SDK's `requestInit` takes it).

The SDK checks a tool's structured result against the tool's output schema, so a call that
answers is also a check of the schemas the gateway declares.
"""

from __future__ import annotations

from pathlib import Path

from tests.clients.harness import LOCK_TOKEN, KeyedGateway
from tests.clients.node import node_environment, run_node
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

PACKAGE = "@modelcontextprotocol/sdk"
INVALID_PARAMS = -32602


def environment(gateway: KeyedGateway, home: Path) -> dict[str, str]:
    variables = {"GATEWAY_MCP_URL": gateway.runtime.mcp_url}
    if gateway.locked:
        variables["GATEWAY_TOKEN"] = gateway.key
    return node_environment(home, variables)


async def test_typescript_sdk_lists_tools_and_calls_one(
    keyed_gateway: KeyedGateway, upstream: ScriptedUpstream, home: Path
) -> None:
    env = environment(keyed_gateway, home)
    answer = await run_node(PACKAGE, "mcp_tools.cjs", env=env, cwd=home)
    assert {"ask_model", "list_models", "llm_job_result"} <= set(answer["tools"]), answer
    call = answer["call"]
    assert call.get("isError") is not True, call
    assert DEFAULT_ANSWER in call["content"][0]["text"], call
    assert upstream.llm_requests, "the tool did not reach the upstream"


async def test_typescript_sdk_gets_prompt_and_argument_errors_in_mcps_shape(
    keyed_gateway: KeyedGateway, upstream: ScriptedUpstream, home: Path
) -> None:
    env = environment(keyed_gateway, home)
    answer = await run_node(PACKAGE, "mcp_errors.cjs", env=env, cwd=home)
    prompt = answer["prompt"]
    assert prompt is not None, "prompts/get review_loop {} did not fail"
    assert prompt["isMcpError"] and prompt["code"] == INVALID_PARAMS, prompt
    assert "task" in prompt["message"], prompt
    tool = answer["tool"]
    assert tool["isError"] is True, tool
    error = tool["structuredContent"]["error"]
    assert error["code"] == "invalid_request", error
    assert error["details"]["param"] == "prompt" and "prompt" in error["message"], error
    assert upstream.llm_requests == []


async def test_typescript_sdk_without_the_token_is_refused_by_a_locked_gateway(
    start_gateway: GatewayFactory, home: Path
) -> None:
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    env = node_environment(home, {"GATEWAY_MCP_URL": locked.mcp_url})
    answer = await run_node(PACKAGE, "mcp_tools.cjs", env=env, cwd=home)
    assert answer["refused"]["code"] == 401, answer
