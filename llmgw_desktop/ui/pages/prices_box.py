"""The Settings page's Prices box: your own price per model, over the bundled table.

A person types a model (a name prefix, as the table keys it) and its four prices in USD per
million tokens; "Save price" checks them, writes `[gateway.prices]` in config.toml through the
engine and the next request is priced by it. The box shows what the model is priced at now and
where that price comes from (your config.toml, or the bundled table of a given date), and lists
your entries, each of which can be removed to fall back on the table. With none yet, the list
says so and what to do; *Show the bundled prices* lists the table in use too (pick a row to
set your own price over it). Remove is offered only for a model you priced.
"""

from __future__ import annotations

import logging

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine, EngineError, Price, format_usd
from llmgw_desktop.ui.kit.figures import ALIGN_FIGURE
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.tables import fit_rows
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    Signal,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["PRICE_COLUMNS", "PricesBox"]

log = logging.getLogger(__name__)

PRICE_COLUMNS = ("Model", "Input", "Output", "Cache read", "Cache write", "From")
_FIELDS = (("input", "Input"), ("output", "Output"), ("cache_read", "Cache read"))
TABLE_ROWS_SHOWN = 8  # the list stays short; it scrolls past this many entries


def _usd(value: float) -> str:
    return format_usd(value)


class PricesBox(QGroupBox):
    """Your prices: the list, and an editor for one model."""

    saved = Signal()  # a price was written (or removed)

    def __init__(self, engine: Engine, tasks: UiTasks, *, can_save: bool) -> None:
        super().__init__("Prices (USD per million tokens)")
        self.setObjectName("prices")
        self._engine = engine
        self._tasks = tasks
        self.table = QTableWidget(0, len(PRICE_COLUMNS))
        self.table.setObjectName("priceTable")
        self.table.setHorizontalHeaderLabels(list(PRICE_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table (issue 25)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setShowGrid(False)
        fit_rows(self.table, least=1, most=TABLE_ROWS_SHOWN)
        self.table.itemSelectionChanged.connect(self._edit_selected)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("pricesEmpty")
        self.empty_label.setWordWrap(True)
        set_tone(self.empty_label, "muted")
        self.bundled_switch = Switch("Show the bundled prices")
        self.bundled_switch.setObjectName("showBundledPrices")
        self.bundled_switch.setToolTip(
            "List the bundled table too: what prices every model you have not priced"
        )
        self.bundled_switch.toggled.connect(lambda _on: self.show_entries())

        self.model_edit = QLineEdit()
        self.model_edit.setObjectName("priceModel")
        self.model_edit.setPlaceholderText("model, such as gpt-4o-mini")
        self.model_edit.textChanged.connect(self._show_current)
        self.edits: dict[str, QLineEdit] = {}
        for name, label in (*_FIELDS, ("cache_write", "Cache write")):
            edit = QLineEdit()
            edit.setObjectName(f"price:{name}")
            edit.setPlaceholderText(label + (" (= input)" if name == "cache_write" else ""))
            edit.setToolTip(f"{label}: USD per million tokens")
            edit.returnPressed.connect(self.save)
            self.edits[name] = edit
        self.save_button = QPushButton("Save price")
        self.save_button.setObjectName("savePrice")
        self.save_button.clicked.connect(self.save)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removePrice")
        self.remove_button.setToolTip("Remove your price: the bundled table prices it again")
        self.remove_button.clicked.connect(self.remove)
        for button in (self.save_button, self.remove_button):
            button.setEnabled(can_save)
        self.current_label = QLabel()
        self.current_label.setObjectName("priceNow")
        self.current_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setObjectName("priceMessage")
        self.message_label.setWordWrap(True)

        editor = QHBoxLayout()
        editor.addWidget(self.model_edit, 3)  # a model name is longer than a price
        for edit in self.edits.values():
            editor.addWidget(edit, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.current_label, 1)
        column = QGridLayout(self)
        column.addWidget(self.bundled_switch, 0, 0)
        column.addWidget(self.empty_label, 1, 0)
        column.addWidget(self.table, 2, 0)
        column.addLayout(editor, 3, 0)
        column.addLayout(buttons, 4, 0)
        column.addWidget(self.message_label, 5, 0)
        column.setRowStretch(6, 1)  # together at the top, not spread over the page
        self._can_save = can_save
        self.model_edit.textChanged.connect(lambda _text: self._enable())
        if not can_save:
            self.message_label.setText("This window cannot write the settings file.")
        self.show_entries()

    def show_entries(self) -> None:
        """List your prices as the engine holds them now (and the bundled ones, when asked)."""
        prices = self._engine.prices
        rows = [(model, price, "config.toml") for model, price in prices.user_entries()]
        if self.bundled_switch.isChecked():
            priced = {model for model, _price, _where in rows}
            rows += [
                (model, price, f"bundled, {prices.revised}")
                for model, price in prices.bundled_entries()
                if model not in priced
            ]
        self.table.setRowCount(len(rows))
        for row, (model, price, where) in enumerate(rows):
            cells = (
                model,
                _usd(price.input),
                _usd(price.output),
                _usd(price.cache_read),
                _usd(price.cache_write),
                where,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if 0 < column < len(PRICE_COLUMNS) - 1:
                    item.setTextAlignment(ALIGN_FIGURE)
                self.table.setItem(row, column, item)
        mine = bool(prices.user_entries())
        self.empty_label.setText(
            ""
            if mine
            else f"No prices of your own yet: every model is priced by the bundled table of "
            f"{prices.revised}. Type a model and its prices below to set your own, or show "
            "the bundled prices and pick one."
        )
        self.empty_label.setVisible(not mine)
        self.table.setVisible(bool(rows))
        self._show_current()
        self._enable()

    def _enable(self) -> None:
        """Save when the file can be written; Remove only for a model you priced."""
        self.save_button.setEnabled(self._can_save)
        model = self.model_edit.text().strip()
        self.remove_button.setEnabled(
            self._can_save and bool(model) and self._engine.prices.user_price(model) is not None
        )

    def _edit_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        item = self.table.item(rows[0].row(), 0)
        if item is None:
            return
        model = item.text()
        price = self._engine.prices.user_price(model)
        self.model_edit.setText(model)
        if price is not None:
            for name, edit in self.edits.items():
                edit.setText(f"{getattr(price, name):g}")

    def _show_current(self) -> None:
        model = self.model_edit.text().strip()
        if not model:
            revised = self._engine.prices.revised
            self.current_label.setText(f"Other models: the bundled table of {revised}.")
            return
        found = self._engine.prices.priced(model)
        if found is None:
            self.current_label.setText(f"{model}: not priced now (its cost shows as —).")
            return
        p = found.price
        where = (
            "your price in config.toml"
            if found.source == "config"
            else f"the bundled table of {self._engine.prices.revised}"
        )
        self.current_label.setText(
            f"{model} now: {_usd(p.input)} in, {_usd(p.output)} out, {_usd(p.cache_read)} "
            f"cache read, {_usd(p.cache_write)} cache write (from {where}, `{found.prefix}`)."
        )

    def typed_price(self) -> Price:
        """The price typed in the editor.

        Raises:
            ValueError: a field is empty or not a number (the message names the field).
        """
        values: dict[str, float] = {}
        for name, edit in self.edits.items():
            text = edit.text().strip().lstrip("$").replace(",", "")
            if not text and name == "cache_write":
                values[name] = values["input"]
                continue
            try:
                values[name] = float(text)
            except ValueError:
                label = edit.toolTip().split(":")[0]
                raise ValueError(f"{label}: {text or 'empty'} is not a number") from None
        return Price(values["input"], values["output"], values["cache_read"], values["cache_write"])

    def save(self) -> None:
        """Check what was typed and save it (in the background); a bad entry saves nothing."""
        model = self.model_edit.text().strip()
        if not model:
            self._say("Type the model to price first. Nothing was saved.", error=True)
            return
        try:
            price = self.typed_price()
        except ValueError as exc:
            self._say(f"{exc}. Nothing was saved.", error=True)
            return
        self._start(model, price)

    def remove(self) -> None:
        """Remove your price of the model typed (the bundled table prices it again)."""
        model = self.model_edit.text().strip()
        if self._engine.prices.user_price(model) is None:
            self._say(f"{model or 'That model'} has no price of yours. Nothing was removed.")
            return
        self._start(model, None)

    def _start(self, model: str, price: Price | None) -> None:
        self.save_button.setEnabled(False)
        self.remove_button.setEnabled(False)
        self._say(f"Saving the price of {model}…")
        self._tasks.spawn(self.write(model, price), what=f"save the price of {model}")

    async def write(self, model: str, price: Price | None) -> None:
        """Save `price` (None: remove) for `model` through the engine."""
        try:
            kept = await self._engine.price_settings.set_price(LOCAL_CALLER, model, price)
        except (EngineError, OSError, ValueError) as exc:
            log.warning("could not save the price of %s: %s", model, exc)
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            self._say(f"{message}. Nothing was saved.", error=True)
            return
        finally:
            self._enable()
        done = "removed" if price is None else "saved"
        where = "to config.toml" if kept else "for this run only (no settings file)"
        self._say(f"Price of {model.strip().lower()} {done} {where}: used from the next request.")
        self.show_entries()
        self.saved.emit()

    def _say(self, text: str, *, error: bool = False) -> None:
        set_tone(self.message_label, "error" if error else "")
        self.message_label.setText(text)
