"""Issue 31, item 1: gateway keys, each its own principal, held to its scope and limits.

The clients are the official `openai`, `anthropic` and `google-genai` SDKs against a real
gateway whose providers point at the scripted upstream. Each attack sits beside the path that
is allowed: a key reaches the models in its scope and no other, not through an alias, a route's
fallback or the same-dialect passthrough; its budget and rate limit hold; a revocation counts
on the very next request, also when another process (the real `llmgw-desktop keys` command)
writes it; and a key cannot make keys.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from llmgw_desktop.engine.api import AccessDenied, KeyScope, KeySpec, MadeKey
from llmgw_desktop.engine.auth.key_changes import KeyChanges
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.child_python import run_ours
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.transports.auth.conftest import call_tool
from tests.transports.gateway.conftest import GatewayFactory

HI = [{"role": "user", "content": "hi"}]
# Any token that is not a gateway key: the gateway requires authentication, as a team's does.
TOKEN = "operator-bearer-token-0123456789-abcdefghij"


async def make_key(gateway: GatewayRuntime, name: str, **spec: Any) -> MadeKey:
    scope = KeyScope.of(**spec.pop("scope", {}))
    return await gateway.engine.keys.create(OPERATOR, KeySpec(name=name, scope=scope, **spec))


async def backdate_key(gateway: GatewayRuntime, key_id: str, field: str) -> None:
    """The key's `field` (`expires_at`, `revoked_at`) moved a second into the past by hand in
    the store, as an hour passing would; the edit is told beside the store (key_changes.py),
    as any writer's change of a key is, or this process would judge the row it verified
    before."""
    models = gateway.engine.store.models
    await gateway.engine.store.run(
        lambda: (
            models.GatewayKey.update(**{field: time.time() - 1})
            .where(models.GatewayKey.id == key_id)
            .execute()
        )
    )
    await asyncio.to_thread(KeyChanges.beside(gateway.engine.store.path).changed)


async def expect_refused_as(gateway: GatewayRuntime, secret: str, code: str) -> None:
    """A call with `secret` is refused as unauthenticated, with the error code `code`."""
    with pytest.raises(openai.AuthenticationError) as refused:
        await openai_client(gateway, secret).chat.completions.create(
            model="gpt-4o-mini", messages=HI
        )
    assert refused.value.body["code"] == code  # type: ignore[index]


@pytest.fixture
async def locked(start_gateway: GatewayFactory) -> GatewayRuntime:
    runtime: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    return runtime


async def test_each_sdk_reaches_the_models_in_scope_and_is_refused_others_in_its_shape(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    made = await make_key(
        locked,
        "ci-bot",
        scope={"models": ["gpt-4o-mini", "claude-sonnet-4-6", "gemini-2.5-flash"]},
    )
    assert made.secret.startswith("llmgw-") and made.record.shown.endswith(made.secret[-4:])
    key = made.secret

    answer = await openai_client(locked, key).chat.completions.create(
        model="gpt-4o-mini", messages=HI
    )
    assert (answer.choices[0].message.content or "").startswith(DEFAULT_ANSWER)
    message = await claude_client(locked, key).messages.create(
        model="claude-sonnet-4-6", max_tokens=20, messages=HI
    )
    assert message.content[0].type == "text"
    reply = await gemini_client(locked, key).aio.models.generate_content(
        model="gemini-2.5-flash", contents="hi"
    )
    assert (reply.text or "").startswith(DEFAULT_ANSWER)
    asked = len(upstream.llm_requests)
    assert asked == 3

    with pytest.raises(openai.PermissionDeniedError) as refused_openai:
        await openai_client(locked, key).chat.completions.create(model="gpt-4o", messages=HI)
    error = refused_openai.value.body
    assert isinstance(error, dict) and error["code"] == "outside_key_scope", error
    assert "gpt-4o" in error["message"] and "gpt-4o-mini" in error["message"]
    with pytest.raises(anthropic.PermissionDeniedError) as refused_anthropic:
        await claude_client(locked, key).messages.create(
            model="claude-opus-4-1", max_tokens=20, messages=HI
        )
    body = refused_anthropic.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "permission_error"
    assert "outside the scope" in body["error"]["message"]
    with pytest.raises(genai_errors.ClientError) as refused_gemini:
        await gemini_client(locked, key).aio.models.generate_content(
            model="gemini-2.5-pro", contents="hi"
        )
    assert refused_gemini.value.code == 403
    assert refused_gemini.value.status == "PERMISSION_DENIED"
    # Nothing out of scope reached an upstream.
    assert len(upstream.llm_requests) == asked
    # Each call is the key's own principal in the recorder.
    rows = await locked.engine.recorder.recent(limit=10)
    assert {r["owner_principal"] for r in rows} == {"key:ci-bot"}
    assert key not in str(rows)


async def test_alias_fallback_and_passthrough_cannot_lead_a_key_out_of_its_scope(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(
        {
            "http.auth_token": TOKEN,
            "gateway.aliases": {"fast": "gpt-4o", "mini": "gpt-4o-mini"},
            "gateway.routes": {"gpt-4o-mini": {"fallback": ["claude-sonnet-4-6"]}},
        },
    )
    key = (await make_key(gateway, "narrow", scope={"models": ["gpt-4o-mini"]})).secret
    client = openai_client(gateway, key)
    # Allowed: an alias that resolves inside the scope.
    answer = await client.chat.completions.create(model="mini", messages=HI)
    assert (answer.choices[0].message.content or "").startswith(DEFAULT_ANSWER)
    assert [r.path for r in upstream.llm_requests] == ["/v1/chat/completions"]

    # An alias that resolves outside it: refused before anything is sent.
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await client.chat.completions.create(model="fast", messages=HI)
    assert refused.value.body["code"] == "outside_key_scope"  # type: ignore[index]
    assert len(upstream.llm_requests) == 1

    # The route's fallback leaves the scope: it is never asked, the failure is the client's.
    upstream.script(Reply.error(429, retry_after_s=3))
    with pytest.raises(openai.APIStatusError) as failed:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert "outside_key_scope" in str(failed.value.body), failed.value.body
    assert [r.path for r in upstream.llm_requests] == ["/v1/chat/completions"] * 2

    # The same-dialect passthrough (Anthropic in, Anthropic upstream) is held the same way.
    with pytest.raises(anthropic.PermissionDeniedError):
        await claude_client(gateway, key).messages.create(
            model="claude-sonnet-4-6", max_tokens=20, messages=HI
        )
    assert not [r for r in upstream.llm_requests if r.path == "/v1/messages"]


async def test_budget_refuses_with_402_once_the_key_spent_it(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # Room for one call's hold (its input and the output the rest pays for), which the
    # scripted upstream's usage uses up.
    key = (await make_key(locked, "tight", budget_usd=0.00018)).secret
    other = (await make_key(locked, "roomy")).secret
    client = openai_client(locked, key)
    await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # spends it
    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert refused.value.status_code == 402
    body: Any = refused.value.body
    assert body["code"] == "budget_exceeded" and "budget of key tight" in body["message"]
    assert len(upstream.llm_requests) == 1
    # What the desk's Keys page draws as the key's bar: the spend its budget counts (under
    # its limit: the refused call's hold, not the spend, is what did not fit).
    status = locked.engine.budgets.key_status("key:tight")
    assert status is not None and status.limit == 0.00018
    assert 0 < status.spent < status.limit
    assert locked.engine.budgets.key_status("key:roomy") is None  # no budget, no bar
    # Kept with the key in the store, never written among config.toml's [[budgets]].
    assert locked.engine.budgets.tables() == []
    # The budget is the key's alone: another key still calls.
    await openai_client(locked, other).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert len(upstream.llm_requests) == 2


async def test_rate_limit_answers_429_with_retry_after(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    key = (await make_key(locked, "slow", per_minute=2)).secret
    client = openai_client(locked, key)
    for _ in range(2):
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    with pytest.raises(openai.RateLimitError) as refused:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert int(refused.value.response.headers["Retry-After"]) >= 1
    assert len(upstream.llm_requests) == 2
    # It names the limit it is held to: the key's own, not the gateway's (a person asked
    # which limit it was).
    assert "key slow's limit of 2 requests a minute" in refused.value.message


async def test_revocation_counts_on_the_next_request(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    key = (await make_key(locked, "gone")).secret
    client = openai_client(locked, key)
    await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # verified once
    assert await locked.engine.keys.revoke(OPERATOR, "gone") == 1
    with pytest.raises(openai.AuthenticationError) as refused:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    body: Any = refused.value.body
    assert body["code"] == "key_revoked" and "gone" in body["message"]
    assert len(upstream.llm_requests) == 1


async def test_revocation_by_another_process_counts_on_the_next_request(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # No authentication configured: a loopback gateway open to the local user. A revoked key
    # must still be refused rather than fall back to the local user's full access.
    gateway = await start_gateway()
    key = (await make_key(gateway, "elsewhere", scope={"models": ["gpt-4o-mini"]})).secret
    client = openai_client(gateway, key)
    await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    # The real command, in its own process, on the same store.
    code, out, err = await run_ours("keys", "revoke", "elsewhere")
    assert code == 0, (out, err)
    assert b"revoked" in out
    with pytest.raises(openai.AuthenticationError) as refused:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert refused.value.body["code"] == "key_revoked"  # type: ignore[index]
    assert len(upstream.llm_requests) == 1


async def test_expired_key_is_refused_with_its_own_code(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    made = await make_key(locked, "brief", expires_at=time.time() + 3600)
    await openai_client(locked, made.secret).chat.completions.create(
        model="gpt-4o-mini", messages=HI
    )
    await backdate_key(locked, made.record.id, "expires_at")
    await expect_refused_as(locked, made.secret, "key_expired")
    assert len(upstream.llm_requests) == 1


async def test_rotation_keeps_the_principal_and_retires_the_old_secret(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    old = (await make_key(locked, "rolling")).secret
    new = await locked.engine.keys.rotate(OPERATOR, "rolling")
    assert new.record.principal == "key:rolling" and new.secret != old
    with pytest.raises(openai.AuthenticationError):
        await openai_client(locked, old).chat.completions.create(model="gpt-4o-mini", messages=HI)
    await openai_client(locked, new.secret).chat.completions.create(
        model="gpt-4o-mini", messages=HI
    )
    # With a grace, the old secret keeps working until it ends.
    graced = await locked.engine.keys.rotate(OPERATOR, "rolling", grace_s=3600)
    for secret in (new.secret, graced.secret):
        await openai_client(locked, secret).chat.completions.create(
            model="gpt-4o-mini", messages=HI
        )
    rows = await locked.engine.recorder.recent(limit=10)
    assert {r["owner_principal"] for r in rows} == {"key:rolling"}


async def test_a_key_cannot_make_keys_or_reach_the_operators_routes(
    locked: GatewayRuntime,
) -> None:
    key = (await make_key(locked, "plain")).secret
    headers = {"Authorization": f"Bearer {key}"}
    verdict = await locked.engine.auth.authenticate(aiohttp_headers(headers))
    assert verdict.principal is not None and verdict.principal.id == "key:plain"
    with pytest.raises(AccessDenied) as refused:
        await locked.engine.keys.create(verdict.principal, KeySpec(name="second"))
    assert refused.value.code == "operator_only"
    with pytest.raises(AccessDenied):
        await locked.engine.keys.list(verdict.principal)
    async with (
        aiohttp.ClientSession() as http,
        http.get(locked.base_url + "/v1/credentials", headers=headers) as answer,
    ):
        assert answer.status == 403
        assert (await answer.json())["error"]["code"] == "operator_only"
    # The operator may.
    assert [k.name for k in await locked.engine.keys.list(OPERATOR)] == ["plain"]


async def test_projects_outside_the_keys_scope_are_refused(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    key = (await make_key(locked, "shopper", scope={"projects": ["shop"]})).secret
    client = openai_client(locked, key)
    await client.chat.completions.create(
        model="gpt-4o-mini", messages=HI, extra_headers={"X-Project": "shop"}
    )
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=HI, extra_headers={"X-Project": "bank"}
        )
    assert refused.value.body["code"] == "outside_key_scope"  # type: ignore[index]
    assert len(upstream.llm_requests) == 1


async def test_a_made_up_key_is_refused_and_never_stored(locked: GatewayRuntime) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        await openai_client(locked, "llmgw-" + "x" * 43).chat.completions.create(
            model="gpt-4o-mini", messages=HI
        )
    assert refused.value.body["code"] == "unauthorized"  # type: ignore[index]


def aiohttp_headers(headers: dict[str, str]) -> Any:
    from multidict import CIMultiDict

    return CIMultiDict(headers)


async def test_mcp_tools_and_cli_providers_outside_the_keys_scope_are_refused(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    tools_key = (await make_key(locked, "lister", scope={"tools": ["list_models"]})).secret
    listed = await call_tool(locked, {"Authorization": f"Bearer {tools_key}"}, "list_models", {})
    assert not listed.is_error, listed
    refused = await call_tool(
        locked,
        {"Authorization": f"Bearer {tools_key}"},
        "ask_model",
        {"model": "gpt-4o-mini", "prompt": "hi"},
    )
    assert refused.is_error and "outside_key_scope" in str(refused.content), refused
    # A key for one API provider cannot run a coding CLI through its MCP tool.
    api_key = (await make_key(locked, "api-only", scope={"providers": ["openai"]})).secret
    cli = await call_tool(
        locked, {"Authorization": f"Bearer {api_key}"}, "claude_request", {"prompt": "hi"}
    )
    assert cli.is_error and "outside_key_scope" in str(cli.content), cli
    assert upstream.llm_requests == []


async def test_a_tools_other_name_is_the_same_tool_to_a_keys_scope(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """A key that may call `ask_model` may call it as mcp-llm-bridge's `llm_generate`, and the
    other way round; a key for another tool may call it by neither name."""
    ours = (await make_key(locked, "asker", scope={"tools": ["ask_model"]})).secret
    seeds = (await make_key(locked, "seed-asker", scope={"tools": ["llm_generate"]})).secret
    lister = (await make_key(locked, "lister-only", scope={"tools": ["list_models"]})).secret
    ask = {"prompt": "hi", "model": "gpt-4o-mini"}
    for secret, name in ((ours, "llm_generate"), (seeds, "ask_model"), (seeds, "llm_generate")):
        answered = await call_tool(locked, {"Authorization": f"Bearer {secret}"}, name, ask)
        assert not answered.is_error, (name, answered)
    listed = await call_tool(locked, {"Authorization": f"Bearer {lister}"}, "llm_models", {})
    assert not listed.is_error, listed
    for name in ("ask_model", "llm_generate"):
        refused = await call_tool(locked, {"Authorization": f"Bearer {lister}"}, name, ask)
        assert refused.is_error and "outside_key_scope" in str(refused.content), refused
    assert len(upstream.llm_requests) == 3


async def test_a_key_in_a_vendor_key_header_works_on_every_door_the_token_does_not(
    locked: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    key = (await make_key(locked, "anywhere")).secret
    body = {"model": "gpt-4o-mini", "messages": HI}
    async with aiohttp.ClientSession() as http:
        for header in ("x-api-key", "x-goog-api-key"):
            async with http.post(
                locked.base_url + "/v1/chat/completions", json=body, headers={header: key}
            ) as answer:
                assert answer.status == 200, await answer.text()
        # The static token is still read only where the route's clients put it.
        async with http.post(
            locked.base_url + "/v1/chat/completions", json=body, headers={"x-api-key": TOKEN}
        ) as answer:
            assert answer.status == 401
    listed = await call_tool(locked, {"x-api-key": key}, "list_models", {})
    assert not listed.is_error, listed
    rows = await locked.engine.recorder.recent(limit=5)
    assert {r["owner_principal"] for r in rows} == {"key:anywhere"}


async def test_a_route_the_operator_was_let_onto_still_refuses_a_key_and_back(
    locked: GatewayRuntime,
) -> None:
    """The edge remembers who was let onto which route (`auth_edge.edge_access`): per
    principal, so the operator's passage never lets a key through, nor a key's refusal the
    operator out."""
    key = (await make_key(locked, "follower")).secret
    operator = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        for headers, status in (
            (operator, 200),
            ({"Authorization": f"Bearer {key}"}, 403),
            (operator, 200),
            ({"Authorization": f"Bearer {key}"}, 403),
        ):
            async with http.get(locked.base_url + "/v1/credentials", headers=headers) as answer:
                assert answer.status == status


async def test_a_key_let_onto_one_route_is_still_refused_the_next_one_it_asks(
    locked: GatewayRuntime,
) -> None:
    """The passage the edge let in last (`Edge.last_let_in`, compared by identity) is a route
    and a principal together: the same key object on another route is decided anew."""
    key = (await make_key(locked, "hopper")).secret
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as http:
        for path, status in (
            ("/v1/models", 200),
            ("/v1/credentials", 403),
            ("/v1/models", 200),
            ("/v1/models", 200),
            ("/v1/credentials", 403),
        ):
            async with http.get(locked.base_url + path, headers=headers) as answer:
                assert answer.status == status, path


async def test_two_keys_taking_turns_are_each_their_own_principal_until_one_is_revoked(
    locked: GatewayRuntime,
) -> None:
    """`AuthService` makes a key's Verdict once and gives it again while `verify` gives the
    same remembered verdict: never another key's, and not past a revocation."""
    first, second = (await make_key(locked, "one")).secret, (await make_key(locked, "two")).secret
    auth = locked.engine.auth
    for _ in range(2):
        for secret, name in ((first, "key:one"), (second, "key:two")):
            verdict = await auth.authenticate(
                aiohttp_headers({"Authorization": f"Bearer {secret}"})
            )
            assert verdict.principal is not None and verdict.principal.id == name
    await locked.engine.keys.revoke(OPERATOR, "one")
    refused = await auth.authenticate(aiohttp_headers({"Authorization": f"Bearer {first}"}))
    assert refused.principal is None and refused.code == "key_revoked"
    kept = await auth.authenticate(aiohttp_headers({"Authorization": f"Bearer {second}"}))
    assert kept.principal is not None and kept.principal.id == "key:two"
