"""The tray menu's alert lines: what needs a look, first in the menu, each opening its place.

One line per provider failing (a red cross) or needing a look (an amber triangle), by the
verdict every page shows (`attention.provider_verdicts`), with its reason; then the nearest
budget's burn-down ("Budget: project shop 82% of $5.00 today"), in its tone. They are drawn in
the ordinary text colour, not greyed (a greyed alert read as unimportant), and a click opens
the provider's row on the Providers page or the Budgets page (`opened`). A separator parts them
from the switches; without alerts there is nothing above the switches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llmgw_desktop.engine.api import BudgetStatus
from llmgw_desktop.ui.attention import FAILING, NEEDS_A_LOOK, ProviderVerdict
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.qt import QAction, QMenu

__all__ = ["ALERT_CHARS", "TrayAlerts", "budget_line"]

ALERT_CHARS = 90  # a menu line longer than this is cut (its tooltip has it whole)
_TONES = {FAILING: "error", NEEDS_A_LOOK: "warning"}
_BUDGET_TONES = {"exceeded": "error", "soft": "warning"}


def budget_line(nearest: BudgetStatus | None) -> str:
    """The nearest budget's burn-down, or "" without budgets."""
    if nearest is None:
        return ""
    suffix = {"exceeded": " (exceeded: calls refused)", "soft": " (past soft limit)"}
    return nearest.burn_down() + suffix.get(nearest.state, "")


def _cut(line: str) -> str:
    return line if len(line) <= ALERT_CHARS else line[: ALERT_CHARS - 1] + "…"


class TrayAlerts:
    """The alert lines at the top of `menu`; `show` redraws them (only what changed)."""

    def __init__(self, menu: QMenu, opened: Callable[[str, str], None]) -> None:
        self._menu = menu
        self._opened = opened
        self.providers: list[QAction] = []
        self._shown: tuple[tuple[str, str, str], ...] = ()
        self.budget = QAction("", menu)
        self.budget.setObjectName("trayBudget")
        self.budget.triggered.connect(lambda: opened("budgets", ""))
        first = menu.actions()[0] if menu.actions() else None
        self._end = menu.insertSeparator(first) if first is not None else menu.addSeparator()
        menu.insertAction(self._end, self.budget)

    def show(self, verdicts: Sequence[ProviderVerdict], nearest: BudgetStatus | None) -> None:
        """One line a provider in `verdicts`, then the budget `nearest` its limit."""
        line = budget_line(nearest)
        self.budget.setText(line)
        self.budget.setVisible(bool(line))
        tone = _BUDGET_TONES.get(nearest.state if nearest is not None else "", "")
        if self.budget.property("tone") != tone:
            self.budget.setProperty("tone", tone)
            self.budget.setIcon(glyph("spend", tone))
        shown = tuple((v.provider, v.level, f"{v.name}: {v.level} · {v.why}") for v in verdicts)
        self._end.setVisible(bool(shown or line))
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
