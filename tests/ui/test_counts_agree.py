"""One count, one source (issue 64's leftovers, item 1).

The failing providers, those that cannot answer, and the jobs running and stuck were counted
on each page for itself: the header and the Overview read the live figures' job events, the
Jobs page its own list ("1 live"), the Agents page the store's job rows ("0 active jobs" for
a job with no request kept yet), the tray its own events and the quit question the job
manager; the Providers page had no count of what fails at all. Now each count comes from one
function (`ui/counts.py`), and one mixed moment reads the same on every page, the tray and
the header.

The moment: Anthropic failing (its calls through the real gateway, by the official
`anthropic` SDK, answered 500 by the scripted upstream), OpenAI answering, every CLI not
installed; and jobs, one queued, two running, one of them stuck. The jobs are the job
manager's two reads stood in for (`health` and `stuck_jobs`): three CLI jobs held running and
queued and one silent past its limit would need three hung CLIs (a real hung one turning
stuck is `test_jobs_page.py`'s); what is tested here is that every surface reads the counts
from the one function, so a surface that counted for itself would show the real, empty, job
manager. The offscreen platform has no notification server: the tray's pop-ups are dropped.
"""

from __future__ import annotations

import re
from typing import Any

import anthropic
import pytest

from llmgw_desktop.engine.api import StuckJob
from llmgw_desktop.ui.attention import provider_verdicts
from llmgw_desktop.ui.counts import job_counts, provider_counts
from llmgw_desktop.ui.first_run import FirstRunGuide
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.agents import AgentsPage
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.provider_rows import load_provider_rows
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QMenu, QSystemTrayIcon
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnWindow, desk_tray, messages_request
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

FAILED_CALLS = 8  # in a row: the provider is failing, not "some calls fail"
STUCK = StuckJob("job_5tuck0000000000", "claude", "local", 95.0, 60.0)


def _stand_in_jobs(monkeypatch: pytest.MonkeyPatch, desk: Desk) -> None:
    """The job manager answers one queued, two running, one of them stuck."""
    jobs = desk.runtime.engine.jobs
    real = jobs.health

    def health() -> dict[str, Any]:
        return {**real(), "live": 3, "byState": {"queued": 1, "running": 2}, "stuck": 1}

    monkeypatch.setattr(jobs, "health", health)
    monkeypatch.setattr(jobs, "stuck_jobs", lambda: [STUCK])


async def _fail_anthropic(desk: Desk) -> None:
    client = anthropic.AsyncAnthropic(
        base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
    )
    for _ in range(FAILED_CALLS):
        with pytest.raises(anthropic.InternalServerError):
            await client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=16,
                messages=[{"role": "user", "content": "hi"}],
            )
    await client.close()


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, (pattern, text)
    return int(found.group(1))


def test_every_page_the_tray_and_the_header_count_one_mixed_state(
    on_window: OnWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)
    replies = tuple(Reply.error(500, "boom") for _ in range(FAILED_CALLS))

    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        await _fail_anthropic(desk)
        await messages_request(desk.runtime, {"X-Caller": "counted-agent"})  # an agent's lane
        _stand_in_jobs(monkeypatch, desk)
        jobs = job_counts(engine)
        assert (jobs.queued, jobs.running, len(jobs.stuck)) == (1, 2, 1)
        rows = await load_provider_rows(engine, {})
        providers = provider_counts(provider_verdicts(engine), rows)
        assert (providers.failing, providers.some_calls_fail) == (1, 0)
        # Anthropic, the one provider with a key, fails every call: it answers nothing.
        assert providers.cannot_answer > 10 and providers.answering == 0

        # The header: its Providers and Jobs chips.
        header = window.header
        header.redraw()
        assert header.chips["providers"].accessibleName() == "Providers: Anthropic failing"
        assert header.chips["jobs"].accessibleName() == "Jobs: 1 stuck · 3 running"

        # The Overview: its Failing and Stuck figures, its Stuck line, its health table's fold.
        overview = window.overview
        window.show_page("overview")
        overview.refresh_status()
        cards = overview.figures.cards
        assert cards["failing"].value.text() == "1 failing"
        assert cards["stuck"].value.text() == "1 job"
        assert "3 running" in cards["stuck"].accessibleName()
        assert STUCK.job_id[:8] in overview.stuck_label.text()
        await until(lambda: overview.health.rowCount() > 0, "the health table")
        await until(lambda: "more" in overview.unfold_button.text(), "the health table's fold")
        folded = _number(r"Show (\d+) more", overview.unfold_button.text())

        # The Providers page: its counts line and its fold.
        page = window.pages[ProvidersPage.KEY]
        assert isinstance(page, ProvidersPage)
        window.show_page(ProvidersPage.KEY)
        await page.refresh()
        line = page.counts_label.text()
        assert "1 failing" in line, line
        assert _number(r"(\d+) can answer", line) == providers.answering
        assert _number(r"(\d+) cannot answer", line) == providers.cannot_answer == folded
        assert _number(r"Show (\d+) more", page.unfold_button.text()) == folded

        # The first-run guide's last step.
        guide = FirstRunGuide(
            engine,
            endpoint=desk.runtime.mcp_url,
            data_dir=desk.facts.data_dir,
            on_finish=lambda: None,
        )
        try:
            await guide.connect_step.check()
            said = guide.connect_step.cannot_label.text()
            assert _number(r"(\d+) more cannot answer", said) == folded
        finally:
            await until(lambda: guide.tasks.running == 0, "the guide's work to finish")
            guide.reject()
            guide.deleteLater()

        # The Jobs and Agents pages.
        jobs_page = window.pages[JobsPage.KEY]
        assert isinstance(jobs_page, JobsPage)
        window.show_page(JobsPage.KEY)
        await until(lambda: jobs_page.count_label.text() != "", "the jobs counted")
        assert jobs_page.count_label.text().endswith(" · 3 running · 1 stuck")
        agents = window.pages[AgentsPage.KEY]
        assert isinstance(agents, AgentsPage)
        window.show_page(AgentsPage.KEY)
        await until(lambda: "jobs:" in agents.summary_label.text(), "the agents counted")
        assert agents.summary_label.text().endswith(" · jobs: 3 running")

        # The tray and the quit question.
        with desk_tray(desk) as tray:
            tray.redraw()
            assert tray.active_jobs == 3
            assert "Jobs: 3 running" in tray.tooltip()
            assert tray.alerts.stuck.text() == "1 job stuck"
            assert list(tray.failing) == ["Anthropic"]
            # Its menu's "Unavailable (N)": what the Providers page folds.
            submenu = tray.menu.findChild(QMenu, "unavailableProviders")
            assert isinstance(submenu, QMenu)
            desk.actions.check_installed()
            await until(lambda: submenu.title() == f"Unavailable ({folded})", submenu.title)
        assert desk.actions.active_jobs() == 3

    on_window(body, size=(1024, 768), replies=replies)


def test_the_header_says_a_provider_failing_when_its_calls_fail_not_at_its_next_tick(
    on_window: OnWindow,
) -> None:
    """The gallery's failure picture had the Overview's Failing card at "1 failing" under a
    header still saying "Some calls fail": the header read the verdicts on its 2 s tick, the
    Overview on its own. A failed call redraws the header's chips now (at most every 200 ms
    under a flood). Its tick is held off here, so only the failures can redraw it."""
    replies = tuple(Reply.error(500, "boom") for _ in range(FAILED_CALLS))

    async def body(desk: Desk, window: MainWindow) -> None:
        header = window.header
        header.redraw()
        assert header.chips["providers"].accessibleName() != "Providers: Anthropic failing"
        header._tick.setInterval(3_600_000)  # its next tick in an hour
        header._tick.start()
        await _fail_anthropic(desk)
        chip = header.chips["providers"]
        await until(lambda: chip.accessibleName() == "Providers: Anthropic failing", "the header")

    on_window(body, size=(1024, 768), replies=replies)


def test_a_provider_whose_key_was_refused_is_failing_not_also_able_to_answer() -> None:
    """Review 2026-11-28 under Xvfb: with Anthropic's key refused and Claude Code and Claude
    (ACP) held on it, the Providers page said "1 can answer · 1 failing · 2 not logged in"
    over three rows while the header said "No provider can answer": Anthropic was counted
    twice. What can answer is the engine's one fact (`answering_switches`), less what is
    failing: a provider failing by its calls read "2 can answer · 2 failing" over two
    providers whose every call failed (review 2026-11-28, evening); it is counted failing
    only. One where some calls fail still answers."""
    from llmgw_desktop.ui.attention import FAILING, SOME_CALLS_FAIL, ProviderVerdict
    from llmgw_desktop.ui.counts import providers_words
    from llmgw_desktop.ui.pages.provider_rows import ProviderRow

    def row(switch: str, status: str) -> ProviderRow:
        return ProviderRow(
            f"x:{switch}", switch, switch, switch, "API", status, "", "", (), "", "", (), "", ""
        )

    rows = [row("anthropic", "Failing"), row("claude", "Not logged in")]
    rows.append(row("claude-acp", "Not logged in"))
    verdicts = [ProviderVerdict("anthropic", "Anthropic", FAILING, "Failing", "key refused")]
    refused = provider_counts(verdicts, rows, answering=set())
    assert providers_words(refused) == "0 can answer · 1 failing · 2 not logged in"
    by_calls = provider_counts(verdicts, rows, answering={"anthropic"})
    assert providers_words(by_calls) == "0 can answer · 1 failing · 2 not logged in"
    some = [ProviderVerdict("anthropic", "Anthropic", SOME_CALLS_FAIL, "Some calls fail", "x")]
    degraded = provider_counts(some, rows, answering={"anthropic"})
    assert providers_words(degraded) == "1 can answer (1 where some calls fail) · 2 not logged in"
