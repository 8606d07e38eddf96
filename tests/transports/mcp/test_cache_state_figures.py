"""The cache-awareness resources' figures, checked against a scripted run: the real Claude Code
and Codex (offline, against the scripted upstream, whose every answer reports the same token
counts) answer three `*_request` calls that share a stable prompt prefix, two of them in one
Claude session, the second of those when the session's prompt cache is 20 s from expiring.

- `cache-state://global`: requests, hits, hit rate, cached tokens and the estimated savings,
  overall and per CLI, each computed here from the upstream's numbers and the price table;
- `cache-state://session/{id}`: the session's two calls, its last request's time and, for
  Claude, `ttlRemainingMs` (300 s after it, by the engine's clock);
- `cache-state://prefix/{hash}`: the prefix's calls by CLI and model, under the hash of the
  stable prefix (`promptParts`' system, tools and context);
- the `cache_ttl_expiring_soon` warning in the second Claude call's answer, with the time left;
- `session_get`'s `cacheState` block, absent before the session's first call.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.transports.mcp.server import build_mcp_server
from tests.contract.conftest import engine_settings, offline  # noqa: F401 - fixture
from tests.contract.offline import find_cli
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.mcp.tools.conftest import call

pytestmark = pytest.mark.contract

PARTS = {
    "system": "You review code for a living. " * 20,
    "context": "def add(a, b):\n    return a + b\n" * 20,
    "task": "Is add() correct?",
}
# What each CLI reports of the scripted upstream's answer (tests/contract/test_real_clis.py).
CLAUDE = {"fresh": 12, "read": 200, "written": 100}
CODEX = {"fresh": 112, "read": 200, "written": 0}
TTL_S = 300  # cache_awareness.anthropic_ttl_seconds' default
SECOND_CALL_AFTER_S = 280


class ShiftedClock:
    """Wall time moved on by `offset` seconds: the run's second Claude call comes 280 s after
    its first without the test waiting for it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
async def run(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
) -> AsyncIterator[tuple[Engine, ShiftedClock]]:
    find_cli("claude")
    find_cli("codex")
    clock = ShiftedClock()
    settings = engine_settings(loaded, {"cache_awareness.warn_on_ttl_expiry": True})
    engine = Engine(settings, clock=clock)
    await engine.start()
    try:
        yield engine, clock
    finally:
        await engine.stop()


def _expected(*calls: dict[str, int], models: list[str]) -> dict[str, Any]:
    """The aggregate the resources must show for these calls, from the price table."""
    fresh = sum(c["fresh"] for c in calls)
    read = sum(c["read"] for c in calls)
    written = sum(c["written"] for c in calls)
    prices = PriceBook()
    saved = 0.0
    for used, model in zip(calls, models, strict=True):
        price = prices.price_of(model)
        assert price is not None, model
        saved += used["read"] * (price.input - price.cache_read) / 1_000_000
    return {
        "requests": len(calls),
        "hits": sum(1 for c in calls if c["read"]),
        "hitRate": round(read / (fresh + read + written), 4),
        "inputTokens": fresh,
        "cacheReadTokens": read,
        "cacheWriteTokens": written,
        "estimatedSavingsUsd": round(saved, 6),
    }


async def _read(client: Client, uri: str) -> dict[str, Any]:
    result = await client.read_resource(uri)
    read: dict[str, Any] = json.loads(result.contents[0].text)  # type: ignore[union-attr]
    return read


async def test_the_cache_resources_figures_match_a_scripted_run(
    run: tuple[Engine, ShiftedClock], upstream: ScriptedUpstream
) -> None:
    engine, clock = run
    async with Client(build_mcp_server(engine)) as client:
        session = (await call(client, "session_create", {"provider": "claude"}))["sessionId"]
        fresh = await call(client, "session_get", {"sessionId": session})
        asked = {"promptParts": PARTS, "sessionId": session}
        first = await call(client, "claude_request", asked)
        clock.offset = SECOND_CALL_AFTER_S
        second = await call(client, "claude_request", asked)
        codex = await call(client, "codex_request", {"promptParts": PARTS, "model": "gpt-5.5"})
        used = await call(client, "session_get", {"sessionId": session})
        global_view = await _read(client, "cache-state://global")
        session_view = await _read(client, f"cache-state://session/{session}")
        now = clock()
        prefix = hashlib.sha256(
            "\n\n".join([PARTS["system"], PARTS["context"]]).encode()
        ).hexdigest()[:16]
        prefix_view = await _read(client, f"cache-state://prefix/{prefix}")
    assert (first["state"], second["state"], codex["state"]) == ("completed",) * 3
    claude_model, codex_model = second["model"], codex["model"]
    # The warning: the second call resumed a session last used 280 s before, of a 300 s cache.
    (warning,) = [w for w in second.get("warnings", []) if w["code"] == "cache_ttl_expiring_soon"]
    assert 0 < warning["ttlRemainingMs"] <= (TTL_S - SECOND_CALL_AFTER_S) * 1000
    assert not [w for w in first.get("warnings", []) if w["code"] == "cache_ttl_expiring_soon"]
    # Global: every call of the day, and per CLI.
    both = _expected(CLAUDE, CLAUDE, CODEX, models=[claude_model, claude_model, codex_model])
    assert {k: global_view[k] for k in both} == both
    assert global_view["window"] == "24h"
    assert global_view["byProvider"] == {
        "claude": _expected(CLAUDE, CLAUDE, models=[claude_model] * 2),
        "codex": _expected(CODEX, models=[codex_model]),
    }
    # The session: its two Claude calls, and the cache time left after the last one.
    assert {k: session_view[k] for k in both} == _expected(
        CLAUDE, CLAUDE, models=[claude_model] * 2
    )
    left_ms = (session_view["lastRequestAt"] + TTL_S - now) * 1000
    assert abs(session_view["ttlRemainingMs"] - left_ms) < 1000
    assert 0 < session_view["ttlRemainingMs"] <= TTL_S * 1000
    # The prefix: the same stable prefix across CLIs, by CLI and model.
    assert prefix_view["prefixHash"] == prefix
    assert prefix_view["byProviderModel"] == {
        f"claude:{claude_model}": _expected(CLAUDE, CLAUDE, models=[claude_model] * 2),
        f"codex:{codex_model}": _expected(CODEX, models=[codex_model]),
    }
    assert prefix_view["prefixTokens"] > 0
    # `session_get` carries the session's block once it has made calls, none before.
    assert "cacheState" not in fresh
    assert used["cacheState"]["requests"] == 2 and used["cacheState"]["hits"] == 2
