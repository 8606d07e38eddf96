"""A streamed answer given again from the response cache has the row a live stream would:
completed once the replay has ended, cut when its client leaves before; and the desk's list
knows a hit's row from a call's."""

from __future__ import annotations

import contextlib
from typing import Any

import openai
import pytest

from llmgw_desktop.engine.api import DIALECT_OPENAI_CHAT, CallerInfo
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.gateway.results import Streaming
from llmgw_desktop.engine.recorder import RecorderFilters
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.postgres import PostgresCluster
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import ON, QUESTION, _rows

STREAMED = {"model": "gpt-4o", "messages": QUESTION, "temperature": 0, "stream": True}


async def _streamed(gateway: GatewayRuntime) -> Streaming:
    """The engine's answer to one streamed request, as the chat route gets it."""
    caller = CallerInfo(principal=LOCAL_CALLER.id, endpoint="/v1/chat/completions")
    answer: Any = await gateway.engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(STREAMED), caller)
    assert isinstance(answer, Streaming)
    return answer


async def test_a_replay_its_client_left_is_recorded_as_cut(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    upstream.frame_gap_s = 0.01  # the events come apart, each its own chunk (as they are kept)
    first = await _streamed(gateway)
    async with contextlib.aclosing(first.chunks) as chunks:  # type: ignore[type-var]
        whole = [piece async for piece in chunks]
    assert len(whole) > 2
    # The engine's answer, closed after its first piece as the chat route closes it when its
    # client hangs up (a socket would not do here: a replay of a few kilobytes is all written
    # into the kernel's buffers before any client could leave).
    hit = await _streamed(gateway)
    assert hit.route.cache == "hit"
    async with contextlib.aclosing(hit.chunks) as chunks:  # type: ignore[type-var]
        async for _piece in chunks:
            break
    cut, miss = await _rows(gateway, 2)
    assert miss["state"] == "completed" and len(upstream.llm_requests) == 1
    assert cut["state"] == "canceled" and cut["error_code"] == "client_disconnected"
    assert cut["cost_usd"] == 0.0

    # Replayed to its end, a hit's row is completed.
    again = await _streamed(gateway)
    async with contextlib.aclosing(again.chunks) as chunks:  # type: ignore[type-var]
        assert [piece async for piece in chunks] == whole
    done, *_ = await _rows(gateway, 3)
    assert done["state"] == "completed" and done["cost_usd"] == 0.0
    assert len(upstream.llm_requests) == 1


async def test_the_list_tells_a_hit_from_a_call_on_either_store(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    store_engine: str,
    request: pytest.FixtureRequest,
) -> None:
    # The desk's list reads a page of summaries, not each row's route: whether the cache
    # answered comes with the page, on SQLite and on a team's PostgreSQL alike.
    settings: dict[str, Any] = dict(ON)
    cluster: PostgresCluster | None = None
    if store_engine == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        settings["store.url"] = cluster.create_database()
    gateway: GatewayRuntime = await start_gateway(settings)
    try:
        client = openai_client(gateway)
        question: Any = QUESTION
        for _ in range(2):
            await client.chat.completions.create(model="gpt-4o", messages=question, temperature=0)
        # A client's own text in the route (the model it asked for) cannot pass for a hit.
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(
                model='nothing","cache":{"hit":true}', messages=question, temperature=0
            )
        await gateway.engine.recorder.flush()
        page = await gateway.engine.recorder_query.page(RecorderFilters())
        assert [(row.state, row.from_cache) for row in page.rows] == [
            ("refused", False),
            ("completed", True),
            ("completed", False),
        ]
    finally:
        await gateway.stop()  # before a drop: the database must have no connections left
        if cluster is not None:
            cluster.drop_database(settings["store.url"])
