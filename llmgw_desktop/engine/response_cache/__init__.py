"""The response cache: exact repeats of requests answered from a store of earlier answers.

`partition.py` is the rule every cache keys by (what besides the words must match for one
request's answer to serve another); `cache.py` decides, reads and keeps; `store.py` is the
file; `semantic.py` the index the semantic cache (`gateway/semantic_cache.py`) finds a kept
answer by meaning in, per partition; `stats.py` what `/health` says of it.
"""

from llmgw_desktop.engine.response_cache.cache import (
    ResponseCache,
)
from llmgw_desktop.engine.response_cache.partition import (
    Lookup,
    Shape,
    keyed_headers,
    partition_of,
)
from llmgw_desktop.engine.response_cache.stats import NOT_CACHED, TEXT_COMPLETION, CacheStats
from llmgw_desktop.engine.response_cache.store import CachedAnswer, ResponseStore

__all__ = [
    "NOT_CACHED",
    "TEXT_COMPLETION",
    "CacheStats",
    "CachedAnswer",
    "Lookup",
    "ResponseCache",
    "ResponseStore",
    "Shape",
    "keyed_headers",
    "partition_of",
]
