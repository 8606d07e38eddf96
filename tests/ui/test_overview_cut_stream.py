"""Overview's counts of a streamed call its client closed mid-answer, and its token words,
driven by the official `openai` SDK through the gateway against the scripted upstream.

A person's pass (2026-12): a stream closed by its client after three chunks reached the
upstream, its row "canceled · the caller stopped it (client_disconnected) · HTTP 200 ·
1 attempt(s) · first token 4 ms"; the Overview's totals said "29 requests (27 sent to providers,
1 refused, 1 canceled)", Provider health "Calls 15 min 27" and the Failing card "7 of 27
failed", while Spend and Agents counted 28 calls to OpenAI. Its answer had begun: it was sent.
The same pass read "2,240 tokens in" where the SDK saw 6,240 prompt tokens: the words now say
the prompt and its fresh part, as the Agents page does. And a call whose tokens the gateway
estimated (no usage reported) has no cache figures: it is left out of the hit rate.
"""

from __future__ import annotations

import asyncio

import openai
import pytest

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.provider_health import HEALTH_COLUMNS
from tests.fakes.upstream import OPENAI_CACHED_TOKENS, OPENAI_PROMPT_TOKENS, Reply
from tests.sdk_clients import HI, openai_client
from tests.ui.desk_gateway import Desk, OnWindow
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

CALLS = HEALTH_COLUMNS.index("Calls 15 min")
MODEL = "gpt-4o-mini"
PIECES = tuple(f"word{i} " for i in range(40))  # a long stream: its client leaves after three


async def _cut_after_three_chunks(client: openai.AsyncOpenAI) -> None:
    """Read three chunks, then leave while waiting for the fourth: the wait is canceled inside
    the SDK's readers, so each of them ends on this loop (closed from outside after its third
    chunk, they were left to the collector, which finalizes them with no loop to run on)."""
    stream = await client.chat.completions.create(model=MODEL, messages=HI, stream=True)
    for _ in range(3):
        await stream.__anext__()
    while True:
        waiting = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            break
    await stream.close()  # its client left


def test_a_stream_its_client_closed_after_three_chunks_was_sent_to_the_provider(
    on_window: OnWindow,
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        page, health = window.overview, window.overview.health
        await until(lambda: health.cell("openai", "Status") == "Ready", "ready")
        desk.upstream.frame_gap_s = 0.02  # each piece its own chunk, a while apart
        client = openai_client(desk.runtime, timeout=30)
        await client.chat.completions.create(model=MODEL, messages=HI)
        await _cut_after_three_chunks(client)
        engine.providers.set_enabled(OPERATOR, "openai", False)
        with pytest.raises(openai.APIStatusError):
            await client.chat.completions.create(model=MODEL, messages=HI)  # refused
        engine.providers.set_enabled(OPERATOR, "openai", True)
        await client.close()
        await until(lambda: engine.metrics.series("15m").total.requests == 3, "3 counted")
        assert len(desk.upstream.llm_requests) == 2

        charts = page.charts
        charts.redraw()
        text = charts.totals_label.text()
        assert text.startswith(
            "Last 15 min: 3 requests (2 sent to providers, 1 refused) · none failed · "
        ), text
        total = engine.metrics.series("15m").total
        prompt = total.input_tokens + total.cache_read_tokens + total.cache_write_tokens
        assert total.cache_read_tokens > 0
        assert f" · {prompt:,} prompt tokens ({total.input_tokens:,} fresh) · " in text, text
        # The cut stream's tokens are the gateway's estimate (no usage came): not in the
        # prompt-cache hit rate, which is the whole answer's reads over its prompt (it read
        # 63 % with the estimate in).
        whole = OPENAI_CACHED_TOKENS / OPENAI_PROMPT_TOKENS
        assert f" · prompt-cache hit rate {whole:.0%} · " in text, text
        health.request_refresh()
        await until(lambda: health.cell_text(health.rows["openai"], CALLS) == "2", "2 calls")
        page.refresh_status()
        assert page.failing_label.accessibleName().splitlines()[-1] == (
            "none of 2 calls to providers failed in 15 min"
        )
        assert engine.provider_health.of("openai").calls == 2

    replies = (Reply.ok(), Reply.in_pieces(*PIECES))
    on_window(body, size=(1024, 700), replies=replies, also_upstream=("openai",))
