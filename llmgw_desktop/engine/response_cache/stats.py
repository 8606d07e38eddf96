"""What the response cache did since start: the requests it looked up and answered, and, by why,
those it passed over and the answers it did not keep.

The reasons are counted because a hit rate alone hides them: with `cache.sampled` off, a client
that sends no temperature (the official anthropic SDK cannot name one, LangChain's chat models
send none by default) is never looked up, and a cache that answers nothing looked as if it had
just not seen a repeat yet. The words are the ones `/health`'s `cache.notCached` keys by.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = [
    "CUT_AT_LIMIT",
    "NOT_CACHED",
    "NO_CACHE",
    "NO_STORE",
    "PRINCIPAL",
    "ROUTE",
    "SAMPLED",
    "TEXT_COMPLETION",
    "TOO_LARGE",
    "UNFINISHED",
    "CacheStats",
]

# Not looked up (the request):
PRINCIPAL = "principal"  # its principal is not in `cache.principals`
ROUTE = "route"  # its requested model is not in `cache.routes`
SAMPLED = "sampled"  # temperature above 0, or none (the vendor's 1), with `cache.sampled` off
NO_STORE = "no_store"  # its client sent `Cache-Control: no-store`
NO_CACHE = "no_cache"  # its client sent `Cache-Control: no-cache` (the answer is still kept)
# A text completion (fill-in-the-middle): the cache keeps chats and embeddings only.
TEXT_COMPLETION = "text_completion"
# Not kept (its answer, once looked up and missed):
TOO_LARGE = "too_large"  # larger than `cache.max_entry_kb`
UNFINISHED = "unfinished"  # no end said: an error in a 200's body, a stream broken or cut
CUT_AT_LIMIT = "cut_at_limit"  # ended at a hard budget's output limit the client did not name
# Every reason, in the order a person reads them (the operator's choices first).
NOT_CACHED = (
    SAMPLED,
    NO_STORE,
    NO_CACHE,
    ROUTE,
    PRINCIPAL,
    TEXT_COMPLETION,
    TOO_LARGE,
    UNFINISHED,
    CUT_AT_LIMIT,
)


@dataclass
class CacheStats:
    """What the cache did since start: requests it could answer, how many it did, and why the
    others were not answered from it or their answers not kept (`NOT_CACHED`)."""

    lookups: int = 0
    hits: int = 0
    kept: int = 0
    saved_usd: float = 0.0
    passed_over: Counter[str] = field(default_factory=Counter)

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.lookups if self.lookups else None

    @property
    def not_cached(self) -> int:
        """Requests passed over and answers not kept, all reasons together."""
        return sum(self.passed_over.values())

    def to_dict(self) -> dict[str, object]:
        """As `/health`'s `cache` says it (beside the file's state)."""
        return {
            "lookups": self.lookups,
            "hits": self.hits,
            "notCached": {
                why: self.passed_over[why] for why in NOT_CACHED if self.passed_over[why]
            },
        }
