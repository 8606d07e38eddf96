"""A gateway key holder's embeddings and completions meet the same limits as its chats, side
by side with the legitimate call: its key's scope, its own cache entries, and no request that
makes the gateway call an upstream without bound."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.clouds.test_bedrock import aws_env
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import OPERATOR_TOKEN, _keys

__all__ = ["aws_env"]  # the fixture used here


async def test_a_key_scoped_to_one_model_embeds_with_it_and_no_other(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": OPERATOR_TOKEN})
    (narrow,) = await _keys(
        gateway, KeySpec(name="narrow", scope=KeyScope.of(models=["text-embedding-3-small"]))
    )
    await narrow.embeddings.create(model="text-embedding-3-small", input="ok")
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await narrow.embeddings.create(model="text-embedding-3-large", input="no")
    assert refused.value.body["code"] == "outside_key_scope"  # type: ignore[index]
    with pytest.raises(openai.PermissionDeniedError):
        await narrow.completions.create(model="gpt-3.5-turbo-instruct", prompt="a", suffix="b")
    assert len(upstream.llm_requests) == 1


async def test_no_principal_gets_another_principals_cached_vectors(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"cache.enabled": True, "http.auth_token": OPERATOR_TOKEN}
    )
    alice, bob = await _keys(gateway, KeySpec(name="alice"), KeySpec(name="bob"))
    for who, expected in ((alice, "miss"), (alice, "hit"), (bob, "miss"), (bob, "hit")):
        answer = await who.embeddings.with_raw_response.create(
            model="text-embedding-3-small", input="secret text"
        )
        assert answer.headers["x-gateway-cache"] == expected
    assert len(upstream.llm_requests) == 2


async def test_a_one_text_a_call_model_is_held_to_a_bounded_number_of_calls(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    client = openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key="x", max_retries=0)
    titan = "bedrock/amazon.titan-embed-text-v2:0"
    with pytest.raises(openai.BadRequestError) as refused:
        await client.embeddings.create(model=titan, input=[f"t{i}" for i in range(129)])
    assert "at most 128 a request" in str(refused.value)
    assert upstream.llm_requests == []
    answer = await client.embeddings.create(model=titan, input=[f"t{i}" for i in range(3)])
    assert len(answer.data) == 3 and len(upstream.llm_requests) == 3
