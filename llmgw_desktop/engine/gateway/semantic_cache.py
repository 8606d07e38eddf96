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
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol

from llmgw_desktop.config.settings_cache import ResponseCacheSettings
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.ir import TextPart
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.response_cache import CachedAnswer, Lookup, ResponseCache
from llmgw_desktop.engine.response_cache.cache import greedy
from llmgw_desktop.engine.response_cache.semantic import SemanticIndex, semantic_partition

__all__ = ["SEMANTIC_CALLER", "SEMANTIC_HIT", "Embedder", "SemanticCache", "SemanticProbe"]

log = logging.getLogger(__name__)

# `x-gateway-cache` of an answer the semantic cache gave.
SEMANTIC_HIT = "semantic-hit"
# The caller its embedding calls are recorded as (the principal is the request's).
SEMANTIC_CALLER = "semantic-cache"


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


class SemanticCache:
    """Finds a kept answer by a request's meaning; one per gateway (only while it is on)."""

    def __init__(
        self, cache: ResponseCache, embed: Embedder, settings: ResponseCacheSettings
    ) -> None:
        self._cache = cache
        self._embed = embed
        self._settings = settings
        self.index = SemanticIndex(float(settings.ttl_s))
        # The error codes already logged: an embedding model that fails says so once.
        self._said: set[str] = set()

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
        similarity is set on `route`); None: a miss (the probe keeps its embedding)."""
        try:
            made = await self._embed(
                [probe.text],
                self._settings.semantic_model,
                caller.principal,
                project=caller.project,
                caller=SEMANTIC_CALLER,
            )
        except EngineError as exc:
            if exc.code not in self._said:
                self._said.add(exc.code)
                log.warning(
                    "semantic cache: %s could not embed a request (%s); such requests are "
                    "asked upstream",
                    self._settings.semantic_model,
                    exc.code,
                )
            return None
        probe.vector = made.vectors[0] if made.vectors else None
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

    def remember(self, probe: SemanticProbe, lookup: Lookup) -> None:
        """The answer about to be kept under `lookup` answers `probe`'s request."""
        if probe.vector and lookup.keep:
            self.index.add(probe.partition, probe.vector, lookup.within)


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
