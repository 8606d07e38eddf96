"""The Provider keys page's "keys in use now": every key the gateway would send, from every
source (vault, config.toml, environment), in the order it tries them, masked.

A gateway running on environment keys must not look as if it had none. Providers are named as
every other page names them, a masked value is written one way (`sk-env…••••`, `••••` for a
key too short to show any of), and "Order" says in its tooltip what the number means.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmgw_desktop.engine.api import Engine, LiveKey
from llmgw_desktop.ui.kit.tables import ROW_HEIGHT
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QColor,
    QGroupBox,
    Qt,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import tone_colour

__all__ = [
    "LIVE_COLUMNS",
    "LiveKeysBox",
    "fit_height",
    "key_refused",
    "key_where",
    "shown_mask",
]

LIVE_COLUMNS = ("Provider", "Order", "Source", "Value")
_PROVIDER_ROLE = Qt.ItemDataRole.UserRole


def shown_mask(masked: str) -> str:
    """A masked value written one way: `sk-env…••••`, `••••` (a short key shows nothing)."""
    return masked.replace("...", "…").replace("***", "••••")


def fit_height(tree: QTreeWidget, least: int = 2, most: int = 10) -> None:
    """The tree as tall as its rows shown (between `least` and `most`), so a short list does
    not sit in a tall empty box."""
    rows = 0
    for index in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(index)
        if item is not None:
            rows += 1 + (item.childCount() if item.isExpanded() else 0)
    shown = max(least, min(most, rows))
    height = tree.header().sizeHint().height() + 2 * tree.frameWidth() + shown * ROW_HEIGHT
    tree.setFixedHeight(height)


class LiveKeysBox(QGroupBox):
    """The keys in use now, one row each; `show_keys` redraws them."""

    def __init__(self, names: ProviderNames, parent: QWidget | None = None) -> None:
        super().__init__("Keys in use now (every source, in the order they are tried)", parent)
        self.names = names
        self.tree = QTreeWidget()
        self.tree.setObjectName("liveKeys")
        self.tree.setColumnCount(len(LIVE_COLUMNS))
        self.tree.setHeaderLabels(list(LIVE_COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tree.setUniformRowHeights(True)
        header = self.tree.headerItem()
        header.setToolTip(
            LIVE_COLUMNS.index("Order"),
            "The order a provider's keys are tried: 1 first, the next when it fails",
        )
        column = QVBoxLayout(self)
        column.addWidget(self.tree)

    def provider_name(self, provider: str) -> str:
        """`Anthropic` for `anthropic`, as the other pages name it."""
        return self.names.name(self.names.by_gateway_id.get(provider, provider))

    def show_keys(self, keys: list[LiveKey], refused: Mapping[str, str] | None = None) -> None:
        """`refused`: the labels of keys a provider refused, with how ("401"), marked."""
        self.tree.clear()
        for key in keys:
            status = (refused or {}).get(key.label)
            where = key_where(key, status)
            cells = [self.provider_name(key.provider), str(key.order), where]
            item = QTreeWidgetItem([*cells, shown_mask(key.masked_value)])
            item.setData(0, _PROVIDER_ROLE, key.provider)
            item.setToolTip(0, key.provider)
            item.setToolTip(2, where)
            if status is not None:
                item.setForeground(2, QColor(tone_colour("error")))
            self.tree.addTopLevelItem(item)
        if not keys:
            empty = QTreeWidgetItem(["(no API key anywhere: the API providers cannot be used)"])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.tree.addTopLevelItem(empty)
        for col in range(len(LIVE_COLUMNS)):
            self.tree.resizeColumnToContents(col)
        fit_height(self.tree)


def key_refused(engine: Engine, key: LiveKey) -> str | None:
    """How `key`'s provider refused it ("401 when its model list was read", "401 on 2 calls
    in a row"), or None."""
    refused = engine.providers.refused_key(key.label) if key.label else None
    return None if refused is None else refused[1].refusal_words()


def key_where(key: LiveKey, refused: str | None) -> str:
    """Where `key` comes from, and that its provider refused it (`refused`: how, as
    `key_refused` says it), as every page that lists keys says it."""
    if refused is None:
        return key.where
    return f"{key.where} · refused: {refused}"
