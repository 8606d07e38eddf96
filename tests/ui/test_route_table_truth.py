"""The Providers page's route table says what is true of each target, beside the provider rows
below it: a person's pass (2026-11-30, a route of two over openai and backup) found a target
reading "Answering" and "untried" after a restart beside its provider's "Failing" and dozens of
recorded calls, a "Circuit open (tried last) until 03:26:48" still shown at 03:26:52, "after
broken", and "Being tried again" with no call in flight and no reason.

The words are `route_targets.target_cells`' (one function for a target's state); the page
tests run on a started engine whose OpenAI is the scripted upstream (`providers_page`)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    CallerInfo,
    EngineError,
    HealthState,
    RouteView,
    TargetView,
)
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.ui.attention import FAILING, ProviderVerdict
from llmgw_desktop.ui.pages.route_targets import ROUTE_COLUMNS, RouteTargetsView, target_cells
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.ui.test_providers_page import providers_page
from tests.waiting import until

STATE, LATENCY = ROUTE_COLUMNS.index("State"), ROUTE_COLUMNS.index("Latency")
ROUTE = {"targets": ["openai/gpt-4o-mini", "openai/gpt-4o"], "strategy": "round-robin"}
ROUTED = {"gateway.routes": {"team": ROUTE}}
HI = {"model": "team", "messages": [{"role": "user", "content": "hi"}]}
# Where the screenshots of the table go (looked at by hand; not asserted).
SHOTS = Path("/tmp/ha")


def _view(**fields: object) -> TargetView:
    return TargetView("openai/gpt-4o-mini", "openai", "gpt-4o-mini", **fields)  # type: ignore[arg-type]


def _cells(view: RouteTargetsView) -> list[list[str]]:
    table = view.table
    return [
        [table.item(r, c).text() for c in range(len(ROUTE_COLUMNS))]  # type: ignore[union-attr]
        for r in range(table.rowCount())
    ]


def _shot(widget: RouteTargetsView, name: str) -> None:
    if SHOTS.is_dir():
        widget.resize(1100, widget.height())  # the page's width at a common window's
        widget.grab().save(str(SHOTS / name))


def test_a_target_whose_answers_broke_off_says_so_in_words() -> None:
    """The reason's code was shown as it is: "after broken"."""
    opened = _view(state="open", cooling_s=60.0, failures=3, last_error="broken")
    state = target_cells("team", opened)[STATE]
    assert state.endswith(", after its answers broke off"), state
    timed_out = _view(state="open", cooling_s=60.0, failures=3, last_error="timeout")
    assert target_cells("team", timed_out)[STATE].endswith(", after its calls timed out")
    # A status is said as it is ("after 429", "after 500").
    assert target_cells("team", _view(state="cooling", cooling_s=5.0, last_error="429"))[
        STATE
    ].endswith(", after 429")


def test_a_half_open_target_says_the_next_call_tries_it_not_that_a_trial_is_under_way() -> None:
    """After a run of 500s its rest ended: no call is on its way to it, and the words say what
    happens next, and after what."""
    rested = _view(state="half_open", failures=3, last_error="500")
    state = target_cells("team", rested)[STATE]
    assert "Being tried again" not in state
    assert state == "Rest over after 500: its next call tries it again"
    trying = _view(state="half_open", failures=3, last_error="500", in_flight=1, trial=True)
    assert target_cells("team", trying)[STATE] == (
        "Rest over after 500: a call is trying it again (tried last until that call ends)"
    )


def test_a_target_whose_provider_is_failing_does_not_read_answering(qtbot: QtBot) -> None:
    """This process's balancer knows nothing of a target after a restart (its state "closed",
    no latency) while the provider's health is rebuilt from the recorder: the target reads its
    provider's verdict, and its latency says no answer was timed lately."""
    view = RouteTargetsView()
    qtbot.addWidget(view)
    verdict = ProviderVerdict(
        "openai", "OpenAI", FAILING, "Failing", "12 calls failed in a row (upstream_500)"
    )

    route = RouteView("team", "round-robin", (_view(), _view(state="closed")))
    view.show_targets([route], [], {"openai": verdict})
    cells = _cells(view)
    assert {row[STATE] for row in cells} == {
        "Failing, as its provider: 12 calls failed in a row (upstream_500)"
    }
    assert {row[LATENCY] for row in cells} == {"no recent answer"}
    # With no verdict on its provider: answering, as before.
    view.show_targets([route], [])
    assert {row[STATE] for row in _cells(view)} == {"Answering"}


def test_after_a_restart_the_route_reads_what_the_provider_rows_read(
    qloop: qasync.QEventLoop, loaded: LoadedSettings
) -> None:
    """A route whose every call failed (500s), the app started again: its provider's row
    reads "Failing" (its health rebuilt from the recorder), and so do its route's targets."""
    caller = CallerInfo(principal=OPERATOR.id, endpoint="/v1/chat/completions")

    async def scenario() -> None:
        async with ScriptedUpstream() as upstream:
            upstream.default = Reply.error(500)
            async with providers_page(loaded, upstream, None, ROUTED) as (page, engine, _a):
                for _ in range(12):
                    with contextlib.suppress(EngineError):  # every target failed
                        await engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(HI), caller)
            async with providers_page(loaded, upstream, None, ROUTED) as (page, engine, _a):
                # The health of earlier runs is read back in the background after the start.
                await until(
                    lambda: engine.provider_health.of("openai").state == HealthState.FAILING,
                    "the calls of the first run read back",
                )
                await page.refresh()
                row = next(r for r in page.rows if r.key == "api:openai")
                assert row.status == "Failing", (row.status, row.reason)
                cells = _cells(page.route_targets)
                _shot(page.route_targets, "route-table-after-restart.png")
                assert len(cells) == 2
                for cells_of_one in cells:
                    assert cells_of_one[STATE].startswith("Failing, as its provider: "), cells
                    assert cells_of_one[LATENCY] == "no recent answer", cells

    qloop.run_until_complete(scenario())


def test_a_rest_that_ends_is_redrawn_when_it_ends_not_at_the_next_refresh(
    qloop: qasync.QEventLoop, loaded: LoadedSettings
) -> None:
    """The page redrew on events and every 15 s: a rest's end is neither, so "until 03:26:48"
    stayed up past 03:26:48. The table redraws when the soonest rest it shows ends."""
    caller = CallerInfo(principal=OPERATOR.id, endpoint="/v1/chat/completions")

    async def scenario() -> None:
        async with (
            ScriptedUpstream() as upstream,
            providers_page(loaded, upstream, None, ROUTED) as (page, engine, _a),
        ):
            upstream.script(Reply.error(429, retry_after_s=1))
            await engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(HI), caller)
            await page.refresh()
            view = page.route_targets
            states = [row[STATE] for row in _cells(view)]
            assert any(" until " in s for s in states), states
            _shot(view, "route-table-cooling.png")

            def rest_gone() -> bool:
                return not any(" until " in row[STATE] for row in _cells(view))

            await until(rest_gone, "the rest's end redrawn", timeout_s=6.0)
            _shot(view, "route-table-rest-ended.png")
            rested = next(row for row in _cells(view) if row[1] == "openai/gpt-4o-mini")
            # Not "Answering" beside "no recent answer": its one call got a 429.
            assert rested[STATE] == "Taking its turn after 429 (1 in a row)", rested

    qloop.run_until_complete(scenario())
