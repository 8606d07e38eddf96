"""Budgets: every spending limit with what its period spent, how close it is, and when it resets.

A list with the chosen budget's details beside it. The list has one row per budget: those of
`[[budgets]]` in their order, then the gateway keys' own budgets (kept with the keys; listed
here so "all my limits" is one page, changed on the Access keys page). Each row has its scope,
spend, limits with their period (`budget_words.limits_words`, as the Access keys page says
them), a bar coloured by state (the accent under the soft limit, amber past it or at `NEAR` of
the hard limit, red once the hard limit refuses calls) with its percentage beside it in the text
colour, the state as a status (glyph and word, so colour is never the only signal) and the local
time the period resets. The figures are the engine's running totals (`engine.budgets.statuses()`
and `key_statuses()`, in memory: no query), redrawn on a short timer while the page is shown. A
token budget counts every token, cache reads and writes included; how many of its tokens those
were is read from the recorder's rows (`engine.budgets.cache_parts`, off the loop, every
`CACHE_EVERY` redraws) and said under the total ("8,025 tokens" over "incl. 5,000 cache reads",
a second line that takes no width from the other columns), since the Agents page lists input and
output only.

*Add budget…* (the page's head) and *Change…* (the details) open a dialog; the whole new list
is checked as `config.toml`'s `[[budgets]]` is at start-up (the same messages, naming the
budget and the field: shown in the dialog, which stays open), then saved to the file and
counted against at once (operator only: the desk is the operator).
"""

from __future__ import annotations

import logging
from typing import Any

from llmgw_desktop.engine.api import (
    LOCAL_CALLER,
    BudgetProblem,
    BudgetStatus,
    CacheParts,
    format_amount,
    format_share,
    parse_budgets,
)
from llmgw_desktop.ui.badge import status_cell
from llmgw_desktop.ui.budget_words import (
    KEY_PREFIX,
    budget_name,
    is_key_budget,
    lane_words,
    limits_words,
    row_name,
    spent_note,
    state_kind,
    state_words,
)
from llmgw_desktop.ui.design import page_margins
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.confirm import ask_first
from llmgw_desktop.ui.kit.empty_state import EmptyOr, EmptyState
from llmgw_desktop.ui.kit.figures import set_figure
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.page_head import PageHead, action_button
from llmgw_desktop.ui.kit.spend_bar import BAR_ROLE, SpendBarDelegate, spend_tone
from llmgw_desktop.ui.kit.tables import ROW_HEIGHT, align_heading
from llmgw_desktop.ui.kit.two_line import TwoLineDelegate, two_line_height
from llmgw_desktop.ui.navigator import other_page
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.budget_detail import BudgetDetail
from llmgw_desktop.ui.pages.budget_dialog import BudgetDialog
from llmgw_desktop.ui.pages.keys import KeysPage
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QIcon,
    QLabel,
    QMessageBox,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["COLUMNS", "BudgetsPage", "format_limits"]

log = logging.getLogger(__name__)

REFRESH_MS = 2000
CACHE_EVERY = 5  # redraws between reads of the token budgets' cache shares (10 s)
COLUMNS = ("Budget", "Spent", "Limits", "Used", "State", "Resets")
BAR_COLUMN = COLUMNS.index("Used")
SPENT = COLUMNS.index("Spent")
# Given up first when the list is narrow (the details show each).
# The state is also the bar's glyph (and the details' badge), so its words give way last.
OPTIONAL = ("Resets", "Limits", "Spent", "State")
# The list shows Spent (with its cache note), Limits, Used and State beside the details at
# 1920 px; at 0.6 the limits with their period gave way.
LIST_SHARE = 0.64
KIND_ROLE = Qt.ItemDataRole.UserRole + 12  # a row's name cell: whether it is a key's budget


def format_limits(status: BudgetStatus) -> str:
    """`soft $4.00 · hard $5.00 per day`, either limit left out when not set."""
    b = status.budget
    return limits_words(b.unit, b.soft, b.hard, b.period)


class BudgetsPage(Page):
    KEY = "budgets"
    TITLE = "Budgets"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.statuses: list[BudgetStatus] = []
        self.dialog: BudgetDialog | None = None
        self.confirm: QMessageBox | None = None
        head = PageHead(
            "Budgets",
            "Spending limits per agent, project, OAuth client or gateway key, by this "
            "computer's calendar day or month.",
        )
        self.add_button = head.add_action(
            action_button("Add budget…", "addBudget", icon="add", primary=True)
        )
        self.add_button.clicked.connect(self.open_add)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("budgetsTable")
        self.table.setAccessibleName("Budgets")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        align_heading(self.table, [SPENT])  # over its right-aligned figures
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setItemDelegateForColumn(BAR_COLUMN, SpendBarDelegate(self.table))
        # A token budget's share of cache reads and writes, under its spend.
        self.notes: dict[int, str] = {}  # row -> the line under its Spent
        self.table.setItemDelegateForColumn(
            SPENT,
            TwoLineDelegate(
                lambda index: self.notes.get(index.row(), ""),
                self.table,
                measure=lambda index: self.notes.get(index.row(), ""),
            ),
        )
        # The name is never cut (a cut name read "a… n…"); the other columns give way first.
        self.columns = ColumnFitter(
            self.table, stretch=0, optional=[COLUMNS.index(c) for c in OPTIONAL]
        )
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.detail = BudgetDetail()
        self.detail.change_button.clicked.connect(self.open_change)
        self.detail.remove_button.clicked.connect(self.confirm_remove)
        self.detail.keys_button.clicked.connect(self.open_on_keys)
        empty_add = action_button("Add budget…", "addBudgetEmpty", icon="add", primary=True)
        empty_add.clicked.connect(self.open_add)
        self.body = EmptyOr(
            MasterDetail(self.table, self.detail, list_share=LIST_SHARE),
            EmptyState(
                "budgets",
                "No budgets yet",
                "Cap what an agent, a project, an OAuth client or everything may spend a day "
                "or a month, in dollars or tokens. A gateway key's own budget is set on the "
                "Access keys page and listed here too.",
                empty_add,
            ),
        )
        self.message_label = QLabel()
        self.message_label.setObjectName("budgetsMessage")
        self.message_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        page_margins(layout)
        layout.addWidget(head)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.message_label)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._saving = False
        # Of each token budget's tokens (by its key and lane), the cache reads and writes.
        self.cache: dict[tuple[str, str], CacheParts] = {}
        self._redraws = 0
        self._reading_cache = False
        self.refresh()

    # -- showing -------------------------------------------------------------------------

    def page_shown(self) -> None:
        self._timer.start()
        self._redraws = 0  # the cache shares are read at once
        self.refresh()

    def read_cache_parts(self) -> None:
        """Read how many of each token budget's tokens were cache reads and writes (off the
        loop); the rows say so when it lands."""
        statuses = [s for s in self.statuses if s.budget.unit == "tokens"]
        if statuses and not self._reading_cache:
            self._reading_cache = self.tasks.spawn(
                self._load_cache(statuses), what="read the budgets' cache tokens"
            )

    async def _load_cache(self, statuses: list[BudgetStatus]) -> None:
        try:
            parts = await self.engine.budgets.cache_parts(statuses)
        finally:
            self._reading_cache = False
        self.cache = {(s.budget.key, s.lane): p for s, p in zip(statuses, parts, strict=True)}
        self.refresh()

    def page_hidden(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        """Redraw every row from the engine's running totals (in memory, no query); every
        `CACHE_EVERY` redraws while shown, read the token budgets' cache shares again."""
        budgets = self.engine.budgets
        statuses = budgets.statuses() + budgets.key_statuses()
        self.statuses = statuses
        if self._timer.isActive() and self._redraws % CACHE_EVERY == 0:
            self.read_cache_parts()
        self._redraws += 1
        self.body.show_empty(not statuses)
        self.add_button.setVisible(bool(statuses))  # else the empty state offers it
        self.add_button.setEnabled(not self._saving)
        selected = self.selected_row()
        if self.table.rowCount() != len(statuses):
            self.table.setRowCount(len(statuses))
        self.notes = {}
        for row, status in enumerate(statuses):
            self._fill_row(row, status)
        contents = tuple((s.budget.key, s.spent, self.notes.get(i)) for i, s in enumerate(statuses))
        self.columns.fit(contents=contents)
        # Rows of one height: two lines each while a shown Spent cell has a second one.
        two = any(self.notes.values()) and not self.table.isColumnHidden(SPENT)
        spacing = self.table.fontMetrics().lineSpacing()
        height = two_line_height(spacing) if two else ROW_HEIGHT
        if self.table.verticalHeader().defaultSectionSize() != height:
            self.table.verticalHeader().setDefaultSectionSize(height)
        if statuses:
            wanted = selected if selected is not None and selected < len(statuses) else 0
            if self.selected_row() != wanted:
                self.table.selectRow(wanted)  # the first budget's details, never an empty pane
        self._show_selected()

    def _fill_row(self, row: int, status: BudgetStatus) -> None:
        b = status.budget
        texts = {
            0: row_name(status, self.statuses) + lane_words(status),
            COLUMNS.index("Limits"): format_limits(status),
            COLUMNS.index("Resets"): status.reset_text(),
        }
        items: list[QTableWidgetItem] = []
        for column in range(len(COLUMNS)):
            item = self.table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, column, item)
            items.append(item)
            text = texts.get(column)
            if text is not None and item.text() != text:
                item.setText(text)
                item.setToolTip(text)
        name = items[0]
        of_key = is_key_budget(status)
        if name.data(KIND_ROLE) != of_key:  # a key's budget: the key's glyph and a hint
            name.setData(KIND_ROLE, of_key)
            name.setIcon(glyph("keys") if of_key else QIcon())
        if of_key:
            name.setToolTip(f"{name.text()}: the key's own budget, changed on the Access keys page")
        self.notes[row] = spent_note(status, self.cache.get((b.key, status.lane)))
        set_figure(items[SPENT], format_amount(b.unit, status.spent))
        items[SPENT].setToolTip(f"{items[SPENT].text()}, {self.notes[row]}".rstrip(", "))
        used = items[BAR_COLUMN]
        percent = format_share(status.fraction, short=True)  # beside its bar, kept narrow
        if used.text() != percent:
            used.setText(percent)
        used.setData(BAR_ROLE, (status.fraction, spend_tone(status.spent, b.hard, b.soft)))
        used.setToolTip(f"{status.burn_down()} ({state_words(status)})")
        state = items[COLUMNS.index("State")]
        status_cell(state, state_kind(status), state_words(status))
        used.setIcon(state.icon())  # the state's glyph beside the bar, too

    def select_budget(self, key: str) -> bool:
        """Choose the budget whose key is `key` (`Budget.key`: its scope, unit and period, as a
        notice names it); False when none has it (removed since), the choice left as it is."""
        self.refresh()
        for row, status in enumerate(self.statuses):
            if status.budget.key == key:
                self.table.selectRow(row)
                return True
        return False

    def selected_row(self) -> int | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return min(rows) if rows else None

    def _show_selected(self) -> None:
        row = self.selected_row()
        if row is None or row >= len(self.statuses):
            return
        status = self.statuses[row]
        self.detail.show_budget(
            status,
            can_save=self.engine.budgets.can_save,
            cache=self.cache.get((status.budget.key, status.lane)),
            name=row_name(status, self.statuses),
        )
        editable = not self._saving
        self.detail.change_button.setEnabled(editable)
        self.detail.remove_button.setEnabled(editable)

    def _configured_row(self) -> int | None:
        """The selected row's place in `[[budgets]]`, or None (none chosen, or a key's)."""
        row = self.selected_row()
        if row is None or row >= len(self.statuses) or is_key_budget(self.statuses[row]):
            return None
        return row

    # -- editing -------------------------------------------------------------------------

    def open_add(self) -> BudgetDialog:
        """The dialog for a new budget."""
        return self._open_dialog("Add a budget", replace_row=None)

    def open_change(self) -> BudgetDialog | None:
        """The dialog for the chosen budget, filled in (None for a key's budget)."""
        row = self._configured_row()
        if row is None:
            return None
        dialog = self._open_dialog(f"Change budget {budget_name(self.statuses[row])}", row)
        dialog.show_table(self.engine.budgets.tables()[row])
        return dialog

    def _open_dialog(self, title: str, replace_row: int | None) -> BudgetDialog:
        dialog = BudgetDialog(title, self)
        dialog.save_button.clicked.connect(lambda: self.submit(dialog, replace_row=replace_row))
        self.dialog = dialog
        dialog.open()
        return dialog

    def open_on_keys(self) -> None:
        """The chosen key budget's key, on the Access keys page (where its budget is changed)."""
        row = self.selected_row()
        found = other_page(self, KeysPage.KEY, KeysPage)
        if row is None or found is None:
            return
        navigator, keys = found
        keys.select_key(self.statuses[row].budget.value.removeprefix(KEY_PREFIX))
        navigator.show_page(KeysPage.KEY)

    def submit(self, dialog: BudgetDialog, *, replace_row: int | None) -> None:
        """Add the dialog's budget (or put it in place of row `replace_row`), check the whole
        list as the file's would be, then save it; a refusal stays in the dialog."""
        tables = self.engine.budgets.tables()
        if replace_row is None:
            tables.append(dialog.form_table())
        else:
            tables[replace_row] = dialog.form_table()
        try:
            parse_budgets(tables)
        except BudgetProblem as exc:
            dialog.show_problem(f"{exc}. Nothing was saved.")
            return
        dialog.accept()
        self.save(tables)

    def confirm_remove(self) -> None:
        """Ask before removing the chosen budget (Cancel is the default)."""
        row = self._configured_row()
        if row is None:
            return
        self.confirm = ask_first(
            self,
            "confirmRemoveBudget",
            "remove budget?",
            f"Remove the budget {budget_name(self.statuses[row])}?\n\nCalls it covers are no "
            "longer counted against it; config.toml loses its [[budgets]] table.",
            "Remove",
            self.remove_selected,
            icon=QMessageBox.Icon.Question,
        )

    def remove_selected(self) -> None:
        row = self._configured_row()
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
        self.refresh()
        where = "config.toml" if self.engine.budgets.can_save else "this session only"
        # Each counts what its period spent so far, from its start, not from this save.
        self._say(f"Budgets saved ({where}).")

    def _say(self, text: str, *, error: bool = False) -> None:
        set_tone(self.message_label, "error" if error else "")
        self.message_label.setText(text)
