"""Why the response cache did not answer: each request it passed over is counted by why (its
client's sampling, the client's own `Cache-Control`, the operator's `cache.routes` and
`cache.principals`), and each answer it did not keep (too large), since start, on
`GatewayService.cache_stats` and on `/health`'s `cache`.

Before, only lookups and hits were counted: the official anthropic SDK as it comes (2.14 has no
`temperature` argument at all) and LangChain's chat models with their defaults send no
temperature, which every vendor samples at 1, so with `cache.sampled` off none of their
requests was ever looked up, and the Overview said only "no cacheable request yet".
"""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import SecretStr

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

ON = {"cache.enabled": True}
QUESTION: Any = [{"role": "user", "content": "What is the capital of France?"}]


async def _health_cache(gateway: GatewayRuntime) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + "/health") as response,
    ):
        body = await response.json()
    return dict(body["cache"])


async def test_sdks_as_they_come_are_never_cached_and_the_gateway_says_why(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    from langchain_anthropic import ChatAnthropic
    from langchain_openai import ChatOpenAI

    gateway: GatewayRuntime = await start_gateway(ON)
    claude = claude_client(gateway)
    key = SecretStr("unused")
    chat_models: list[Any] = [
        ChatOpenAI(model="gpt-4o", base_url=gateway.base_url + "/v1", api_key=key),
        ChatAnthropic(  # type: ignore[call-arg]
            model_name="claude-sonnet-4-6", base_url=gateway.base_url, api_key=key
        ),
    ]
    for _ in range(2):  # each the same request twice
        await claude.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=QUESTION)
        for chat_model in chat_models:
            await chat_model.ainvoke("What is the capital of France?")
    # The claim checked: every repeat reached the upstream, and none was even looked up.
    sent = [r for r in upstream.llm_requests if b"capital of France" in r.raw_body]
    assert len(sent) == 6
    assert all(b'"temperature"' not in r.raw_body for r in sent), "a client named a temperature"
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and (stats.lookups, stats.hits) == (0, 0)
    # Now it is said why.
    assert stats.passed_over == {"sampled": 6}
    said = await _health_cache(gateway)
    assert said["notCached"] == {"sampled": 6}
    assert (said["lookups"], said["hits"]) == (0, 0)


async def test_a_clients_no_store_and_no_cache_are_counted_apart_from_lookups(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    client = openai_client(gateway)

    async def ask(directive: str | None) -> str:
        headers = {"Cache-Control": directive} if directive else {}
        answer = await client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=QUESTION, temperature=0, extra_headers=headers
        )
        why = answer.headers.get("x-gateway-cache-passed-over")
        return str(answer.headers["x-gateway-cache"]) + (f" ({why})" if why else "")

    assert [await ask(d) for d in (None, None, "no-cache", "no-store")] == [
        "miss",
        "hit",
        "miss (no_cache)",
        "miss (no_store)",
    ]
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None
    # A fresh answer asked for (no-cache) could not have been a hit: not a lookup, so the hit
    # rate is of the requests the cache could answer.
    assert (stats.lookups, stats.hits) == (2, 1)
    assert stats.passed_over == {"no_cache": 1, "no_store": 1}


async def test_a_route_the_operator_did_not_list_is_counted(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({**ON, "cache.routes": ["gpt-4o"]})
    for _ in range(2):
        await claude_client(gateway).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            messages=QUESTION,
            extra_body={"temperature": 0},
        )
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and stats.passed_over == {"route": 2}


async def test_a_principal_the_operator_did_not_list_is_counted(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # Only gateway keys are cached: the local user's requests are passed over.
    gateway: GatewayRuntime = await start_gateway({**ON, "cache.principals": ["key:*"]})
    await openai_client(gateway).chat.completions.create(
        model="gpt-4o", messages=QUESTION, temperature=0
    )
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and stats.passed_over == {"principal": 1}


async def test_an_answer_too_large_to_keep_is_counted(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({**ON, "cache.max_entry_kb": 1})
    client = openai_client(gateway)
    for streamed in (False, True):
        upstream.script(Reply.ok("Paris. " * 400, verbatim=True))
        answer = await client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, temperature=0, stream=streamed
        )
        if streamed:
            assert [chunk async for chunk in answer]  # type: ignore[union-attr]
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and (stats.lookups, stats.kept) == (2, 0)
    assert stats.passed_over == {"too_large": 2}
    assert (await _health_cache(gateway))["notCached"] == {"too_large": 2}
    # A fresh answer asked for is counted as that, once: not again as too large to keep.
    upstream.script(Reply.ok("Paris. " * 400, verbatim=True))
    await client.chat.completions.create(
        model="gpt-4o",
        messages=QUESTION,
        temperature=0,
        extra_headers={"Cache-Control": "no-cache"},
    )
    assert stats.passed_over == {"too_large": 2, "no_cache": 1}


async def test_a_request_its_route_falls_back_for_is_one_lookup(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """Each target a fallback tries is looked up under its own key, but the hit rate is of
    requests: a miss that fell back once counted two lookups before."""
    gateway: GatewayRuntime = await start_gateway(
        {**ON, "gateway.routes": {"gpt-4o": {"fallback": ["gpt-4o-mini"]}}}
    )
    client = openai_client(gateway)
    answers = []
    for _ in range(2):
        upstream.script(Reply.error(503))  # the first target fails: its fallback is tried
        answers.append(
            await client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=QUESTION, temperature=0
            )
        )
    # The second: the first target missed again and failed again, the fallback's answer kept.
    assert [a.headers["x-gateway-cache"] for a in answers] == ["miss", "hit"]
    assert [r.body["model"] for r in upstream.llm_requests] == ["gpt-4o", "gpt-4o-mini", "gpt-4o"]
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and (stats.lookups, stats.hits) == (2, 1)
    said = await _health_cache(gateway)
    assert (said["lookups"], said["hits"]) == (2, 1)
