"""The Agents page's details: the chosen lane's figures in words, and where to go from it.

Beside the list, as every list-and-details page has it (Jobs, Providers, Keys): the agent
(and project) as its heading, whether it has a job running as its status, then every figure
the list has (the list hides its least needed columns on a narrow window: here they all are),
in words where a column only has a number: how many requests failed or were refused (and the
provider calls that failed over to another target, which are neither: `recorder/attempts.py`), the
tokens split into fresh input, cache reads and writes and output, the share of the prompt read
from the cache, the cost and how much of it is known, the last request's time. An agent's
total lists its projects and the sessions its client named (a coding tool's own session id:
Claude Code's, Codex's), newest first, each with its requests, tokens and cost. "Requests of
this agent" and "Jobs of this agent" sit under them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from llmgw_desktop.engine.api import LOCAL_PRINCIPAL, Lane, SessionLane, format_usd
from llmgw_desktop.ui.kit.master_detail import DetailCard, value_label
from llmgw_desktop.ui.pages.overview_totals import failed_over_words
from llmgw_desktop.ui.qt import QLabel, QPushButton, QWidget
from llmgw_desktop.ui.terms import who_words

__all__ = ["AgentDetail", "lane_facts", "session_words"]

PROJECTS_SHOWN = 8  # an agent's busiest projects named in its details; the rest counted
SESSIONS_SHOWN = 5  # an agent's newest sessions named in its details; the rest counted
SESSION_ID_SHOWN = 8  # the start of a session's id: enough to tell sessions apart


def _ago(timestamp: float, now: float) -> str:
    seconds = max(0, int(now - timestamp))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now" if seconds < 5 else f"{seconds}s ago"


def lane_facts(
    lane: Lane,
    projects: Sequence[Lane] = (),
    sessions: Sequence[SessionLane] = (),
    *,
    now: float | None = None,
) -> list[tuple[str, str]]:
    """The lane's figures as (label, words), in the order the details show them."""
    now = time.time() if now is None else now
    # As the list's column says it: a refusal never reached a provider, but got no answer.
    failed = f"{lane.errors:,} failed or refused" if lane.errors else "none failed or refused"
    if lane.failed_over:
        # A provider's call whose request another target answered: not one of the agent's
        # requests, nor a failure of its (as the Overview says it, `attempts.py`).
        failed += f"; {failed_over_words(lane.failed_over)}"
    prompt = lane.input_tokens + lane.cache_read_tokens + lane.cache_write_tokens
    facts = [
        ("Runs as", _runs_as(lane, projects)),
        ("Requests", f"{lane.requests:,} ({failed})"),
        (
            "Tokens",
            f"prompt {prompt:,} (fresh {lane.input_tokens:,} · cache read "
            f"{lane.cache_read_tokens:,} · cache write {lane.cache_write_tokens:,}) · "
            f"output {lane.output_tokens:,}",
        ),
    ]
    rate = lane.cache_hit_rate
    facts.append(
        ("Prompt cache", "no prompt tokens" if rate is None else f"{rate:.0%} of the prompt read")
    )
    if lane.cost_usd is None:
        cost = "not known: no request of it has a price"
    elif lane.priced < lane.requests:
        cost = (
            f"at least {format_usd(lane.cost_usd)} (only {lane.priced:,} of "
            f"{lane.requests:,} requests have a known price)"
        )
    else:
        cost = format_usd(lane.cost_usd)
    facts.append(("Cost", cost))
    facts.append(("Active jobs", f"{lane.active_jobs:,}"))
    if lane.last_activity is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lane.last_activity))
        facts.append(("Last request", f"{_ago(lane.last_activity, now)} ({stamp})"))
    if projects:
        facts.append(("Projects", _projects_words(projects)))
    if sessions:
        facts.append(("Sessions", session_words(sessions)))
    return facts


def _runs_as(lane: Lane, projects: Sequence[Lane]) -> str:
    """Who the lane runs as; an agent run several ways (`agent_groups.by_agent`) names each."""
    runners = list(dict.fromkeys(p.principal or LOCAL_PRINCIPAL for p in projects))
    if len(runners) > 1:
        return ", ".join(who_words(runner) for runner in runners)
    return who_words(lane.principal or LOCAL_PRINCIPAL)


def _projects_words(projects: Sequence[Lane]) -> str:
    """`api: 26 · (no project): 31 · 1 more`: each project's requests, whoever ran them, the
    busiest first."""
    requests: dict[str | None, int] = {}
    for lane in projects:
        requests[lane.project] = requests.get(lane.project, 0) + lane.requests
    busiest = sorted(requests.items(), key=lambda item: -item[1])
    named = [f"{project or '(no project)'}: {n:,}" for project, n in busiest[:PROJECTS_SHOWN]]
    more = len(busiest) - PROJECTS_SHOWN
    return " · ".join(named) + (f" · {more:,} more" if more > 0 else "")


def session_words(sessions: Sequence[SessionLane]) -> str:
    """An agent's newest sessions, each by the start of its id with its requests, tokens and
    cost; the rest counted."""
    named = []
    for session in sessions[:SESSIONS_SHOWN]:
        lane = session.figures
        tokens = (
            lane.input_tokens
            + lane.cache_read_tokens
            + lane.cache_write_tokens
            + lane.output_tokens
        )
        cost = "" if lane.cost_usd is None else f", {format_usd(lane.cost_usd)}"
        named.append(
            f"{session.session[:SESSION_ID_SHOWN]}: {lane.requests:,} requests, "
            f"{tokens:,} tokens{cost}"
        )
    more = len(sessions) - SESSIONS_SHOWN
    return " · ".join(named) + (f" · {more:,} more" if more > 0 else "")


class AgentDetail(DetailCard):
    """The chosen lane in words, with the buttons that open its requests and jobs."""

    def __init__(
        self, requests_button: QPushButton, jobs_button: QPushButton, parent: QWidget | None = None
    ) -> None:
        super().__init__("agentDetail", parent)
        self.heading.setText("No agent chosen")
        self.values: dict[str, QLabel] = {}
        every = Lane(caller="", project=None, last_activity=0.0)  # a lane with every fact
        for label, _words in lane_facts(every, (every,), (SessionLane("s", every, 0.0),)):
            value = value_label(f"agent{label.replace(' ', '')}")
            self.values[label] = value
            self.add_row(label, value)
        self.action_row.addWidget(requests_button)
        self.action_row.addWidget(jobs_button)
        self.action_row.addStretch(1)
        self.show_lane(None)

    def show_lane(
        self,
        lane: Lane | None,
        title: str = "",
        projects: Sequence[Lane] = (),
        sessions: Sequence[SessionLane] = (),
    ) -> None:
        """Show `lane` under `title` (an agent's total lists its `projects` and `sessions`);
        None: none."""
        if lane is None:
            self.heading.setText("No agent chosen")
            self.badge.set_status("unknown", "")
            for value in self.values.values():
                value.clear()
            for label in self.values:
                self.set_row_visible(self.values[label], label == "Requests")
            self.values["Requests"].setText("Choose an agent in the list to see its figures.")
            return
        self.heading.setText(title)
        if lane.active_jobs:
            jobs = f"{lane.active_jobs} job{'s' if lane.active_jobs != 1 else ''} running"
            self.badge.set_status("busy", jobs)
        else:
            self.badge.set_status("unknown", "")
        facts = dict(lane_facts(lane, projects, sessions))
        for label, value in self.values.items():
            value.setText(facts.get(label, ""))
            self.set_row_visible(value, label in facts)
