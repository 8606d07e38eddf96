"""The header's gateway chip and Overview's Gateway card are never green while nothing is
answered: found by a review under Xvfb (2026-11-29).

- A global budget refusing every call: both read "Working"/"Running" in green beside a 402 for
  every call and a red Spent card. They say the gateway refuses calls, why, and until when, and
  `/health` names the budget. A budget of one caller (an agent's, a key's) refuses only that
  caller: not this.
- API calls waiting long for their answer to begin (an upstream hanging while its host answers the
  gateway's probes, so nothing is marked hung): both stayed green. They say how many and how
  long, not green (a model thinking looks the same: not red either).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import aiohttp
import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.ui import counts
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnGateway, desk_tray, desk_window, messages_request
from tests.waiting import until

TINY = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 0.000001}]


def test_a_global_budget_refusing_every_call_is_said_on_the_chip_and_the_card(
    on_gateway: OnGateway, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    with_budget = replace(loaded, settings=loaded.settings.with_values({"budgets": TINY}))

    async def refusing(desk: Desk) -> object:
        async with (
            aiohttp.ClientSession() as http,
            http.get(desk.runtime.base_url + "/health") as answer,
        ):
            return (await answer.json())["refusing"]

    async def body(desk: Desk) -> None:
        with desk_window(desk, qtbot, size=(1100, 700)) as window:
            chip = window.header.chips["gateway"]
            card = window.overview.figures.cards["gateway"]
            assert await refusing(desk) is None
            await messages_request(desk.runtime, {"X-Caller": "editor"}, status=402)
            # `/health` says it too, which budget and when it resets (it said "ok" alone);
            # its figures are the operator's, not for whoever reaches the door.
            said = await refusing(desk)
            assert isinstance(said, dict), said
            assert (said["scope"], said["period"], said["unit"]) == ("global", "daily", "usd")
            assert said["resetsAt"] > time.time()
            with desk_tray(desk) as tray:  # the one face left saying idle (a review)
                tray.redraw()
                assert tray.state == "error", tray.icon.toolTip()
                assert "Calls that may cost more than is left are" in tray.icon.toolTip()
            window.header.redraw()
            window.overview.refresh_status()
            assert (chip.text(), chip.property("tone")) == ("Refusing", "error")
            assert (card.value.text(), card.value.property("tone")) == ("Refusing calls", "error")
            for tip in (chip.toolTip(), card.toolTip()):
                # Short of its limit (its first call did not fit): smaller ones might.
                refused = "more than is left are refused by the global daily dollars budget"
                assert refused in tip, tip
                assert "Budgets page" in tip

    on_gateway(body, loaded=with_budget)


def test_a_request_waiting_long_for_its_answer_turns_the_chip_and_the_card_from_green(
    on_gateway: OnGateway, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "WAITING_LONG_S", 1.0)  # ten seconds in the product

    async def body(desk: Desk) -> None:
        with desk_window(desk, qtbot, size=(1100, 700)) as window:
            chip = window.header.chips["gateway"]
            card = window.overview.figures.cards["gateway"]

            def faces() -> tuple[object, ...]:
                window.header.redraw()
                window.overview.refresh_status()
                return (
                    chip.text(),
                    chip.property("tone"),
                    card.value.text(),
                    card.value.property("tone"),
                )

            assert faces() == ("Running", "ok", "Working", "ok")
            desk.upstream.script(Reply.slow(4.0))
            asking = asyncio.ensure_future(messages_request(desk.runtime, {"X-Caller": "editor"}))
            await until(lambda: faces() == ("Running", None, "Working", None), "not green")
            for said in (chip.toolTip(), card.detail.text()):
                assert "1 call waiting for an answer, the longest" in said, said
            await asking
            assert faces() == ("Running", "ok", "Working", "ok")

    on_gateway(body)
