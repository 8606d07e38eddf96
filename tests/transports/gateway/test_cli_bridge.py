"""A coding CLI behind the gateway's API endpoints: the real Claude Code, pointed at the
scripted upstream, answering an OpenAI client and an Anthropic client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest

from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import CLI_SETTINGS, engine_settings, offline  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_READ_TOKENS,
    DEFAULT_ANSWER,
    Reply,
    ScriptedUpstream,
)
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

pytestmark = pytest.mark.contract

HI = {"role": "user", "content": "hi"}


@pytest.fixture
async def cli_gateway(start_gateway: GatewayFactory, offline: Path) -> GatewayRuntime:  # noqa: F811
    find_cli("claude")
    runtime: GatewayRuntime = await start_gateway(CLI_SETTINGS)
    return runtime


async def test_openai_client_gets_a_claude_code_answer(
    cli_gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = openai_client(cli_gateway, timeout=120)
    reply = await client.chat.completions.create(
        model="claude-cli/sonnet",
        messages=[
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Capital of France?"},
        ],
    )
    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
    route = (reply.model_extra or {})["x_gateway"]
    assert route["resolvedProvider"] == "claude-cli" and route["resolvedModel"] == "sonnet"
    assert reply.usage is not None and reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens >= ANTHROPIC_CACHE_READ_TOKENS
    # Claude Code itself called the upstream, with the system prompt and the question.
    assert any("Capital of France?" in r.raw_body.decode() for r in upstream.llm_requests)
    rows = await cli_gateway.engine.recorder.recent(limit=5)
    assert rows[0]["provider"] == "claude" and rows[0]["tool"] == "/v1/chat/completions"


async def test_anthropic_client_streams_a_claude_code_answer(
    cli_gateway: GatewayRuntime,
) -> None:
    client = claude_client(cli_gateway, timeout=120)
    async with client.messages.stream(
        model="claude-cli/sonnet",
        max_tokens=100,
        messages=[{"role": "user", "content": "Say hello"}],
        tools=[{"name": "noop", "input_schema": {"type": "object"}}],
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
        notice = stream.response.headers.get("x-gateway-notice", "")
    assert DEFAULT_ANSWER in text
    assert final.usage.cache_read_input_tokens
    assert "tools" in notice


async def test_vault_auth_files_reach_the_cli_and_are_removed_after_a_failure(
    cli_gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    await cli_gateway.engine.vault.store_file(
        OPERATOR,
        "claude",
        ".credentials.json",
        '{"claudeAiOauth": {"accessToken": "sk-ant-oat-fake"}}',
    )
    upstream.default = Reply.error(401)
    client = openai_client(cli_gateway, timeout=120)
    with pytest.raises(openai.APIStatusError):
        await client.chat.completions.create(
            model="claude-cli/sonnet", messages=[{"role": "user", "content": "hi"}]
        )
    auth_tmp = cli_gateway.settings.data_path / "auth-tmp"
    assert auth_tmp.is_dir(), "the call should have written the auth files"
    assert list(auth_tmp.iterdir()) == []


async def test_a_gateway_key_reaches_a_cli_bridge_model_only_in_its_scope(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    # Issue 31 red team: a CLI bridge is one more provider a key's scope names or leaves out.
    find_cli("claude")
    # A key is a remote caller: its CLI runs in a registered workspace, read-only.
    workspace = offline / "key-workspace"
    workspace.mkdir()
    gateway = await start_gateway(
        {
            "workspaces.registry": {"keys": str(workspace)},
            "workspaces.default": "keys",
            "http.auth_token": "operator-token-0123456789-abcdefghijkl",
            **CLI_SETTINGS,
        },
    )
    scope = KeyScope.of(models=["gpt-4o-mini"], providers=["openai"])
    narrow = await gateway.engine.keys.create(OPERATOR, KeySpec(name="narrow", scope=scope))
    bridged = await gateway.engine.keys.create(
        OPERATOR, KeySpec(name="bridged", scope=KeyScope.of(models=["claude-cli/*"]))
    )
    base = gateway.base_url + "/v1"
    refused = openai.AsyncOpenAI(base_url=base, api_key=narrow.secret, max_retries=0)
    for model in ("claude-cli/sonnet", "claude-cli/opus"):
        with pytest.raises(openai.PermissionDeniedError) as outside:
            await refused.chat.completions.create(model=model, messages=[HI])
        assert outside.value.body["code"] == "outside_key_scope"  # type: ignore[index]
    # No Claude Code started for it, so nothing reached the upstream.
    assert upstream.llm_requests == []
    allowed = openai.AsyncOpenAI(base_url=base, api_key=bridged.secret, max_retries=0, timeout=120)
    reply = await allowed.chat.completions.create(model="claude-cli/sonnet", messages=[HI])
    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
    with pytest.raises(openai.PermissionDeniedError):
        await allowed.chat.completions.create(model="gpt-4o-mini", messages=[HI])
    # Each key's model list shows what it may ask for, the bridge's models by their listed ids.
    bridged_ids = {m.id async for m in allowed.models.list()}
    assert bridged_ids and all(i.startswith("claude-cli/") for i in bridged_ids), bridged_ids
    assert "claude-cli/sonnet" in bridged_ids
    assert {m.id async for m in refused.models.list()} == {"gpt-4o-mini"}
    rows = await gateway.engine.recorder.recent(limit=10)
    assert {r["owner_principal"] for r in rows} == {"key:narrow", "key:bridged"}


async def test_the_playground_stopping_a_cli_answer_before_it_began_names_its_row(
    cli_gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """The desk's Stop while Claude Code had not answered: the CLI call's row was not heard, so
    the page said "No recorder row." beside it (a review, 2026-11-29)."""
    upstream.script(Reply.slow(60.0))
    stop = asyncio.Event()

    async def stop_once_asked() -> None:
        await upstream.wait_for_requests(1)
        stop.set()

    stopping = asyncio.create_task(stop_once_asked())
    reply = await cli_gateway.engine.playground.send("claude-cli/sonnet", [HI], stop=stop)
    await stopping
    assert reply.stopped and reply.record_id is not None, reply
    rows = await cli_gateway.engine.recorder.recent(limit=5)
    assert reply.record_id in {row["id"] for row in rows}
    assert next(r for r in rows if r["id"] == reply.record_id)["provider"] == "claude"


async def test_a_stop_during_a_cli_targets_call_asks_no_other_target(
    start_gateway: GatewayFactory,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """The stop interrupts the CLI's job first: its failure must not send the call on to the
    route's next target (a new upstream request, billed, while the gateway stops); the caller
    is told `gateway_stopping`."""
    find_cli("claude")
    routes = {"claude-cli/sonnet": {"fallback": ["gpt-4o"]}}
    gateway: GatewayRuntime = await start_gateway({**CLI_SETTINGS, "gateway.routes": routes})
    upstream.script(Reply.slow(60))  # Claude Code's own call to its upstream, held
    client = openai_client(gateway, timeout=60)
    call = asyncio.ensure_future(
        client.chat.completions.create(model="claude-cli/sonnet", messages=[HI])
    )
    await upstream.wait_for_requests(1, timeout=60)
    await gateway.stop()
    with pytest.raises(openai.APIStatusError) as told:
        await asyncio.wait_for(call, 30)
    assert told.value.status_code == 503, told.value
    assert told.value.body["code"] == "gateway_stopping", told.value.body  # type: ignore[index]
    assert [r.path for r in upstream.llm_requests] == [upstream.llm_requests[0].path]
