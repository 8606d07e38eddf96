"""The tray menu's alert lines: what needs a look, first in the menu, each opening its place.

One line per provider failing (a red cross) or needing a look (an amber triangle), by the
verdict every page shows (`attention.provider_verdicts`), with its reason in a few words ("8 in
a row, upstream_500": the pages' whole sentence was cut to "…2 of …" in a menu), and one per
user's MCP server that failed and has not run since (`UpstreamServers.failing`), opening it on
the MCP servers page; then one line per budget past its soft limit ("Budget: agent aider 100% of
7,975 tokens today (exceeded: calls refused)"), or the nearest budget's burn-down when none is
(only the nearest was listed, so one of two budgets used up was missing), each in its tone. They
are drawn in the ordinary text colour, not greyed (a greyed alert read as unimportant), and a
click opens the provider's row on the Providers page or the Budgets page (`opened`). Then "N
job(s) stuck" while a job is (the header's count, `counts.job_counts`), opening the stuck jobs
on the Jobs page, and "Spend today $X": the header's own figure (`SpendSource`, the header
chip's one summing read kept up by each finished request; no read of the tray's own), asked for
when the menu opens if the header has not read it yet (a launch into the tray), opening Budgets
as the chip does. A separator parts them from the switches; without any there is nothing above
the switches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from llmgw_desktop.engine.api import BudgetStatus, format_usd
from llmgw_desktop.ui.attention import FAILING, SOME_CALLS_FAIL, ProviderVerdict, SpendToday
from llmgw_desktop.ui.budget_words import budgets_to_tell
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.qt import QAction, QMenu

__all__ = [
    "ALERT_CHARS",
    "SpendSource",
    "TrayAlerts",
    "budget_line",
    "mcp_words",
    "spend_words",
    "stuck_words",
]

# A menu line longer than this is cut (its tooltip has it whole): room for a budget of an
# agent and its principal past its limit, whole ("Budget: agent claude-code
# (oauth:laptop-editor) 480% of $0.003 today (exceeded: calls refused)").
ALERT_CHARS = 110
_TONES = {FAILING: "error", SOME_CALLS_FAIL: "warning"}
_BUDGET_TONES = {"exceeded": "error", "soft": "warning"}


def budget_line(nearest: BudgetStatus | None) -> str:
    """The nearest budget's burn-down, or "" without budgets."""
    if nearest is None:
        return ""
    if nearest.state == "exceeded" and nearest.fraction < 1:
        # Held calls left too little room for the next one: refusing, not past its limit.
        return nearest.burn_down() + " (calls refused: too little left)"
    suffix = {"exceeded": " (exceeded: calls refused)", "soft": " (past soft limit)"}
    return nearest.burn_down() + suffix.get(nearest.state, "")


class SpendSource(Protocol):
    """Where today's spend is kept (the window's header): its figure and a read on demand."""

    spend: SpendToday | None

    def read_spend_soon(self) -> None:
        """Read today's spend, off the loop, unless a fresh enough read is kept or under way."""

    def watch_spend(self, changed: Callable[[], None]) -> None:
        """Call `changed` each time `spend` is read anew."""


def spend_words(spend: SpendToday | None) -> str:
    """`Spend today $0.0682`, as the header's chip says it (`…` before its first read)."""
    return f"Spend today {'…' if spend is None else format_usd(spend.usd)}"


@dataclass(frozen=True)
class _AlertLine:
    """One alert line: the place its click opens and what it chooses there (a provider's
    switch id, an MCP server's name), its level and its words."""

    place: str
    detail: str
    level: str
    text: str


def mcp_words(server: str) -> str:
    """A failing MCP server's alert: `MCP server files: failed, calls to its tools fail`."""
    return f"MCP server {server}: failed, calls to its tools fail"


def stuck_words(stuck: int) -> str:
    """`1 job stuck`, `2 jobs stuck`; "" for none."""
    return f"{stuck} job{'s' if stuck != 1 else ''} stuck" if stuck else ""


def _cut(line: str) -> str:
    return line if len(line) <= ALERT_CHARS else line[: ALERT_CHARS - 1] + "…"


class TrayAlerts:
    """The alert lines at the top of `menu`; `show` redraws them (only what changed)."""

    def __init__(
        self,
        menu: QMenu,
        opened: Callable[[str, str], None],
        spend: SpendSource | None = None,
    ) -> None:
        self._menu = menu
        self._opened = opened
        self._spend = spend
        # The lines of what fails (a provider, a user's MCP server), first in the menu.
        self.lines: list[QAction] = []
        self._shown: tuple[_AlertLine, ...] = ()
        self.budget = QAction("", menu)  # the first budget line
        self.budget.setObjectName("trayBudget")
        self.more_budgets: list[QAction] = []  # the other budgets past their soft limit
        self._more_shown: list[tuple[str, str, str]] = []
        self._budget_key = ""  # the budget the first line speaks of
        self.budget.triggered.connect(lambda: opened("budgets", self._budget_key))
        first = menu.actions()[0] if menu.actions() else None
        self._end = menu.insertSeparator(first) if first is not None else menu.addSeparator()
        self.stuck = QAction(glyph("jobs", "warning"), "", menu)
        self.stuck.setObjectName("trayStuck")
        self.stuck.setVisible(False)
        self.stuck.triggered.connect(lambda: opened("jobs", "stuck"))
        self.spend = QAction(glyph("spend"), spend_words(None), menu)
        self.spend.setObjectName("traySpend")
        self.spend.setToolTip("What the requests started today cost (reported or estimated)")
        self.spend.setVisible(spend is not None)
        self.spend.triggered.connect(lambda: opened("budgets", ""))
        for action in (self.stuck, self.budget, self.spend):
            menu.insertAction(self._end, action)
        if spend is not None:
            spend.watch_spend(self._show_spend)
            menu.aboutToShow.connect(spend.read_spend_soon)

    def _show_spend(self) -> None:
        if self._spend is not None:
            self.spend.setText(spend_words(self._spend.spend))

    def show(
        self,
        verdicts: Sequence[ProviderVerdict],
        budgets: Sequence[BudgetStatus],
        why: Callable[[ProviderVerdict], str] | None = None,
        *,
        stuck: int = 0,
        mcp_failing: Sequence[str] = (),
    ) -> None:
        """One line a provider in `verdicts` (its reason in a few words: `why(verdict)`, else
        its whole reason) and a user's MCP server in `mcp_failing`, then `stuck` jobs, the
        budgets past their soft limit among `budgets` (else the nearest) and today's spend;
        only what changed is redrawn."""
        stuck_line = stuck_words(stuck)
        if self.stuck.text() != stuck_line:
            self.stuck.setText(stuck_line)
        self.stuck.setVisible(bool(stuck_line))
        self._show_spend()
        told = budgets_to_tell(budgets)
        lines = [(budget_line(s), str(s.state), s.budget.key) for s in told]
        first, state, self._budget_key = lines[0] if lines else ("", "", "")
        self._show_budget(self.budget, first, state)
        reason = why or (lambda verdict: verdict.why)
        shown = tuple(
            _AlertLine("providers", v.provider, v.level, f"{v.name}: {v.said} · {reason(v)}")
            for v in verdicts
        ) + tuple(_AlertLine("mcp-servers", name, FAILING, mcp_words(name)) for name in mcp_failing)
        self._end.setVisible(bool(shown or first or stuck_line or self._spend is not None))
        if lines[1:] != self._more_shown:
            self._more_shown = lines[1:]
            for action in self.more_budgets:
                self._menu.removeAction(action)
                action.deleteLater()
            self.more_budgets = []
            for text, budget_state, key in lines[1:]:
                action = QAction(self._menu)
                action.setObjectName("trayBudget")
                action.triggered.connect(lambda _=False, k=key: self._opened("budgets", k))
                self._show_budget(action, text, budget_state)
                self._menu.insertAction(self.spend, action)
                self.more_budgets.append(action)
        if shown == self._shown:
            return
        self._shown = shown
        for action in self.lines:
            self._menu.removeAction(action)
            action.deleteLater()
        self.lines = []
        for line in shown:
            icon = glyph("error" if line.level == FAILING else "warning", _TONES[line.level])
            action = QAction(icon, _cut(line.text), self._menu)
            action.setToolTip(line.text)
            action.setObjectName(f"trayAlert:{line.place}:{line.detail}")
            action.triggered.connect(
                lambda _=False, p=line.place, d=line.detail: self._opened(p, d)
            )
            self._menu.insertAction(self.stuck, action)
            self.lines.append(action)

    @staticmethod
    def _show_budget(action: QAction, line: str, state: str) -> None:
        if action.text() != line:
            action.setText(_cut(line))
            action.setToolTip(line)
        action.setVisible(bool(line))
        tone = _BUDGET_TONES.get(state, "")
        if action.property("tone") != tone or action.icon().isNull():
            action.setProperty("tone", tone)
            action.setIcon(glyph("spend", tone))
