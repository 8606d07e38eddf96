"""The semantic cache as an API target uses it: a request that means what one answered before
meant is answered with that answer (`cache.semantic`, off by default; docs/CACHE.md).

Asked after an exact miss, at the same place and behind the same guards as the exact cache (a
caller who could not have had the upstream's answer gets no kept one). Only a request of text
alone is compared (no images, documents, tool calls or results: what is embedded is its
conversation's text, so anything else would be ignored), with no tools offered unless
`cache.semantic_tools`, at temperature 0 unless `cache.semantic_sampled`. Its conversation is
embedded with `cache.semantic_model` through the gateway's own embeddings route
(`GatewayService.embed`), as the request's principal and project: the embedding is a call of
theirs, budgeted and recorded, and a principal whose key cannot reach the embedding model gets
no semantic hits. The closest earlier request of the same partition (the exact lookup's own,
`response_cache/partition.py`, with the request's settings: `response_cache/semantic.py`) is a
hit when its
similarity reaches the threshold for the requested model; the answer is then the exact cache's
entry, replayed as an exact hit is (a stream as a stream), and its row and `x-gateway-cache`
say `semantic-hit` with the similarity.

A cache can only ever cost a miss, so a lookup never holds a request for long: it waits
`cache.semantic_timeout_ms` for its embedding and the request goes upstream as a miss after that
(the embedding goes on in the background, up to `MAX_LATE` at once, and indexes the answer when
it comes). Lookups that fail or miss their deadline are counted in the balancer's kind of
health account (`balancing/health.py`): a principal's lookups are skipped while its own fail,
everyone's while the local user's or several principals' do, for the gateway's cool-down, and
then one lookup tries again. `health()` is `/health`'s word on it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from llmgw_desktop.config.settings_cache import ResponseCacheSettings
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.balancing.balancer import BalancingSettings
from llmgw_desktop.engine.gateway.balancing.health import TargetHealth
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.ir import TextPart
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.response_cache import CachedAnswer, Lookup, ResponseCache
from llmgw_desktop.engine.response_cache.cache import greedy
from llmgw_desktop.engine.response_cache.semantic import SemanticIndex, semantic_partition
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = [
    "MAX_LATE",
    "SEMANTIC_CALLER",
    "SEMANTIC_HIT",
    "Embedder",
    "SemanticCache",
    "SemanticProbe",
    "SemanticStats",
]

log = logging.getLogger(__name__)

# `x-gateway-cache` of an answer the semantic cache gave.
SEMANTIC_HIT = "semantic-hit"
# The caller its embedding calls are recorded as (the principal is the request's).
SEMANTIC_CALLER = "semantic-cache"
# Embeddings still on their way after their lookup's deadline, kept at once: past it a late one
# is given up (its answer is not indexed), so a hung model holds a bounded few connections.
MAX_LATE = 16
# The outcome of a lookup whose embedding missed its deadline.
TIMEOUT = "timeout"


class _Vectors(Protocol):
    @property
    def vectors(self) -> list[list[float]]: ...


class Embedder(Protocol):
    """The gateway's own embedding call (`GatewayService.embed`)."""

    def __call__(
        self,
        texts: Sequence[str],
        model: str,
        principal: str,
        *,
        project: str | None = ...,
        caller: str = ...,
    ) -> Awaitable[_Vectors]: ...


@dataclass
class SemanticProbe:
    """One request's place in the semantic index: its exact `lookup` (whose partition its own
    is made from, and under which what it finds is read), its partition, its conversation's
    text, and its embedding once made (so an answer kept for it is found by the next)."""

    lookup: Lookup
    partition: bytes
    text: str
    threshold: float
    vector: list[float] | None = None
    # Its embedding, still on its way after the lookup's deadline (indexes the answer later).
    late: asyncio.Task[list[float] | EngineError] | None = None


@dataclass
class SemanticStats:
    """What the semantic lookups did since start, as `/health` says it."""

    lookups: int = 0
    timed_out: int = 0  # missed `cache.semantic_timeout_ms`
    failed: int = 0  # the embedding call failed (its code in `last_failure`)
    skipped: int = 0  # not asked: the lookups' circuit rests
    last_failure: str = ""
    failing: bool = False  # the last lookup asked failed or missed its deadline


class SemanticCache:
    """Finds a kept answer by a request's meaning; one per gateway (only while it is on)."""

    def __init__(
        self,
        cache: ResponseCache,
        embed: Embedder,
        settings: ResponseCacheSettings,
        *,
        tasks: TaskSupervisor | None = None,
        balancing: BalancingSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`tasks` runs the embeddings (a late one goes on after its lookup: the engine's);
        `balancing` gives the gateway's cool-downs to the lookups' circuits."""
        self._cache = cache
        self._embed = embed
        self._settings = settings
        self._tasks = tasks or TaskSupervisor()
        balancing = balancing or BalancingSettings()
        self._cooldown = balancing.cooldown
        self._threshold = balancing.cooldown_failures
        self._clock = clock
        self.index = SemanticIndex(float(settings.ttl_s))
        # The lookups' circuits: everyone's, and each principal's own.
        self._health = TargetHealth()
        self._late: set[asyncio.Task[Any]] = set()
        self.stats = SemanticStats()

    def probe(self, incoming: ClientRequest, lookup: Lookup) -> SemanticProbe | None:
        """The request's probe when the semantic cache may serve it (and keep its answer),
        else None. Its partition is made from the exact `lookup`'s, never on its own."""
        settings = self._settings
        if not settings.semantic_model or not lookup.read:
            return None
        if incoming.facts.tools and not settings.semantic_tools:
            return None
        if not settings.semantic_sampled and not greedy(incoming):
            return None
        text = _conversation_text(incoming)
        if text is None:
            return None
        threshold = self.threshold_for(incoming.facts.model or "")
        partition = semantic_partition(lookup.partition, incoming.body)
        return SemanticProbe(lookup, partition, text, threshold)

    def threshold_for(self, model: str) -> float:
        """The least similarity for a hit on `model` (the longest matching glob's)."""
        table = self._settings.semantic_thresholds
        matching = [p for p in table if fnmatch.fnmatchcase(model, p)]
        if not matching:
            return 1.0  # no rule: only the same meaning, exactly
        return float(table[max(matching, key=lambda p: len(p.replace("*", "")))])

    async def find(
        self, probe: SemanticProbe, caller: CallerInfo, route: RouteReport
    ) -> CachedAnswer | None:
        """The answer kept for the closest earlier request, when it is close enough (the
        similarity is set on `route`); None: a miss (the probe keeps its embedding, or the
        embedding still on its way)."""
        principal = caller.principal
        now = self._clock()
        if self._health.resting(principal, now) is not None:
            self.stats.skipped += 1
            return None
        self.stats.lookups += 1
        trial = self._health.began(principal, now)
        try:
            probe.vector = await self._embedding(probe, caller)
        finally:
            if trial is not None:
                trial.trial = False
        if not probe.vector:
            return None
        match = self.index.closest(probe.partition, probe.vector)
        if match is None or match.similarity < probe.threshold:
            return None
        found = await self._cache.find(probe.lookup.read_beside(match.digest))
        if found is None:  # its answer has gone (evicted, expired)
            self.index.forget(probe.partition, match.digest)
            return None
        route.cache_similarity = round(match.similarity, 4)
        return found

    async def _embedding(self, probe: SemanticProbe, caller: CallerInfo) -> list[float] | None:
        """`probe`'s embedding when it comes within the deadline; else None, the lookup's
        failure counted (a late one kept on `probe.late`)."""
        try:
            task = self._tasks.spawn(
                self._embedded(probe.text, caller), name="semantic cache embedding", service=True
            )
        except RuntimeError:  # the engine is stopping
            return None
        try:
            made = await asyncio.wait_for(
                asyncio.shield(task), self._settings.semantic_timeout_ms / 1000
            )
        except TimeoutError:
            self._failed(caller.principal, TIMEOUT, probe.text)
            if len(self._late) < MAX_LATE:
                self._late.add(task)
                task.add_done_callback(self._late.discard)
                probe.late = task
            else:
                task.cancel()
            return None
        except asyncio.CancelledError:
            task.cancel()  # the client left: nothing to index
            raise
        if isinstance(made, EngineError):
            self._failed(caller.principal, made.code, probe.text)
            return None
        self.stats.failing = False
        if self._health.answered(caller.principal):
            log.info("semantic cache: %s answers again", self._settings.semantic_model)
        return made or None

    async def _embedded(self, text: str, caller: CallerInfo) -> list[float] | EngineError:
        """The embedding of `text` as `caller`'s call, or the error it failed with."""
        try:
            made = await self._embed(
                [text],
                self._settings.semantic_model,
                caller.principal,
                project=caller.project,
                caller=SEMANTIC_CALLER,
            )
        except EngineError as exc:
            return exc
        return made.vectors[0] if made.vectors else []

    def _failed(self, principal: str, outcome: str, text: str) -> None:
        """A lookup of `principal`'s failed with `outcome` (`timeout`, an error code)."""
        stats = self.stats
        if outcome == TIMEOUT:
            stats.timed_out += 1
        else:
            stats.failed += 1
        stats.last_failure, stats.failing = outcome, True
        everyone = self._health.failed(
            outcome,
            principal,
            hashlib.blake2b(text.encode(), digest_size=12).hexdigest(),
            self._clock(),
            backoff=self._cooldown,
            threshold=self._threshold,
            retry_after_s=None,
        )
        if everyone:
            log.warning(
                "semantic cache: %s failed %d lookups in a row (%s, cache.semantic_timeout_ms "
                "= %d); requests are asked upstream without a semantic lookup for a while",
                self._settings.semantic_model,
                self._health.shared.failures,
                outcome,
                self._settings.semantic_timeout_ms,
            )

    def remember(self, probe: SemanticProbe, lookup: Lookup) -> None:
        """The answer about to be kept under `lookup` answers `probe`'s request (indexed now,
        or when its late embedding comes)."""
        if not lookup.keep:
            return
        if probe.vector:
            self.index.add(probe.partition, probe.vector, lookup.within)
        elif probe.late is not None:
            probe.late.add_done_callback(lambda late: self._index_late(probe, lookup, late))

    def _index_late(
        self, probe: SemanticProbe, lookup: Lookup, late: asyncio.Task[list[float] | EngineError]
    ) -> None:
        if late.cancelled() or late.exception() is not None:
            return
        made = late.result()
        if isinstance(made, list) and made:
            self.index.add(probe.partition, made, lookup.within)

    def health(self) -> dict[str, Any]:
        """`/health`'s `cache.semantic`: `ok`, `failing` (the last lookup failed or missed its
        deadline) or `skipped` (lookups are skipped for everyone now), and the counts."""
        stats = self.stats
        if self._health.shared.goes_last(self._clock()) is not None:
            state = "skipped"
        else:
            state = "failing" if stats.failing else "ok"
        return {
            "state": state,
            "deadlineMs": self._settings.semantic_timeout_ms,
            "lookups": stats.lookups,
            "timedOut": stats.timed_out,
            "failed": stats.failed,
            "skipped": stats.skipped,
            "lastFailure": stats.last_failure or None,
        }


def _conversation_text(incoming: ClientRequest) -> str | None:
    """The request's system prompt and messages as one text (`role: text` lines), or None
    when it holds more than text (images, documents, tool calls and results, thinking)."""
    try:
        request = incoming.neutral()
    except InvalidRequest:
        return None
    lines = [f"system: {part.text}" for part in request.system]
    for message in request.messages:
        for part in message.parts:
            if not isinstance(part, TextPart):
                return None
            lines.append(f"{message.role}: {part.text}")
    text = "\n".join(lines).strip()
    return text or None
