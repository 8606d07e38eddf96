"""The Agents page and the Flight recorder after calls that failed over from one provider to
another, driven by the official `openai` SDK through the gateway (the Overview's pass,
`test_overview_failover.py`): 8 requests, some tried at backup first, every one answered.

The Agents page read "11 requests, 3 failed or refused" for the agent that sent them, and the
Flight recorder's "Unanswered only" listed and counted the attempts that failed over as
requests left without an answer, where the Overview said 8 requests, none failed. A request is
what a client sent (`engine/recorder/attempts.py`); an attempt that failed over is a real
provider call, still listed, said as such ("failed over"), never as a request that failed.
"""

from __future__ import annotations

import os
import time

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.agents import COLUMNS as AGENT_COLUMNS
from llmgw_desktop.ui.pages.agents import AgentsPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_columns import COLUMNS as RECORDER_COLUMNS
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.ui.test_overview_failover import BACKUP, CALLS, ROUTE, _send
from tests.waiting import until

SHOTS = os.environ.get("LLMGW_SHOTS", "")


def _shot(window: MainWindow, page: AgentsPage | RecorderPage, name: str) -> None:
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, f"{name}.png"))
        page.grab().save(os.path.join(SHOTS, f"{name}-page.png"))


def _states(page: RecorderPage) -> list[str]:
    model, number = page.model, RECORDER_COLUMNS.index("State")
    return [model.data(model.index(row, number)) for row in range(model.rowCount())]


def test_agents_and_the_recorder_count_what_clients_sent(on_window: OnWindow) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        desk.upstream.by_dialect["anthropic"] = Reply.error(503)
        failed_over = await _send(desk)
        assert failed_over >= 2, failed_over
        attempts = CALLS + failed_over
        await until(lambda: engine.metrics.series("15m").total.requests == attempts, "counted")
        window.show()

        # The Agents page: the agent sent 8 requests and lost none.
        agents = shown_page(window, AgentsPage)
        agents.refresh()
        await until(lambda: agents.tree.topLevelItemCount() == 1, "the agent's lane")
        agent = agents.tree.topLevelItem(0)
        assert agent is not None
        agents.tree.setCurrentItem(agent)
        _shot(window, agents, "agents-failover")
        row = {title: agent.text(n) for n, title in enumerate(AGENT_COLUMNS)}
        assert (row["Requests"], row["Failed or refused"]) == (f"{CALLS}", "0"), row
        assert agents.summary_label.text().startswith(
            f"1 agent · {CALLS} requests · 0 failed or refused"
        ), agents.summary_label.text()
        assert agents.detail.values["Requests"].text() == (
            f"{CALLS} (none failed or refused; {failed_over} provider calls failed over)"
        )

        # The Flight recorder: every attempt listed, those that failed over said so, and none
        # of them an unanswered request.
        recorder = shown_page(window, RecorderPage)
        recorder.apply_filters()
        await until(
            lambda: recorder.model.loaded == attempts and not recorder.model.loading, "rows"
        )
        await until(lambda: recorder.failed_button.text() == "Unanswered only (0)", "the count")
        # Its count line counts requests as the Overview does, and the attempts apart (a
        # person's pass read "41 requests" beside an Overview's 38).
        count = f"{CALLS} requests · {failed_over} provider calls failed over"
        await until(lambda: recorder.count_label.text() == count, "the requests counted")
        _shot(window, recorder, "recorder-failover")
        states = _states(recorder)
        assert states.count("failed over") == failed_over, states
        assert "failed" not in states, states
        recorder.failed_button.setChecked(True)
        await until(lambda: recorder.model.total == 0 and not recorder.model.loading, "none")
        assert recorder.model.loaded == 0
        # A provider's failures (the Overview's failing providers' link) are its failed calls,
        # those that failed over too: the providers' figure.
        recorder.show_failures_of("backup")
        await until(lambda: recorder.model.total == failed_over, "backup's failed calls")
        await until(lambda: recorder.model.loaded == failed_over, "listed")
        assert _states(recorder) == ["failed over"] * failed_over

        # The Overview's errors line, clicked, opens the recorder on its failures: as many as
        # the Overview counts (none: every request was answered).
        overview = window.overview
        overview.refresh_status()
        failing = overview.figures.cards["failing"].accessibleName()
        assert f"None of {CALLS} requests failed in 15 min" in failing, failing
        now = time.time()
        overview.open_recorder_at(now - 900, now + 60, True)
        await until(lambda: recorder.filters.failed_button.isChecked(), "failed only")
        await until(lambda: not recorder.model.loading and recorder.model.total == 0, "agrees")
        assert recorder.model.loaded == 0

    on_window(
        body,
        size=(1280, 900),
        also_upstream=("openai",),
        own_providers=BACKUP,
        values={"gateway.routes": ROUTE},
    )
