"""The semantic cache can only ever cost a miss: a hung, slow or failing embedding model holds
no chat past the cache's own deadline (issue 66, item 1).

The chat upstream is the scripted one and answers at once; the embedding model is a second
scripted upstream (`embed/text-embedding-fake`) made to hang, to take 3 s, or to answer 500.
Before, the lookup awaited the embedding with no deadline of its own: with the model hung,
every chat that missed the exact cache waited for the whole upstream timeout (600 s), a slow
one added its 3 s to every chat, and a failing one was asked on every chat. Now the lookup
waits `cache.semantic_timeout_ms`, is skipped while the model's lookups fail (a circuit of the
same account as the balancer's), an answered request is indexed once its late embedding comes
(in the background), and `/health`'s `cache` says when semantic lookups fail. The requests are
the official OpenAI SDK's, as the local user.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)
from tests.waiting import until

DEADLINE_MS = 500
# A chat's whole time when its lookup missed the deadline: the deadline, the upstream's answer
# and a loaded machine's slack. The embedding model's own delays are far longer.
MISS_BOUND_S = DEADLINE_MS / 1000 + 1.5
# Where a lookup must answer for the test to mean anything (a hit): room for a loaded machine.
ROOMY_MS = 5_000
HUNG_S = 60.0
SLOW_S = 3.0
# The slow model's test: well under its 3 s, with room for the next lookup, a fast one, to
# answer in time on a loaded machine.
SLOW_DEADLINE_MS = 1_000
CHATS = 6
THRESHOLD = 3  # gateway.cooldown_failures: lookups failing in a row before they are skipped


@dataclass
class Rig:
    gateway: GatewayRuntime
    chat: ScriptedUpstream
    embed: ScriptedUpstream

    async def ask(
        self, text: str, *, as_parts: bool = False, temperature: float = 0
    ) -> tuple[str, float]:
        """One chat (at temperature 0: the semantic cache looks it up): its
        `x-gateway-cache`, and how long it took."""
        content: Any = [{"type": "text", "text": text}] if as_parts else text
        began = time.monotonic()
        async with openai_client(self.gateway, timeout=HUNG_S * 2) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": content}],
                temperature=temperature,
            )
        return raw.headers["x-gateway-cache"], time.monotonic() - began

    def embeddings_asked(self) -> int:
        return len([r for r in self.embed.requests if r.path.endswith("/embeddings")])

    async def cache_health(self) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.gateway.base_url + "/health") as response,
        ):
            cache: dict[str, Any] = (await response.json())["cache"]
        return cache


@asynccontextmanager
async def fault_rig(
    start_gateway: GatewayFactory,  # noqa: F811
    chat: ScriptedUpstream,
    embedding: Reply,
    deadline_ms: int = DEADLINE_MS,
) -> AsyncIterator[Rig]:
    async with ScriptedUpstream(default=embedding) as embed:
        gateway: GatewayRuntime = await start_gateway(
            {
                "gateway.providers": {
                    "embed": {
                        "kind": "openai-compatible",
                        "base_url": embed.base_url + "/v1",
                        "models": ["text-embedding-fake"],
                        "api_key": "sk-embed-key-0123456789",
                    }
                },
                "cache.enabled": True,
                "cache.semantic": True,
                "cache.semantic_model": "embed/text-embedding-fake",
                "cache.semantic_timeout_ms": deadline_ms,
                "gateway.cooldown_first_ms": 60_000,  # skipped for the rest of the test
            }
        )
        rig = Rig(gateway, chat, embed)
        # A first chat pays the gateway's start (its first imports, connections): a sampled
        # one, which the semantic cache does not look up, so that the figures are the cache's.
        await rig.ask("warming up", temperature=0.7)
        yield rig


async def test_a_hung_embedding_model_costs_a_chat_no_more_than_the_deadline(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    async with fault_rig(start_gateway, upstream, Reply.slow(HUNG_S)) as rig:
        answers = [await rig.ask(f"question {n}") for n in range(CHATS)]
        assert [cache for cache, _ in answers] == ["miss"] * CHATS
        assert max(took for _, took in answers) < MISS_BOUND_S, answers
        # Once its lookups failed in a row, the model is not asked: chats do not wait at all.
        assert rig.embeddings_asked() == THRESHOLD
        assert len(upstream.llm_requests) == CHATS + 1
        semantic = (await rig.cache_health())["semantic"]
        assert semantic["state"] == "skipped" and semantic["lastFailure"] == "timeout"
        assert semantic["timedOut"] == THRESHOLD and semantic["skipped"] == CHATS - THRESHOLD
        # The late embeddings wait in the background, a bounded few.
        late = [t for t in rig.gateway.engine.tasks.running if t.startswith("semantic")]
        assert 0 < len(late) <= THRESHOLD


async def test_a_slow_embedding_model_adds_no_more_than_the_deadline_and_still_indexes(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    async with fault_rig(start_gateway, upstream, Reply.ok(), deadline_ms=SLOW_DEADLINE_MS) as rig:
        rig.embed.script(Reply.ok(delay_s=SLOW_S))  # the first lookup's embedding is slow
        cache, took = await rig.ask("What is the capital of France?")
        assert cache == "miss" and took < SLOW_DEADLINE_MS / 1000 + 1.5, took
        # Its answer is indexed once the late embedding comes, off the request's path: the
        # same words sent as parts (another exact request) are a semantic hit.
        semantic = rig.gateway.engine.gateway.semantic
        assert semantic is not None
        await until(lambda: len(semantic.index) == 1, "the late embedding", timeout_s=SLOW_S + 10)
        cache, _ = await rig.ask("What is the capital of France?", as_parts=True)
        assert cache == "semantic-hit"
        assert len(upstream.llm_requests) == 2  # the warm-up's and the first's
        health = (await rig.cache_health())["semantic"]
        assert health["state"] == "ok" and health["timedOut"] == 1


async def test_a_failing_embedding_model_is_not_asked_on_every_chat(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    async with fault_rig(start_gateway, upstream, Reply.error(500)) as rig:
        answers = [await rig.ask(f"question {n}") for n in range(CHATS)]
        assert [cache for cache, _ in answers] == ["miss"] * CHATS
        assert rig.embeddings_asked() == THRESHOLD
        semantic = (await rig.cache_health())["semantic"]
        assert semantic["state"] == "skipped" and semantic["failed"] == THRESHOLD
        assert semantic["lastFailure"] == "all_routes_failed"


async def test_an_embedding_model_that_answers_costs_nothing_and_hits(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """The legitimate path beside the faults: lookups answered within the deadline hit."""
    async with fault_rig(start_gateway, upstream, Reply.ok(), deadline_ms=ROOMY_MS) as rig:
        assert (await rig.ask("What is the capital of France?"))[0] == "miss"
        cache, _ = await rig.ask("What is the capital of France?", as_parts=True)
        assert cache == "semantic-hit" and len(upstream.llm_requests) == 2
        semantic = (await rig.cache_health())["semantic"]
        assert semantic["state"] == "ok" and semantic["timedOut"] == semantic["failed"] == 0


async def test_the_deadline_is_a_named_setting_of_its_own() -> None:
    from llmgw_desktop.config.settings import Settings

    assert 0 < Settings().cache.semantic_timeout_ms <= 2_000
