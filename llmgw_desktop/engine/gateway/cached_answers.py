"""An API target's answers from and into the response cache: found by the request's digest, or
by its meaning (`semantic_cache.py`, when on), a hit's row and replay, and an answer kept once it
has completed (the cache itself, its key and store, is `engine/response_cache/`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.records.recording import RequestRecords
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed, EndingChunks, Streaming
from llmgw_desktop.engine.gateway.router import Target
from llmgw_desktop.engine.gateway.semantic_cache import SEMANTIC_HIT, SemanticCache, SemanticProbe
from llmgw_desktop.engine.response_cache import CachedAnswer, Lookup, ResponseCache
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["CACHE_HIT_OUTCOME", "CachedAnswers"]

# The route log's outcome of a target whose answer came from the response cache.
CACHE_HIT_OUTCOME = Outcome.CACHE_HIT


class CachedAnswers:
    """The response cache as an API target uses it."""

    def __init__(
        self,
        cache: ResponseCache,
        records: RequestRecords,
        prices: PriceBook,
        semantic: SemanticCache | None = None,
    ) -> None:
        self.cache = cache
        self._records = records
        self._prices = prices
        self.semantic = semantic

    async def find(
        self,
        lookup: Lookup,
        incoming: ClientRequest,
        caller: CallerInfo,
        route: RouteReport,
    ) -> tuple[CachedAnswer | None, SemanticProbe | None]:
        """The kept answer of an exact repeat, else (the semantic cache on) of a request that
        means the same; with the request's semantic probe, so its own answer is found later."""
        found = await self.cache.find(lookup)
        if found is not None or self.semantic is None:
            return found, None
        probe = self.semantic.probe(incoming, lookup)
        if probe is None:
            return None, None
        return await self.semantic.find(probe, caller, route), probe

    def replayed(
        self,
        found: CachedAnswer,
        incoming: ClientRequest,
        provider: str,
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
    ) -> Completed | Streaming:
        """A request answered from the response cache: its own row (cost $0, the saving in
        its route) and the kept answer given again; a stream's row ends with its replay."""
        record, saved, saved_usd = self.hit(found, provider, target, route, caller)
        answer = self.cache.replay(found, incoming, route)
        if isinstance(answer, Streaming):
            # A client that leaves midway cut its answer, as it would a live stream's: the
            # row says so, not "completed".
            chunks = self._replaying(answer.chunks, record, route, saved, saved_usd)

            async def closed_unread() -> None:
                self._records.finish_cached(record, route, saved, saved_usd, replayed=False)

            return answer.with_chunks(EndingChunks(chunks, closed_unread))
        self._records.finish_cached(record, route, saved, saved_usd)
        return answer

    def hit(
        self,
        found: CachedAnswer,
        provider: str,
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
    ) -> tuple[str, Usage, float | None]:
        """Open the row of a request answered from the cache (its route says so); the row's
        id, and the usage and cost the hit saved (the row is finished with them)."""
        route.cache = SEMANTIC_HIT if route.cache_similarity is not None else "hit"
        record = self._records.start_attempt(route, caller, provider, target.model)
        route.provider, route.model, route.kind = provider, target.model, "api"
        route.attempts.append(Attempt(target.label, "", CACHE_HIT_OUTCOME))
        saved, saved_usd = self.cache.saved(found)
        if saved_usd:
            self.cache.stats.saved_usd += saved_usd
        return record, saved, saved_usd

    async def _replaying(
        self,
        chunks: AsyncIterator[bytes],
        record: str,
        route: RouteReport,
        saved: Usage,
        saved_usd: float | None,
    ) -> AsyncIterator[bytes]:
        replayed = False
        try:
            async for piece in chunks:
                yield piece
            replayed = True
        finally:
            self._records.finish_cached(record, route, saved, saved_usd, replayed=replayed)

    def kept(
        self,
        lookup: Lookup,
        answer: Completed | Streaming,
        target: Target,
        probe: SemanticProbe | None = None,
    ) -> Completed | Streaming:
        """`answer`, kept in the response cache (a stream once it has completed), and found by
        its request's meaning too when `probe` says what that is."""
        if probe is not None and self.semantic is not None:
            self.semantic.remember(probe, lookup)
        if isinstance(answer, Completed):
            self.cache.keep_whole(
                lookup, answer, self._prices.cost_of(target.model, answer.usage, target.provider)
            )
            return answer
        return self.cache.keeping_stream(
            lookup, answer, lambda usage: self._prices.cost_of(target.model, usage, target.provider)
        )
