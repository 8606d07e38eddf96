"""Issue 31, red team: an adversary holding a narrow gateway key.

The key may reach one model on one provider (`gpt-4o-mini` on `openai`), no project, and one MCP
tool (`list_models`; an empty tool list would mean "any"). Each probe tries another way out of
that scope (the count-token doors, the model lists, every chat dialect, the relayed MCP servers'
tools, `ask_model`, each place a key is read from once revoked, a rotated key's grace, many
requests at once against the budget, streams against the rate limit) beside the path the key is
allowed. Real gateway, official SDKs and the `mcp` client; providers point at the scripted
upstream; the relayed server is the reference `everything` server from npm.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from llmgw_desktop.engine.api import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.security.keys.test_gateway_keys import (
    HI,
    TOKEN,
    backdate_key,
    expect_refused_as,
    make_key,
)
from tests.transports.auth.conftest import call_tool
from tests.transports.gateway.conftest import GatewayFactory

ROOT = Path(__file__).resolve().parents[3]
EVERYTHING = ROOT / ".mcp-servers" / "node_modules" / ".bin" / "mcp-server-everything"
NARROW = {"models": ["gpt-4o-mini"], "providers": ["openai"], "tools": ["list_models"]}


@pytest.fixture
async def locked(start_gateway: GatewayFactory) -> GatewayRuntime:
    runtime: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    return runtime


def counted(upstream: ScriptedUpstream) -> list[str]:
    return [r.path for r in upstream.requests if r.endpoint == "count_tokens"]


async def test_count_tokens_reach_only_the_models_in_the_keys_scope(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # Allowed: a key for Claude's models has Anthropic count them.
    claude = (await make_key(locked, "claude", scope={"models": ["claude-*"]})).secret
    tokens = await claude_client(locked, claude).messages.count_tokens(
        model="claude-sonnet-4-6", messages=HI
    )
    assert tokens.input_tokens > 0
    assert counted(upstream) == ["/v1/messages/count_tokens"]

    narrow = (await make_key(locked, "narrow", scope=NARROW)).secret
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        await claude_client(locked, narrow).messages.count_tokens(
            model="claude-sonnet-4-6", messages=HI
        )
    body: Any = refused.value.body
    assert body["error"]["type"] == "permission_error", body
    assert "outside the scope" in body["error"]["message"]
    with pytest.raises(genai_errors.ClientError) as refused_gemini:
        await gemini_client(locked, narrow).aio.models.count_tokens(
            model="gemini-2.5-flash", contents="hi"
        )
    assert refused_gemini.value.code == 403
    # Neither count reached the operator's Anthropic or Gemini account.
    assert counted(upstream) == ["/v1/messages/count_tokens"]


async def test_model_lists_show_a_key_only_the_models_in_its_scope(
    locked: GatewayRuntime,
) -> None:
    narrow = (await make_key(locked, "narrow", scope=NARROW)).secret
    everything = openai_client(locked, TOKEN)
    all_ids = {m.id async for m in everything.models.list()}
    assert {"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-6"} <= all_ids

    seen = {m.id async for m in openai_client(locked, narrow).models.list()}
    assert seen == {"gpt-4o-mini"}, seen
    page = await claude_client(locked, narrow).models.list()
    # Anthropic's list also names each model for Claude Code's picker (`anthropic-gateway/`):
    # the same in-scope model under that name, nothing more.
    assert {m.id for m in page.data} == {"gpt-4o-mini", "anthropic-gateway/gpt-4o-mini"}
    listed = [m.name async for m in await gemini_client(locked, narrow).aio.models.list()]
    assert listed == ["models/gpt-4o-mini"], listed
    # The provider listing shows the one provider, with the one model.
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            locked.base_url + "/v1/providers", headers={"Authorization": f"Bearer {narrow}"}
        ) as answer,
    ):
        providers = (await answer.json())["providers"]
    assert [(p["id"], p["models"]) for p in providers] == [("openai", ["gpt-4o-mini"])]
    # A model outside the scope is not found by name either.
    with pytest.raises(openai.NotFoundError):
        await openai_client(locked, narrow).models.retrieve("claude-sonnet-4-6")
    assert (await openai_client(locked, narrow).models.retrieve("gpt-4o-mini")).id == (
        "gpt-4o-mini"
    )


async def test_every_chat_dialect_refuses_a_model_outside_the_scope(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    narrow = (await make_key(locked, "narrow", scope=NARROW)).secret
    client = openai_client(locked, narrow)
    # Allowed: the one model, by chat, by Responses and streamed.
    answer = await client.responses.create(model="gpt-4o-mini", input="hi")
    assert answer.output_text.startswith(DEFAULT_ANSWER)
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    allowed = len(upstream.llm_requests)

    for model in ("claude-sonnet-4-6", "openai/gpt-4o", "anthropic/claude-sonnet-4-6", "gpt-4o"):
        with pytest.raises(openai.PermissionDeniedError):
            await client.responses.create(model=model, input="hi")
        with pytest.raises(openai.PermissionDeniedError):
            await client.chat.completions.create(model=model, messages=HI, stream=True)
    with pytest.raises(genai_errors.ClientError) as refused:
        async for _ in await gemini_client(locked, narrow).aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="hi"
        ):
            pass
    assert refused.value.code == 403
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            locked.base_url + "/v1/generate",
            json={"model": "claude-sonnet-4-6", "prompt": "hi"},
            headers={"Authorization": f"Bearer {narrow}"},
        ) as native,
    ):
        assert native.status == 403, await native.text()
    assert len(upstream.llm_requests) == allowed


async def test_relayed_mcp_server_tools_are_held_to_the_keys_tool_scope(
    start_gateway: GatewayFactory,
) -> None:
    if not EVERYTHING.exists():
        pytest.skip(f"the MCP servers are not installed ({EVERYTHING})")
    gateway = await start_gateway(
        {
            "http.auth_token": TOKEN,
            "mcp.servers": {
                "tools": {"command": str(EVERYTHING), "args": ["stdio"], "remote": "all"}
            },
        },
    )
    # Allowed: a key that names the relayed tool calls it.
    echo = (await make_key(gateway, "echoer", scope={"tools": ["tools__echo"]})).secret
    said = await call_tool(
        gateway, {"Authorization": f"Bearer {echo}"}, "tools__echo", {"message": "hi"}
    )
    assert not said.is_error and "hi" in json.dumps(said.model_dump(mode="json")), said

    narrow = (await make_key(gateway, "narrow", scope=NARROW)).secret
    refused = await call_tool(
        gateway, {"Authorization": f"Bearer {narrow}"}, "tools__echo", {"message": "hi"}
    )
    assert refused.is_error and "outside_key_scope" in str(refused.content), refused


async def test_ask_model_is_held_to_the_keys_models(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    key = (await make_key(locked, "asker", scope={"models": ["gpt-4o-mini"]})).secret
    headers = {"Authorization": f"Bearer {key}"}
    allowed = await call_tool(
        locked, headers, "ask_model", {"provider": "openai", "model": "gpt-4o-mini", "prompt": "hi"}
    )
    assert not allowed.is_error, allowed
    asked = len(upstream.llm_requests)
    refused = await call_tool(
        locked,
        headers,
        "ask_model",
        {"provider": "anthropic", "model": "claude-sonnet-4-6", "prompt": "hi"},
    )
    assert refused.is_error and "outside_key_scope" in str(refused.content), refused
    # A project named in the tool's arguments is held as one named in a header.
    in_project = await call_tool(
        locked,
        headers,
        "ask_model",
        {"provider": "openai", "model": "gpt-4o-mini", "prompt": "hi", "project": "shop"},
    )
    assert in_project.is_error and "outside_key_scope" in str(in_project.content), in_project
    assert len(upstream.llm_requests) == asked


@pytest.mark.parametrize("auth", ["locked", "open to the local user"])
async def test_a_revoked_key_is_refused_wherever_it_is_carried(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, auth: str
) -> None:
    # Open to the local user: a revoked key must not fall back to the local user's access.
    gateway = await start_gateway({"http.auth_token": TOKEN} if auth == "locked" else {})
    key = (await make_key(gateway, "gone", scope=NARROW)).secret
    await openai_client(gateway, key).chat.completions.create(model="gpt-4o-mini", messages=HI)
    await gateway.engine.keys.revoke(OPERATOR, "gone")
    chat = gateway.base_url + "/v1/chat/completions"
    gemini = gateway.base_url + "/v1beta/models/gpt-4o-mini:generateContent"
    body = {"model": "gpt-4o-mini", "messages": HI}
    contents = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    tries: list[tuple[str, dict[str, Any], dict[str, str], dict[str, str]]] = [
        (chat, body, {"Authorization": f"Bearer {key}"}, {}),
        (chat, body, {"x-api-key": key}, {}),
        (chat, body, {"x-goog-api-key": key}, {}),
        (gemini, contents, {"x-goog-api-key": key}, {}),
        (gemini, contents, {}, {"key": key}),
    ]
    async with aiohttp.ClientSession() as http:
        for url, payload, headers, query in tries:
            async with http.post(url, json=payload, headers=headers, params=query) as answer:
                text = await answer.text()
                assert answer.status == 401, (url, headers, query, text)
                assert "key_revoked" in text or "was revoked" in text, text
        # A live key in the header does not let a revoked one in ?key= through, nor the reverse
        # make a revoked key count: exactly one credential is read, the header's.
        other = (await make_key(gateway, "other", scope=NARROW)).secret
        async with http.post(
            gemini, json=contents, headers={"x-goog-api-key": other}, params={"key": key}
        ) as answer:
            assert answer.status == 200, await answer.text()
        async with http.post(
            gemini, json=contents, headers={"x-goog-api-key": key}, params={"key": other}
        ) as answer:
            assert answer.status == 401, await answer.text()
    assert len(upstream.llm_requests) == 2


async def test_a_rotated_keys_old_secret_dies_when_its_grace_ends(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    old = await make_key(locked, "rolling", scope=NARROW)
    new = await locked.engine.keys.rotate(OPERATOR, "rolling", grace_s=3600)
    await openai_client(locked, old.secret).chat.completions.create(
        model="gpt-4o-mini", messages=HI
    )
    # The end of the grace moved into the past: an hour has passed.
    await backdate_key(locked, old.record.id, "revoked_at")
    await expect_refused_as(locked, old.secret, "key_revoked")
    # The new secret keeps the scope: still the one model.
    await openai_client(locked, new.secret).chat.completions.create(
        model="gpt-4o-mini", messages=HI
    )
    with pytest.raises(openai.PermissionDeniedError):
        await openai_client(locked, new.secret).chat.completions.create(model="gpt-4o", messages=HI)


async def test_requests_at_once_cannot_spend_past_the_keys_budget(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # Room for one call's input and a few hundred tokens of output: no more.
    budget = 0.0002
    key = (await make_key(locked, "thrifty", scope=NARROW, budget_usd=budget)).secret
    client = openai_client(locked, key)
    # The first is held upstream while the others arrive.
    upstream.script(Reply.slow(2.0))

    async def one() -> int:
        try:
            await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
        except openai.APIStatusError as refused:
            return refused.status_code
        return 200

    statuses = await asyncio.gather(*(one() for _ in range(6)))
    assert sorted(statuses) == [200] + [402] * 5, statuses
    assert len(upstream.llm_requests) == 1
    # One at a time until the budget has no room for another: it is never passed.
    for _ in range(10):
        if await one() == 402:
            break
    else:
        raise AssertionError("the key's budget never refused")
    status = locked.engine.budget_ledger.key_status("key:thrifty")
    assert status is not None and 0 < status.spent <= budget, status


async def test_streams_count_against_the_keys_rate_limit(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    key = (await make_key(locked, "streamer", scope=NARROW, per_minute=2)).secret
    client = openai_client(locked, key)
    for _ in range(2):
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
        async for _chunk in stream:
            pass
    with pytest.raises(openai.RateLimitError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    with pytest.raises(anthropic.RateLimitError):
        async with claude_client(locked, key).messages.stream(
            model="gpt-4o-mini", max_tokens=20, messages=HI
        ) as refused:
            await refused.get_final_message()
    assert len(upstream.llm_requests) == 2


async def test_a_key_names_a_coding_cli_as_the_routes_do_on_every_door(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # `mistral` is Mistral's API on the routes; its Vibe CLI is `mistral-cli` there, while the
    # engine runs it as `mistral`. A key for the API must not run the CLI through its MCP tool.
    api = (await make_key(locked, "mistral-api", scope={"providers": ["mistral"]})).secret
    refused = await call_tool(
        locked, {"Authorization": f"Bearer {api}"}, "mistral_request", {"prompt": "hi"}
    )
    assert refused.is_error and "outside_key_scope" in str(refused.content), refused
    # Allowed: a key naming the CLI as the routes do passes the scope on the MCP door too (it
    # is then refused further on here only because no workspace is registered for it).
    cli = (await make_key(locked, "vibe", scope={"providers": ["mistral-cli"]})).secret
    passed = await call_tool(
        locked, {"Authorization": f"Bearer {cli}"}, "mistral_request", {"prompt": "hi"}
    )
    assert "outside_key_scope" not in str(passed.content), passed
    assert upstream.llm_requests == []


async def _read_models_resource(gateway: GatewayRuntime, headers: dict[str, str]) -> Any:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(gateway.mcp_url, http_client=http), mode="legacy") as client,
    ):
        read = await client.read_resource("gateway://models")
    return json.loads(read.contents[0].text)


async def test_the_mcp_model_lists_show_a_key_only_its_scope(locked: GatewayRuntime) -> None:
    """Issue 37, item 5: `list_models` and `gateway://models` listed every CLI's models to a
    key whose scope `/v1/models` applies."""
    narrow = (await make_key(locked, "lister-narrow", scope=NARROW)).secret
    claude_only = (
        await make_key(
            locked,
            "lister-claude",
            scope={"providers": ["claude-cli"], "tools": ["list_models"]},
        )
    ).secret
    operator = {"Authorization": f"Bearer {TOKEN}"}
    everything = await call_tool(locked, operator, "list_models", {})
    assert not everything.is_error and "claude" in everything.structured_content["models"]
    assert len(everything.structured_content["models"]) > 1
    listed = await call_tool(locked, {"Authorization": f"Bearer {narrow}"}, "list_models", {})
    assert not listed.is_error and listed.structured_content["models"] == {}, listed
    listed = await call_tool(locked, {"Authorization": f"Bearer {claude_only}"}, "list_models", {})
    assert not listed.is_error and list(listed.structured_content["models"]) == ["claude"]
    # The resource says the same.
    assert len(await _read_models_resource(locked, operator)) > 1
    assert await _read_models_resource(locked, {"Authorization": f"Bearer {narrow}"}) == {}
    assert list(
        await _read_models_resource(locked, {"Authorization": f"Bearer {claude_only}"})
    ) == ["claude"]
