"""Every MCP tool called end to end through the official client, against the real CLIs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import VIBE_BIN, vibe  # noqa: F401 - the fixture
from tests.contract.offline import CLI_BIN, PY_CLI_BIN, find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.mcp.conftest import running_gateway, structured

MODELS = {"gemini": "gemini-2.5-flash", "copilot": "gpt-5.4", "codex": "gpt-5.5"}
REVIEW = Reply.ok(
    text="Fine.\n\nVerdict: APPROVED\nRationale: Sound.\nRisks:\n- none", verbatim=True
)


@pytest.fixture
async def everything(
    loaded: LoadedSettings,
    vibe: None,  # noqa: F811
) -> AsyncIterator[GatewayRuntime]:
    # Mistral Vibe's stand-in (the real one takes ~20 s a call) answers through the same upstream.
    cli_path = [str(VIBE_BIN), str(PY_CLI_BIN), str(CLI_BIN)]
    async with running_gateway(loaded, {"providers.cli_path": cli_path}) as runtime:
        yield runtime


@pytest.mark.parametrize(
    "provider", ["claude", "codex", "gemini", "grok", "mistral", "copilot", "opencode"]
)
async def test_sync_and_async_request_tools(provider: str, everything: GatewayRuntime) -> None:
    if provider != "mistral":
        find_cli(provider)
    model = MODELS.get(provider)
    async with Client(everything.mcp_url) as client:
        sync = structured(
            await client.call_tool(f"{provider}_request", {"prompt": "sync hello", "model": model})
        )
        queued = structured(
            await client.call_tool(
                f"{provider}_request_async", {"prompt": "async hello", "model": model}
            )
        )
        watched = structured(
            await client.call_tool("llm_job_watch", {"jobId": queued["jobId"], "timeoutMs": 60_000})
        )
        for _ in range(20):
            if watched["state"] in ("completed", "failed"):
                break
            watched = structured(
                await client.call_tool(
                    "llm_job_watch", {"jobId": queued["jobId"], "timeoutMs": 60_000}
                )
            )
        status = structured(await client.call_tool("llm_job_status", {"jobId": queued["jobId"]}))
        result = structured(await client.call_tool("llm_job_result", {"jobId": queued["jobId"]}))
    assert "sync hello" in sync["text"], sync
    assert status["state"] == "completed", status
    assert "async hello" in result["text"]


async def test_session_tools(everything: GatewayRuntime, tmp_path: Path) -> None:
    async with Client(everything.mcp_url) as client:
        first = structured(
            await client.call_tool(
                "session_create",
                {"provider": "claude", "title": "one", "workingDir": str(tmp_path)},
            )
        )
        second = structured(
            await client.call_tool(
                "session_create", {"provider": "claude", "title": "two", "setActive": False}
            )
        )
        listed = structured(await client.call_tool("session_list", {"provider": "claude"}))
        activated = structured(
            await client.call_tool("session_set_active", {"sessionId": second["sessionId"]})
        )
        got = structured(await client.call_tool("session_get", {"sessionId": first["sessionId"]}))
        deleted = structured(
            await client.call_tool("session_delete", {"sessionId": first["sessionId"]})
        )
        cleared = structured(await client.call_tool("session_clear_all", {}))
        grok = await client.call_tool("session_create", {"provider": "grok"})
    assert {s["sessionId"] for s in listed["sessions"]} == {first["sessionId"], second["sessionId"]}
    assert activated["active"] is True
    assert got["active"] is False and got["workingDir"] == str(tmp_path)
    assert deleted["deleted"]["title"] == "one"
    assert cleared == {"deleted": 1}
    # xAI's Grok CLI keeps conversations: a gateway session of it is made like any other.
    assert not grok.is_error and structured(grok)["provider"] == "grok"


async def test_operations_tools(everything: GatewayRuntime) -> None:
    find_cli("claude")
    async with Client(everything.mcp_url) as client:
        models = structured(await client.call_tool("list_models", {"provider": "codex"}))
        versions = structured(await client.call_tool("cli_versions", {}))
        plan = structured(await client.call_tool("cli_upgrade", {"provider": "claude"}))
        health = structured(await client.call_tool("llm_process_health", {}))
        bad = await client.call_tool("list_models", {"provider": "chatgpt"})
    assert models["models"]["codex"]
    installed = {c["provider"]: c for c in versions["clis"]}
    assert installed["claude"]["version"] == "2.1.197"
    assert plan["dry_run"] is True and plan["ran"] is False
    assert set(health) >= {"engine", "jobs", "breakers", "providers"}
    assert bad.is_error


async def test_cancel_tool_stops_a_running_job(
    everything: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.default = Reply.ok(delay_s=60)
    async with Client(everything.mcp_url) as client:
        queued = structured(await client.call_tool("claude_request_async", {"prompt": "long"}))
        await upstream.wait_for_requests(1, timeout=30)
        canceled = structured(await client.call_tool("llm_job_cancel", {"jobId": queued["jobId"]}))
    assert canceled["state"] == "canceled"


async def test_validation_tools(everything: GatewayRuntime, upstream: ScriptedUpstream) -> None:
    for binary in ("claude", "codex"):
        find_cli(binary)
    upstream.default = REVIEW
    panel = {"providers": ["claude", "codex"], "models": {"codex": "gpt-5.5"}}
    async with Client(everything.mcp_url) as client:
        asked = structured(
            await client.call_tool("ask_model", {"provider": "claude", "prompt": "2+2?"})
        )
        second = structured(
            await client.call_tool("second_opinion", {"content": "x = 1", "provider": "claude"})
        )
        red = structured(
            await client.call_tool("red_team_review", {"content": "a login form", **panel})
        )
        upstream.default = Reply.ok(text="Verdict: TRUE\nRationale: yes", verbatim=True)
        consensus = structured(
            await client.call_tool("consensus_check", {"claim": "water is wet", **panel})
        )
        upstream.default = REVIEW
        judged = structured(
            await client.call_tool(
                "synthesize_validation",
                {
                    "subject": "the patch",
                    "reviews": [
                        {"source": "a", "text": "Verdict: APPROVED"},
                        {"source": "b", "text": "Verdict: NOT APPROVED"},
                    ],
                },
            )
        )
    assert "FAKE-OK" in asked["text"] or "Verdict" in asked["text"]
    assert second["reviewers"][0]["verdict"] == "approved"
    assert red["summary"]["agreement"] == "unanimous"
    assert consensus["summary"]["verdicts"] == {"true": 2}
    assert judged["inputVerdicts"] == {"a": "approved", "b": "rejected"}
    assert judged["reviewers"][0]["verdict"] == "approved"


async def test_optimisation_is_measured_and_recorded(
    everything: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.default = Reply.ok(text="line\n" * 8 + "done", verbatim=True)
    async with Client(everything.mcp_url) as client:
        answer = structured(
            await client.call_tool(
                "claude_request",
                {
                    "prompt": "Please   review    this.\n\n\n\n\nThanks   ",
                    "optimizePrompt": True,
                    "compressResponse": True,
                },
            )
        )
    packed = answer["optimization"]["compressedResponse"]
    assert packed["tokensAfter"] < packed["tokensBefore"]
    assert "⟦×7⟧" in answer["text"]
    records = await everything.engine.recorder.recent("local")
    measured = records[0]["optimization"]
    assert measured["prompt"]["tokensAfter"] <= measured["prompt"]["tokensBefore"]
    assert json.dumps(measured)  # numbers only, stored as JSON


async def test_vault_tools_round_trip_without_returning_secrets(
    everything: GatewayRuntime,
) -> None:
    secret, content = "sk-ant-api03-vault-tool-secret", '{"token": "oc-file-secret"}'
    async with Client(everything.mcp_url) as client:
        stored = structured(
            await client.call_tool("vault_store", {"provider": "anthropic", "apiKey": secret})
        )
        scoped = structured(
            await client.call_tool(
                "vault_store",
                {"provider": "openai", "apiKey": "sk-proj-123456789", "project": "my-app"},
            )
        )
        listed = structured(await client.call_tool("vault_list", {"project": "other"}))
        file = structured(
            await client.call_tool(
                "vault_store_file",
                {"provider": "opencode", "fileName": "auth.json", "content": content},
            )
        )
        files = structured(await client.call_tool("vault_list_files", {}))
        bad = await client.call_tool(
            "vault_store_file", {"provider": "opencode", "fileName": "../x", "content": "x"}
        )
        gone = structured(await client.call_tool("vault_delete", {"id": stored["id"]}))
        again = await client.call_tool("vault_delete", {"id": stored["id"]})
        file_gone = structured(await client.call_tool("vault_delete_file", {"id": file["id"]}))
    assert scoped["project"] == "my-app"
    assert [c["provider"] for c in listed["credentials"]] == ["anthropic"]
    assert secret not in json.dumps(listed) and "oc-file-secret" not in json.dumps(files)
    assert files["files"][0]["fileName"] == "auth.json"
    assert bad.is_error and structured(bad)["error"]["code"] == "invalid_request"
    assert gone["ok"] and file_gone["ok"]
    assert again.is_error and structured(again)["error"]["code"] == "not_found"
    assert await everything.engine.vault.resolve_keys("openai", "my-app") == ["sk-proj-123456789"]
