"""A caller's own name does not choose the operator's per-caller pin (issue 62, item 6;
SECURITY 99).

`[gateway.routes."*"] pin = { codex = ... }` sends the operator's Codex to a model of their
choosing. The name was the caller's own (`X-Caller`, or a Codex user agent): any gateway key
that said "codex" was routed by the pin, onto the provider and price the operator chose for
their own tool (within the key's scope, but not the route the key was given). Now a pin
applies to the local user's callers, and to a key the operator gave that caller name
(`llmgw-desktop keys create NAME --caller codex`); a key's own claim is its lane's name in the
recorder, never a route. Real gateway, the scripted upstream, raw HTTP as each client sends it.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import INSTANCE_TOKEN_HEADER
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from tests.fakes.upstream import ScriptedUpstream
from tests.mcp_wire import mcp_session
from tests.security.keys.test_gateway_keys import TOKEN
from tests.transports.gateway.conftest import GatewayFactory

PINNED = {"gateway.routes": {"*": {"pin": {"codex": "gemini-2.5-flash"}}}}
CODEX_AGENT = "codex_cli_rs/0.63.0 (Mac OS 15.1.0; arm64) ghostty/1.2.3"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


async def _served_by(base_url: str, headers: dict[str, str]) -> tuple[str, Any]:
    """The provider that answered a chat, and the rule that chose it."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url + "/v1/chat/completions", json=CHAT, headers=headers) as response,
    ):
        body = await response.json()
        assert response.status == 200, body
        return body["x_gateway"]["resolvedProvider"], body["x_gateway"].get("rule")


@pytest.mark.parametrize(
    "claim", [{"X-Caller": "codex"}, {"User-Agent": CODEX_AGENT}], ids=["x-caller", "user-agent"]
)
async def test_a_key_that_names_itself_after_a_pin_is_not_routed_by_it(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, claim: dict[str, str]
) -> None:
    gateway = await start_gateway({**PINNED, "http.auth_token": TOKEN})
    made = await gateway.engine.keys.create(OPERATOR, KeySpec(name="mallory"))
    key = {"Authorization": f"Bearer {made.secret}"}
    assert await _served_by(gateway.base_url, key | claim) == ("openai", None)
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["caller"] == "codex"  # its own name still names its lane


async def test_the_pin_applies_to_the_operators_callers_and_to_a_key_given_the_name(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({**PINNED, "http.auth_token": TOKEN})
    # The local user's own Codex, by its user agent as by X-Caller.
    local = {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token}
    assert await _served_by(gateway.base_url, local | {"User-Agent": CODEX_AGENT}) == (
        "google",
        "pin",
    )
    # A key the operator made for Codex: pinned whatever its client says it is.
    scope = KeyScope.of(caller="codex")
    made = await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci-codex", scope=scope))
    key = {"Authorization": f"Bearer {made.secret}"}
    assert await _served_by(gateway.base_url, key | {"X-Caller": "something-else"}) == (
        "google",
        "pin",
    )
    listed = [k.to_dict(0) for k in await gateway.engine.keys.list(OPERATOR)]
    assert [k["scope"]["caller"] for k in listed] == ["codex"]


async def test_a_key_given_the_name_is_pinned_when_it_asks_over_mcp_too(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """The MCP door's `ask_model` dropped the credential the door had proved, so the operator's
    pin routed the key's calls over HTTP and not over MCP: one rule, two doors."""
    gateway = await start_gateway({**PINNED, "http.auth_token": TOKEN})
    scope = KeyScope.of(caller="codex")
    made = await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci-codex", scope=scope))
    key = {"Authorization": f"Bearer {made.secret}"}
    async with mcp_session(gateway.mcp_url, headers=key) as client:
        answer = await client.call_tool("ask_model", {"model": "gpt-4o", "prompt": "hi"})
    assert not answer.is_error, answer
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert (row["provider"], row["caller"]) == ("google", "codex"), row
