"""A global budget that refuses every call is never green on the window's faces: the header's
gateway chip and Overview's Gateway card say the gateway refuses calls, why, and until when.

Found by a review under Xvfb (2026-11-29): with the global daily budget used up and every call
answered 402, Overview's card read "Working" and the header "Running", both green, beside a red
Spent card. A budget of one caller (an agent's, a key's) refuses only that caller: not this.
"""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from tests.ui.desk_gateway import Desk, OnGateway, desk_window, messages_request

TINY = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 0.000001}]


def test_a_global_budget_refusing_every_call_is_said_on_the_chip_and_the_card(
    on_gateway: OnGateway, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    with_budget = replace(loaded, settings=loaded.settings.with_values({"budgets": TINY}))

    async def body(desk: Desk) -> None:
        with desk_window(desk, qtbot, size=(1100, 700)) as window:
            chip = window.header.chips["gateway"]
            card = window.overview.figures.cards["gateway"]
            await messages_request(desk.runtime, {"X-Caller": "editor"}, status=402)
            window.header.redraw()
            window.overview.refresh_status()
            assert (chip.text(), chip.property("tone")) == ("Refusing", "error")
            assert (card.value.text(), card.value.property("tone")) == ("Refusing calls", "error")
            for tip in (chip.toolTip(), card.toolTip()):
                assert "Every call is refused by the global daily budget" in tip, tip
                assert "Budgets page" in tip

    on_gateway(body, loaded=with_budget)
