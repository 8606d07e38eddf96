"""The Providers page's routes over several providers: each target's share, latency and
cool-down, and any other target cooling down now.

A small widget of its own, so the page's layout can place it where it likes: the page hands it
the engine's figures (`providers.routes()`, `providers.cooling()`) and the provider rows'
verdicts at each refresh, and it hides itself while no route lists targets and nothing cools
down. The figures are this process's, as `GET /v1/providers` gives them: after a restart the
balancer knows nothing of a target while its provider's health is read back from the recorder,
so a target its balancer has nothing against reads its provider's verdict, never "Answering"
beside a provider row saying "Failing". A rest shown with the time it ends asks for a redraw
when that time comes (`restEnded`): the page redraws on events and every 15 s, and a rest's
end is neither.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from llmgw_desktop.engine.api import HUNG_OUTCOME, RouteView, TargetView, failure_words
from llmgw_desktop.ui.attention import ProviderVerdict
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.qt import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)

__all__ = [
    "NO_ROUTE",
    "RESTING_HEADING",
    "ROUTE_COLUMNS",
    "RouteTargetsView",
    "target_cells",
    "target_state",
]

ROUTE_COLUMNS = ("Route", "Target", "Weight", "Share", "Latency", "In flight", "State")
# The Route cell of a target in no route, asked for by its own name (a review read an empty
# Route and Weight as something missing, and then "(asked by name)" as jargon).
NO_ROUTE = "not in a route"
# The heading says what the table holds: with no route configured, it holds only models
# resting after their failures (a review saw "Routes over several providers" above no route).
ROUTES_HEADING = "Routes over several providers"
RESTING_HEADING = "Models resting after failures"
# The words of a target resting until a time; the wire's are `engine/circuit.CircuitState`'s. A
# target cooling down or with its circuit open goes behind the others, and is still tried when
# no other can answer (a review read "Circuit open" and saw its calls go on): "tried last".
RESTING_WORDS = {
    "cooling": "Cooling down (tried last)",
    "open": "Circuit open (tried last)",
}
HUNG_WORDS = "Not answering (probed until it does)"
# Half open: its rest is over, and one call at a time tries it. "Being tried again" was read
# with no call on its way to it: the words say which it is. Until a call goes to it, it takes
# its place in the route as before; while one does, the others pass it over.
NEXT_CALL_TRIES = "its next call tries it again"
CALL_TRYING = "a call is trying it again (tried last until that call ends)"
# The Latency of a target with no answer timed lately (this process's figures alone).
NO_RECENT_ANSWER = "no recent answer"
# A moment after a rest's end before the page is asked to redraw: the engine's clock has
# passed it by then.
REST_END_MARGIN_MS = 250


def target_state(
    target: TargetView, verdict: ProviderVerdict | None = None, now: float | None = None
) -> str:
    """The State cell of one target: the one place its state becomes words (`verdict`: its
    provider's health verdict, as the provider rows below say it, None where nothing is wrong;
    `now`: the wall clock, for when a rest ends: a clock time stays true between redraws,
    where "62 s left" did not)."""
    state = target.state
    if state == HUNG_OUTCOME:
        words = HUNG_WORDS
    elif state in RESTING_WORDS:
        words = RESTING_WORDS[state]
        if target.cooling_s:
            ends = time.localtime((time.time() if now is None else now) + target.cooling_s)
            words += f" until {time.strftime('%H:%M:%S', ends)}"
        words += f", after {failure_words(target.last_error)}"
    elif state == "half_open":
        tries = CALL_TRYING if target.trial else NEXT_CALL_TRIES
        words = f"Rest over after {failure_words(target.last_error)}: {tries}"
    elif state != "closed":
        words = state
    elif verdict is not None and verdict.failing and target.latency_s is None:
        # No answer of its own lately (after a restart the balancer knows nothing of it) and
        # its provider is failing: the provider row's words, not "Answering" beside them. One
        # that answered lately is answering, whatever its provider's other models do.
        words = f"{verdict.status}, as its provider: {verdict.why}"
    elif target.failures:
        # Too few failures in a row to rest it: it takes its turn, but is not answering.
        after = failure_words(target.last_error)
        words = f"Taking its turn after {after} ({target.failures} in a row)"
    else:
        words = "Answering"
    if target.cooling_for:
        # Their own failures: it rests for them alone, the others' calls still go to it.
        callers = "caller" if target.cooling_for == 1 else "callers"
        words += f"; last for {target.cooling_for} {callers} after their own failures"
    return words


def target_cells(
    route: str,
    target: TargetView,
    now: float | None = None,
    verdict: ProviderVerdict | None = None,
) -> tuple[str, ...]:
    """One target's row, in `ROUTE_COLUMNS` order (`now`, `verdict`: as `target_state`)."""
    return (
        route,
        target.label,
        "–" if target.weight is None else f"{target.weight:g}",
        "–" if target.share is None else f"{target.share:.0%}",
        _latency_words(target),
        str(target.in_flight),
        target_state(target, verdict, now),
    )


def _latency_words(target: TargetView) -> str:
    """Its recent time to first token, as this process measured it: none since the app
    started, or none for a few minutes (the figure is forgotten then), is "no recent answer".
    It read "untried" beside dozens of recorded calls after a restart, and after nine failed
    calls."""
    if target.latency_s is not None:
        return f"{target.latency_s * 1000:.0f} ms"
    return NO_RECENT_ANSWER


class RouteTargetsView(QWidget):
    """A table of the routes' targets now, and the targets cooling down outside them."""

    # The soonest rest the table shows has ended: its figures are to be read again.
    restEnded = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rest_end = QTimer(self)
        self._rest_end.setSingleShot(True)
        self._rest_end.timeout.connect(self.restEnded.emit)
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

    def show_targets(
        self,
        routes: Sequence[RouteView],
        cooling: Sequence[TargetView],
        verdicts: Mapping[str, ProviderVerdict] | None = None,
    ) -> None:
        """Show each route's targets, then the targets cooling down that no route lists
        (`verdicts`: the provider rows' health verdicts, by gateway provider id)."""
        verdicts = verdicts or {}
        now = time.time()
        listed = {t.label for r in routes for t in r.targets}
        # A target cooling outside every route (a model asked by name) has no route or weight.
        shown = [(r.pattern, t) for r in routes for t in r.targets]
        shown += [(NO_ROUTE, t) for t in cooling if t.label not in listed]
        rows = [target_cells(r, t, now, verdicts.get(t.provider)) for r, t in shown]
        self._redraw_when_rested([t for _r, t in shown])
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

    def _redraw_when_rested(self, targets: Sequence[TargetView]) -> None:
        """Ask for a redraw when the soonest rest shown ends, so no "until" it shows is past."""
        ends = [t.cooling_s for t in targets if t.cooling_s and t.state in RESTING_WORDS]
        if not ends:
            self._rest_end.stop()
            return
        self._rest_end.start(int(min(ends) * 1000) + REST_END_MARGIN_MS)
