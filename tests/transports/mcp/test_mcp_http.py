"""The official MCP client over Streamable HTTP, both protocol versions, against real CLIs."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.mcp.conftest import start_gateway, structured

MODES = ["legacy", "2026-07-28"]
# The ACP agents are providers as the CLIs are (docs/ACP.md).
ACP = ("qwen", "gemini-acp", "opencode-acp", "claude-acp", "codex-acp")
EXPECTED_TOOLS = {
    *(
        f"{p}_request"
        for p in ("claude", "codex", "gemini", "grok", "mistral", "copilot", "opencode", *ACP)
    ),
    *(
        f"{p}_request_async"
        for p in ("claude", "codex", "gemini", "grok", "mistral", "copilot", "opencode", *ACP)
    ),
    "codex_fork_session",
    "llm_job_status",
    "llm_job_result",
    "llm_job_cancel",
    "llm_job_watch",
    "llm_request_result",
    "session_create",
    "session_list",
    "session_get",
    "session_set_active",
    "session_delete",
    "session_clear_all",
    "list_models",
    "llm_models",
    "cli_versions",
    "cli_upgrade",
    "llm_process_health",
    "ask_model",
    "llm_generate",
    "second_opinion",
    "validate_with_models",
    "red_team_review",
    "consensus_check",
    "compare_answers",
    "synthesize_validation",
    "vault_store",
    "vault_list",
    "vault_delete",
    "vault_store_file",
    "vault_list_files",
    "vault_delete_file",
    "workspace_list",
    "workspace_get",
    "workspace_create",
    "workspace_register_existing_repo",
}


@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_resource_and_prompt_is_listed(gateway: GatewayRuntime, mode: str) -> None:
    async with Client(gateway.mcp_url, mode=mode) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert tools == EXPECTED_TOOLS
    assert resources == {"cache-state://global", "gateway://health", "gateway://models"}
    assert templates == {"cache-state://session/{sessionId}", "cache-state://prefix/{hash}"}
    assert prompts == {"review_loop", "red_team_blue_team", "consensus"}


@pytest.mark.parametrize("mode", MODES)
async def test_claude_request_end_to_end(gateway: GatewayRuntime, mode: str) -> None:
    find_cli("claude")
    async with Client(gateway.mcp_url, mode=mode) as client:
        session = structured(await client.call_tool("session_create", {"provider": "claude"}))
        first = structured(
            await client.call_tool(
                "claude_request",
                {
                    "promptParts": {
                        "system": "You are terse.",
                        "context": "a big spec",
                        "task": "hi",
                    },
                    "sessionId": session["sessionId"],
                    "correlationId": f"corr-{mode}",
                },
            )
        )
        second = structured(
            await client.call_tool(
                "claude_request", {"prompt": "again", "sessionId": session["sessionId"]}
            )
        )
        found = structured(
            await client.call_tool("llm_request_result", {"correlationId": f"corr-{mode}"})
        )
        got = structured(await client.call_tool("session_get", {"sessionId": session["sessionId"]}))
        prefix = first.get("prefixHash")
    assert "FAKE-OK" in first["text"] and first["usage"]["cacheReadTokens"] == 200
    assert first["sessionId"] == session["sessionId"]
    assert second["providerSessionId"] == first["providerSessionId"]
    assert found["record"]["state"] == "completed" and found["job"]["jobId"] == first["jobId"]
    assert found["record"]["prefix_hash"]
    assert got["cacheState"]["requests"] == 2 and got["cacheState"]["hitRate"] > 0
    assert prefix is None  # the hash lives in the recorder, not in the answer


async def test_sync_call_defers_and_llm_job_result_collects_it(
    loaded: LoadedSettings, offline: Path, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.script(Reply.ok(text="slow answer " + "x" * 300, delay_s=1.5))
    runtime, lock = await start_gateway(loaded, {"jobs.sync_deadline_ms": 200})
    try:
        async with Client(runtime.mcp_url) as client:
            deferred = structured(await client.call_tool("claude_request", {"prompt": "take time"}))
            assert deferred["deferred"] is True and deferred["jobId"].startswith("job_")
            job_id = deferred["jobId"]
            for _ in range(40):
                status = structured(
                    await client.call_tool("llm_job_watch", {"jobId": job_id, "timeoutMs": 5000})
                )
                if status["state"] == "completed":
                    break
            page = structured(
                await client.call_tool(
                    "llm_job_result", {"jobId": job_id, "offset": 0, "limit": 20}
                )
            )
            rest = structured(
                await client.call_tool(
                    "llm_job_result",
                    {"jobId": job_id, "offset": page["nextOffset"], "limit": 100_000},
                )
            )
    finally:
        await runtime.stop()
        lock.release()
    assert status["state"] == "completed"
    assert page["text"] == "slow answer xxxxxxxx" and page["totalChars"] > 300
    assert (page["text"] + rest["text"]).startswith("slow answer x")
    assert rest["nextOffset"] is None


async def test_bad_arguments_and_unknown_jobs_are_structured_errors(
    gateway: GatewayRuntime,
) -> None:
    async with Client(gateway.mcp_url) as client:
        both = await client.call_tool(
            "codex_request", {"prompt": "a", "promptParts": {"task": "b"}}
        )
        neither = await client.call_tool("gemini_request", {})
        missing = await client.call_tool("llm_job_status", {"jobId": "job_nope"})
    assert both.is_error and structured(both)["error"]["code"] == "invalid_request"
    assert "exactly one of" in structured(both)["error"]["message"]
    assert neither.is_error and "is required" in structured(neither)["error"]["message"]
    assert missing.is_error and structured(missing)["error"]["code"] == "not_found"


async def test_codex_fork_session_forks_the_thread(gateway: GatewayRuntime) -> None:
    """`codex_fork_session` runs `codex exec fork ID`: a new thread from the parent's history;
    a thread codex does not know is named as such."""
    find_cli("codex")
    async with Client(gateway.mcp_url) as client:
        first = await client.call_tool("codex_request", {"prompt": "one", "model": "gpt-5.5"})
        parent = structured(first)["providerSessionId"]
        fork = await client.call_tool(
            "codex_fork_session", {"sessionId": parent, "prompt": "two", "model": "gpt-5.5"}
        )
        unknown = await client.call_tool("codex_fork_session", {"sessionId": "abc", "prompt": "x"})
    assert not fork.is_error, structured(fork)
    assert structured(fork)["providerSessionId"] not in (None, parent)
    assert unknown.is_error and structured(unknown)["error"]["code"] == "session_not_found"


async def test_the_mcp_endpoint_keeps_the_edge_checks(gateway: GatewayRuntime) -> None:
    import aiohttp

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            gateway.mcp_url, json=body, headers={"Origin": "https://evil.example"}
        ) as reply:
            assert reply.status == 403
        async with http.post(gateway.mcp_url, json=body, headers={"Host": "evil.example"}) as reply:
            assert reply.status == 421
