"""The Agents page in the real dashboard window, on a running gateway (qasync, offscreen).

Two agents call the HTTP gateway under their own `X-Caller` names against the scripted
upstream, one of the calls failing; the page shows one lane per agent with exactly their
requests, failed or refused ones and tokens, and opening a lane shows the Flight recorder (or
the Jobs page) narrowed to that agent.
"""

from __future__ import annotations

import os
from pathlib import Path

import anthropic

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.agent_groups import NO_PROJECT
from llmgw_desktop.ui.pages.agents import COLUMNS, AgentsPage, format_cost
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import QColor
from llmgw_desktop.ui.theme import error_colour
from tests.fakes.upstream import (
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    Reply,
)
from tests.ui.desk_gateway import Desk, OnWindow, messages_request, shown_page
from tests.ui.test_recorder_page import shown_column, until

SCREENSHOT = Path(os.environ.get("AGENTS_SCREENSHOT", "/tmp/agents-page.png"))
WINDOW = (1100, 640)


async def call_as(runtime: GatewayRuntime, caller: str, *, project: str = "", status: int) -> None:
    """One Anthropic-dialect request through the gateway under the agent name `caller`."""
    await messages_request(runtime, {"X-Caller": caller}, project=project, status=status)


def lane_rows(page: AgentsPage) -> dict[str, dict[str, str]]:
    """Each agent's total row as shown: column title -> text."""
    rows = {}
    for index in range(page.tree.topLevelItemCount()):
        item = page.tree.topLevelItem(index)
        rows[item.text(0)] = {title: item.text(n) for n, title in enumerate(COLUMNS)}
    return rows


async def two_lanes(window: MainWindow, what: str) -> AgentsPage:
    """Show the window on the Agents page, once it lists two lanes."""
    window.show()
    page = shown_page(window, AgentsPage)
    await until(lambda: page.tree.topLevelItemCount() == 2, what)
    return page


def test_two_agents_get_a_lane_each_with_exact_counts_and_one_click_opens_their_requests(
    on_window: OnWindow,
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        runtime = desk.runtime
        # The upstream refuses the first call (429): alpha's first request fails.
        await call_as(runtime, "alpha-agent", project="apollo", status=429)
        await call_as(runtime, "alpha-agent", project="apollo", status=200)
        await call_as(runtime, "alpha-agent", status=200)
        await call_as(runtime, "beta-agent", status=200)
        page = await two_lanes(window, "two lanes")

        rows = lane_rows(page)
        assert set(rows) == {"alpha-agent", "beta-agent"}
        alpha, beta = rows["alpha-agent"], rows["beta-agent"]
        assert (alpha["Requests"], alpha["Failed or refused"]) == ("3", "1")
        assert (beta["Requests"], beta["Failed or refused"]) == ("1", "0")
        assert alpha["Tokens in"] == f"{2 * ANTHROPIC_INPUT_TOKENS:,}"
        assert alpha["Tokens out"] == f"{2 * ANTHROPIC_OUTPUT_TOKENS:,}"
        assert beta["Tokens in"] == f"{ANTHROPIC_INPUT_TOKENS:,}"
        assert alpha["Active jobs"] == "0" and alpha["Last activity"]
        assert page.summary_label.text() == (
            "2 agents · 4 requests · 1 failed or refused · jobs: none running"
        )
        lanes = page.lanes
        assert lanes is not None
        totals = {agent.caller: agent.total for agent in lanes.agents}
        assert alpha["Cost"] == format_cost(totals["alpha-agent"])
        rate = totals["beta-agent"].cache_hit_rate
        assert rate is not None and beta["Prompt cache"] == f"{rate:.0%}"
        # Per project: alpha worked in apollo (2, one failed) and in no project (1).
        alpha_item = page.tree.topLevelItem(0)
        assert alpha_item.text(0) == "alpha-agent"  # the busiest first
        projects = {
            alpha_item.child(n).text(0): alpha_item.child(n).text(COLUMNS.index("Requests"))
            for n in range(alpha_item.childCount())
        }
        assert projects == {"apollo": "2", NO_PROJECT: "1"}
        red = QColor(error_colour()).name()
        assert alpha_item.foreground(COLUMNS.index("Failed or refused")).color().name() == red

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SCREENSHOT))

        # One click on "Requests of this agent" shows the recorder narrowed to alpha.
        page.tree.setCurrentItem(alpha_item)
        page.requests_button.click()
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        assert window.current_page is recorder
        assert recorder.caller_box.currentText() == "alpha-agent"
        await until(lambda: recorder.model.loaded == 3 and not recorder.model.loading, "alpha")
        assert set(shown_column(recorder, "Caller")) == {"alpha-agent"}
        await until(lambda: recorder.count_label.text() == "3 requests", "alpha's count")
        window.grab().save(str(SCREENSHOT.with_name("agents-recorder.png")))

        # A project lane narrows to the project too; activating beta's lane shows beta's.
        window.show_page(AgentsPage.KEY)
        await until(lambda: page.tree.topLevelItemCount() == 2, "lanes again")
        apollo = page.tree.topLevelItem(0).child(0)
        assert apollo.text(0) == "apollo"
        page.tree.setCurrentItem(apollo)
        page.requests_button.click()
        assert recorder.project_box.currentText() == "apollo"
        await until(lambda: recorder.model.loaded == 2 and not recorder.model.loading, "apollo")
        window.show_page(AgentsPage.KEY)
        await until(lambda: not page.loading, "the lanes reloaded")
        beta_item = page.tree.topLevelItem(1)
        page.tree.itemActivated.emit(beta_item, 0)  # a double-click or Enter
        assert window.current_page is recorder
        await until(lambda: shown_column(recorder, "Caller") == ["beta-agent"], "beta")

        # "Jobs of this agent" shows the Jobs page searching for that agent.
        window.show_page(AgentsPage.KEY)
        await until(lambda: not page.loading, "the lanes reloaded")
        page.tree.setCurrentItem(page.tree.topLevelItem(0))
        page.jobs_button.click()
        jobs = window.pages[JobsPage.KEY]
        assert isinstance(jobs, JobsPage)
        assert window.current_page is jobs and jobs.search.text() == "alpha-agent"
        assert jobs.state_filter.currentText() == "All jobs"  # alpha has no active job

    on_window(body, size=WINDOW, show=False, replies=(Reply.error(429),))


def test_one_agent_run_two_ways_is_one_row_with_each_way_under_it_and_a_lane_each_apart(
    on_window: OnWindow,
) -> None:
    """Issue 37, item 5: a lane is per principal and agent (a gateway key calling itself the
    local user's agent had its requests counted in the local user's lane). Issue 64's
    leftovers, item 5: a person running Claude Code two ways looks for it once. By agent (the
    default), one "claude-code" row sums both, each way under it saying whose it is, and
    opening the key's row shows its requests alone; by agent and who runs it, a row each."""
    from llmgw_desktop.engine.api import KeySpec
    from llmgw_desktop.engine.auth.principals import LOCAL_CALLER

    async def body(desk: Desk, window: MainWindow) -> None:
        runtime = desk.runtime
        made = await runtime.engine.keys.create(LOCAL_CALLER, KeySpec(name="borrower"))
        await call_as(runtime, "claude-code", status=200)
        await call_as(runtime, "claude-code", status=200)
        # The key holder's own client, naming the local user's agent.
        client = anthropic.AsyncAnthropic(
            base_url=runtime.base_url,
            api_key=made.secret,
            max_retries=0,
            default_headers={"X-Caller": "claude-code"},
        )
        await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
        await client.close()
        window.show()
        page = shown_page(window, AgentsPage)
        assert page.grouping_box.currentText() == "By agent"
        await until(lambda: lane_rows(page).get("claude-code", {}).get("Requests") == "3", "one")
        assert page.tree.topLevelItemCount() == 1
        agent = page.tree.topLevelItem(0)
        assert agent is not None
        ways = {agent.child(n).text(0): agent.child(n).text(1) for n in range(agent.childCount())}
        assert ways == {"(no project) · you": "2", "(no project) · access key borrower": "1"}
        # Its details name each way it ran and count its projects once.
        page.tree.setCurrentItem(agent)
        values = page.detail.values
        assert values["Runs as"].text() == "you at this desk, access key borrower"
        assert values["Projects"].text() == "(no project): 3"
        assert page.summary_label.text().startswith("1 agent · 3 requests")
        # The key's row: its requests alone.
        key_row = next(
            agent.child(n)
            for n in range(agent.childCount())
            if "borrower" in agent.child(n).text(0)
        )
        page.tree.setCurrentItem(key_row)
        page.requests_button.click()
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        await until(lambda: recorder.model.loaded == 1 and not recorder.model.loading, "key's")

        # By agent and who runs it: a lane per principal, the chosen one kept chosen.
        page.grouping_box.setCurrentIndex(1)
        rows = lane_rows(page)
        assert set(rows) == {"claude-code", "claude-code · access key borrower"}, rows
        assert rows["claude-code"]["Requests"] == "2"
        assert rows["claude-code · access key borrower"]["Requests"] == "1"
        assert page.summary_label.text().startswith("2 agents · 3 requests")
        chosen = page.selected_lane()
        assert chosen is not None and chosen.requests == 1 and chosen.principal != ""

    on_window(body, size=WINDOW, show=False)


def test_a_refused_request_counts_as_failed_or_refused_in_the_list_the_details_and_the_summary(
    on_window: OnWindow,
) -> None:
    """Issue 41, last review: the column headed "Errors" counted refusals too (a request the
    gateway said no to never met an upstream error). It is "Failed or refused", its heading's
    tooltip says what it counts, and the details and the summary use the same words."""
    from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR

    async def body(desk: Desk, window: MainWindow) -> None:
        runtime = desk.runtime
        await call_as(runtime, "gamma-agent", status=502)  # failed: the upstream answered 500
        runtime.engine.providers.set_enabled(OPERATOR, "anthropic", False)
        await call_as(
            runtime, "gamma-agent", status=400
        )  # refused: switched off, no provider asked
        runtime.engine.providers.set_enabled(OPERATOR, "anthropic", True)
        await call_as(runtime, "gamma-agent", status=200)
        window.show()
        page = shown_page(window, AgentsPage)
        await until(lambda: page.tree.topLevelItemCount() == 1, "gamma's lane")

        column = COLUMNS.index("Failed or refused")
        assert "Errors" not in COLUMNS
        heading = page.tree.headerItem()
        assert heading.text(column) == "Failed or refused"
        tip = heading.toolTip(column)
        assert "failed" in tip and "refused or denied by the gateway" in tip, tip
        assert lane_rows(page)["gamma-agent"]["Failed or refused"] == "2"
        assert page.summary_label.text() == (
            "1 agent · 3 requests · 2 failed or refused · jobs: none running"
        )
        assert page.detail.values["Requests"].text() == "3 (2 failed or refused)"
        assert "Failed or refused counts requests with no answer: failed," in page.note.text()
        # The heading reads whole, as every figure's does.
        width = page.tree.header().sectionSize(column)
        assert width > page.tree.header().fontMetrics().horizontalAdvance("Failed or refused")

    on_window(body, size=(1920, 1080), show=False, replies=(Reply.error(500),))
