"""An answer sent with an output limit the client did not ask for (a hard budget's) is kept only
when it ended by itself: cut at that limit, it is not the answer a caller without the limit
would get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.config.settings_cache import ResponseCacheSettings
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed
from llmgw_desktop.engine.response_cache import Lookup, ResponseCache, Shape, partition_of
from llmgw_desktop.engine.response_cache.store import CachedAnswer
from llmgw_desktop.engine.tokens.usage import Usage


def _answer(dialect: str, cut: bool) -> dict[str, Any]:
    if dialect == DIALECT_OPENAI_CHAT:
        reason = "length" if cut else "stop"
        return {"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": reason}]}
    if dialect == DIALECT_ANTHROPIC:
        return {
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "max_tokens" if cut else "end_turn",
        }
    if dialect == DIALECT_OPENAI_RESPONSES:
        return {"output": [], "status": "incomplete" if cut else "completed"}
    return {"candidates": [{"finishReason": "MAX_TOKENS" if cut else "STOP"}]}


@pytest.mark.parametrize(
    "dialect", [DIALECT_OPENAI_CHAT, DIALECT_ANTHROPIC, DIALECT_OPENAI_RESPONSES, DIALECT_GEMINI]
)
@pytest.mark.parametrize("limited", [False, True])
@pytest.mark.parametrize("cut", [False, True])
def test_an_answer_cut_at_a_limit_the_client_did_not_ask_for_is_not_kept(
    tmp_path: Path, dialect: str, limited: bool, cut: bool
) -> None:
    cache = ResponseCache(ResponseCacheSettings(enabled=True), tmp_path)
    cache.store.start()
    try:
        partition = partition_of(CallerInfo("local"), Shape("openai/m", dialect), shared=False)
        lookup = Lookup(
            partition, b"d" * 32, read=True, keep=True, dialect=dialect, limited=limited
        )
        answer = Completed(
            _answer(dialect, cut), RouteReport(request_id="r", requested_model="m"), Usage()
        )
        cache.keep_whole(lookup, answer, cost=None)
        # Cut at its own limit (the client's), an answer is what the client asked for: kept.
        assert cache.store.holds(lookup.digest) == (not (limited and cut))
        # And the Overview and /health say why it was not kept.
        assert cache.stats.passed_over == ({"cut_at_limit": 1} if limited and cut else {})
    finally:
        cache.store.close()


def test_a_kept_answers_headers_are_masked_as_they_are_given_again(tmp_path: Path) -> None:
    """An answer kept before its headers were masked as they came held an upstream's echo of
    the key it was sent (a review, 2026-11-29): given again, it is masked."""
    cache = ResponseCache(ResponseCacheSettings(enabled=True), tmp_path)
    echoed = "Bearer sk-proj-" + "a1B2c3D4" * 6
    kept = CachedAnswer(
        b"d" * 32, False, b'{"choices": []}', f'{{"x-debug-authorization": "{echoed}"}}', "{}"
    )
    incoming = ClientRequest(DIALECT_OPENAI_CHAT, {"model": "m", "messages": []})
    given = cache.replay(kept, incoming, RouteReport(request_id="r", requested_model="m"))
    assert "sk-proj-" not in str(given.headers), given.headers
    assert "x-debug-authorization" in given.headers
