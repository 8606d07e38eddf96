"""The outbound guard on the kinds of call besides a chat, through the official `openai` SDK:
embeddings (blocked, or embedded with placeholders) and fill-in-the-middle completions
(blocked, or sent with placeholders and answered with the secret put back, whole and
streamed). The scripted upstream echoes a completion's suffix, so a placeholder sent in it
comes back, as a model writes one it was given."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.engine.guard.secrets import AWS_ACCESS_KEY, PRIVATE_KEY
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.completions.test_fim import PROMPT, providers
from tests.transports.gateway.conftest import ANTHROPIC_KEY, GatewayFactory

REMOTE = {"guard.exempt_local": False}
SUFFIX = f"\n\nKEY = '{AWS_ACCESS_KEY}'\n"


def _sent(upstream: ScriptedUpstream) -> str:
    return "\n".join(r.raw_body.decode() for r in upstream.llm_requests)


async def _guarded(
    start: GatewayFactory, upstream: ScriptedUpstream, action: str
) -> GatewayRuntime:
    gateway: GatewayRuntime = await start(
        {**providers(upstream), **REMOTE, "guard.secrets": action}
    )
    return gateway


async def test_an_embedding_of_a_secret_is_blocked_naming_it(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _guarded(start_gateway, upstream, "block")
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(gateway).embeddings.create(
            model="text-embedding-3-small", input=["fine", f"id_rsa:\n{PRIVATE_KEY}"]
        )
    assert refused.value.code == "secret_detected"
    assert "private_key in input[1]" in refused.value.message
    assert upstream.llm_requests == []


async def test_an_embedding_is_of_the_text_with_placeholders(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _guarded(start_gateway, upstream, "redact")
    answer = await openai_client(gateway).embeddings.create(
        model="text-embedding-3-small", input=f"the key is {AWS_ACCESS_KEY}"
    )
    assert answer.data
    (seen,) = upstream.llm_requests
    assert seen.body["input"] == "the key is [SECRET:aws_access_key#1]"


@pytest.mark.parametrize("model", ["codestral-latest", "deepseek/deepseek-chat"])
async def test_a_completion_is_sent_placeholders_and_answered_with_the_secret(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, model: str
) -> None:
    gateway = await _guarded(start_gateway, upstream, "redact")
    client = openai_client(gateway).completions
    answer = await client.create(model=model, prompt=PROMPT, suffix=SUFFIX, max_tokens=32)
    assert answer.choices[0].text == f"{DEFAULT_ANSWER}|{SUFFIX}"
    stream = await client.create(model=model, prompt=PROMPT, suffix=SUFFIX, stream=True)
    assert "".join([c.choices[0].text async for c in stream if c.choices]) == (
        f"{DEFAULT_ANSWER}|{SUFFIX}"
    )
    assert AWS_ACCESS_KEY not in _sent(upstream)
    assert all(
        r.body["suffix"] == SUFFIX.replace(AWS_ACCESS_KEY, "[SECRET:aws_access_key#1]")
        for r in upstream.llm_requests
    )


async def test_a_completion_holding_a_secret_is_blocked(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _guarded(start_gateway, upstream, "block")
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(gateway).completions.create(
            model="codestral-latest", prompt=PROMPT, suffix=SUFFIX, max_tokens=32
        )
    assert refused.value.code == "secret_detected" and "aws_access_key in suffix" in str(
        refused.value
    )
    assert upstream.llm_requests == []


async def test_a_completion_repeating_the_operators_key_has_it_masked(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """With `guard.scan_answers` on, a completion that writes the operator's key (here the
    suffix it is given, echoed) gets its source's placeholder, whole and streamed."""
    gateway: GatewayRuntime = await start_gateway(
        {**providers(upstream), "guard.scan_answers": True}
    )
    suffix = f"\nANTHROPIC_API_KEY={ANTHROPIC_KEY}\n"
    masked = f"{DEFAULT_ANSWER}|\nANTHROPIC_API_KEY=[OPERATOR_KEY:env:ANTHROPIC_API_KEY]\n"
    client = openai_client(gateway).completions
    answer = await client.create(model="codestral-latest", prompt=PROMPT, suffix=suffix)
    assert answer.choices[0].text == masked
    stream = await client.create(
        model="codestral-latest", prompt=PROMPT, suffix=suffix, stream=True
    )
    assert "".join([c.choices[0].text async for c in stream if c.choices]) == masked
