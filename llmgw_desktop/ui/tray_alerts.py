"""The tray menu's alert lines: what needs a look, first in the menu, each opening its place.

One line per provider failing (a red cross) or needing a look (an amber triangle), by the
verdict every page shows (`attention.provider_verdicts`), with its reason in a few words ("8 in
a row, upstream_500": the pages' whole sentence was cut to "…2 of …" in a menu); then one line
per budget past its soft limit ("Budget: agent aider 100% of 7,975 tokens today (exceeded:
calls refused)"), or the nearest budget's burn-down when none is (only the nearest was listed,
so one of two budgets used up was missing), each in its tone. They are drawn in the ordinary
text colour, not greyed (a greyed alert read as unimportant), and a click opens the provider's
row on the Providers page or the Budgets page (`opened`). A separator parts them from the
switches; without alerts there is nothing above the switches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llmgw_desktop.engine.api import BudgetStatus
from llmgw_desktop.ui.attention import FAILING, SOME_CALLS_FAIL, ProviderVerdict
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.qt import QAction, QMenu

__all__ = ["ALERT_CHARS", "TrayAlerts", "budget_line", "budgets_to_tell"]

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
    suffix = {"exceeded": " (exceeded: calls refused)", "soft": " (past soft limit)"}
    return nearest.burn_down() + suffix.get(nearest.state, "")


def budgets_to_tell(statuses: Sequence[BudgetStatus]) -> list[BudgetStatus]:
    """Every budget past its soft limit, the furthest past first; else the nearest its limit
    (none without budgets)."""
    past = sorted((s for s in statuses if s.state != "ok"), key=lambda s: -s.fraction)
    if past:
        return past
    return [max(statuses, key=lambda s: s.fraction)] if statuses else []


def _cut(line: str) -> str:
    return line if len(line) <= ALERT_CHARS else line[: ALERT_CHARS - 1] + "…"


class TrayAlerts:
    """The alert lines at the top of `menu`; `show` redraws them (only what changed)."""

    def __init__(self, menu: QMenu, opened: Callable[[str, str], None]) -> None:
        self._menu = menu
        self._opened = opened
        self.providers: list[QAction] = []
        self._shown: tuple[tuple[str, str, str], ...] = ()
        self.budget = QAction("", menu)  # the first budget line
        self.budget.setObjectName("trayBudget")
        self.more_budgets: list[QAction] = []  # the other budgets past their soft limit
        self._more_shown: list[tuple[str, str]] = []
        self.budget.triggered.connect(lambda: opened("budgets", ""))
        first = menu.actions()[0] if menu.actions() else None
        self._end = menu.insertSeparator(first) if first is not None else menu.addSeparator()
        menu.insertAction(self._end, self.budget)

    def show(
        self,
        verdicts: Sequence[ProviderVerdict],
        budgets: Sequence[BudgetStatus],
        why: Callable[[ProviderVerdict], str] | None = None,
    ) -> None:
        """One line a provider in `verdicts` (its reason in a few words: `why(verdict)`, else
        its whole reason), then the budgets past their soft limit among `budgets` (else the
        nearest); only what changed is redrawn."""
        told = budgets_to_tell(budgets)
        lines: list[tuple[str, str]] = [(budget_line(s), str(s.state)) for s in told]
        first, state = lines[0] if lines else ("", "")
        self._show_budget(self.budget, first, state)
        reason = why or (lambda verdict: verdict.why)
        shown = tuple((v.provider, v.level, f"{v.name}: {v.level} · {reason(v)}") for v in verdicts)
        self._end.setVisible(bool(shown or first))
        if lines[1:] != self._more_shown:
            self._more_shown = lines[1:]
            for action in self.more_budgets:
                self._menu.removeAction(action)
                action.deleteLater()
            self.more_budgets = []
            for text, budget_state in lines[1:]:
                action = QAction(self._menu)
                action.setObjectName("trayBudget")
                action.triggered.connect(lambda _=False: self._opened("budgets", ""))
                self._show_budget(action, text, budget_state)
                self._menu.insertAction(self._end, action)
                self.more_budgets.append(action)
        if shown == self._shown:
            return
        self._shown = shown
        for action in self.providers:
            self._menu.removeAction(action)
            action.deleteLater()
        self.providers = []
        for provider, level, text in shown:
            icon = glyph("error" if level == FAILING else "warning", _TONES[level])
            action = QAction(icon, _cut(text), self._menu)
            action.setToolTip(text)
            action.setObjectName(f"trayAlert:{provider}")
            action.triggered.connect(lambda _=False, p=provider: self._opened("providers", p))
            self._menu.insertAction(self.budget, action)
            self.providers.append(action)

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
