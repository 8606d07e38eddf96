"""Budgets: each spending limit with what its period spent, how close it is, and when it resets.

One row per budget, in the order of `[[budgets]]`: its scope, period, spend, soft and hard
limits, a bar coloured by state (the theme's highlight while under the soft limit, amber past
it, red once the hard limit refuses calls) and the local time the period resets. The figures
are the engine's running totals (`engine.budgets.statuses()`, in memory: no query), redrawn
on a short timer while the page is shown.

Below the table, a form adds a budget, changes the selected one or removes it. The whole new
list is checked as `config.toml`'s `[[budgets]]` is at start-up (the same messages, naming
the budget and the field), then saved to the file and counted against at once (operator only:
the desk is the operator).
"""

from __future__ import annotations

import logging
from typing import Any

from llmgw_desktop.engine.api import (
    LOCAL_CALLER,
    BudgetProblem,
    BudgetStatus,
    format_amount,
    parse_budgets,
)
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import error_colour, warning_colour

__all__ = ["COLUMNS", "BudgetsPage", "bar_colour", "bar_style", "format_limits"]

log = logging.getLogger(__name__)

REFRESH_MS = 2000
COLUMNS = ("Budget", "Period", "Spent", "Limits", "Used", "State", "Resets")
BAR_COLUMN = COLUMNS.index("Used")
LIMITS_COLUMN = COLUMNS.index("Limits")
STATE_WORDS = {"ok": "ok", "soft": "past soft limit", "exceeded": "exceeded: refusing calls"}
SCOPE_KINDS = ("global", "agent", "project", "principal")


def bar_colour(state: str) -> str:
    """The bar's colour for a state: the theme's highlight while under the soft limit."""
    if state == "exceeded":
        return error_colour()
    if state == "soft":
        return warning_colour()
    return "palette(highlight)"


def bar_style(state: str) -> str:
    # Every bar drawn by the same style sheet: a sheet on the chunk alone switches that bar
    # to another renderer (its text moves to the corner), so the rows would not match.
    return (
        "QProgressBar { border: 1px solid palette(mid); border-radius: 3px;"
        " text-align: center; }"
        f" QProgressBar::chunk {{ background-color: {bar_colour(state)}; }}"
    )


def format_limits(status: BudgetStatus) -> str:
    """`soft $4.00 · hard $5.00`, either part left out when not set."""
    b = status.budget
    parts = [
        f"{name} {format_amount(b.unit, limit)}"
        for name, limit in (("soft", b.soft), ("hard", b.hard))
        if limit is not None
    ]
    return " · ".join(parts)


class BudgetsPage(Page):
    KEY = "budgets"
    TITLE = "Budgets"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.intro_label = QLabel(
            "Spending limits per agent, per project or for everything, by this computer's "
            "calendar day or month. Past a soft limit the tray says so once; at a hard limit "
            "new calls are refused with budget_exceeded until the period resets. A hard "
            "dollar limit also refuses a call it cannot price in advance (a model without a "
            "listed price, or a CLI's unnamed default model): use a token limit for those."
        )
        self.intro_label.setWordWrap(True)
        self.empty_label = QLabel(
            "No budgets yet: add one below, or as [[budgets]] in config.toml."
        )
        self.empty_label.setObjectName("budgetsEmpty")

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("budgetsTable")
        self.table.setAccessibleName("Budgets")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # The budget's name is what a row is about: it keeps its whole text. The limits take
        # what is left and wrap at their spaces ("soft … ·" over "hard …") in a narrow window
        # (1024x700 squeezed a stretched name column to "a… n…").
        header.setSectionResizeMode(LIMITS_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(BAR_COLUMN, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(BAR_COLUMN, 120)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._fill_form)

        self.scope_box = QComboBox()
        self.scope_box.setObjectName("budgetScope")
        self.scope_box.addItems(list(SCOPE_KINDS))
        self.scope_edit = QLineEdit()
        self.scope_edit.setObjectName("budgetScopeValue")
        self.scope_edit.setPlaceholderText("agent, project or principal (oauth:<id>, *)")
        self.scope_edit.setEnabled(False)
        self.scope_edit.setMinimumWidth(160)
        self.scope_box.currentTextChanged.connect(
            lambda kind: self.scope_edit.setEnabled(kind != "global")
        )
        self.unit_box = QComboBox()
        self.unit_box.setObjectName("budgetUnit")
        self.unit_box.addItems(["usd", "tokens"])
        self.period_box = QComboBox()
        self.period_box.setObjectName("budgetPeriod")
        self.period_box.addItems(["daily", "monthly"])
        self.soft_edit = QLineEdit()
        self.soft_edit.setObjectName("budgetSoft")
        self.soft_edit.setPlaceholderText("soft (optional)")
        self.hard_edit = QLineEdit()
        self.hard_edit.setObjectName("budgetHard")
        self.hard_edit.setPlaceholderText("hard (optional)")
        for edit in (self.soft_edit, self.hard_edit):
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("hard (optional)") + 16)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda: self.submit(replace_row=None))
        self.change_button = QPushButton("Change selected")
        self.change_button.clicked.connect(lambda: self.submit(replace_row=self.selected_row()))
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.clicked.connect(self.remove_selected)
        # Two rows, so the page's narrowest width stays under the window's smallest size.
        form = QHBoxLayout()
        for widget in (
            self.scope_box,
            self.scope_edit,
            self.unit_box,
            self.period_box,
            self.soft_edit,
            self.hard_edit,
        ):
            form.addWidget(widget)
        form.setStretch(1, 2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.add_button, self.change_button, self.remove_button):
            buttons.addWidget(button)
        self.message_label = QLabel()
        self.message_label.setObjectName("budgetsMessage")
        self.message_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro_label)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._saving = False
        self.refresh()
        self._fill_form()

    # -- showing -------------------------------------------------------------------------

    def page_shown(self) -> None:
        self.refresh()
        self._timer.start()

    def page_hidden(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        """Redraw every row from the engine's running totals (in memory, no query)."""
        statuses = self.engine.budgets.statuses()
        self.empty_label.setVisible(not statuses)
        selected = self.selected_row()
        if self.table.rowCount() != len(statuses):
            self.table.setRowCount(len(statuses))
        for row, status in enumerate(statuses):
            self._fill_row(row, status)
        if selected is not None and selected < len(statuses):
            self.table.selectRow(selected)
        editable = not self._saving
        has_row = self.selected_row() is not None
        self.add_button.setEnabled(editable)
        self.change_button.setEnabled(editable and has_row)
        self.remove_button.setEnabled(editable and has_row)

    def _fill_row(self, row: int, status: BudgetStatus) -> None:
        b = status.budget
        texts = {
            0: b.label,
            1: b.period,
            2: format_amount(b.unit, status.spent),
            3: format_limits(status),
            5: STATE_WORDS[status.state],
            6: status.reset_text(),
        }
        for column, text in texts.items():
            item = self.table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, column, item)
            if item.text() != text:
                item.setText(text)
                item.setToolTip(text)
            if column == 2:  # a figure: right-aligned, so the digits line up
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar = self.table.cellWidget(row, BAR_COLUMN)
        if not isinstance(bar, QProgressBar):
            bar = QProgressBar()
            bar.setRange(0, 100)
            self.table.setCellWidget(row, BAR_COLUMN, bar)
        percent = round(status.fraction * 100)
        bar.setValue(min(100, percent))
        bar.setFormat(f"{percent}%")
        bar.setProperty("state", status.state)
        sheet = bar_style(status.state)
        if bar.styleSheet() != sheet:
            bar.setStyleSheet(sheet)
        bar.setToolTip(status.burn_down())

    # -- editing -------------------------------------------------------------------------

    def selected_row(self) -> int | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return min(rows) if rows else None

    def _fill_form(self) -> None:
        row = self.selected_row()
        tables = self.engine.budgets.tables()
        has_row = row is not None and row < len(tables)
        self.change_button.setEnabled(has_row and not self._saving)
        self.remove_button.setEnabled(has_row and not self._saving)
        if row is None or not has_row:
            return
        table = tables[row]
        kind, _, value = str(table["scope"]).partition("=")
        self.scope_box.setCurrentText(kind)
        self.scope_edit.setText(value)
        self.unit_box.setCurrentText(str(table["unit"]))
        self.period_box.setCurrentText(str(table["period"]))
        self.soft_edit.setText(_number_text(table.get("soft")))
        self.hard_edit.setText(_number_text(table.get("hard")))

    def form_table(self) -> dict[str, Any]:
        """The budget the form describes, as a `[[budgets]]` table (not checked yet)."""
        kind = self.scope_box.currentText()
        scope = kind if kind == "global" else f"{kind}={self.scope_edit.text().strip()}"
        table: dict[str, Any] = {
            "scope": scope,
            "unit": self.unit_box.currentText(),
            "period": self.period_box.currentText(),
        }
        for name, edit in (("soft", self.soft_edit), ("hard", self.hard_edit)):
            text = edit.text().strip().lstrip("$").replace(",", "").replace("_", "")
            if text:
                try:
                    table[name] = float(text) if "." in text or "e" in text.lower() else int(text)
                except ValueError:
                    table[name] = text  # the check names it: "soft: 'abc' is not a number"
        return table

    def submit(self, *, replace_row: int | None) -> None:
        """Add the form's budget (or put it in place of row `replace_row`), check the whole
        list as the file's would be, then save it."""
        tables = self.engine.budgets.tables()
        if replace_row is None:
            tables.append(self.form_table())
        else:
            tables[replace_row] = self.form_table()
        self.save(tables)

    def remove_selected(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        tables = self.engine.budgets.tables()
        del tables[row]
        self.save(tables)

    def save(self, tables: list[dict[str, Any]]) -> None:
        """Check `tables` with the file's own checks; write them in the background."""
        try:
            parse_budgets(tables)
        except BudgetProblem as exc:
            self._say(f"{exc}. Nothing was saved.", error=True)
            return
        self._saving = True
        self.refresh()
        self._say("Saving the budgets…")
        self.tasks.spawn(self.write(tables), what="save the budgets")

    async def write(self, tables: list[dict[str, Any]]) -> None:
        try:
            await self.engine.budgets.replace(LOCAL_CALLER, tables)
        except (BudgetProblem, OSError, RuntimeError, ValueError) as exc:
            log.warning("could not save the budgets: %s", exc)
            self._say(f"The budgets could not be saved: {exc}", error=True)
            return
        finally:
            self._saving = False
        self.table.clearSelection()
        self.refresh()
        where = "config.toml" if self.engine.budgets.can_save else "this session only"
        self._say(f"Budgets saved ({where}); they count from now.")

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message_label.setStyleSheet(f"color: {error_colour()};" if error else "")
        self.message_label.setText(text)


def _number_text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
