"""An upstream that refuses the gateway's key for it reaches each client as its own dialect's
authentication error, names the key's source and what to change, is sent once, and marks the
provider failing from the first refusal (the start-up model listing included).

The official SDKs run in their default configuration (the OpenAI and Anthropic clients retry a
5xx twice: a refused key answered 502 went upstream three times). The scripted upstream refuses
the key as each vendor does: OpenAI and Anthropic with a 401, Gemini with a 400 whose
`ErrorInfo` reason is `API_KEY_INVALID`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from llmgw_desktop.engine.api import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.events import ModelListRead
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.script import Reply
from tests.fakes.upstream.server import KEY_REFUSED
from tests.transports.gateway.conftest import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    GatewayFactory,
)
from tests.waiting import until

HI = [{"role": "user", "content": "hi"}]
# The start-up listing is read in the background; this bounds a broken test.
LISTING_WAIT_S = 5.0


def refusals(upstream: ScriptedUpstream, *, lists: bool = False) -> list[str]:
    """The paths of the requests the upstream refused for their key (model lists apart)."""
    return [
        r.path
        for r in upstream.requests
        if r.endpoint == KEY_REFUSED and r.path.endswith("/models") == lists
    ]


async def get(gateway: GatewayRuntime, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + path) as response,
    ):
        return await response.json()


async def test_openai_sdk_gets_an_authentication_error_naming_the_key_sent_once(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.refused_keys.add(OPENAI_KEY)
    client = openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key="llmgw-local")

    with pytest.raises(openai.AuthenticationError) as raised:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]

    assert raised.value.status_code == 401
    message = raised.value.message
    assert "env:OPENAI_API_KEY" in message  # which key
    assert "OPENAI_API_KEY" in message and "vault" in message  # what to change
    assert "Incorrect API key" in message  # what the provider said
    assert OPENAI_KEY not in message
    assert raised.value.code == "upstream_key_refused"
    assert refusals(upstream) == ["/v1/chat/completions"]  # once: not retried, not re-sent


async def test_anthropic_sdk_gets_an_authentication_error_naming_the_key_sent_once(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.refused_keys.add(ANTHROPIC_KEY)
    client = anthropic.AsyncAnthropic(base_url=gateway.base_url, api_key="llmgw-local")

    with pytest.raises(anthropic.AuthenticationError) as raised:
        await client.messages.create(model="claude-sonnet-4-5", max_tokens=16, messages=HI)  # type: ignore[arg-type]

    assert raised.value.status_code == 401
    assert "env:ANTHROPIC_API_KEY" in raised.value.message
    assert "invalid x-api-key" in raised.value.message
    assert refusals(upstream) == ["/v1/messages"]


async def test_gemini_sdk_gets_unauthenticated_for_gemini_s_invalid_key_answer(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.refused_keys.add(GEMINI_KEY)
    client = genai.Client(
        api_key="llmgw-local", http_options=types.HttpOptions(base_url=gateway.base_url)
    )

    with pytest.raises(genai_errors.ClientError) as raised:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")

    assert raised.value.code == 401
    assert raised.value.status == "UNAUTHENTICATED"
    assert "env:GEMINI_API_KEY" in str(raised.value.message)
    assert "API key not valid" in str(raised.value.message)
    assert len(refusals(upstream)) == 1


async def test_a_translated_request_is_refused_the_same_way(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """An OpenAI client asking a Claude model: Anthropic refuses the key, the OpenAI client
    is told so in its own dialect."""
    upstream.refused_keys.add(ANTHROPIC_KEY)
    client = openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key="llmgw-local")

    with pytest.raises(openai.AuthenticationError) as raised:
        await client.chat.completions.create(model="claude-sonnet-4-5", messages=HI)  # type: ignore[arg-type]

    assert "anthropic" in raised.value.message and "env:ANTHROPIC_API_KEY" in raised.value.message
    assert refusals(upstream) == ["/v1/messages"]


async def test_a_refused_vault_key_is_named_and_the_next_key_answers(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """The vault's key goes first; refused, the environment's is tried and answers: the
    legitimate path beside the refusal, and the bad key is told apart in the recorder."""
    vault_key = "sk-vault-key-refused-0001"
    await gateway.engine.vault.store_key(OPERATOR, "openai", vault_key)
    upstream.refused_keys.add(vault_key)
    client = openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key="llmgw-local")

    answer = await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]

    assert answer.choices[0].message.content
    assert refusals(upstream) == ["/v1/chat/completions"]  # the vault key, once

    upstream.refused_keys.add(OPENAI_KEY)
    with pytest.raises(openai.AuthenticationError) as raised:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    assert "vault:openai#1" in raised.value.message
    assert "env:OPENAI_API_KEY" in raised.value.message
    assert len(refusals(upstream)) == 3  # each key once more, no repeat


async def test_a_refused_call_marks_the_provider_failing_at_once(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.refused_keys.add(OPENAI_KEY)
    client = openai.AsyncOpenAI(
        base_url=gateway.base_url + "/v1", api_key="llmgw-local", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]

    health = await get(gateway, "/health")
    assert health["providers"]["failing"] == ["openai"]
    assert gateway.engine.providers.health("openai").failing  # the window and the tray read it


async def test_a_key_refused_at_the_start_up_model_listing_marks_the_provider_failing(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    upstream.refused_keys.add(OPENAI_KEY)
    gateway = await start_gateway({"gateway.models_refresh_s": 3600})

    listed = asyncio.Event()
    gateway.engine.events.subscribe(
        ModelListRead, lambda read: listed.set() if read.provider == "openai" else None
    )
    if not gateway.engine.providers.health("openai").failing:  # not read yet: wait for it
        async with asyncio.timeout(LISTING_WAIT_S):
            await listed.wait()

    assert refusals(upstream, lists=True) == ["/v1/models"]
    assert refusals(upstream) == []  # no call was made: the listing alone told
    health = await get(gateway, "/health")
    assert health["providers"]["failing"] == ["openai"]  # the others listed fine
    record = gateway.engine.providers.health("openai")
    assert "env:OPENAI_API_KEY" in record.reason and "401" in record.reason
    assert not gateway.engine.providers.health("anthropic").failing


async def test_models_of_a_provider_that_refused_its_key_are_not_offered_until_one_answers(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # /v1/models lists what answers (the README's word): a refused key answers nothing.
    before = {m["owned_by"] for m in (await get(gateway, "/v1/models"))["data"]}
    assert "openai" in before
    upstream.refused_keys.add(OPENAI_KEY)
    client = openai.AsyncOpenAI(
        base_url=gateway.base_url + "/v1", api_key="llmgw-local", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]

    refused = {m["owned_by"] for m in (await get(gateway, "/v1/models"))["data"]}
    assert refused == before - {"openai"}  # the other providers stay offered

    # Named, the model is still tried: once the key works again, it is offered again.
    upstream.refused_keys.discard(OPENAI_KEY)
    await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    again = {m["owned_by"] for m in (await get(gateway, "/v1/models"))["data"]}
    assert again == before


async def test_a_refused_key_replaced_in_the_vault_is_offered_again_without_a_call(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person replaces the refused key on the desk (the same identity, `vault:openai#1`):
    storing it reads the model list again, which answers. Before, the calls' refusal stood
    (OpenAI held back from `/v1/models`, the new key shown refused) until a client named an
    OpenAI model itself, which a client that picks from the list never does."""
    monkeypatch.delenv("OPENAI_API_KEY")
    gateway = await start_gateway({"gateway.models_refresh_s": 3600})
    bad, good = "sk-vault-refused-key-0001", "sk-vault-working-key-0002"
    upstream.refused_keys.add(bad)
    await gateway.engine.vault.store_key(OPERATOR, "openai", bad)
    client = openai.AsyncOpenAI(
        base_url=gateway.base_url + "/v1", api_key="llmgw-local", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    assert "openai" not in {m.owned_by async for m in client.models.list()}

    await gateway.engine.vault.store_key(OPERATOR, "openai", good)
    await until(lambda: gateway.engine.providers.trouble("openai") is None, "the refusal over")
    assert "openai" in {m.owned_by async for m in client.models.list()}
    assert gateway.engine.providers.refused_key("vault:openai#1") is None
    assert "openai" not in (await get(gateway, "/health"))["providers"].get("failing", [])


async def test_a_test_that_met_an_overload_is_said_but_hides_no_model(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """A person's Test met a 529 a moment before Anthropic recovered: the Providers page says
    "Test failed" until a later success, but `/v1/models` still offers Anthropic. Before, it
    was held back, and nothing a client could pick would clear it."""
    client = openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key="llmgw-local")
    before = {m.owned_by async for m in client.models.list()}
    upstream.script(Reply.error(529, "Overloaded"))
    result = await gateway.engine.providers.probe("anthropic")
    assert not result.ok
    trouble = gateway.engine.providers.trouble("anthropic")
    assert trouble is not None and trouble.describe().startswith("Test failed")
    assert {m.owned_by async for m in client.models.list()} == before
    # A key refused on a Test still holds it back: the next call would meet it too.
    upstream.refused_keys.add(ANTHROPIC_KEY)
    assert not (await gateway.engine.providers.probe("anthropic")).ok
    assert {m.owned_by async for m in client.models.list()} == before - {"anthropic"}
