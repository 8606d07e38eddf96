"""The tray icon: the gateway's actions one click away, and its state at a glance.

The icon and tooltip show one of five states, the first that holds winning: error (a
provider is failing by the window's one verdict: its circuit open, its recent calls failing,
its key refused or its host unreachable, unless another provider still answers or every
provider is paused, when the pause is the state and the provider a line of its tooltip; a global
budget refuses every call; a job is stuck (running with no output past
`jobs.stuck_after_ms`); the engine stopped; or the store is degraded: damaged, full, or
refusing the recorder's writes), paused, warning (amber, as the header and Overview say it: a
provider failing while another answers, or the log file refusing its lines), busy (jobs queued
or running), idle. The tooltip names each failing provider with its last error, the budget
refusing every call, each stuck job with its silence and the limit, each provider where some
calls fail, and adds the jobs running (the header's count, `counts.job_counts`) and the last
error. Under its first line it says the gateway's state in the words and by the rule of the
header's chip and Overview's card (`gateway_state`: "Gateway: Not working") while that state is
amber or red, so the three never name it apart.
Messages pop up for what needs the person or is worth knowing while the window is hidden: a
long job finished, a job stuck, a consent or approval request waiting, a provider going down
or failing. Failing providers are the window's one verdict (`attention.provider_verdicts`),
so the tray, the header, Overview and the Providers page agree. The menu starts with what
needs a look (`tray_alerts.py`): each failing provider with its reason in a few words, and each
budget past its soft limit (else the nearest one's burn-down), the stuck jobs and today's spend
(the header's figure), each a click away from its place.

Each message is about one place in the window, and a click on it opens that place (`opened`):
a failing provider its row on the Providers page, a stuck or long job that job, a budget
reached the Budgets page, a waiting question its dialog. A provider's outage is one message
(its calls failing and its circuit opening are the same news); it can be told again once it
has recovered. During quiet hours (`ui.quiet_hours`) nothing pops up; every message still goes
to the notification history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import time as time_of_day

from llmgw_desktop.config.quiet_hours import QuietHours, parse_quiet_hours
from llmgw_desktop.engine.api import ENDINGS, BudgetStatus, JobStuckChanged
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.attention import ProviderVerdict, provider_verdicts
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.budget_words import refusing_words
from llmgw_desktop.ui.counts import job_counts, running_words
from llmgw_desktop.ui.gateway_state import GatewayState, gateway_signs, gateway_state
from llmgw_desktop.ui.icons import tray_state_icon
from llmgw_desktop.ui.login_switch import LOGIN_SWITCH_TEXT, Autostart, set_start_at_login
from llmgw_desktop.ui.notifications import TOPIC_PLACES
from llmgw_desktop.ui.qt import QAction, QIcon, QMenu, QObject, QSystemTrayIcon, QTimer, Signal
from llmgw_desktop.ui.tray_alerts import SpendSource, TrayAlerts, budget_line

__all__ = ["LONG_JOB_S", "TrayIcon", "format_duration"]

NOTICE_MS = 4000
WAITING_MS = 10000  # a question for the person stays up longer than an info message
# A job that ran this long is one the person has probably stopped watching.
LONG_JOB_S = 30.0
# Job events can come in bursts (a fan-out, the CLI bridge under load): the tooltip and icon
# follow them at most this often.
JOB_REDRAW_MS = 200
ERROR_CHARS = 90  # some platforms cut tooltips short (Windows at 127 characters)

ACTIVE_STATES = frozenset({"queued", "running"})
# A finished job's level in the history (a canceled one is not told at all).
JOB_LEVELS = {"completed": "info", "failed": "error"}
FINISHED_STATES = frozenset(ENDINGS)  # the one vocabulary (engine/states.py)


@dataclass
class _ActiveJob:
    provider: str
    running_since: float | None = None


def format_duration(seconds: float) -> str:
    """`42s`, `3m 05s`, `1h 02m`: how long a job ran, for a message."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _failing_words(streak: int, errors: int, calls: int, code: str | None) -> str:
    """`8 in a row, upstream_500` or `26 of 47 failed, upstream_500`: short, for a tooltip."""
    count = f"{streak} in a row" if streak > 1 else f"{errors} of {calls} failed"
    return f"{count}, {code}" if code else count


def _cut(line: str) -> str:
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + "…"


class TrayIcon(QObject):
    """A `QSystemTrayIcon` whose menu is the shared gateway actions."""

    # Each message the tray itself pops up (level, text, place, detail), for the notification
    # history (its Open goes to the same place as a click on the message); the engine's
    # notices reach the history through the bridge.
    shown = Signal(str, str, str, str)
    # A message was clicked: the place it is about ("providers", "jobs", "budgets",
    # "approval", or "" for the window) and what to choose there (a provider, a job's id).
    opened = Signal(str, str)

    def __init__(
        self,
        bridge: EngineBridge,
        actions: GatewayActions,
        endpoint: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        autostart: Autostart | None = None,
        time_now: Callable[[], time_of_day] = lambda: datetime.now().time(),
        spend: SpendSource | None = None,
    ) -> None:
        """`spend`: where today's spend is kept (the window's header), for the menu's line."""
        super().__init__()
        self._time_now = time_now
        self.quiet: QuietHours | None = None
        self._last_place: tuple[str, str] = ("", "")
        self._told_down: set[str] = set()  # providers whose outage a message told
        # This run's start: a failure streak under way before it was told before a restart.
        self._started_at = time.time()
        self.in_tray = False  # shown in a system tray (`show`): balloons pop up
        self._actions = actions
        self._endpoint = endpoint
        self._clock = clock
        self._paused = bridge.engine.providers.paused
        self._jobs: dict[str, _ActiveJob] = {}
        self._engine_stopped = False
        self._health = bridge.engine.provider_health
        # Failing providers are named as every page names them ("Mistral API", "Mistral Vibe").
        self._names = {s.id: s.display_name for s in bridge.engine.providers.states()}
        # Providers failing, as last drawn (a newly failing one pops a message), and those that
        # need a look (some calls fail), by name.
        self.failing: dict[str, str] = {}
        self.needs_a_look: dict[str, str] = {}
        self._verdicts: list[ProviderVerdict] = []
        # The gateway's state as the header's chip and Overview's card say it, as last read.
        self.gateway = GatewayState("working", "Working", "ok", "")
        # The global budget refusing every call, as last read (with the gateway's state).
        self.refusing: BudgetStatus | None = None
        self._marked: set[tuple[str, str, str]] = set()
        self.last_error: str | None = None
        # The failing provider `last_error` is about, if one is: it follows that provider's
        # line while it fails and goes when it recovers, never saying "is failing" after.
        self._last_error_of: str | None = None
        # The budget `last_error` is about (its key), if one is: a budget refusing every call
        # is said once, in the tooltip's refusing line.
        self._last_error_budget = ""
        self._icons: dict[str, QIcon] = {}
        self.shown_state = ""
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(JOB_REDRAW_MS)
        self._redraw_timer.timeout.connect(self.redraw)

        self.menu: QMenu = actions.build_menu("llmgw-desktop")
        self._autostart = autostart
        self._add_login_switch(actions, autostart)
        self._budgets = bridge.engine.budgets
        self._engine = bridge.engine
        # What needs a look, first in the menu: failing providers and the nearest budget.
        self.alerts = TrayAlerts(self.menu, self.opened.emit, spend)
        self.budget_action = self.alerts.budget
        self.icon = QSystemTrayIcon(self._icon_for("idle"), self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.icon.messageClicked.connect(lambda: self.opened.emit(*self._last_place))
        self._listen(bridge)
        self.redraw()

    def _add_login_switch(self, actions: GatewayActions, autostart: Autostart | None) -> None:
        """Start at login in the menu, above Quit, where the system offers it; re-read each
        time the menu opens (Settings or the installer may have flipped it since)."""
        self.login_action: QAction | None = None
        if autostart is None:
            return
        self.login_action = QAction(LOGIN_SWITCH_TEXT, self)
        self.login_action.setObjectName("startAtLogin")
        self.login_action.setCheckable(True)
        self.login_action.triggered.connect(self._on_login_switch)
        self.menu.insertAction(actions.quit, self.login_action)
        self.menu.aboutToShow.connect(self.read_login_switch)
        self.read_login_switch()

    def _listen(self, bridge: EngineBridge) -> None:
        """Redraw, and pop a message, on what the engine tells the desk."""
        bridge.pauseChanged.connect(self._on_pause)
        bridge.noticeAbout.connect(self._show_notice)
        bridge.jobStateChanged.connect(self._on_job)
        bridge.jobStuckChanged.connect(self._on_stuck)
        bridge.breakerChanged.connect(self._on_breaker)
        # A provider failing or well again by its calls, or by those read back at start (the
        # tray drew "idle" before they were): coalesced, as a flood's finished calls are.
        bridge.providerHealthChanged.connect(lambda _p, _state: self._redraw_soon())
        bridge.restsChanged.connect(self.redraw)
        # Drawn afresh when opened: a line's time left ("in 5 s") is as of its last drawing.
        self.menu.aboutToShow.connect(self.redraw)
        bridge.engineStateChanged.connect(self._on_engine_state)
        bridge.storeHealthChanged.connect(lambda _problem: self.redraw())
        bridge.requestFinished.connect(lambda _event: self._redraw_soon())

    def show(self) -> None:
        """Put the icon in the system tray (the app does where there is one): its balloons
        pop up from then on."""
        self.in_tray = True
        self.icon.show()

    def hide(self) -> None:
        self.in_tray = False
        self._redraw_timer.stop()
        self.icon.hide()

    # -- messages -----------------------------------------------------------------------

    def set_quiet_hours(self, text: str) -> None:
        """Hold back the pop-ups in the span `text` writes (`22:00-07:00`; "" never).

        Raises:
            ValueError: `text` is not such a span.
        """
        self.quiet = parse_quiet_hours(text)

    def is_quiet(self) -> bool:
        """Whether now is inside the quiet hours."""
        return self.quiet is not None and self.quiet.holds(self._time_now())

    def _pop(
        self,
        title: str,
        text: str,
        icon: QSystemTrayIcon.MessageIcon,
        ms: int,
        *,
        place: str,
        detail: str = "",
        history: str | None = None,
        level: str = "warning",
    ) -> None:
        """Pop a message about `place` (kept in the history whether or not it pops up: in
        quiet hours, or with no tray to show it)."""
        if history != "":
            self.shown.emit(level, history or f"{title}: {text}", place, detail)
        if self.is_quiet() or not self.in_tray:
            return
        self._last_place = (place, detail)
        self.icon.showMessage(title, text, icon, ms)

    # -- state --------------------------------------------------------------------------

    @property
    def active_jobs(self) -> int:
        """Jobs queued or running: the header's count (`counts.job_counts`)."""
        return job_counts(self._engine).active

    @property
    def state(self) -> str:
        """error, warning, paused, busy or idle: the first that holds. Red or amber by the
        header's and Overview's rule (`gateway_state`, as last read): a provider failing while
        another answers ("Partly working") and a log that cannot be written are amber there,
        so the icon is never red beside them."""
        degraded = self._engine.degradations
        # Amber, not red, beside a provider failing while another answers; while every
        # provider is paused nothing is called: paused is the state, its trouble a line below.
        calm = self.gateway.kind in ("partly_working", "paused")
        if (self.failing and not calm) or self._engine_stopped:
            return "error"
        if any(d.serious for d in degraded):
            return "error"
        if self.refusing is not None:
            return "error"  # nothing is served: the header and Overview say "Refusing"
        jobs = job_counts(self._engine)
        if jobs.stuck:
            return "error"
        if self._paused:
            return "paused"
        # A provider that could not be connected to is amber, as the header and Overview say.
        if self.failing or degraded or self.gateway.kind == "unreached":
            return "warning"
        return "busy" if jobs.active else "idle"

    def tooltip(self) -> str:
        words = {
            "error": "needs attention",
            "warning": "needs a look",
            "paused": "all providers paused",
            "busy": "working",
            "idle": "idle",
        }
        state = self.state
        lines = [f"llmgw-desktop: {words[state]}"]
        gateway = self.gateway
        # The header's and Overview's state while it is amber or red ("paused" is said above,
        # unless something outranks it there).
        if gateway.level in ("error", "warning") and (
            gateway.kind != "paused" or state != "paused"
        ):
            lines.append(f"Gateway: {gateway.headline}")
        jobs = job_counts(self._engine)
        if jobs.active:
            lines.append(f"Jobs: {running_words(jobs)}")
        if self._engine_stopped:
            lines.append("Engine stopped")
        for provider, why in self.failing.items():
            lines.append(_cut(f"Failing: {provider} ({why})"))
        lines.extend(_cut(line) for line in self.stuck_lines())
        for verdict in self._verdicts:  # in their own words: "Could not connect: OpenAI (...)"
            if not verdict.failing and verdict.name in self.needs_a_look:
                lines.append(
                    _cut(f"{verdict.status}: {verdict.name} ({self.needs_a_look[verdict.name]})")
                )
        lines.extend(_cut(f"{part.label}: {part.reason}") for part in self._engine.degradations)
        lines.extend(self._budget_lines())
        lines.append(self._endpoint)
        return "\n".join(lines)

    def _budget_lines(self) -> list[str]:
        """The last error (unless a line above said it), the budget refusing every call and the
        nearest budget's burn-down, each budget said once: one refusing every call in its
        refusing line, which says what it does and until when (its used-up notice as the last
        error and its burn-down said it twice more), a budget's notice not again beside its
        burn-down."""
        refusing, nearest = self.refusing, self._budgets.nearest()
        if refusing is not None and nearest is not None and nearest.budget == refusing.budget:
            nearest = None
        said = {status.budget.key for status in (refusing, nearest) if status is not None}
        lines = []
        # A provider's failure as the last error is its "Failing" line's, said above.
        told = self._last_error_budget in said or self._last_error_of in self.failing
        if self.last_error and not told:
            lines.append(f"Last error: {_cut(self.last_error)}")
        if refusing is not None:
            lines.append(_cut(refusing_words(refusing)))
        if nearest is not None:
            lines.append(budget_line(nearest))
        return lines

    def stuck_lines(self) -> list[str]:
        """`Stuck: Claude Code job 1a2b3c4d, no output for 2m 05s (limit 2m 00s)`, one a job."""
        return [
            f"Stuck: {self._names.get(job.provider, job.provider)} job {job.job_id[:8]}, no"
            f" output for {format_duration(job.idle_s)} (limit {format_duration(job.limit_s)})"
            for job in job_counts(self._engine).stuck
        ]

    def redraw(self) -> None:
        """Show the current state now (job events otherwise wait for the redraw timer)."""
        self._redraw_timer.stop()
        self._read_health()
        state = self.state
        if state != self.shown_state:  # the icon is costlier to swap than the tooltip
            self.icon.setIcon(self._icon_for(state))
            self.shown_state = state
        self.icon.setToolTip(self.tooltip())
        budgets = self._budgets.statuses() + self._budgets.key_statuses()
        stuck = len(job_counts(self._engine).stuck)
        mcp_failing = self._engine.upstream_mcp.failing()
        self.alerts.show(
            self._verdicts, budgets, self._short_why, stuck=stuck, mcp_failing=mcp_failing
        )

    def _read_health(self) -> None:
        """Which providers fail or need a look, by the verdict every page shows; a message for
        each that just started to fail (unless its circuit opening told it already)."""
        self._verdicts = provider_verdicts(self._engine)
        signs = gateway_signs(self._engine, self._verdicts)  # the one read of the budgets too
        self.refusing = signs.refusing
        self.gateway = gateway_state(signs)
        failing = {v.provider: self._short_why(v) for v in self._verdicts if v.failing}
        self.needs_a_look = {v.name: self._short_why(v) for v in self._verdicts if not v.failing}
        # By status too: a rest over leaves a provider failing by its calls, and its switch's
        # tooltip must stop saying "Unreachable".
        marked = {(v.provider, v.level, v.status) for v in self._verdicts}
        if marked != self._marked:  # the menu's switches say it too
            self._marked = marked
            self._actions.check_installed()
        now = {self._names.get(pid, pid): words for pid, words in failing.items()}
        for pid in failing.keys() - {self._id_of(name) for name in self.failing}:
            provider = self._names.get(pid, pid)
            self._last_error_of, self._last_error_budget = provider, ""
            text = f"Calls to {provider} are failing: {now[provider]}."
            if pid not in self._told_down and not self._failing_before_start(pid):
                self._pop(
                    f"{provider} is failing",
                    text,
                    QSystemTrayIcon.MessageIcon.Critical,
                    NOTICE_MS,
                    place="providers",
                    detail=pid,
                    history=text,
                    level="error",  # red, as the header and the Providers page show it
                )
            self._told_down.add(pid)  # told, or told before a restart
        self.failing = now
        # Recovered: its next outage is news again.
        self._told_down &= set(failing)
        self._follow_last_error(now)

    def _failing_before_start(self, provider: str) -> bool:
        """Whether `provider` fails by a streak of calls that began before this run (read back
        from the flight recorder): its outage was told then, and is no news now."""
        since = self._health.of(provider).streak_since
        return since is not None and since < self._started_at

    def _follow_last_error(self, failing: dict[str, str]) -> None:
        """`last_error` as its provider's line is now (`failing`, by name), gone once it
        recovered."""
        provider = self._last_error_of
        if provider is None:
            return
        if provider in failing:
            self.last_error = f"{provider} is failing: {failing[provider]}"
        else:
            self.last_error = self._last_error_of = None

    def _short_why(self, verdict: ProviderVerdict) -> str:
        """`8 in a row, upstream_500`: a verdict's reason, short, for a tooltip."""
        if verdict.brief:
            return verdict.brief
        health = self._health.of(verdict.provider)
        if verdict.status in ("Failing", "Some calls fail") and health.errors:
            return _failing_words(
                health.consecutive_failures, health.errors, health.calls, health.last_error_code
            )
        return verdict.why

    def _id_of(self, name: str) -> str:
        return next((pid for pid, shown in self._names.items() if shown == name), name)

    def _redraw_soon(self) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _icon_for(self, state: str) -> QIcon:
        if state not in self._icons:
            self._icons[state] = tray_state_icon(state)
        return self._icons[state]

    # -- engine events ------------------------------------------------------------------

    def _on_pause(self, paused: bool) -> None:
        self._paused = paused
        self.redraw()

    def _on_job(self, job_id: str, provider: str, state: str, _principal: str) -> None:
        if state in ACTIVE_STATES:
            job = self._jobs.setdefault(job_id, _ActiveJob(provider))
            if state == "running" and job.running_since is None:
                job.running_since = self._clock()
        elif state in FINISHED_STATES:
            finished = self._jobs.pop(job_id, None)
            if finished is not None and finished.running_since is not None:
                ran = self._clock() - finished.running_since
                # A cancel is someone's deliberate act: no need to tell them it happened.
                if ran >= LONG_JOB_S and state != "canceled":
                    self._notify_long_job(job_id, provider, state, ran)
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _on_stuck(self, change: JobStuckChanged) -> None:
        if change.stuck:
            name = self._names.get(change.provider, change.provider)
            text = (
                f"A {name} job ({change.job_id[:8]}) has printed nothing for"
                f" {format_duration(change.idle_s)} (limit {format_duration(change.limit_s)})."
                " Open Jobs to cancel or retry it."
            )
            self._pop(
                "A job is stuck",
                text,
                QSystemTrayIcon.MessageIcon.Warning,
                NOTICE_MS,
                place="jobs",
                detail=change.job_id,
            )
        self.redraw()

    def _notify_long_job(self, job_id: str, provider: str, state: str, ran: float) -> None:
        # A failed job is an error, red as the Jobs page shows it; one cut short (the gateway
        # stopping) is a warning.
        level = JOB_LEVELS.get(state, "warning")
        icon = {
            "info": QSystemTrayIcon.MessageIcon.Information,
            "error": QSystemTrayIcon.MessageIcon.Critical,
        }.get(level, QSystemTrayIcon.MessageIcon.Warning)
        name = self._names.get(provider, provider)
        text = f"A {name} job ({job_id[:8]}) {state} after {format_duration(ran)}."
        self._pop(f"Job {state}", text, icon, NOTICE_MS, place="jobs", detail=job_id, level=level)

    def _on_breaker(self, provider: str, state: str) -> None:
        """A circuit opening is told at once, in its own words, unless its failing calls told
        the outage already; whether the provider is failing, and until when, is the verdict's
        (`_read_health`), as on every page."""
        if state == "open":
            name = self._names.get(provider, provider)
            self.last_error = f"{name} is failing; calls to it pause for a while"
            self._last_error_of = name  # goes with its verdict's line
            self._last_error_budget = ""
            if provider not in self._told_down:
                self._told_down.add(provider)
                text = (
                    f"{name} failed several times in a row. The gateway stops calling it for "
                    "a while and tries again later."
                )
                self._pop(
                    f"{name} is down",
                    text,
                    QSystemTrayIcon.MessageIcon.Critical,
                    NOTICE_MS,
                    place="providers",
                    detail=provider,
                    level="error",
                )
        self.redraw()

    def _on_engine_state(self, state: str) -> None:
        self._engine_stopped = state == "stopped"
        if self._engine_stopped:
            self.last_error = "the engine stopped; tools cannot reach the gateway"
            self._last_error_of, self._last_error_budget = None, ""
        self.redraw()

    def _show_notice(self, level: str, message: str, topic: str = "", detail: str = "") -> None:
        """Pop an engine notice up; a click opens its place, with what it is about chosen
        there (`detail`: a budget's key)."""
        icons = {
            "warning": QSystemTrayIcon.MessageIcon.Warning,
            "error": QSystemTrayIcon.MessageIcon.Critical,
        }
        if level == "error":
            self.last_error, self._last_error_of = message, None
            self._last_error_budget = detail if topic == "budget" else ""
            self.redraw()
        icon = icons.get(level, QSystemTrayIcon.MessageIcon.Information)
        place = TOPIC_PLACES.get(topic, "")
        title = "Budget reached" if topic == "budget" else "llmgw-desktop"
        # The bridge keeps the notice in the history already: only the pop-up here.
        self._pop(title, message, icon, NOTICE_MS, place=place, detail=detail, history="")

    # -- start at login ------------------------------------------------------------------

    def read_login_switch(self) -> None:
        """Show the OS's start-at-login state on the menu's switch."""
        if self.login_action is not None and self._autostart is not None:
            self.login_action.setChecked(self._autostart.is_enabled())

    def _on_login_switch(self, on: bool) -> None:
        assert self._autostart is not None
        problem = set_start_at_login(self._autostart, on)
        if problem is not None:
            self._pop(
                "llmgw-desktop",
                problem,
                QSystemTrayIcon.MessageIcon.Warning,
                NOTICE_MS,
                place="settings",
                history=problem,
            )
        self.read_login_switch()

    # -- questions for the person at the desk -------------------------------------------

    def notify_waiting(self, title: str, message: str, *, question: str = "") -> None:
        """Tell the person a question waits for them (the window may be hidden); a click
        brings the question (`question`: its id) forward."""
        self._pop(
            title,
            message,
            QSystemTrayIcon.MessageIcon.Warning,
            WAITING_MS,
            place="approval",
            detail=question,
        )

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A left click (Trigger) opens the window; the context menu handles right clicks.
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self._actions.open_dashboard.trigger()
