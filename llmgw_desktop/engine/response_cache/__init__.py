"""The response cache: exact repeats of requests answered from a store of earlier answers."""

from llmgw_desktop.engine.response_cache.cache import (
    CACHE_HEADER,
    EMBEDDING_FORM,
    Lookup,
    ResponseCache,
    cache_directives,
    keyed_headers,
)
from llmgw_desktop.engine.response_cache.stats import NOT_CACHED, CacheStats
from llmgw_desktop.engine.response_cache.store import CachedAnswer, ResponseStore

__all__ = [
    "CACHE_HEADER",
    "EMBEDDING_FORM",
    "NOT_CACHED",
    "CacheStats",
    "CachedAnswer",
    "Lookup",
    "ResponseCache",
    "ResponseStore",
    "cache_directives",
    "keyed_headers",
]
