"""The header's gateway chip and the Overview's Gateway card say one state in one level.

Found by a person using the real window: an OpenAI-only set-up's calls failed 7 in a row, and
the card read "Not working" in red ("OpenAI failing; 29 calls in the last 15 min") while the
chip beside it read "Running" in neutral grey. Both are drawn from one decider
(`gateway_state`): the chip may say fewer words than the card, never another state or colour.
The real window on a real gateway (the official SDK's calls against the scripted upstream),
offscreen, at 1024 px; the tray's tooltip names the same state.
"""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.attention import answering_switches
from llmgw_desktop.ui.main_window import MainWindow
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnGateway, desk_tray, desk_window, messages_request
from tests.waiting import until

TINY = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 0.000001}]


def _faces(window: MainWindow) -> tuple[object, ...]:
    """(the chip's words, its tone, the card's words, its tone), both drawn now."""
    window.header.redraw()
    window.overview.refresh_status()
    chip, card = window.header.chips["gateway"], window.overview.figures.cards["gateway"]
    return chip.text(), chip.property("tone"), card.value.text(), card.value.property("tone")


async def _fail_anthropic(desk: Desk) -> None:
    failures = (Reply.error(500),) * 3
    desk.upstream.script(*failures)
    for _ in failures:
        await messages_request(desk.runtime, {"X-Caller": "editor"}, status=502)


def test_the_chip_and_the_card_agree_when_nothing_gets_through_paused_or_refused(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        with desk_window(desk, qtbot, size=(1024, 700)) as window:
            await messages_request(desk.runtime, {"X-Caller": "editor"})
            assert _faces(window) == ("Running", "ok", "Working", "ok")

            # A global budget refusing every call: red on both.
            await engine.budgets.replace(LOCAL_CALLER, TINY)
            await messages_request(desk.runtime, {"X-Caller": "editor"}, status=402)
            assert _faces(window) == ("Refusing", "error", "Refusing calls", "error")
            await engine.budgets.replace(LOCAL_CALLER, [])
            assert _faces(window) == ("Running", "ok", "Working", "ok")

            # Every provider paused: amber on both.
            engine.providers.set_paused(LOCAL_CALLER, True)
            assert _faces(window) == ("Paused", "warning", "Paused", "warning")
            with desk_tray(desk) as tray:
                tray.redraw()
                assert tray.state == "paused"
                assert tray.tooltip().lower().count("paused") == 1, tray.tooltip()  # said once
            engine.providers.set_paused(LOCAL_CALLER, False)

            # Its only provider failing: nothing gets through, red on both (the chip read
            # "Running" in grey beside the card's "Not working").
            await _fail_anthropic(desk)
            assert _faces(window) == ("Not working", "error", "Not working", "error")
            chip = window.header.chips["gateway"]
            assert "every provider that can answer is failing" in chip.toolTip()
            assert "Anthropic" in chip.toolTip()
            with desk_tray(desk) as tray:
                tray.redraw()
                assert tray.state == "error"
                assert "Gateway: Not working" in tray.tooltip()

    on_gateway(body)


def test_the_chip_and_the_card_agree_when_one_provider_of_two_fails(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        await engine.answering.check()
        await until(lambda: len(answering_switches(engine)) == 2, "Anthropic and OpenAI answer")
        with desk_window(desk, qtbot, size=(1024, 700)) as window:
            await messages_request(desk.runtime, {"X-Caller": "editor"})
            assert _faces(window) == ("Running", "ok", "Working", "ok")
            await _fail_anthropic(desk)
            # OpenAI still answers: amber on both, never grey beside amber.
            assert _faces(window) == ("Partly working", "warning", "Partly working", "warning")
            assert "calls to Anthropic fail" in window.header.chips["gateway"].toolTip()
            with desk_tray(desk) as tray:
                tray.redraw()
                assert "Gateway: Partly working" in tray.tooltip()
                # The icon amber too (it was red beside the amber card and chip).
                assert tray.state == tray.shown_state == "warning"
                assert "needs a look" in tray.tooltip()

    on_gateway(body, also_upstream=("openai",))
