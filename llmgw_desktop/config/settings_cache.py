"""The response cache (`[cache]`): answers the gateway gave, given again for the same request
without asking the upstream. Off by default; `engine/response_cache/` is the cache itself and
docs/CACHE.md says what is cached and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.settings_fields import setting

__all__ = ["ResponseCacheSettings", "check_thresholds"]


def check_thresholds(value: Mapping[str, Any]) -> str | None:
    """None when `cache.semantic_thresholds` maps model globs to similarities in (0, 1]."""
    for model, threshold in value.items():
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            return f"cache.semantic_thresholds.{model} must be a number, such as 0.95"
        if not 0 < threshold <= 1:
            return f"cache.semantic_thresholds.{model} must be above 0 and at most 1"
    return None


@dataclass(frozen=True)
class ResponseCacheSettings:
    """Answers given again from the store for an exact repeat of a request (`[cache]`)."""

    enabled: bool = setting(
        False,
        env="LLM_GATEWAY_CACHE_ENABLED",
        doc="Answer an exact repeat of an earlier request (same principal, model after "
        "routing, messages, tools and sampling settings) from the cache, without asking the "
        "upstream; every answer then says `x-gateway-cache: hit` or `miss`.",
    )
    routes: list[str] = setting(
        ["*"],
        env="LLM_GATEWAY_CACHE_ROUTES",
        doc="The requested models (globs, as routes are written) whose requests are cached "
        "(comma-separated in the env).",
    )
    principals: list[str] = setting(
        ["*"],
        env="LLM_GATEWAY_CACHE_PRINCIPALS",
        doc="The principals whose requests are cached: `local`, a gateway key's `key:NAME`, "
        "an OAuth client, or globs such as `key:*` (comma-separated in the env).",
    )
    shared: bool = setting(
        False,
        env="LLM_GATEWAY_CACHE_SHARED",
        doc="Let one principal be answered from another's cached answer (off: each principal "
        "has its own entries).",
    )
    sampled: bool = setting(
        False,
        env="LLM_GATEWAY_CACHE_SAMPLED",
        doc="Also cache requests sampled above temperature 0 (or with no temperature, which "
        "every vendor samples at 1): a repeat then gets the same answer, not a new draw.",
    )
    ttl_s: int = setting(
        3600,
        env="LLM_GATEWAY_CACHE_TTL_S",
        doc="Seconds an answer stays in the cache after it was given.",
        check=checks.positive,
    )
    max_mb: int = setting(
        256,
        env="LLM_GATEWAY_CACHE_MAX_MB",
        doc="The cache's size cap in MB; past it the least recently used answers go. Each "
        "answer counts its bytes and 288 more for its place in the in-memory index (and its "
        "row in the file), so memory and file both stay under it: at most about 3,600 answers "
        "a MB when they are tiny.",
        check=checks.positive,
    )
    max_entry_kb: int = setting(
        4096,
        env="LLM_GATEWAY_CACHE_MAX_ENTRY_KB",
        doc="The largest answer (whole or streamed) kept, in KB; larger ones are not cached.",
        check=checks.positive,
    )
    path: str = setting(
        "",
        env="LLM_GATEWAY_CACHE_PATH",
        doc="The cache's SQLite file; empty: response-cache.sqlite3 in the data directory.",
    )
    semantic: bool = setting(
        False,
        env="LLM_GATEWAY_CACHE_SEMANTIC",
        doc="Also answer a request whose meaning is close enough to one answered before "
        "(the cosine similarity of their embeddings at least semantic_thresholds'), for the "
        "same principal, target and settings; needs enabled and semantic_model. The answer "
        "says `x-gateway-cache: semantic-hit`, its recorder row the similarity.",
    )
    semantic_model: str = setting(
        "",
        env="LLM_GATEWAY_CACHE_SEMANTIC_MODEL",
        doc="The embedding model a request's meaning is embedded with, through the gateway's "
        "own embeddings route (a local one such as ollama/nomic-embed-text, or hosted); each "
        "embedding is a call of the request's principal, budgeted and recorded.",
    )
    semantic_timeout_ms: int = setting(
        1_000,
        env="LLM_GATEWAY_CACHE_SEMANTIC_TIMEOUT_MS",
        doc="Longest a request waits for its semantic lookup (the embedding of its "
        "conversation) before it is asked upstream as a miss; an embedding that comes later "
        "still indexes the answer. Lookups that fail or miss it several times in a row are "
        "skipped for a while (gateway.cooldown_failures, cooldown_first_ms).",
        check=checks.positive,
    )
    semantic_thresholds: dict[str, Any] = setting(
        {"*": 0.95},
        env="LLM_GATEWAY_CACHE_SEMANTIC_THRESHOLDS",
        doc="The least cosine similarity for a semantic hit, by requested model (globs, the "
        "longest match first): model = a number above 0 and at most 1 (a JSON object in "
        "the env).",
        check=check_thresholds,
    )
    semantic_sampled: bool = setting(
        False,
        env="LLM_GATEWAY_CACHE_SEMANTIC_SAMPLED",
        doc="Also serve requests sampled above temperature 0 (or with none) from the semantic "
        "cache (their answers are kept with sampled on); off, only temperature 0 requests are.",
    )
    semantic_tools: bool = setting(
        False,
        env="LLM_GATEWAY_CACHE_SEMANTIC_TOOLS",
        doc="Also serve requests that offer tools from the semantic cache (the same tools: they "
        "are part of what must match); off, they never are.",
    )
