"""Setting a model's price from the desk: checked, saved to `config.toml` (`[gateway.prices]`)
and used from the next request on, without a restart."""

from __future__ import annotations

import logging

from llmgw_desktop.config.prices import check_price_tables
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.tokens.price_book import PriceBook, price_as_table
from llmgw_desktop.engine.tokens.pricing import Price

__all__ = ["PRICES_KEY", "PriceSettings"]

log = logging.getLogger(__name__)

PRICES_KEY = "gateway.prices"


class PriceSettings:
    """The person's prices: one model at a time, written through the settings saver."""

    def __init__(self, book: PriceBook, saver: SettingsSaver) -> None:
        self.book = book
        self._saver = saver

    async def set_price(self, principal: Principal, model: str, price: Price | None) -> bool:
        """Set (or with None, remove) the person's price of `model` (a model-name prefix, USD
        per million tokens); True when it was saved to config.toml, False when this engine has
        no settings file (the price then holds until the app quits).

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: the model name or a price is not acceptable (the message says which).
            OSError: config.toml cannot be written (the price is not applied either).
        """
        require(principal, Capability.SETTINGS)
        name = model.strip().lower()
        entries = dict(self.book.user)
        if price is None:
            entries.pop(name, None)
        else:
            entries[name] = price
        table = {prefix: price_as_table(each) for prefix, each in entries.items()}
        problem = check_price_tables(table)
        if problem is not None:
            raise InvalidRequest(f"{PRICES_KEY}: {problem}", param="model")
        saved = self._saver.can_save
        if saved:
            await self._saver.write(PRICES_KEY, table)
        self.book.replace_user(entries)
        log.info("price of %s %s", name, "removed" if price is None else "set")
        return saved
