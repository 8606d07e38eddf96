"""A playground send broken off by the desk (its answer pane gone while the answer streamed)
still ends its stream: its row, and the hard budget's hold on it.

The stream's hold travels with its chunks and is released when they end or are closed
(`held_answers.py`); read in a bare `async for` that raised in its body, the chunks were
neither, and the hold stayed in the store for as long as the gateway ran.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_admissions_cut import TOKENS_TODAY, _holds

SETTLE_S = 5.0


def _pane_gone(text: str) -> None:
    # What PySide6 raises for a call on a widget whose C++ object was deleted.
    raise RuntimeError("Internal C++ object (QLabel) already deleted.")


async def test_a_send_whose_pane_is_gone_releases_its_hold(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # A tight hard budget: the call is held in the store, where a hold left behind shows.
    gateway: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    with pytest.raises(RuntimeError):
        await gateway.engine.playground.send(
            "gpt-4o", [{"role": "user", "content": "hi"}], on_text=_pane_gone
        )
    deadline = time.monotonic() + SETTLE_S
    while True:
        rows = Counter(r["state"] for r in await gateway.engine.recorder.recent(limit=10))
        holds = await _holds(gateway)
        if (rows and not rows["started"] and not holds) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert rows == Counter({"canceled": 1}), rows
    assert holds == [], holds
