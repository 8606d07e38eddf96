"""The Providers page's routes over several providers: each target's share, latency and
cool-down, and any other target cooling down now.

A small widget of its own, so the page's layout can place it where it likes: the page hands it
the engine's figures (`providers.routes()`, `providers.cooling()`) at each refresh, and it
hides itself while no route lists targets and nothing cools down. The figures are this
process's, as `GET /v1/providers` gives them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from llmgw_desktop.engine.api import RouteView, TargetView
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.qt import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["NO_ROUTE", "RESTING_HEADING", "ROUTE_COLUMNS", "RouteTargetsView", "target_cells"]

ROUTE_COLUMNS = ("Route", "Target", "Weight", "Share", "Latency", "In flight", "State")
# The Route cell of a target in no route, asked for by its own name (a review read an empty
# Route and Weight as something missing, and then "(asked by name)" as jargon).
NO_ROUTE = "not in a route"
# The heading says what the table holds: with no route configured, it holds only models
# resting after their failures (a review saw "Routes over several providers" above no route).
ROUTES_HEADING = "Routes over several providers"
RESTING_HEADING = "Models resting after failures"
# The state words a person reads; the wire's are `engine/circuit.CircuitState`'s. A target
# cooling down or with its circuit open goes behind the others, and is still tried when no
# other can answer (a review read "Circuit open" and saw its calls go on): "tried last".
STATE_WORDS = {
    "closed": "Answering",
    "cooling": "Cooling down (tried last)",
    "open": "Circuit open (tried last)",
    "half_open": "Being tried again",
    "hung": "Not answering (probed until it does)",
}


def target_cells(route: str, target: TargetView, now: float | None = None) -> tuple[str, ...]:
    """One target's row, in `ROUTE_COLUMNS` order (`now`: the wall clock, for when a cool-down
    ends: a clock time stays true between redraws, where "62 s left" did not)."""
    state = STATE_WORDS.get(target.state, target.state)
    if target.cooling_s:
        ends = time.localtime((time.time() if now is None else now) + target.cooling_s)
        after = target.last_error or "failures"
        state += f" until {time.strftime('%H:%M:%S', ends)}, after {after}"
    if target.cooling_for:
        # Their own failures: it rests for them alone, the others' calls still go to it.
        callers = "caller" if target.cooling_for == 1 else "callers"
        state += f"; last for {target.cooling_for} {callers} after their own failures"
    return (
        route,
        target.label,
        "–" if target.weight is None else f"{target.weight:g}",
        "–" if target.share is None else f"{target.share:.0%}",
        _latency_words(target),
        str(target.in_flight),
        state,
    )


def _latency_words(target: TargetView) -> str:
    """Its recent time to first token; "no answer yet" where it was tried and failed (it read
    "untried" after nine failed calls), "untried" only where it never was."""
    if target.latency_s is not None:
        return f"{target.latency_s * 1000:.0f} ms"
    return "no answer yet" if target.failures or target.last_error else "untried"


class RouteTargetsView(QWidget):
    """A table of the routes' targets now, and the targets cooling down outside them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("routeTargets")
        self.heading = QLabel(ROUTES_HEADING)
        self.heading.setObjectName("routeTargetsHeading")
        self.table = QTableWidget(0, len(ROUTE_COLUMNS))
        self.table.setObjectName("routeTargetsTable")
        self.table.setHorizontalHeaderLabels(ROUTE_COLUMNS)
        align_heading(self.table, range(2, 6))  # over the figures
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        for column in range(len(ROUTE_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(ROUTE_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.table)
        self.setVisible(False)

    def show_targets(self, routes: Sequence[RouteView], cooling: Sequence[TargetView]) -> None:
        """Show each route's targets, then the targets cooling down that no route lists."""
        rows = [target_cells(r.pattern, t) for r in routes for t in r.targets]
        listed = {t.label for r in routes for t in r.targets}
        # A target cooling outside every route (a model asked by name) has no route or weight.
        rows += [target_cells(NO_ROUTE, t) for t in cooling if t.label not in listed]
        self.heading.setText(ROUTES_HEADING if routes else RESTING_HEADING)
        self.table.setRowCount(len(rows))
        for number, cells in enumerate(rows):
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)  # the State column's reason is cut where room is short
                self.table.setItem(number, column, item)
        height = self.table.horizontalHeader().sizeHint().height()
        height += self.table.verticalHeader().defaultSectionSize() * min(len(rows), 8) + 4
        self.table.setFixedHeight(height)
        self.setVisible(bool(rows))
