"""The picker namespace (`anthropic-gateway/<id>`, what Claude Code's model discovery keeps) is
a name, never a way around a key's scope: a key scoped to `anthropic-*` names cannot reach
OpenAI's models through it, and a key's list names again only the models it may reach."""

from __future__ import annotations

import anthropic
import pytest

from llmgw_desktop.engine.api import PICKER_NAMESPACE, KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import HI, claude_client
from tests.transports.gateway.conftest import GatewayFactory

TOKEN = "operator-bearer-token-0123456789-abcdefghij"


async def test_the_namespace_reaches_what_the_scope_allows_and_nothing_else(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"http.auth_token": TOKEN})
    sly = await gateway.engine.keys.create(
        OPERATOR, KeySpec(name="sly", scope=KeyScope.of(models=["anthropic-*", "claude-*"]))
    )
    client = claude_client(gateway, sly.secret)
    listed = [m.id async for m in await client.models.list(limit=1000)]
    assert not any(m.startswith(PICKER_NAMESPACE) for m in listed)  # only Claude's models
    with pytest.raises(anthropic.PermissionDeniedError):
        await client.messages.create(model=f"{PICKER_NAMESPACE}gpt-4o", max_tokens=20, messages=HI)
    assert not [r for r in upstream.llm_requests if r.path == "/v1/chat/completions"]

    operator = claude_client(gateway, TOKEN)
    answer = await operator.messages.create(
        model=f"{PICKER_NAMESPACE}gpt-4o", max_tokens=20, messages=HI
    )
    assert answer.content and upstream.llm_requests[-1].body["model"] == "gpt-4o"
