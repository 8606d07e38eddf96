"""Agents: what each agent (the caller a front door named) did, per project, live.

One row per agent with its totals, and under it one row per project it worked in: requests,
how many failed or were refused, tokens, cache hits, cost, active jobs and its last request,
over the window chosen (15 minutes, 24 hours, 7 days); an agent's details name the sessions its
client named (Claude Code's, Codex's), with each one's figures. The figures come from
`engine.recorder_query.lanes` (one grouped read on the read lane, `engine/recorder/lanes.py`),
reloaded every few seconds while the page is shown (less often when a load takes long), never
twice at once.

Opening a lane (double-click or Enter) shows its requests in the Flight recorder, filtered to
that agent (and project) over the same window; opened on its Active jobs cell, or with "Jobs
of this agent", it shows the agent's jobs instead.

The list sits beside the chosen lane's details (`agent_detail.py`), as on every list page: at
1920 px the figures, packed beside their names, left most of the window empty, and at 1024 px
the columns ran past the list's edge (a sideways scroll bar, "Last activity" cut to "La").
The columns are fitted to the list's width (`ColumnFitter`): what does not fit is hidden,
least needed first (cache hits, tokens out, tokens in, active jobs, last activity, failed or
refused), and the details always have every figure.

"Failed or refused" counts every request that ended without an answer (the recorder's
"Unanswered only"): failed, interrupted or cancelled on the way, or refused or denied by the
gateway before any provider was asked. Headed "Errors", it would read as upstream errors alone.
Requests are those the agent's client sent, as the Overview counts them (`attempts.py`): a call
that failed at one provider and went on to another is one request, answered; the provider calls
that failed over are said in the details, never as failures.
"""

from __future__ import annotations

import time

from llmgw_desktop.engine.api import LOCAL_PRINCIPAL, AgentLanes, Lane, format_usd
from llmgw_desktop.ui.counts import JobCounts, job_counts, running_words
from llmgw_desktop.ui.design import page_margins
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.navigator import other_page
from llmgw_desktop.ui.pages.agent_detail import AgentDetail
from llmgw_desktop.ui.pages.agent_groups import GROUPINGS, AgentGroup, lane_name
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    Qt,
    QTimer,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.terms import who_words
from llmgw_desktop.ui.theme import tone_item

__all__ = [
    "COLUMNS",
    "WINDOWS",
    "AgentsPage",
    "agent_name",
    "format_cost",
    "format_lane",
]

REFRESH_MS = 5000
# A long window over a big recorder takes a while to count: the read lane is never busy with
# the lanes more than a tenth of the time (the next refresh waits ten times the last load).
REFRESH_LOAD_FACTOR = 10
# Label and reach in seconds; each is also one of the Flight recorder's time ranges.
WINDOWS: tuple[tuple[str, float], ...] = (
    ("Last 15 minutes", 15 * 60.0),
    ("Last 24 hours", 86400.0),
    ("Last 7 days", 7 * 86400.0),
)
DEFAULT_WINDOW = 1  # 24 hours
COLUMNS = (
    "Agent / project",
    "Requests",
    "Failed or refused",
    "Tokens in",
    "Tokens out",
    "Prompt cache",
    "Cost",
    "Active jobs",
    "Last activity",
)
FAILED_COLUMN = COLUMNS.index("Failed or refused")
# What the column counts, in its heading's tooltip and the page's note.
FAILED_MEANS = (
    "requests with no answer: failed, interrupted or cancelled, or refused or denied by the gateway"
)
# Hidden first when the list is narrow (the details show every one of them).
OPTIONAL = tuple(
    COLUMNS.index(name)
    for name in (
        "Prompt cache",
        "Tokens out",
        "Tokens in",
        "Active jobs",
        "Last activity",
        "Failed or refused",
    )
)
LIST_SHARE = 0.6  # of the width, for the list; the details take the rest
NAME_FLOOR = 160  # px the names keep when the figures need the rest of the list
JOBS_COLUMN = COLUMNS.index("Active jobs")
UNNAMED_AGENT = "(unnamed)"
_LANE = int(Qt.ItemDataRole.UserRole)
_GROUP = _LANE + 1  # a top row's `AgentGroup` (its sessions)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def format_cost(lane: Lane) -> str:
    """`$0.0123`; `≥ $0.0123` when only some requests have a known cost; `—` when none has
    (dollars as every page writes them, `format_usd`: a sub-cent cost never reads $0.0000)."""
    if lane.cost_usd is None:
        return "—"
    partial = "≥ " if lane.priced < lane.requests else ""
    return f"{partial}{format_usd(lane.cost_usd)}"


def format_age(timestamp: float | None, now: float) -> str:
    """`just now`, `42s ago`, `3m ago`, `2h ago`, `3d ago`; empty when never."""
    if timestamp is None:
        return ""
    seconds = max(0, int(now - timestamp))
    if seconds < 5:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def agent_name(lane: Lane) -> str:
    """An agent's row title: its name, and whose it is unless it is the local user's (an agent
    is a name a caller chooses: two principals naming one agent are two lanes)."""
    name = lane.caller or UNNAMED_AGENT
    if lane.principal in ("", LOCAL_PRINCIPAL):
        return name
    return f"{name} · {who_words(lane.principal)}"


def format_lane(lane: Lane, name: str, now: float) -> tuple[str, ...]:
    """The row's text, one string per column."""
    rate = lane.cache_hit_rate
    return (
        name,
        f"{lane.requests:,}",
        f"{lane.errors:,}",
        f"{lane.input_tokens:,}",
        f"{lane.output_tokens:,}",
        "—" if rate is None else f"{rate:.0%}",
        format_cost(lane),
        f"{lane.active_jobs:,}",
        format_age(lane.last_activity, now),
    )


class AgentsPage(Page):
    KEY = "agents"
    TITLE = "Agents"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._loading = False
        self.lanes: AgentLanes | None = None

        top = self._top_bar()
        self.requests_button = QPushButton("Requests of this agent")
        self.requests_button.clicked.connect(lambda: self.open_selected(jobs=False))
        self.jobs_button = QPushButton("Jobs of this agent")
        self.jobs_button.clicked.connect(lambda: self.open_selected(jobs=True))

        self.tree = QTreeWidget()
        self.tree.setObjectName("agentsTree")
        self.tree.setAccessibleName("Agents and their projects")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Every column as wide as its contents, the name taking what is left of the list beside
        # the details, the figures' headings right-aligned over them.
        # A long name (an agent run by an OAuth client) is elided, whole on hover, before the
        # cost is pushed past the list's edge (at 1024x768 it was).
        self.columns = ColumnFitter(
            self.tree, stretch=0, optional=OPTIONAL, stretch_floor=NAME_FLOOR
        )
        align_heading(self.tree, range(1, len(COLUMNS)))
        heading = self.tree.headerItem()
        if heading is not None:
            heading.setToolTip(
                FAILED_COLUMN,
                f"{FAILED_MEANS[:1].upper()}{FAILED_MEANS[1:]} (before any provider was asked)",
            )
        self.detail = AgentDetail(self.requests_button, self.jobs_button)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.currentItemChanged.connect(lambda *_items: self._show_detail())

        self.note = QLabel(
            "An agent is the name a client gives itself (MCP client info, X-Caller, its user "
            f"agent or OAuth client). Failed or refused counts {FAILED_MEANS}. A cost "
            "marked ≥ is at least that much: some of its requests have no known price. "
            "Open an agent or one of its projects to see its requests; open Active jobs to see "
            "its jobs."
        )
        self.note.setObjectName("agentsNote")
        self.note.setWordWrap(True)
        page = QVBoxLayout(self)
        page_margins(page)
        page.addLayout(top)
        page.addWidget(MasterDetail(self.tree, self.detail, list_share=LIST_SHARE), 1)
        page.addWidget(self.note)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._update_buttons()

    def _top_bar(self) -> QHBoxLayout:
        """The window counted over, the grouping, and the summary."""
        self.window_box = QComboBox()
        self.window_box.setObjectName("agentsWindow")
        for label, _reach in WINDOWS:
            self.window_box.addItem(label)
        self.window_box.setCurrentIndex(DEFAULT_WINDOW)
        self.window_box.currentIndexChanged.connect(lambda _i: self.refresh())
        # By agent (its principals summed, each under it) or by agent and who runs it.
        self.grouping_box = QComboBox()
        self.grouping_box.setObjectName("agentsGrouping")
        self.grouping_box.setAccessibleName("Group the agents")
        for label, _group in GROUPINGS:
            self.grouping_box.addItem(label)
        self.grouping_box.currentIndexChanged.connect(lambda _i: self._regroup())
        self.summary_label = QLabel()
        self.summary_label.setObjectName("agentsSummary")
        top = QHBoxLayout()
        top.addWidget(self.window_box)
        top.addWidget(self.grouping_box)
        top.addWidget(self.summary_label, 1)
        return top

    # -- showing and refreshing ---------------------------------------------------------------

    def page_shown(self) -> None:
        self._timer.start()
        self.refresh()

    def page_hidden(self) -> None:
        self._timer.stop()

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def window_seconds(self) -> float:
        return WINDOWS[self.window_box.currentIndex()][1]

    def refresh(self) -> None:
        """Reload the lanes, unless a load is already under way."""
        if self._loading:
            return
        self._loading = True
        if not self.tasks.spawn(self._load(), what="count each agent's requests"):
            self._loading = False

    async def _load(self) -> None:
        started = time.monotonic()
        try:
            lanes = await self.engine.recorder_query.lanes(self.window_seconds)
        finally:
            self._loading = False
        took_ms = (time.monotonic() - started) * 1000
        self._timer.setInterval(max(REFRESH_MS, int(took_ms * REFRESH_LOAD_FACTOR)))
        self._show(lanes)

    def _regroup(self) -> None:
        if self.lanes is not None:
            self._show(self.lanes)

    def _show(self, lanes: AgentLanes) -> None:
        self.lanes = lanes
        # The same row stays chosen across a reload and a regrouping: by its lane's agent,
        # principal and project, and whether it is a total.
        keep = _key(self.tree.currentItem())
        now = time.time()
        self.tree.setUpdatesEnabled(False)
        self.tree.clear()
        group_of = GROUPINGS[max(0, self.grouping_box.currentIndex())][1]
        groups = group_of(lanes.agents)
        for group in groups:
            item = self._item(group.total, agent_name(group.total), now, bold=True)
            item.setData(0, _GROUP, group)
            self.tree.addTopLevelItem(item)
            for lane in group.lanes:
                item.addChild(self._item(lane, lane_name(group, lane), now))
            for row in (item, *(item.child(n) for n in range(item.childCount()))):
                if row is not None and keep is not None and _key(row) == keep:
                    self.tree.setCurrentItem(row)
        self.tree.expandAll()
        first = self.tree.topLevelItem(0)
        if self.tree.currentItem() is None and first is not None:
            # The busiest agent chosen, so its Requests and Jobs buttons are ready to press.
            self.tree.setCurrentItem(first)
        self.tree.setUpdatesEnabled(True)
        self.columns.fit()
        self.summary_label.setText(_summary(lanes, len(groups), job_counts(self.engine)))
        self._update_buttons()
        self._show_detail()

    def _item(self, lane: Lane, name: str, now: float, *, bold: bool = False) -> QTreeWidgetItem:
        item = QTreeWidgetItem(list(format_lane(lane, name, now)))
        item.setData(0, _LANE, lane)
        item.setToolTip(0, name)  # whole, where a narrow list elides it
        for column in range(1, len(COLUMNS)):
            item.setTextAlignment(column, _RIGHT)
        if bold:
            font = item.font(0)
            font.setBold(True)
            for column in range(len(COLUMNS)):
                item.setFont(column, font)
        if lane.errors:
            tone_item(item, "error", FAILED_COLUMN)
        if lane.priced < lane.requests and lane.cost_usd is not None:
            item.setToolTip(
                COLUMNS.index("Cost"),
                f"Only {lane.priced:,} of {lane.requests:,} requests have a known cost",
            )
        if lane.last_activity is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lane.last_activity))
            item.setToolTip(len(COLUMNS) - 1, stamp)
        return item

    # -- opening a lane -----------------------------------------------------------------------

    def selected_lane(self) -> Lane | None:
        item = self.tree.currentItem()
        lane = None if item is None else item.data(0, _LANE)
        return lane if isinstance(lane, Lane) else None

    def _show_detail(self) -> None:
        """The chosen lane's figures beside the list (an agent's total with its projects)."""
        item = self.tree.currentItem()
        lane = self.selected_lane()
        if item is None or lane is None:
            self.detail.show_lane(None)
            return
        parent = item.parent()
        if parent is None:
            group = item.data(0, _GROUP)
            assert isinstance(group, AgentGroup)
            self.detail.show_lane(lane, item.text(0), group.lanes, group.sessions)
        else:
            self.detail.show_lane(lane, f"{parent.text(0)} · {item.text(0)}")

    def _update_buttons(self) -> None:
        lane = self.selected_lane()
        # An unnamed agent cannot be filtered on: an empty caller filter means any caller.
        named = lane is not None and bool(lane.caller)
        self.requests_button.setEnabled(named and lane is not None and lane.requests > 0)
        self.jobs_button.setEnabled(named)
        why = "" if lane is not None else "Choose an agent in the list first. "
        if lane is not None and not named:
            why = "An unnamed agent cannot be filtered on. "
        self.requests_button.setToolTip(why + "Show the chosen agent's requests in the recorder")
        self.jobs_button.setToolTip(why + "Show the chosen agent's jobs on the Jobs page")

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        self.tree.setCurrentItem(item)
        self.open_selected(jobs=column == JOBS_COLUMN)

    def open_selected(self, *, jobs: bool) -> None:
        """Show the selected lane's requests in the Flight recorder, or its agent's jobs."""
        item = self.tree.currentItem()
        lane = self.selected_lane()
        if lane is None or not lane.caller:
            return
        if jobs:
            found_jobs = other_page(self, JobsPage.KEY, JobsPage)
            if found_jobs is not None:
                navigator, page = found_jobs
                page.show_agent(lane.caller, active_only=lane.active_jobs > 0)
                navigator.show_page(JobsPage.KEY)
            return
        found = other_page(self, RecorderPage.KEY, RecorderPage)
        if found is not None:
            navigator, recorder = found
            # A total row is every project of the agent; "(no project)" cannot be narrowed
            # further than the agent (the recorder filters on a named project only).
            project = None if _is_total(item) else lane.project
            recorder.show_agent(
                lane.caller,
                project=project,
                reach_s=self.window_seconds,
                principal=lane.principal or None,
            )
            navigator.show_page(RecorderPage.KEY)


def _is_total(item: QTreeWidgetItem | None) -> bool:
    return item is not None and item.parent() is None


def _key(item: QTreeWidgetItem | None) -> tuple[str, str, str | None, bool] | None:
    """What a row shows, whichever grouping drew it: its lane's principal, agent, project
    (None for a total) and whether it is a total; None for no row."""
    lane = None if item is None else item.data(0, _LANE)
    if not isinstance(lane, Lane):
        return None
    total = _is_total(item)
    return (lane.principal, lane.caller, None if total else lane.project, total)


def _summary(lanes: AgentLanes, agents: int, jobs: JobCounts) -> str:
    """The window's `agents` (as the list groups them), requests and failures, and the jobs
    running now as the header counts them (`counts.job_counts`: a job is counted before its
    first request is kept)."""
    requests = sum(agent.total.requests for agent in lanes.agents)
    failed = sum(agent.total.errors for agent in lanes.agents)
    if not agents:
        return "No agent has made a request in this window."
    text = f"{_count(agents, 'agent')} · {_count(requests, 'request')}"
    text += f" · {failed:,} failed or refused · jobs: {running_words(jobs)}"
    return text + (" (the busiest shown)" if lanes.more else "")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
