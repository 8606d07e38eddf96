"""`/v1/models` and `/v1/providers` reflect what the upstreams list: read in the background at
start, answered from the cache while an upstream is slow, and stale aliases flagged."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.api import answering_of
from llmgw_desktop.engine.gateway.provider_directory import _VENDOR_BASE_URLS
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.connect_setups import GatewayFacts
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory

OPENAI_LISTS = ["gpt-5.5", "sora-2", "gpt-4o"]
FAST = {
    "kind": "alias",
    "name": "fast",
    "model": "gpt-4o-mini",
    "provider": "openai",
    "providerModel": "gpt-4o-mini",
}
# A cached answer comes back in milliseconds; this only bounds a broken test.
CACHED_ANSWER_S = 2.0


async def get(gateway: GatewayRuntime, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + path) as response,
    ):
        assert response.status == 200
        return await response.json()


async def test_models_come_from_the_cache_at_once_then_show_what_the_upstream_lists(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fake stands for OpenAI's own API here (a server elsewhere lists its whole list:
    # `test_a_provider_pointed_at_another_server_offers_what_that_server_lists`).
    monkeypatch.setitem(_VENDOR_BASE_URLS, "openai", upstream.base_url + "/v1")
    caplog.set_level(logging.INFO, logger="llmgw_desktop.engine.gateway.provider_directory")
    upstream.model_ids["chat"] = OPENAI_LISTS
    upstream.models_gate = asyncio.Event()  # the upstream holds every list until opened
    gateway = await start_gateway(
        {"gateway.models_refresh_s": 3600, "gateway.aliases": {"fast": "gpt-4o-mini"}}
    )
    # OpenAI, Anthropic and Gemini were asked at start, in the background, and are held.
    await upstream.wait_for_model_lists(3)
    async with asyncio.timeout(CACHED_ANSWER_S):
        ids = [m.id async for m in openai_client(gateway).models.list()]
        providers = await get(gateway, "/v1/providers")
    assert "gpt-4o" in ids and "sora-2" not in ids  # the catalogue's, for now
    by_id = {p["id"]: p for p in providers["providers"]}
    assert by_id["openai"]["modelsSource"] == "catalogue"
    assert providers["staleReferences"] == []

    upstream.models_gate.set()
    async with asyncio.timeout(5.0):
        await gateway.engine.gateway.directory.refresh()  # waits for the running read

    models = {m.id: m for m in [m async for m in openai_client(gateway).models.list()]}
    assert models["sora-2"].owned_by == "openai"
    assert "gpt-4o-mini" in models  # still in the catalogue, though OpenAI no longer lists it
    providers = await get(gateway, "/v1/providers")
    by_id = {p["id"]: p for p in providers["providers"]}
    assert by_id["openai"]["modelsSource"] == "upstream"
    assert by_id["openai"]["models"][:3] == OPENAI_LISTS
    assert by_id["openai"]["staleReferences"] == [FAST]
    assert providers["staleReferences"] == [FAST]
    assert "stale model reference: alias 'fast'" in caplog.text
    assert len(upstream.llm_requests) == 0

    # A bare id only OpenAI's list names now routes to OpenAI.
    reply = await openai_client(gateway).chat.completions.create(
        model="sora-2", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.model == "sora-2"
    (sent,) = upstream.llm_requests
    assert (sent.path, sent.body["model"]) == ("/v1/chat/completions", "sora-2")


async def test_ids_of_another_provider_are_listed_as_they_reach_it(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway(
        {
            "gateway.providers": {
                "groq": {"api_key": "gsk-test", "base_url": upstream.base_url + "/v1"}
            }
        }
    )
    ids = [m.id async for m in openai_client(gateway).models.list()]
    # Groq's own "openai/gpt-oss-120b" would reach OpenAI: it is listed with Groq's prefix.
    assert "groq/openai/gpt-oss-120b" in ids and "openai/gpt-oss-120b" not in ids
    assert "llama-3.3-70b-versatile" in ids


async def test_a_provider_pointed_at_another_server_offers_what_that_server_lists(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """`OPENAI_BASE_URL` at a compatible server listing two models (the fixture points it at
    the fake): those two are OpenAI's models, and the built-in ones (gpt-5.1, which that
    server does not serve) are offered nowhere, Connect's choice included (a review saw
    gpt-5.1 offered as what "answers instead")."""
    served = ["qwen3-coder", "llama-3.3-70b"]
    upstream.model_ids["chat"] = served
    gateway = await start_gateway({"gateway.models_refresh_s": 3600})
    async with asyncio.timeout(5.0):
        await gateway.engine.gateway.directory.refresh()
    by_id = {p["id"]: p for p in (await get(gateway, "/v1/providers"))["providers"]}
    assert by_id["openai"]["models"] == served
    assert by_id["openai"]["modelsSource"] == "server"
    ids = [m.id async for m in openai_client(gateway).models.list()]
    assert set(served) <= set(ids) and "gpt-5.1" not in ids and "gpt-4o-mini" not in ids
    # What `connect` and `run` name: one the server lists, for a tool of another vendor and
    # for OpenAI's own (Codex's default is not among the server's models), saying why.
    answering = answering_of((await get(gateway, "/v1/models"))["data"])
    assert answering["openai"] == tuple(served)
    facts = GatewayFacts(gateway.base_url, False, answering, "asked the running gateway")
    assert facts.model_for("openai") == "qwen3-coder"
    assert "lists none of openai's models" in facts.why_named("openai")
