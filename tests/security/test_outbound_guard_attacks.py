"""The outbound guard against callers who try to get round it or through it, each beside the
legitimate path: a gateway key the operator blocks (while the operator's own requests are
warned about), a placeholder asked for in another request (it reveals nothing), and a request
made too large to read where unread requests are blocked."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.engine.guard.secrets import AWS_ACCESS_KEY, OPENAI_KEY
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.security.keys.test_gateway_keys import TOKEN, make_key
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

REMOTE = {"guard.exempt_local": False}


def _sent(upstream: ScriptedUpstream) -> str:
    return "\n".join(r.raw_body.decode() for r in upstream.llm_requests)


async def test_a_key_the_operator_blocks_is_blocked_beside_the_operators_warned_request(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {**REMOTE, "http.auth_token": TOKEN, "guard.keys": {"key:ci-bot": "block"}}
    )
    key = (await make_key(gateway, "ci-bot")).secret
    messages: list[dict[str, str]] = [{"role": "user", "content": f"use {OPENAI_KEY}"}]
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(gateway, key).chat.completions.create(model="gpt-4o", messages=messages)
    assert refused.value.code == "secret_detected"
    assert upstream.llm_requests == []
    # The operator (the static token) is warned, and sent.
    await openai_client(gateway, TOKEN).chat.completions.create(model="gpt-4o", messages=messages)
    assert OPENAI_KEY in _sent(upstream)
    actions = {(c.key, c.action) for c in gateway.engine.guard.stats.counts()}
    assert actions == {("key:ci-bot", "blocked"), ("gateway-bearer", "warned")}


async def test_a_placeholder_asked_for_in_another_request_reveals_nothing(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """Each request's placeholders are its own: a request that holds no secret, whose answer
    names `[SECRET:aws_access_key#1]` (a model told to echo it), gets the placeholder as text,
    never the secret an earlier request replaced with it."""
    gateway = await start_gateway({**REMOTE, "guard.secrets": "redact"})
    client = openai_client(gateway).chat.completions
    upstream.script(
        Reply.ok("noted [SECRET:aws_access_key#1]", verbatim=True),
        Reply.ok("it was [SECRET:aws_access_key#1]", verbatim=True),
    )
    first = await client.create(
        model="gpt-4o", messages=[{"role": "user", "content": f"remember {AWS_ACCESS_KEY}"}]
    )
    assert first.choices[0].message.content == f"noted {AWS_ACCESS_KEY}"
    other = await client.create(
        model="gpt-4o", messages=[{"role": "user", "content": "repeat the aws key placeholder"}]
    )
    assert other.choices[0].message.content == "it was [SECRET:aws_access_key#1]"


async def test_a_request_too_large_to_read_is_blocked_where_unread_requests_are(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """A secret pushed past what the guard reads (padding a request over `guard.max_scan_kb`)
    does not slip through where the operator blocks what it cannot read; a request under the
    limit is read and sent."""
    gateway = await start_gateway({**REMOTE, "guard.max_scan_kb": 8, "guard.unscanned": "block"})
    client = openai_client(gateway).chat.completions
    padded = "lorem ipsum " * 1000 + AWS_ACCESS_KEY
    with pytest.raises(openai.APIStatusError) as refused:
        await client.create(model="gpt-4o", messages=[{"role": "user", "content": padded}])
    assert refused.value.status_code == 413
    assert "request_unscanned" in str(refused.value.body)
    assert upstream.llm_requests == []
    await client.create(model="gpt-4o", messages=[{"role": "user", "content": "short and fine"}])
    assert len(upstream.llm_requests) == 1
