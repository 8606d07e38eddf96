"""A key made under a revoked key's name is not silently its identity.

A key's principal is `key:<name>`, and everything the gateway keeps per principal (response
cache entries, sessions, jobs, recorder rows, stored response ids, budget spend) is keyed by
it. Revoking a key and making a new one of the same name for someone else would hand the new
holder all of it: an exact repeat of the old holder's question answered from the old holder's
cache entry, the old holder's sessions listed and continued. So a name an earlier key held is
refused unless the operator says the new key continues that identity (the same holder, a new
secret); rotation, which is that on purpose, keeps the principal as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.api import InvalidRequest, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.child_python import run_ours
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.auth.conftest import call_tool, structured
from tests.transports.gateway.conftest import GatewayFactory

TOKEN = "operator-bearer-token-0123456789-abcdefghij"
ALICES_QUESTION = [{"role": "user", "content": "Summarise our acquisition of Initech"}]


@pytest.fixture
async def gateway(start_gateway: GatewayFactory, tmp_path: Path) -> GatewayRuntime:
    (tmp_path / "web").mkdir()
    runtime: GatewayRuntime = await start_gateway(
        {
            "http.auth_token": TOKEN,
            "cache.enabled": True,
            "workspaces.registry": {"web": str(tmp_path / "web")},
        }
    )
    return runtime


async def _ask(gateway: GatewayRuntime, secret: str) -> str:
    """Alice's question asked with `secret`; whether the cache answered it."""
    answer = await openai_client(gateway, secret).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=ALICES_QUESTION, temperature=0
    )
    return answer.headers["x-gateway-cache"]


async def _sessions(gateway: GatewayRuntime, secret: str) -> list[str]:
    listed = await call_tool(gateway, {"Authorization": f"Bearer {secret}"}, "session_list", {})
    return [s["title"] for s in structured(listed)["sessions"]]


async def _alice_leaves_things_behind(gateway: GatewayRuntime) -> str:
    """Alice's key asks a question (kept in the cache) and opens a session; her secret."""
    alice = await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci-bot"))
    assert await _ask(gateway, alice.secret) == "miss"
    made = await call_tool(
        gateway,
        {"Authorization": f"Bearer {alice.secret}"},
        "session_create",
        {"provider": "claude", "title": "alice: initech due diligence", "workspace": "web"},
    )
    assert not made.is_error, made
    return alice.secret


async def test_a_new_key_under_a_revoked_keys_name_is_refused_and_inherits_nothing(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    await _alice_leaves_things_behind(gateway)
    await gateway.engine.keys.revoke(OPERATOR, "ci-bot")

    # The operator hands "ci-bot" on to Bob: refused, naming what the identity holds.
    with pytest.raises(InvalidRequest) as refused:
        await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci-bot"))
    assert refused.value.details["param"] == "name"
    assert "key:ci-bot" in refused.value.message and "continue" in refused.value.message

    # Another name is a new identity: none of Alice's answers, sessions or rows.
    bob = await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci-bot-2"))
    assert await _ask(gateway, bob.secret) == "miss"
    assert await _sessions(gateway, bob.secret) == []
    assert len(upstream.llm_requests) == 2


async def test_the_operator_may_continue_a_revoked_keys_identity_on_purpose(
    gateway: GatewayRuntime,
) -> None:
    await _alice_leaves_things_behind(gateway)
    await gateway.engine.keys.revoke(OPERATOR, "ci-bot")
    # Alice's laptop was lost: the same holder gets a new secret, as a rotation would give.
    again = await gateway.engine.keys.create(
        OPERATOR, KeySpec(name="ci-bot", continues_identity=True)
    )
    assert again.record.principal == "key:ci-bot"
    assert await _ask(gateway, again.secret) == "hit"
    assert await _sessions(gateway, again.secret) == ["alice: initech due diligence"]


async def test_continuing_an_identity_is_refused_for_a_name_no_key_ever_had(
    gateway: GatewayRuntime,
) -> None:
    # Nothing to continue: a typo in a name must not pass for the holder the operator meant.
    with pytest.raises(InvalidRequest) as refused:
        await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci-bto", continues_identity=True))
    assert refused.value.details["param"] == "name"


async def test_a_rotated_key_keeps_its_identity_and_everything_it_owns(
    gateway: GatewayRuntime,
) -> None:
    await _alice_leaves_things_behind(gateway)
    rotated = await gateway.engine.keys.rotate(OPERATOR, "ci-bot")
    assert rotated.record.principal == "key:ci-bot"
    assert await _ask(gateway, rotated.secret) == "hit"
    assert await _sessions(gateway, rotated.secret) == ["alice: initech due diligence"]


async def test_a_name_differing_only_in_case_is_refused_while_its_own_spelling_is_not(
    gateway: GatewayRuntime,
) -> None:
    await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci-bot"))
    for alike in ("CI-bot", "Ci-Bot"):
        with pytest.raises(InvalidRequest) as refused:
            await gateway.engine.keys.create(OPERATOR, KeySpec(name=alike))
        assert "only in case" in refused.value.message
    # Revoked, its spelling in other case still passes for it on the dashboard.
    await gateway.engine.keys.revoke(OPERATOR, "ci-bot")
    with pytest.raises(InvalidRequest):
        await gateway.engine.keys.create(OPERATOR, KeySpec(name="CI-bot", continues_identity=True))
    # Look-alike letters and separators never get this far: a name is ASCII, without `:`.
    for odd in ("ci\u2010bot", "\uff43i-bot", "ci-bot\u200b", "ci:bot", "ci/bot", "ci\nbot"):
        with pytest.raises(InvalidRequest):
            await gateway.engine.keys.create(OPERATOR, KeySpec(name=odd))


async def test_the_keys_command_refuses_a_revoked_name_unless_told_it_is_the_same_holder(
    gateway: GatewayRuntime,
) -> None:
    await _alice_leaves_things_behind(gateway)
    await gateway.engine.keys.revoke(OPERATOR, "ci-bot")
    code, out, err = await run_ours("keys", "create", "ci-bot")
    assert code == 1, (out, err)
    assert b"continue-identity" in err and b"llmgw-" not in out
    code, out, err = await run_ours("keys", "create", "ci-bot", "--continue-identity")
    assert code == 0, (out, err)
    assert out.startswith(b"key:ci-bot ")
