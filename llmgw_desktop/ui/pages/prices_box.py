"""The Prices page's body: every price in use, listed beside the chosen model's details.

The list holds your prices (from config.toml) and, while *Show the bundled prices* is on (as it
is at first), the bundled table's for every model you have not priced: what every cost on the
other pages is counted by. It takes the page's height, the model's name taking what the
figures leave, and never scrolls sideways: on a narrow window the cache prices give way, and
the details have them. Choosing a row puts its model in the details (`price_editor.py`), where
your own price is set or removed. With no price of your own, a line over the list says so and
what to do; with the bundled prices hidden too, the list's place says it.

At 1920 px the box it was (a short list over a row of five fields) filled the top fifth of
the page and left the rest empty.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import Engine, Price, format_usd
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.empty_state import EmptyOr, EmptyState
from llmgw_desktop.ui.kit.figures import ALIGN_FIGURE
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.kit.text import caption
from llmgw_desktop.ui.pages.price_editor import PriceEditor
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["FIGURES", "OPTIONAL", "PRICE_COLUMNS", "PricesBox"]

# Where a price is from beside its model, the figures after it: "From" last sat left-aligned
# against the right-aligned figures, its heading touching "Cache write" (review 41-3, finding
# 11); now the figures end the row, as a column of figures does on every list.
PRICE_COLUMNS = ("Model", "From", "Input", "Output", "Cache read", "Cache write")
FIGURES = range(PRICE_COLUMNS.index("Input"), len(PRICE_COLUMNS))
# Hidden first on a narrow window (the details say every price of the chosen model).
OPTIONAL = tuple(PRICE_COLUMNS.index(name) for name in ("Cache write", "Cache read"))
LIST_SHARE = 0.6  # of the width, for the list; the details take the rest
YOURS = "config.toml"


class PricesBox(QWidget):
    """The prices in use, listed beside the chosen model's details and your price's form."""

    saved = Signal()  # a price was written (or removed)

    def __init__(self, engine: Engine, tasks: UiTasks, *, can_save: bool) -> None:
        super().__init__()
        self.setObjectName("prices")
        self._engine = engine
        self._build_table()
        self.empty_label = caption()
        self.empty_label.setObjectName("pricesEmpty")
        self.bundled_switch = Switch("Show the bundled prices")
        self.bundled_switch.setObjectName("showBundledPrices")
        self.bundled_switch.setToolTip(
            "List the bundled table too: what prices every model you have not priced"
        )
        self.bundled_switch.setChecked(True)
        self.bundled_switch.toggled.connect(lambda _on: self.show_entries())
        self.count_label = QLabel()
        self.count_label.setObjectName("pricesCount")
        set_tone(self.count_label, "muted")
        self._build_database_label(engine)
        self._build_editor(engine, tasks, can_save=can_save)
        self.empty = EmptyState(
            "prices",
            "No prices of your own yet",
            "Every model is priced by the bundled table. Show the bundled prices to list "
            "them, or type a model and its prices beside this list.",
        )
        self.listed = EmptyOr(self.table, self.empty)

        top = QHBoxLayout()
        top.addWidget(self.bundled_switch)
        top.addStretch(1)
        top.addWidget(self.database_label)
        top.addWidget(self.count_label)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addWidget(self.empty_label)
        column.addWidget(MasterDetail(self.listed, self.editor, list_share=LIST_SHARE), 1)
        self.show_entries()

    def _build_table(self) -> None:
        """The prices in use, a model a row (choosing one puts it in the form)."""
        self.table = QTableWidget(0, len(PRICE_COLUMNS))
        self.table.setObjectName("priceTable")
        self.table.setAccessibleName("Prices in use")
        self.table.setHorizontalHeaderLabels(list(PRICE_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, not its cells
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.columns = ColumnFitter(self.table, stretch=0, optional=OPTIONAL)
        align_heading(self.table, FIGURES)
        self.table.itemSelectionChanged.connect(self._edit_selected)

    def _build_database_label(self, engine: Engine) -> None:
        """The maintained database beneath the table: what prices the models the table leaves
        out (a cloud's own price, embeddings), with its version and date; on the list's top
        line, so the list keeps its height."""
        self.database_label = QLabel()
        self.database_label.setObjectName("pricesDatabase")
        set_tone(self.database_label, "muted")
        database = engine.prices.maintained
        self.database_label.setText(
            f"Beneath them: {database.label}" if database is not None else "No price database"
        )
        self.database_label.setToolTip(
            "Models neither you nor the bundled table price are priced by a maintained "
            "database of every provider's prices (each cloud's own, embeddings); a model it "
            "does not know is not priced, and is refused under a hard dollar budget."
        )

    def _build_editor(self, engine: Engine, tasks: UiTasks, *, can_save: bool) -> None:
        """Your price's form, and its parts by the names the page has always had."""
        self.editor = PriceEditor(engine, tasks, can_save=can_save)
        self.editor.saved.connect(self._saved)
        self.model_edit = self.editor.model_edit
        self.edits = self.editor.edits
        self.save_button = self.editor.save_button
        self.remove_button = self.editor.remove_button
        self.current_label = self.editor.current_label
        self.message_label = self.editor.message_label

    def show_entries(self) -> None:
        """List your prices as the engine holds them now (and the bundled ones, when asked)."""
        prices = self._engine.prices
        rows = [(model, price, YOURS) for model, price in prices.user_entries()]
        mine = len(rows)
        bundled = 0
        if self.bundled_switch.isChecked():
            priced = {model for model, _price, _where in rows}
            extra = [(m, p) for m, p in prices.bundled_entries() if m not in priced]
            rows += [(model, price, f"bundled, {prices.revised}") for model, price in extra]
            bundled = len(extra)
        chosen = self._chosen_model()
        # Refilled quietly: a row moving under the selection must not overwrite what is typed.
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for row, (model, price, where) in enumerate(rows):
            for column, text in enumerate(_cells(model, price, where)):
                item = QTableWidgetItem(text)
                if column in FIGURES:
                    item.setTextAlignment(ALIGN_FIGURE)
                self.table.setItem(row, column, item)
        self._choose(chosen)
        self.table.blockSignals(False)
        self.listed.show_empty(not rows)
        self.columns.fit()
        self.count_label.setText(_count(mine, bundled, self.bundled_switch.isChecked()))
        self.empty_label.setText(
            ""
            if mine or not rows
            else f"No prices of your own yet: every model is priced by the bundled table of "
            f"{prices.revised}. Choose one in the list to set your own price over it, or type "
            "another model beside the list."
        )
        self.empty_label.setVisible(bool(self.empty_label.text()))
        self.editor.refresh()

    def _chosen_model(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        return None if item is None else item.text()

    def _choose(self, model: str | None) -> None:
        """Select `model`'s row again after a reload (nothing when it is no longer listed)."""
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if model is not None and item is not None and item.text() == model:
                self.table.selectRow(row)
                break

    def _edit_selected(self) -> None:
        model = self._chosen_model()
        if model is not None:
            self.editor.edit(model)

    def _saved(self) -> None:
        self.show_entries()
        self.saved.emit()


def _cells(model: str, price: Price, where: str) -> tuple[str, ...]:
    return (
        model,
        where,
        format_usd(price.input),
        format_usd(price.output),
        format_usd(price.cache_read),
        format_usd(price.cache_write),
    )


def _count(mine: int, bundled: int, showing_bundled: bool) -> str:
    """`2 of yours · 46 bundled`: what the list holds."""
    yours = f"{mine:,} of yours" if mine else "none of yours"
    return f"{yours} · {bundled:,} bundled" if showing_bundled else yours
