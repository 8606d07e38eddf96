"""Overview: the answers at a glance, then the details.

First the four figures (`overview_figures.py`: is it working, what it cost today, what fails,
what is stuck), then the live traffic charts (`overview_charts.py`), sized so that figures and
charts fit the first screen at 1024x700; below them each provider's health with its switch
(`provider_health.py`), the details in words (the state, refusals, failing providers with
links to their rows and failed requests, stuck jobs, the response cache, where it listens and
keeps things) and the costs. Pause all providers is a switch in the page's head."""

from __future__ import annotations

import time
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from llmgw_desktop.engine.api import (
    HEALTH_WINDOW_S,
    StuckJob,
    Totals,
    format_usd,
    reason_words,
)
from llmgw_desktop.ui.attention import (
    ProviderVerdict,
    SpendToday,
    provider_verdicts,
    spend_today,
)
from llmgw_desktop.ui.budget_words import spend_chip
from llmgw_desktop.ui.counts import JobCounts, fold_words, job_counts
from llmgw_desktop.ui.design import SPACE, page_margins
from llmgw_desktop.ui.gateway_state import gateway_signs
from llmgw_desktop.ui.kit.page_head import PageHead
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.text import PathLabel
from llmgw_desktop.ui.navigator import navigator_of, other_page
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.cost_breakdown import CostBreakdownBox
from llmgw_desktop.ui.pages.guard_text import guard_text
from llmgw_desktop.ui.pages.jobs_model import format_elapsed
from llmgw_desktop.ui.pages.overview_figures import (
    REFUSED_MEANS,
    FigureStrip,
    GatewayFacts,
    failovers_by_provider,
    failures_by_provider,
)
from llmgw_desktop.ui.pages.overview_totals import kinds_summary, provider_calls_summary
from llmgw_desktop.ui.pages.provider_health import TRAFFIC_WINDOW, ProviderHealthTable
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.response_cache_text import response_cache_text
from llmgw_desktop.ui.qt import (
    QEvent,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QObject,
    QPaintEvent,
    QPushButton,
    QScrollArea,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import error_colour, warning_colour

if TYPE_CHECKING:
    from llmgw_desktop.ui.pages.overview_charts import LiveCharts

__all__ = ["OverviewPage"]

STATUS_REFRESH_MS = 1000
# The charts come after the window's first paint: Overview is the page a launch shows first,
# and its first frame need not wait for four charts. The space is kept so nothing jumps. They
# are built (and pyqtgraph imported) only when the page is first shown: a start into the tray,
# or a window left on another page, never loads them. The cue is the first paint of the
# placeholder that keeps their place; a timer from the page being shown raced that paint on a
# busy machine, and the import then held the launch's first frame. A page shown but
# never painted builds them at the latest after CHARTS_AT_THE_LATEST_MS.
CHARTS_AFTER_PAINT_MS = 50
CHARTS_AT_THE_LATEST_MS = 2000
CHARTS_PLACEHOLDER_HEIGHT = 360  # about the four charts' room on a laptop's first screen
# Each plot's height: what the first screen leaves them, within these bounds.
PLOT_LEAST = 96
PLOT_MOST = 220
SPEND_READ_MS = 30_000  # a page shown without the window's header reads today's spend itself

# The words a newcomer may not know, said where they are shown.
REFUSED_TIP = REFUSED_MEANS[:1].upper() + REFUSED_MEANS[1:]
STUCK_TIP = "A job is stuck when its tool prints nothing for longer than jobs.stuck_after_ms."
RESPONSE_CACHE_TIP = (
    "Answers the gateway kept and gave again for the same request (at temperature 0), "
    "without asking a provider: no cost, no wait."
)
MCP_TIP = "The address MCP clients (Claude Code, Cursor, editors) connect to."


class OverviewPage(Page):
    KEY = "overview"
    TITLE = "Overview"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.status_label = QLabel()
        self.status_label.setObjectName("engineStatus")
        # A store problem's reason can be long (sqlite's own words): wrap it, never widen the
        # page past the window.
        self.status_label.setWordWrap(True)
        endpoint_row = self._endpoint_row(context)
        head = self._page_head(context)
        # The first line: is it working, what does it cost, what fails, what is stuck.
        self.figures = FigureStrip(self._open_figure)
        gateway = self._details(context, endpoint_row)
        bridge = context.bridge
        self._charts: LiveCharts | None = None
        self._shown = False
        self._build_traffic()
        health = self._health_box(context)
        self._build_content(gateway, health)
        outer = QVBoxLayout(self)
        page_margins(outer)
        outer.addWidget(head)
        outer.addWidget(self.scroller, 1)
        self._spend: SpendToday | None = None
        self._spend_read_at = -float(SPEND_READ_MS)

        bridge.engineStateChanged.connect(lambda _state: self.refresh_status())
        bridge.pauseChanged.connect(lambda _paused: self.refresh_status())
        # Only while shown, like the charts: a hidden page has nothing to redraw.
        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_REFRESH_MS)
        self._timer.timeout.connect(self.refresh_status)
        self.refresh_status()

    def _endpoint_row(self, context: PageContext) -> QHBoxLayout:
        """The MCP endpoint, selectable, with the button that copies it beside it."""
        self.endpoint_label = QLabel(context.facts.endpoint)
        self.endpoint_label.setObjectName("endpoint")
        self.endpoint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = QPushButton("Copy")
        copy.setToolTip("Copy the MCP endpoint to the clipboard")
        copy.clicked.connect(context.actions.copy_endpoint.trigger)
        endpoint_row = QHBoxLayout()
        endpoint_row.addWidget(self.endpoint_label)
        endpoint_row.addWidget(copy)  # beside the address it copies
        endpoint_row.addStretch(1)
        return endpoint_row

    def _page_head(self, context: PageContext) -> PageHead:
        """The title, with Pause all providers: a switch in the page's head, where its title
        says what it is."""
        actions = context.actions
        self.pause_switch = Switch("Pause all providers")
        self.pause_switch.setObjectName("pauseAll")
        self.pause_switch.setToolTip("Refuse every call until switched off again (nothing is lost)")
        self.pause_switch.setChecked(actions.pause_all.isChecked())
        self.pause_switch.toggled.connect(actions.pause_all.setChecked)
        actions.pause_all.toggled.connect(self._follow_pause)
        head = PageHead(self.TITLE)
        head.action_row.addWidget(self.pause_switch)
        return head

    def _details(self, context: PageContext, endpoint_row: QHBoxLayout) -> QGroupBox:
        """The details, under the charts: the gateway's state and trouble in words, and where
        it keeps things."""
        gateway = QGroupBox("Details")
        form, places = QFormLayout(), QFormLayout()
        facts_row = QHBoxLayout(gateway)
        facts_row.addLayout(form, 3)
        facts_row.addLayout(places, 2)
        form.addRow("Status", self.status_label)
        # Refused since start, before any provider was asked: at the door (bad credentials,
        # rate limits ...) and by the gateway (a budget, a switch, no key, the approval gate).
        self.refused_label = QLabel()
        self.refused_label.setObjectName("refusedCount")
        self.refused_label.setWordWrap(True)
        self.refused_label.setToolTip(REFUSED_TIP)
        form.addRow(_term("Refused", REFUSED_TIP), self.refused_label)
        # Providers failing or needing a look, by the verdict the header and the tray show.
        # One a line, each linking to its row on the Providers page and to its failed
        # requests in the Flight recorder.
        self.failing_label = QLabel()
        self.failing_label.setObjectName("failingProviders")
        self.failing_label.setWordWrap(True)
        self.failing_label.setTextFormat(Qt.TextFormat.RichText)
        self.failing_label.linkActivated.connect(self.open_link)
        form.addRow("Providers", self.failing_label)
        # Running jobs with no output past `jobs.stuck_after_ms` (the Jobs page has each one).
        self.stuck_label = QLabel()
        self.stuck_label.setObjectName("stuckJobs")
        self.stuck_label.setWordWrap(True)
        form.addRow(_term("Stuck", STUCK_TIP), self.stuck_label)
        # The response cache's hit rate (the charts have the providers' prompt caches), and a
        # line of why requests were not cached: wrapped, it can name every reason.
        self.response_cache_label = QLabel()
        self.response_cache_label.setObjectName("responseCache")
        self.response_cache_label.setWordWrap(True)
        form.addRow(_term("Response cache", RESPONSE_CACHE_TIP), self.response_cache_label)
        # The gateway's calls by kind: chats, embeddings, completions (autocomplete).
        self.kinds_label = QLabel()
        self.kinds_label.setObjectName("requestKinds")
        form.addRow("Gateway calls", self.kinds_label)
        # What the outbound guard found in requests before they left, since start.
        self.guard_label = QLabel()
        self.guard_label.setObjectName("guardFound")
        self.guard_label.setWordWrap(True)
        form.addRow("Secrets sent", self.guard_label)
        form.addRow(_term("MCP endpoint", MCP_TIP), endpoint_row)
        # Paths cut in the middle to fit (never broken mid-word), whole in their tooltips.
        facts = context.facts
        places.addRow("Health", PathLabel(facts.health_url))
        places.addRow("Data", PathLabel(str(facts.data_dir)))
        places.addRow("Log", PathLabel(str(facts.log_file)))
        return gateway

    def _build_traffic(self) -> None:
        """The live traffic box, holding the charts' place until they are built."""
        self.traffic = QGroupBox("Live traffic")
        self._traffic_layout = QVBoxLayout(self.traffic)
        self._charts_placeholder = _ChartsPlaceholder("Loading the charts…")
        self._charts_placeholder.painted.connect(self._placeholder_painted)
        self._charts_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._charts_placeholder.setMinimumHeight(CHARTS_PLACEHOLDER_HEIGHT)
        self._traffic_layout.addWidget(self._charts_placeholder)

    def _health_box(self, context: PageContext) -> QGroupBox:
        """Provider health with each provider's switch (the Overview's only switches: the tray
        and the Providers page have the same), those that cannot answer folded away."""
        self.health = ProviderHealthTable(context.bridge, self.tasks)
        self.health.switch_cells.switched.connect(context.actions.switch_provider)
        self.unfold_button = QToolButton()
        self.unfold_button.setObjectName("healthShowAll")
        self.unfold_button.setCheckable(True)
        self.unfold_button.setAutoRaise(True)
        self.unfold_button.toggled.connect(self.health.set_show_all)
        self.health.folded.connect(self._show_folded)
        self._show_folded(0)
        health = QGroupBox("Provider health")
        health_column = QVBoxLayout(health)
        health_column.addWidget(self.health)
        health_column.addWidget(self.unfold_button, 0, Qt.AlignmentFlag.AlignLeft)
        return health

    def _build_content(self, gateway: QGroupBox, health: QGroupBox) -> None:
        """What a person opens the Overview for first: the four figures, then the charts where
        they are seen without scrolling, then each provider's health, the details in words
        and the costs; scrolled under the page's head."""
        self._content = content = QWidget()
        content.setObjectName("overviewContent")
        self.column = QVBoxLayout(content)
        self.column.setContentsMargins(0, 0, SPACE["xs"], 0)
        self.column.setSpacing(SPACE["m"])
        self.column.addWidget(self.figures)
        self.column.addWidget(self.traffic)
        self.column.addWidget(health)
        self.column.addWidget(gateway)
        self.costs = CostBreakdownBox(self.context.bridge, self.tasks)  # loads itself while visible
        self.column.addWidget(self.costs)
        self.column.addStretch(1)
        # The details make the page taller than a small window: it scrolls under its head,
        # with the margins every page has (the title does not move between pages).
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setWidget(content)
        self.scroller.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The scroll area's room changed: the charts take what the first screen has left."""
        if watched is self.scroller.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_charts()
        return super().eventFilter(watched, event)

    def _fit_charts(self) -> None:
        """Size the plots so the figures and all four charts fit the first screen (between
        `PLOT_LEAST` and `PLOT_MOST` px each): the details are below, a scroll away."""
        if self._charts is None or not self._charts.built:
            return
        charts = self._charts
        plot = charts.plot_widgets[0].height()
        above = self.traffic.mapTo(self._content, self.traffic.rect().topLeft()).y()
        chrome = self.traffic.sizeHint().height() - 2 * plot
        room = self.scroller.viewport().height() - above - chrome - SPACE["s"]
        charts.set_plot_height(max(PLOT_LEAST, min(PLOT_MOST, room // 2)))

    def _open_figure(self, place: str, focus: str) -> None:
        """A figure was pressed: its place, with what it names there (the logged-out CLI of
        "No provider") or the first failing provider (the failed requests, for Failing)."""
        navigator = navigator_of(self)
        if navigator is None:
            return  # a page shown on its own (tests) has no window to open places in
        open_place = navigator.open_place
        verdicts = provider_verdicts(self.engine)
        if focus:
            open_place(place, focus)
        elif place == "recorder" and not verdicts:
            open_place("recorder", "")
        elif place in ("recorder", "providers") and verdicts:
            open_place(place, verdicts[0].provider)
        else:
            open_place(place, "")

    def open_link(self, link: str) -> None:
        """Open what a link in the Providers line names: `providers:<id>` its row on the
        Providers page, `recorder:<id>` its failed requests in the Flight recorder."""
        place, _, provider = link.partition(":")
        navigator = navigator_of(self)
        if navigator is not None and place in ("providers", "recorder"):
            navigator.open_place(place, provider)

    def _follow_pause(self, paused: bool) -> None:
        if self.pause_switch.isChecked() != paused:
            self.pause_switch.setChecked(paused)

    def _show_folded(self, folded: int) -> None:
        """The button that shows (or folds again) the providers that cannot answer."""
        self.unfold_button.setText(fold_words(folded, self.unfold_button.isChecked()))
        self.unfold_button.setVisible(bool(folded) or self.unfold_button.isChecked())

    @property
    def charts_built(self) -> bool:
        """Whether the charts (and with them pyqtgraph) have been loaded."""
        return self._charts is not None

    @property
    def charts(self) -> LiveCharts:
        """The live charts, built now (the rest of them, if a build is under way) if the turns
        after the first paint have not built them yet."""
        charts = self._place_charts()
        if not charts.built:
            charts.finish_building()
            self._charts_built()
        return charts

    def _place_charts(self) -> LiveCharts:
        """The charts' frame in the placeholder's place (its plots still to build)."""
        if self._charts is None:
            from llmgw_desktop.ui.pages.overview_charts import LiveCharts

            self._charts = LiveCharts(self.engine, build_now=False)
            self._charts.setMinimumHeight(CHARTS_PLACEHOLDER_HEIGHT)  # nothing jumps meanwhile
            self._charts.momentChosen.connect(self.open_recorder_at)
            self._traffic_layout.replaceWidget(self._charts_placeholder, self._charts)
            self._charts_placeholder.deleteLater()
            # A widget added to a shown layout is shown only on the loop's next turn; whoever
            # asked for the charts may look at them before that.
            self._charts.show()
        return self._charts

    def _build_charts_step(self) -> None:
        # One plot per turn of the loop: the gateway's requests get their turns in between.
        charts = self._place_charts()
        if charts.built:
            return  # finished meanwhile (someone asked for `charts`)
        if charts.build_next():
            # The first full redraw of all four on a turn of its own, not after the last plot.
            QTimer.singleShot(0, self, self._charts_built)
        else:
            # With the page as the context: a page closed meanwhile drops the next step rather
            # than building into deleted layouts.
            QTimer.singleShot(0, self, self._build_charts_step)

    def _charts_built(self) -> None:
        assert self._charts is not None
        self._charts.setMinimumHeight(0)
        self._fit_charts()
        if self._shown:
            self._charts.start()

    def open_recorder_at(self, since: float, until: float, failed_only: bool) -> None:
        """Show the Flight recorder listing the requests started from `since` until `until`
        (a chart's point was clicked)."""
        found = other_page(self, RecorderPage.KEY, RecorderPage)
        if found is None:
            return  # a page shown on its own (tests) has no recorder to open
        navigator, recorder = found
        recorder.show_moment(since, until, failed_only=failed_only)
        navigator.show_page(RecorderPage.KEY)

    def _placeholder_painted(self) -> None:
        if self._shown:
            QTimer.singleShot(CHARTS_AFTER_PAINT_MS, self, self._charts_after_paint)

    def _charts_after_paint(self) -> None:
        # Once: the paint's cue and the latest moment may both come.
        if self._shown and self._charts is None:
            self._build_charts_step()

    def page_shown(self) -> None:
        self._shown = True
        self.refresh_status()
        self._timer.start()
        if self._charts is None:
            if self._charts_placeholder.was_painted:
                self._placeholder_painted()
            QTimer.singleShot(CHARTS_AT_THE_LATEST_MS, self, self._charts_after_paint)
        elif self._charts.built:
            self._charts.start()
        # else a build is under way, and starts them when it ends (`_charts_built`)
        self.health.start()
        self.context.actions.check_installed()

    def page_hidden(self) -> None:
        self._shown = False
        self._timer.stop()
        if self._charts is not None and self._charts.built:
            self._charts.stop()
        self.health.stop()

    def refresh_status(self) -> None:
        """Redraw the status line from the engine (once a second at most)."""
        engine = self.engine
        state = engine.state.value
        if state == "running":
            text = f"Running for {uptime_text(engine.uptime_seconds)}"
            if engine.providers.paused:
                text += " (all providers paused)"
        else:
            text = state.capitalize()
        degraded = engine.degradations
        attention = bool(degraded)
        for part in degraded:
            text += f" · degraded: {shortened(part.reason)}"
        recorder = engine.recorder.status()
        if recorder["spilled"] or recorder["dropped"]:
            attention = True
            text += (
                f" · recorder: {recorder['spilled']} row(s) waiting in the spill file,"
                f" {recorder['dropped']} dropped"
            )
        # Each label is set only when its words change: a changed label lays the whole page
        # out again, once a second under any traffic (docs/PERFORMANCE.md).
        _show(self.status_label, text, warning_colour() if attention else None)
        # The whole reason is one hover away; the colour says "look here" at a glance.
        reasons = "\n".join(part.reason for part in degraded)
        if self.status_label.toolTip() != reasons:
            self.status_label.setToolTip(reasons)
        _show(self.refused_label, refused_text(engine.refusals.health()))
        names = {state.id: state.display_name for state in engine.providers.states()}
        # One read of the live figures for the Providers line, the health table's counts and
        # the verdicts' counts of recent calls, so the "of N" there is the sum of the table's
        # calls on the same tick, and a verdict's "2 of 16" is its row's.
        series = engine.metrics.series(TRAFFIC_WINDOW)
        verdicts = provider_verdicts(engine, series.by_provider)
        self.health.show_counts(series.by_provider)
        totals = series.total
        _show(self.failing_label, failing_html(verdicts, totals))
        plain = failing_text(verdicts, totals)
        if self.failing_label.accessibleName() != plain:
            self.failing_label.setAccessibleName(plain)
        jobs = job_counts(engine)
        stuck = list(jobs.stuck)
        _show(self.stuck_label, stuck_text(stuck, names), warning_colour() if stuck else None)
        stats, cache_problem = engine.gateway.cache_stats, engine.gateway.cache_problem
        _show(
            self.response_cache_label,
            response_cache_text(stats, cache_problem),
            warning_colour() if cache_problem else None,
        )
        _show(self.kinds_label, kinds_summary(engine.gateway.kind_counts))
        guard, tally = engine.guard, engine.guard.stats
        found = tally.counts()
        warned = any(c.action in ("warned", "sent") for c in found)
        _show(
            self.guard_label,
            guard_text(
                guard.settings.secrets,
                found,
                tally.unscanned,
                read=tally.read,
                exempt=tally.exempt,
            ),
            warning_colour() if warned else None,
        )
        self._show_figures(
            verdicts,
            totals,
            jobs,
            failures_by_provider(series.by_provider, names),
            failovers_by_provider(series.by_provider, names),
        )

    def _show_figures(
        self,
        verdicts: list[ProviderVerdict],
        totals: Totals,
        jobs: JobCounts,
        failed_at: tuple[tuple[str, int, int], ...],
        failed_over_at: tuple[tuple[str, int], ...] = (),
    ) -> None:
        """The four figures at the top, from what the details below were drawn from."""
        engine = self.engine
        budgets = engine.budgets
        spend = self._spend_today()
        today = "…" if spend is None else format_usd(spend.usd)
        signs = gateway_signs(engine, verdicts)  # the header's and the tray's read of them
        self.figures.show_facts(
            GatewayFacts(
                state=signs.state,
                paused=signs.paused,
                degraded=signs.degraded,
                uptime=uptime_text(engine.uptime_seconds),
                window_minutes=HEALTH_WINDOW_S // 60,
                totals=totals,
                verdicts=verdicts,
                spend=spend,
                spend_chip=spend_chip(today, budgets.statuses() + budgets.key_statuses()),
                refusing=signs.refusing,
                waiting=signs.waiting,
                refused=engine.refusals.health(),
                failed_at=failed_at,
                failed_over_at=failed_over_at,
                jobs=jobs,
                no_provider=signs.no_provider,
                all_failing=signs.all_failing,
            )
        )

    def _spend_today(self) -> SpendToday | None:
        """Today's spend as the header chip has it (kept up as requests finish); a page
        shown without the window's header reads it itself, at most every `SPEND_READ_MS`."""
        navigator = navigator_of(self)
        kept = navigator.spend_today() if navigator is not None else None
        if kept is not None:
            return kept
        now = time.monotonic() * 1000
        if self._shown and now - self._spend_read_at >= SPEND_READ_MS:
            self._spend_read_at = now
            self.tasks.spawn(self._read_spend(), what="read today's spend")
        return self._spend

    async def _read_spend(self) -> None:
        self._spend = await spend_today(self.engine)


def uptime_text(seconds: float) -> str:
    """How long the gateway has run, to the minute: `under a minute`, `12 min`, `3h 05m`,
    `2d 4h`. Whole minutes, because a label whose words change lays the page out again: a
    seconds count did that every second for as long as the window stayed open."""
    minutes = int(seconds) // 60
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    if hours < 1:
        return f"{minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"


def _overall(totals: Totals) -> str:
    return provider_calls_summary(totals, HEALTH_WINDOW_S // 60)


def failing_text(verdicts: list[ProviderVerdict], totals: Totals) -> str:
    """The Overview's lines for providers failing or needing a look (the window's one
    verdict), one a line, then the calls sent to providers over the health window and how
    many failed (`overview_totals.py`: the live figures' own counts)."""
    lines = [f"{v.name} ({v.said}): {v.why}" for v in verdicts] or ["none failing"]
    return "\n".join([*lines, _overall(totals)])


def failing_html(verdicts: list[ProviderVerdict], totals: Totals) -> str:
    """`failing_text` as the label shows it: each provider on its own line in its tone, its
    name linking to its row on the Providers page, then a link to its failed requests."""
    lines = []
    for v in verdicts:
        colour = error_colour() if v.failing else warning_colour()
        lines.append(
            f'<a href="providers:{escape(v.provider)}">{escape(v.name)}</a> '
            f'<span style="color: {colour};">({escape(v.said)}): {escape(v.why)}</span>'
            f' · <a href="recorder:{escape(v.provider)}">its failed requests</a>'
        )
    lines = lines or ["none failing"]
    return "<br>".join([*lines, escape(_overall(totals))])


def stuck_text(stuck: list[StuckJob], names: Mapping[str, str] | None = None) -> str:
    """The Overview's line for running jobs with no output past the limit, the longest silent
    first: `Claude Code 1a2b3c4d: no output for 2m 05s · limit 2m 00s`."""
    if not stuck:
        return "no job stuck"
    names = names or {}
    return "; ".join(
        f"{names.get(job.provider, job.provider)} {job.job_id[:8]}: no output for"
        f" {format_elapsed(job.idle_s)} · limit {format_elapsed(job.limit_s)}"
        for job in stuck
    )


def _term(word: str, meaning: str) -> QLabel:
    """A form's label whose word a newcomer may not know: its meaning one hover away."""
    label = QLabel(word)
    label.setToolTip(meaning)
    return label


def _show(label: QLabel, text: str, colour: str | None = None) -> None:
    """Set `label`'s text and colour, each only when it changed."""
    if label.text() != text:
        label.setText(text)
    style = f"color: {colour};" if colour else ""
    if label.styleSheet() != style:
        label.setStyleSheet(style)


def refused_text(health: dict[str, Any]) -> str:
    """The Overview's line for what was refused since start before any provider was asked,
    at the door and by the gateway (see `RefusalCounter`)."""
    total = int(health.get("total") or 0)
    if not total:
        return "none since start"
    by_code = sorted(health["byCode"].items(), key=lambda item: -item[1])
    shown = [f"{n:,} × {reason_words(what)}" for what, n in by_code[:3]]
    rest = sum(n for _, n in by_code[3:])
    if rest:
        shown.append(f"{rest:,} other")  # so the parts add up to the total on screen
    return f"{total:,} since start ({', '.join(shown)})"


def shortened(text: str, limit: int = 160) -> str:
    """`text` cut at a word near `limit` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


class _ChartsPlaceholder(QLabel):
    """What stands where the charts will be; its first paint is the cue to build them."""

    painted = Signal()

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.was_painted = False

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.was_painted:
            self.was_painted = True
            self.painted.emit()
