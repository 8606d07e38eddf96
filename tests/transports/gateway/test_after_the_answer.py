"""What a request's answer does not wait for, through the real gateway and the official
OpenAI SDK: the row opened while the upstream thinks, and those who only watch finished rows
(metrics, health, the desk) hearing of it after the answer is written, while the budgets,
whose count decides the next call, hear of it before.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web_protocol

from llmgw_desktop.engine.events import RequestFinished
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.ports import free_port
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory

HI = [{"role": "user", "content": "hi"}]


async def test_watchers_hear_a_request_after_its_answer_is_written_the_budget_before(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = await start_gateway(
        {"budgets": [{"scope": "global", "unit": "usd", "period": "daily", "hard": 100.0}]}
    )
    engine = gateway.engine
    order: list[str] = []
    written = web_protocol.RequestHandler.finish_response

    async def noting_the_write(self: Any, request: Any, resp: Any, start_time: float) -> Any:
        done = await written(self, request, resp, start_time)
        if str(request.url).startswith(gateway.base_url):  # not the scripted upstream's
            # What the budgets counted when the client's answer had been written.
            spent = engine.budget_ledger.statuses()[0].spent
            order.append(f"written (budget spent {'>' if spent > 0 else '='} 0)")
        return done

    monkeypatch.setattr(web_protocol.RequestHandler, "finish_response", noting_the_write)
    engine.events.subscribe(RequestFinished, lambda e: order.append("counted"))
    engine.events.subscribe(RequestFinished, lambda e: order.append("watched"), after=True)

    await openai_client(gateway).chat.completions.create(model="gpt-4o", messages=HI)
    assert order == ["counted", "written (budget spent > 0)", "watched"]

    # A client that asks for the figures once it has its answer sees its request in them.
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + "/metrics") as scraped,
    ):
        text = await scraped.text()
    assert scraped.status == 200
    assert 'model="gpt-4o"' in text


async def test_the_row_is_open_while_the_upstream_thinks_and_keeps_when_it_began(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway()
    upstream.script(Reply.slow(0.5))
    before = time.time()
    call = asyncio.create_task(
        openai_client(gateway).chat.completions.create(model="gpt-4o", messages=HI)
    )
    await upstream.wait_for_requests(1)
    open_rows = await gateway.engine.recorder.recent(limit=5)
    assert [r["state"] for r in open_rows] == ["started"]
    began = open_rows[0]["started_at"]
    assert before <= began <= time.time()

    await call
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["state"] == "completed"
    assert row["id"] == open_rows[0]["id"]
    assert row["started_at"] == began  # when the attempt began, not when its row was opened
    assert row["duration_ms"] >= 450  # the upstream's half second is in it


async def test_a_request_that_could_not_be_sent_still_has_its_row(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens there: the connection is refused before the request is written, so
    # the row is opened by the attempt's end, not while waiting.
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    gateway = await start_gateway()
    client = openai_client(gateway)
    with pytest.raises(Exception, match="cannot connect"):
        await client.chat.completions.create(model="gpt-4o", messages=HI)
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["state"] == "failed"
    assert row["provider"] == "openai"
    assert row["started_at"] <= row["finished_at"]
