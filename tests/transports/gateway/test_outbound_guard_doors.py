"""The outbound guard on every door a request leaves by besides a chat call's body: system
prompts and tool results, token counts, MCP's `ask_model`, a coding CLI behind the gateway
(the real Claude Code), and an editor's `llmgw-desktop acp --model` turn."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import (  # noqa: F401 - the fixtures
    CLI_SETTINGS,
    VIBE_BIN,
    offline,
    vibe,
    vibe_engine,
)
from tests.contract.offline import find_cli
from tests.engine.guard.secrets import AWS_ACCESS_KEY, GITHUB_TOKEN, JWT, SECRETS
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.mcp.tools.conftest import call, call_error, connect

REMOTE = {"guard.exempt_local": False}


def _sent(upstream: ScriptedUpstream) -> str:
    return "\n".join(r.raw_body.decode() for r in upstream.requests)


async def test_system_prompts_and_tool_results_are_read(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({**REMOTE, "guard.secrets": "block"})
    with pytest.raises(openai.BadRequestError) as chat:
        await openai_client(gateway).chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": f"Deploy with {GITHUB_TOKEN}"},
                {"role": "user", "content": "go"},
            ],
        )
    assert "github_token in messages[0].content" in chat.value.message
    with pytest.raises(anthropic.BadRequestError) as claude:
        await claude_client(gateway).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=50,
            messages=[
                {"role": "user", "content": "read .env"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": f"T={JWT}"}
                    ],
                },
            ],
        )
    assert "jwt in messages[2].content[0].content" in str(claude.value.body)
    assert upstream.llm_requests == []


async def test_a_token_count_sends_placeholders_or_nothing(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(
        {**REMOTE, "guard.secrets": "block", "guard.keys": {"local": "redact"}}
    )
    messages: Any = [{"role": "user", "content": f"key {AWS_ACCESS_KEY}"}]
    counted = await claude_client(gateway).messages.count_tokens(
        model="claude-sonnet-4-6", messages=messages
    )
    assert counted.input_tokens > 0
    (seen,) = [r for r in upstream.requests if r.endpoint == "count_tokens"]
    assert "[SECRET:aws_access_key#1]" in seen.raw_body.decode()
    assert AWS_ACCESS_KEY not in _sent(upstream)


async def test_a_blocked_token_count_is_estimated_here(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({**REMOTE, "guard.secrets": "block"})
    response = await claude_client(gateway).messages.with_raw_response.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": AWS_ACCESS_KEY}]
    )
    parsed = await response.parse()
    assert parsed.input_tokens > 0
    assert response.headers["x-gateway-token-count"] == "estimate"
    source = (parsed.model_extra or {})["x_gateway"]["source"]
    assert source == "not sent to anthropic/claude-sonnet-4-6: the outbound guard found secrets"
    assert [r for r in upstream.requests if r.endpoint == "count_tokens"] == []


@pytest.fixture
async def guarded_engine(start_gateway: GatewayFactory, request: pytest.FixtureRequest) -> Engine:
    gateway: GatewayRuntime = await start_gateway({**REMOTE, "guard.secrets": request.param})
    return gateway.engine


@pytest.mark.parametrize("guarded_engine", ["block"], indirect=True)
async def test_ask_model_is_refused_naming_the_secret(
    guarded_engine: Engine, upstream: ScriptedUpstream
) -> None:
    async with connect(guarded_engine) as client:
        error = await call_error(
            client,
            "ask_model",
            {"provider": "openai", "model": "gpt-4o", "prompt": SECRETS["openai_key"][1]},
        )
    assert error["code"] == "secret_detected"
    assert "openai_key in messages[0].content" in error["message"]
    assert SECRETS["openai_key"][0] not in json.dumps(error)
    assert upstream.llm_requests == []


@pytest.mark.parametrize("guarded_engine", ["redact"], indirect=True)
async def test_ask_model_sends_placeholders_and_answers_with_the_secret(
    guarded_engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.ok("Rotate [SECRET:aws_access_key#1] today.", verbatim=True))
    async with connect(guarded_engine) as client:
        answer = await call(
            client,
            "ask_model",
            {"provider": "openai", "model": "gpt-4o", "prompt": f"is {AWS_ACCESS_KEY} live?"},
        )
    assert answer["text"] == f"Rotate {AWS_ACCESS_KEY} today."
    assert "[SECRET:aws_access_key#1]" in _sent(upstream)
    assert AWS_ACCESS_KEY not in _sent(upstream)


@pytest.mark.contract
async def test_a_coding_cli_behind_the_gateway_gets_placeholders(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    """The real Claude Code answers `claude-cli/sonnet`: its prompt, and so what it sends its
    vendor, carries the placeholder; the client's answer has the secret back."""
    find_cli("claude")
    gateway = await start_gateway({**CLI_SETTINGS, "guard.providers": {"claude": "redact"}})
    upstream.default = Reply.ok("Stored [SECRET:aws_access_key#1].", verbatim=True)
    reply = await openai_client(gateway, timeout=120).chat.completions.create(
        model="claude-cli/sonnet",
        messages=[{"role": "user", "content": f"Store {AWS_ACCESS_KEY} for me"}],
    )
    assert reply.choices[0].message.content == f"Stored {AWS_ACCESS_KEY}."
    assert "[SECRET:aws_access_key#1]" in _sent(upstream)
    assert AWS_ACCESS_KEY not in _sent(upstream)


@pytest.mark.contract
async def test_a_blocked_coding_cli_never_runs(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    find_cli("claude")
    gateway = await start_gateway({**CLI_SETTINGS, "guard.providers": {"claude": "block"}})
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client(gateway, timeout=120).chat.completions.create(
            model="claude-cli/sonnet", messages=[{"role": "user", "content": AWS_ACCESS_KEY}]
        )
    assert caught.value.code == "secret_detected"
    assert upstream.requests == []


async def _acp_turn(text: str, cwd: Path) -> tuple[dict[str, Any], str]:
    """One `session/prompt` of `text` through `llmgw-desktop acp --model gpt-4o` (this test's
    running gateway), as an editor sends it: the prompt's answer, and the text streamed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "llmgw_desktop",
        "acp",
        "--model",
        "gpt-4o",
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None

    async def ask(ident: int, method: str, params: dict[str, Any]) -> tuple[Any, list[Any]]:
        assert process.stdin is not None and process.stdout is not None
        message = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}
        process.stdin.write((json.dumps(message) + "\n").encode())
        await process.stdin.drain()
        updates = []
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, (await process.stderr.read()).decode() if process.stderr else ""
            answer = json.loads(line)
            if answer.get("id") == ident:
                return answer, updates
            updates.append(answer)

    try:
        await ask(1, "initialize", {"protocolVersion": 1, "clientInfo": {"name": "zed"}})
        session, _ = await ask(2, "session/new", {"cwd": str(cwd), "mcpServers": []})
        prompt = {"type": "text", "text": text}
        params = {"sessionId": session["result"]["sessionId"], "prompt": [prompt]}
        answer, updates = await ask(3, "session/prompt", params)
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)
    streamed = "".join(
        u["params"]["update"]["content"]["text"]
        for u in updates
        if u.get("method") == "session/update"
        and u["params"]["update"].get("sessionUpdate") == "agent_message_chunk"
    )
    return answer, streamed


async def test_an_acp_model_turn_is_refused_naming_the_secret(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    await start_gateway({**REMOTE, "guard.secrets": "block"})
    answer, _ = await _acp_turn(f"deploy with {GITHUB_TOKEN}", tmp_path)
    error = answer["error"]
    assert error["data"]["code"] == "secret_detected" and error["data"]["status"] == 400
    assert "github_token in messages[0].content" in error["message"]
    assert GITHUB_TOKEN not in json.dumps(answer)
    assert upstream.llm_requests == []


async def test_an_acp_model_turn_is_redacted_and_answered_with_the_secret(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    await start_gateway({**REMOTE, "guard.secrets": "redact"})
    upstream.script(Reply.ok("Revoke [SECRET:github_token#1] now.", verbatim=True))
    answer, streamed = await _acp_turn(f"deploy with {GITHUB_TOKEN}", tmp_path)
    assert answer["result"]["stopReason"] == "end_turn"
    assert streamed == f"Revoke {GITHUB_TOKEN} now."
    assert GITHUB_TOKEN not in _sent(upstream)


# -- a coding CLI run from an MCP tool: `mistral_request`, `ask_model` of a CLI --------------


@pytest.mark.parametrize("tool", ["mistral_request", "ask_model"])
async def test_a_cli_run_from_an_mcp_tool_is_refused_naming_the_secret(
    loaded: LoadedSettings,
    vibe: None,  # noqa: F811
    upstream: ScriptedUpstream,
    tool: str,
) -> None:
    """The Mistral Vibe stand-in sends what it is given to the scripted upstream, as the real
    CLI sends it to Mistral: blocked, it is never run, and the refusal is a refused row."""
    async with vibe_engine(loaded, {"guard.secrets": "block"}) as engine:
        async with connect(engine) as client:
            arguments = {"prompt": f"Deploy with {GITHUB_TOKEN}"}
            if tool == "ask_model":
                arguments["provider"] = "mistral"
            error = await call_error(client, tool, arguments)
        await engine.recorder.flush()
        row = await engine.recorder_query.detail(error["details"]["requestId"])
    assert error["code"] == "secret_detected"
    assert "github_token in prompt" in error["message"] and GITHUB_TOKEN not in str(error)
    assert upstream.llm_requests == []
    assert row is not None and row.record["state"] == "refused"


async def test_a_cli_run_from_an_mcp_tool_gets_placeholders(
    loaded: LoadedSettings,
    vibe: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    redacting = {"guard.providers": {"mistral": "redact"}}
    async with vibe_engine(loaded, redacting) as engine, connect(engine) as client:
        answer = await call(
            client,
            "mistral_request",
            {"promptParts": {"system": f"Token {GITHUB_TOKEN}", "task": "deploy"}},
        )
    assert answer["state"] == "completed"
    assert "[SECRET:github_token#1]" in _sent(upstream)
    assert GITHUB_TOKEN not in _sent(upstream)


async def test_a_cli_behind_the_gateway_is_read_once(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    vibe: None,  # noqa: F811
) -> None:
    """`mistral-cli/…` is decided by the gateway's loop: the engine's call is not read again
    (one warning counted, not two)."""
    gateway = await start_gateway({"providers.cli_path": [str(VIBE_BIN)]})
    await openai_client(gateway, timeout=120).chat.completions.create(
        model="mistral-cli/devstral", messages=[{"role": "user", "content": GITHUB_TOKEN}]
    )
    (counted,) = gateway.engine.guard.stats.counts()
    assert (counted.provider, counted.kind, counted.action, counted.count) == (
        "mistral",
        "github_token",
        "warned",
        1,
    )
