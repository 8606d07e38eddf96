"""The response cache: an exact repeat of a request answered from the store, without an
upstream call.

A request is looked up once routing has chosen a target and everything that guards that
target has passed (the caller's budgets, the gateway key's scope, the provider's switches, the
vendor features a remote caller may use), so a cached answer never reaches a caller who could
not have asked for it. Its key is its partition (`partition.py`: the principal unless
`cache.shared`, the project, the target, the client's dialect and endpoint, whether it streams,
every header sent on with it) with, inside it, the request as the target would be sent it (the
model after routing, messages, tools and sampling settings) written canonically (keys sorted).
A whole answer is kept as the client got it, without the gateway's own `x_gateway` object
(made again for each answer); a stream as the chunks the client got, and replayed chunk by
chunk. Only answers that completed are kept.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import logging
import struct
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_GEMINI, DIALECT_OPENAI_RESPONSES
from llmgw_desktop.config.settings_cache import ResponseCacheSettings
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import (
    OPENAI_DIALECTS,
    CallerInfo,
    Completed,
    Streaming,
    close_chunks,
)
from llmgw_desktop.engine.gateway.same_dialect.passthrough import splice_field
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.response_cache.partition import Lookup, Shape, partition_of
from llmgw_desktop.engine.response_cache.stats import (
    CUT_AT_LIMIT,
    NO_CACHE,
    NO_STORE,
    PRINCIPAL,
    ROUTE,
    SAMPLED,
    TOO_LARGE,
    UNFINISHED,
    CacheStats,
)
from llmgw_desktop.engine.response_cache.store import CachedAnswer, ResponseStore
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "EMBEDDING_FORM",
    "ResponseCache",
    "cache_directives",
    "greedy",
]

log = logging.getLogger(__name__)

# The form an embedding's answer is kept in: its vectors, whichever front door asked.
EMBEDDING_FORM = "embedding"
_FRAME = struct.Struct(">I")  # a stream chunk's length, before its bytes
# Upstream headers that describe the account or the call at its moment, not the answer: not
# given again with a cached answer (a stale "remaining" figure would mislead a client, and a hit
# made no vendor request: the SDKs show the id, `_request_id`, as the one to quote to support).
# Anthropic names its call `request-id`, as OpenAI and Gemini name theirs `x-request-id`.
_NOT_REPLAYED = (
    "x-ratelimit-",
    "anthropic-ratelimit-",
    "retry-after",
    "x-request-id",
    "request-id",
    "openai-processing-ms",
    "x-envoy-upstream-service-time",
    "server-timing",
)


def cache_directives(value: str) -> frozenset[str]:
    """The directives of a `Cache-Control` header, lower-cased (`no-cache`, `no-store`)."""
    return frozenset(
        part.strip().split("=", 1)[0].lower() for part in value.split(",") if part.strip()
    )


class ResponseCache:
    """Answers kept for exact repeats of requests; one per gateway (off unless configured)."""

    def __init__(self, settings: ResponseCacheSettings | None, data_path: Path) -> None:
        self.settings = settings or ResponseCacheSettings()
        self.enabled = self.settings.enabled
        path = Path(self.settings.path).expanduser() if self.settings.path else None
        self.store = ResponseStore(
            path or data_path / "response-cache.sqlite3",
            max_bytes=self.settings.max_mb * 1024 * 1024,
            max_ttl_s=float(self.settings.ttl_s),
        )
        self.stats = CacheStats()
        self._max_entry = self.settings.max_entry_kb * 1024

    # -- deciding ---------------------------------------------------------------------------

    def lookup_for(
        self,
        incoming: ClientRequest,
        caller: CallerInfo,
        route: RouteReport,
        sent: bytes,
        target: str,
        headers: Mapping[str, str] | None = None,
        *,
        translated: bool = False,
    ) -> Lookup | None:
        """Whether (and under which digest) the request `sent` to `target` (`provider/model`)
        with the client's `headers` that go with it is read from and kept in the cache
        (`translated`: `sent` is in another dialect than the client's); None when the cache
        has nothing to do with it. Why it is not read, or that it is, is counted once for
        the request (`route`) however many of its targets are tried: the hit rate is of
        requests."""
        if not self.enabled:
            return None
        directives = cache_directives(caller.cache_control)
        wanted = self.settings.sampled or greedy(incoming)  # read only where it matters
        why = self._passed_over(caller, route.requested_model, directives, greedy=wanted)
        if not self._counted(route, why):
            return None
        facts = incoming.facts
        shape = Shape(
            target,
            incoming.name,
            caller.endpoint,
            streamed=facts.stream,
            stream_usage=facts.stream_usage,
            headers=headers,
        )
        return Lookup(
            partition_of(caller, shape, shared=self.settings.shared),
            _within(incoming, sent, translated),
            read=why is None,
            keep=True,
            dialect=incoming.name,
        )

    def embedding_lookup(
        self, caller: CallerInfo, route: RouteReport, sent: bytes, target: str
    ) -> Lookup | None:
        """`lookup_for` of an embedding request `sent` to `target` (`provider/model`): an
        embedding is the model's function of its input, so no sampling setting passes it
        over, and what is kept is its vectors (`EMBEDDING_FORM`), given to any front door."""
        if not self.enabled:
            return None
        why = self._passed_over(
            caller, route.requested_model, cache_directives(caller.cache_control), greedy=True
        )
        if not self._counted(route, why):
            return None
        partition = partition_of(caller, Shape(target, EMBEDDING_FORM), shared=self.settings.shared)
        within = hashlib.sha256(_canonical(sent)).digest()
        return Lookup(partition, within, read=why is None, keep=True, dialect=EMBEDDING_FORM)

    def keep_embedding(self, lookup: Lookup, body: bytes, usage: Usage, cost: float | None) -> None:
        """Keep an embedding answer's vectors (`body`, JSON) under `lookup`."""
        if lookup.keep:
            self._write(lookup, False, body, {}, usage, cost)

    def pass_over(self, route: RouteReport, why: str) -> None:
        """Count a request of a kind the cache neither reads nor keeps (`why`, a reason of
        `stats.NOT_CACHED`), so its answer says why it was a miss
        (`x-gateway-cache-passed-over`) and `/health` counts it."""
        if self.enabled:
            self._counted(route, why)

    def _counted(self, route: RouteReport, why: str | None) -> bool:
        """Count the request once as passed over (`why`) or looked up; whether it is read
        or kept at all (a `no-cache` one is kept, not read)."""
        if why is not None and route.cache_passed_over is None:
            route.cache_passed_over = why
            self.stats.passed_over[why] += 1
        if why is not None and why != NO_CACHE:
            return False
        if why is None and not route.cache_looked_up:
            route.cache_looked_up = True
            self.stats.lookups += 1
        self.store.start()
        return True

    def _passed_over(
        self,
        caller: CallerInfo,
        requested_model: str,
        directives: frozenset[str],
        *,
        greedy: bool,
    ) -> str | None:
        """Why the request is not read from the cache (`stats.NOT_CACHED`), the operator's
        choices first; None when it is."""
        settings = self.settings
        if not _matches(caller.principal, settings.principals):
            return PRINCIPAL
        if not _matches(requested_model, settings.routes):
            return ROUTE
        if not settings.sampled and not greedy:
            return SAMPLED
        if "no-store" in directives:
            return NO_STORE
        if "no-cache" in directives:
            return NO_CACHE  # a fresh answer asked for, kept for the next
        return None

    # -- reading ----------------------------------------------------------------------------

    async def find(self, lookup: Lookup) -> CachedAnswer | None:
        """The kept answer for `lookup` (read off the loop; a miss reads nothing)."""
        if not lookup.read:
            return None  # no-cache: counted as passed over, not as a lookup that missed
        if not self.store.holds(lookup.digest):
            return None
        future = self.store.submit(lambda: self.store.read(lookup.digest))
        try:
            found = await asyncio.wrap_future(future)
        except Exception as exc:  # a broken cache is a miss, never a failed request
            log.warning("the response cache could not be read: %s", exc)
            return None
        if found is not None:
            self.stats.hits += 1
        return found

    def replay(
        self, found: CachedAnswer, incoming: ClientRequest, route: RouteReport
    ) -> Completed | Streaming:
        """The kept answer, given again: a whole body with this request's `x_gateway`, or the
        stream's chunks as they were sent."""
        # Masked again as they are given: an answer kept before its headers were masked as
        # they came (an upstream echoing its key in one) is not given as it was kept.
        headers = {k: redact(v, named=False) for k, v in jsonio.loads(found.headers).items()}
        if found.streamed:
            return Streaming(route, _replayed(found.body), headers=headers)
        raw = found.body
        if incoming.name in OPENAI_DIALECTS:
            raw = splice_field(raw, "x_gateway", route.x_gateway(Usage()))
        return Completed(None, route, Usage(), raw=raw, headers=headers)

    @staticmethod
    def saved(found: CachedAnswer) -> tuple[Usage, float | None]:
        """The usage and cost of the call a hit saved."""
        meta = jsonio.loads(found.meta)
        return Usage(**meta.get("usage", {})), meta.get("cost")

    # -- keeping ----------------------------------------------------------------------------

    def keep_whole(self, lookup: Lookup, answer: Completed, cost: float | None) -> None:
        """Keep a whole answer as the client got it, without `x_gateway`, when it is one: an
        error an upstream sent with a 200 (routers do, for a provider behind them that
        failed) would otherwise be given again for the whole TTL."""
        if not lookup.keep:
            return
        if answer.bare is not None:
            body = answer.bare
            try:
                data = jsonio.loads(body)
            except ValueError:
                self.not_kept(lookup, UNFINISHED)
                return
        elif answer.body is not None:
            data = {k: v for k, v in answer.body.items() if k != "x_gateway"}
            body = jsonio.dumps(data)
        else:
            return
        if not _finished(lookup.dialect, data):
            self.not_kept(lookup, UNFINISHED)
            return
        if lookup.limited and _cut_at_limit(lookup.dialect, data):
            self.not_kept(lookup, CUT_AT_LIMIT)
            return
        self._write(lookup, False, body, answer.headers, answer.usage, cost)

    def keeping_stream(self, lookup: Lookup, answer: Streaming, cost_of: Any) -> Streaming:
        """`answer` whose chunks are kept as they pass, when its stream completes; `cost_of`
        prices the stream's usage then."""
        if not lookup.keep or answer.outcome is None:
            return answer
        return answer.with_chunks(_Keeping(self, lookup, answer, cost_of))

    def _write(
        self,
        lookup: Lookup,
        streamed: bool,
        body: bytes,
        headers: Any,
        usage: Usage,
        cost: float | None,
    ) -> None:
        if len(body) > self._max_entry:
            self.not_kept(lookup, TOO_LARGE)
            return
        meta = {"usage": usage.as_dict(), "cost": cost}
        headers = {
            k: v for k, v in dict(headers).items() if not k.lower().startswith(_NOT_REPLAYED)
        }
        entry = CachedAnswer(
            lookup.digest, streamed, body, jsonio.dumps_text(headers), jsonio.dumps_text(meta)
        )
        self.store.put(entry, float(self.settings.ttl_s)).add_done_callback(_log_failure)
        self.stats.kept += 1

    def not_kept(self, lookup: Lookup, why: str) -> None:
        """Count an answer looked up, missed and not kept, by why (`stats.NOT_CACHED`); one
        that was not read (no-cache) was counted as passed over already."""
        if lookup.read:
            self.stats.passed_over[why] += 1

    def health(self) -> dict[str, object]:
        """What `/health`'s `cache` says: the file's state, and what the cache did since start."""
        return {**self.store.health(), **self.stats.to_dict()}

    async def clear(self) -> int:
        """Delete every kept answer; how many."""
        self.store.start()
        return await asyncio.wrap_future(self.store.submit(self.store.clear))

    async def close(self) -> None:
        """Finish queued writes and close the file (off the loop)."""
        if self.store.ready or self.store.failed is not None:
            await asyncio.to_thread(self.store.close)


class _Keeping:
    """A stream's chunks, passed on as they come and kept once it has completed."""

    def __init__(
        self, cache: ResponseCache, lookup: Lookup, answer: Streaming, cost_of: Any
    ) -> None:
        self._cache = cache
        self._lookup = lookup
        self._answer = answer
        self._chunks = answer.chunks
        self._cost_of = cost_of
        self._kept: list[bytes] | None = []
        self._size = 0
        self._too_large = False
        self._ended = False  # counted: kept, or why not

    def __aiter__(self) -> _Keeping:
        return self

    async def __anext__(self) -> bytes:
        try:
            piece = await self._chunks.__anext__()
        except StopAsyncIteration:
            self._done()
            raise
        if self._kept is not None:
            self._size += len(piece) + _FRAME.size
            if self._size > self._cache._max_entry:
                self._kept, self._too_large = None, True  # too large to keep: passed on only
            else:
                self._kept.append(piece)
        return piece

    def _done(self) -> None:
        if self._ended:
            return
        self._ended = True
        outcome = self._answer.outcome
        kept, self._kept = self._kept, None
        if outcome is None or not outcome.completed or outcome.error:
            self._cache.not_kept(self._lookup, UNFINISHED)
            return
        if kept is None:
            self._cache.not_kept(self._lookup, TOO_LARGE if self._too_large else UNFINISHED)
            return
        if self._lookup.limited and outcome.stop_reason == "max_tokens":
            # Cut at a limit the client did not ask for.
            self._cache.not_kept(self._lookup, CUT_AT_LIMIT)
            return
        body = b"".join(_FRAME.pack(len(p)) + p for p in kept)
        self._cache._write(
            self._lookup,
            True,
            body,
            self._answer.headers,
            outcome.usage,
            self._cost_of(outcome.usage),
        )

    async def aclose(self) -> None:
        if not self._ended:  # closed before its end: its client left, the stream is cut
            self._ended = True
            self._kept = None
            self._cache.not_kept(self._lookup, UNFINISHED)
        await close_chunks(self._chunks)


async def _replayed(body: bytes) -> AsyncIterator[bytes]:
    """A kept stream's chunks, one by one."""
    at = 0
    while at < len(body):
        (length,) = _FRAME.unpack_from(body, at)
        at += _FRAME.size
        yield body[at : at + length]
        at += length


def _within(incoming: ClientRequest, sent: bytes, translated: bool) -> bytes:
    """A request's own key inside its partition (a digest): `sent` as the target is sent it,
    and (`translated`) the client's own request besides."""
    digest = hashlib.sha256(_canonical(sent) + b"\0")
    if not translated:
        return digest.digest()
    # Sent as it came, the request is `sent`. Translated, what the target's dialect has no word
    # for (a `logprobs`, a `user`) is left out of `sent` but may shape the answer rendered back:
    # the client's own request is part of the key (without its model, which routing has
    # already resolved into the target).
    client = {k: v for k, v in incoming.body.items() if k != "model"}
    try:
        mine = jsonio.dumps_sorted(client)
    except TypeError:  # nested deeper than the writer goes: the client's bytes
        mine = incoming.raw or repr(client).encode()
    digest.update(mine)
    return digest.digest()


def _canonical(sent: bytes) -> bytes:
    """`sent` written again with sorted keys; as it is where it is not JSON, or is nested
    deeper than the writer goes (the reader goes deeper: a body sent on as its own bytes can
    be, and its lookup must not fail the request)."""
    try:
        return jsonio.dumps_sorted(jsonio.loads(sent))
    except (ValueError, TypeError):
        return sent


def _finished(dialect: str, data: Any) -> bool:
    """Whether a whole answer is one that ended (its dialect's finish reason or status), not
    an error in a 2xx's body."""
    if not isinstance(data, dict) or data.get("error"):
        return False
    if dialect == DIALECT_OPENAI_RESPONSES:
        return data.get("status") in ("completed", "incomplete")
    return bool(DIALECTS[dialect].finish_reasons(data))


def _cut_at_limit(dialect: str, data: dict[str, Any]) -> bool:
    """Whether a whole answer ended at its output limit (`length`, `max_tokens`, Gemini's
    `MAX_TOKENS`, an `incomplete` Responses answer) rather than by itself."""
    if dialect == DIALECT_OPENAI_RESPONSES:
        return data.get("status") == "incomplete"
    reasons = DIALECTS[dialect].finish_reasons(data)
    return any(r.lower() in ("length", "max_tokens") for r in reasons)


def _matches(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def greedy(incoming: ClientRequest) -> bool:
    """Whether the request asks for temperature 0 (an absent temperature is the vendor's
    default, 1 for all four dialects: sampled)."""
    body = incoming.body
    if incoming.name == DIALECT_GEMINI:
        config = field(body, "generationConfig")
        value = field(config, "temperature") if isinstance(config, dict) else None
    else:
        value = body.get("temperature")
    return not isinstance(value, bool) and isinstance(value, int | float) and value == 0


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:
        log.warning("the response cache could not keep an answer: %s", exc)
