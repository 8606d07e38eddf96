"""The Prices page's details: one model's price now, and your own price for it.

Beside the list, as every list-and-details page has it: the model as its heading, where its
price comes from as its status (yours, the bundled table's, the price database's, or none),
then a form of the model
(a name prefix, as the table keys it) and its four prices in USD per million tokens, the price
in use now in words, and "Save price" and "Remove" under them. Saving checks what was typed,
writes `[gateway.prices]` in config.toml through the engine, and the next request is priced by
it; Remove is offered only for a model you priced. A short note under it all says how a price
is matched and used, the help a first visit needs.
"""

from __future__ import annotations

import logging

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine, EngineError, Price
from llmgw_desktop.ui.kit.master_detail import DetailCard, value_label
from llmgw_desktop.ui.kit.text import caption
from llmgw_desktop.ui.qt import QLineEdit, QPushButton, QWidget, Signal
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone
from llmgw_desktop.ui.typed_number import typed_number

__all__ = ["FIELDS", "PRICE_DECIMALS", "PriceEditor", "price_text"]

log = logging.getLogger(__name__)

# Each price a model has: its attribute on `Price` and its label.
FIELDS = (
    ("input", "Input"),
    ("output", "Output"),
    ("cache_read", "Cache read"),
    ("cache_write", "Cache write"),
)
NO_MODEL = "New price"
HOW_PRICES_WORK = (
    "Prices are in USD per million tokens. A price applies to every model whose name starts "
    "with the model typed (gpt-4o prices gpt-4o-2024-08-06 too); the longest match wins. An "
    "empty cache write costs as input. Saved to config.toml, used from the next request."
)


# A price's digits: a vendor lists per million tokens to the tenth of a cent and below
# ($0.3125, $1.875); more than this is float noise.
PRICE_DECIMALS = 6


def price_text(usd: float) -> str:
    """`$0.025`, `$1.875`, `$15.00`: a price as it is set, every digit it has (at least
    cents). A cost is rounded to what matters (`format_usd`); a price is what a person typed
    or a vendor lists, and rounded ("$0.03" for $0.025) it is another price."""
    text = f"{abs(usd):,.{PRICE_DECIMALS}f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"{'-' if usd < 0 else ''}${whole}.{cents.ljust(2, '0')}"


class PriceEditor(DetailCard):
    """One model's price in use, and the form that sets (or removes) your own."""

    saved = Signal()  # a price was written (or removed)

    def __init__(
        self, engine: Engine, tasks: UiTasks, *, can_save: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__("priceDetail", parent)
        self._engine = engine
        self._tasks = tasks
        self._can_save = can_save
        self.model_edit = QLineEdit()
        self.model_edit.setObjectName("priceModel")
        self.model_edit.setPlaceholderText("model, such as gpt-4o-mini")
        self.model_edit.textChanged.connect(lambda _text: self._show_current())
        self.add_row("Model", self.model_edit)
        self.edits: dict[str, QLineEdit] = {}
        for name, label in FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"price:{name}")
            edit.setPlaceholderText(label + (" (= input)" if name == "cache_write" else ""))
            edit.setToolTip(f"{label}: USD per million tokens")
            edit.returnPressed.connect(self.save)
            self.edits[name] = edit
            self.add_row(label, edit)
        self.current_label = value_label("priceNow")
        self.add_row("Now", self.current_label)
        self.save_button = QPushButton("Save price")
        self.save_button.setObjectName("savePrice")
        self.save_button.clicked.connect(self.save)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removePrice")
        self.remove_button.setToolTip("Remove your price: the bundled table prices it again")
        self.remove_button.clicked.connect(self.remove)
        self.action_row.addWidget(self.save_button)
        self.action_row.addWidget(self.remove_button)
        self.action_row.addStretch(1)
        self.message_label = value_label("priceMessage")
        self.help_label = caption(HOW_PRICES_WORK)
        self.help_label.setObjectName("pricesHelp")
        # Under the buttons: what the last save did, then how prices work.
        at = self.column.indexOf(self.action_row) + 1
        self.column.insertWidget(at, self.message_label)
        self.column.insertWidget(at + 1, self.help_label)
        self._say("This window cannot write the settings file." if not can_save else "")
        self._show_current()

    def edit(self, model: str) -> None:
        """Put `model` in the form, with your price of it when you have one."""
        self.model_edit.setText(model)
        price = self._engine.prices.user_price(model)
        for name, edit in self.edits.items():
            edit.setText("" if price is None else f"{getattr(price, name):g}")

    def refresh(self) -> None:
        """Say again what the typed model is priced at (the prices changed)."""
        self._show_current()

    def _enable(self) -> None:
        """Save when the file can be written; Remove only for a model you priced."""
        self.save_button.setEnabled(self._can_save)
        model = self.model_edit.text().strip()
        self.remove_button.setEnabled(
            self._can_save and bool(model) and self._engine.prices.user_price(model) is not None
        )

    def _show_current(self) -> None:
        model = self.model_edit.text().strip()
        prices = self._engine.prices
        self.heading.setText(model or NO_MODEL)
        self._enable()
        if not model:
            self.badge.set_status("unknown", "")
            self.current_label.setText("Type a model, or choose one in the list.")
            return
        found = prices.priced(model)
        if found is None:
            self.badge.set_status("warning", "not priced")
            self.current_label.setText(f"{model} is not priced now: its cost shows as —.")
            return
        p = found.price
        mine = found.source == "config"
        database = prices.maintained
        if mine:
            where, badge = "your price in config.toml", "yours"
        elif found.source == "maintained" and database is not None:
            where, badge = database.label, "database"
        else:
            where, badge = f"the bundled table of {prices.revised}", "bundled"
        self.badge.set_status("ok" if mine else "unknown", badge)
        self.current_label.setText(
            f"{price_text(p.input)} in, {price_text(p.output)} out, {price_text(p.cache_read)} "
            f"cache read, {price_text(p.cache_write)} cache write (from {where}, as "
            f"`{found.prefix}`)."
        )

    def typed_price(self) -> Price:
        """The price typed in the form.

        Raises:
            ValueError: a field is empty or not a number (the message names the field).
        """
        values: dict[str, float] = {}
        for name, edit in self.edits.items():
            label = edit.toolTip().split(":")[0]
            value = typed_number(edit.text(), label)
            if value is None and name == "cache_write":
                values[name] = values["input"]
                continue
            if value is None:
                raise ValueError(f"{label}: empty is not a number")
            values[name] = float(value)
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
        self._show_current()
        self.saved.emit()

    def _say(self, text: str, *, error: bool = False) -> None:
        set_tone(self.message_label, "error" if error else "")
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))  # no empty line between buttons and help
