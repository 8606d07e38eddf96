"""How a page reaches the rest of the window it is in: another page by its key, a place opened
on a detail, the status line, the header's figures.

Typed, so a page never looks the window's attributes up by name: `MainWindow` is a
`Navigator`, and `navigator_of(page)` is None for a page shown on its own (in tests, or before
it is put in a window), where each of these simply does nothing.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

from llmgw_desktop.ui.attention import SpendToday
from llmgw_desktop.ui.qt import QWidget

__all__ = ["Navigator", "navigator_of", "other_page"]

T = TypeVar("T")


@runtime_checkable
class Navigator(Protocol):
    """What a page may ask of its window."""

    def page(self, key: str) -> QWidget | None:
        """The page `key` (built if it was not yet), or None when the window has none."""

    def show_page(self, key: str) -> None:
        """Switch to the page `key`."""

    def open_place(self, key: str, detail: str) -> None:
        """Show page `key` with `detail` chosen there."""

    def shown_key(self) -> str:
        """The key of the page shown now."""

    def say(self, message: str) -> None:
        """Show `message` in the window's status line for a while."""

    def spend_today(self) -> SpendToday | None:
        """Today's spend as the header keeps it, or None before it was first read."""


def navigator_of(widget: QWidget) -> Navigator | None:
    """The window `widget` is in, as a navigator; None when it is in none."""
    window = widget.window()
    return window if isinstance(window, Navigator) else None


def other_page(widget: QWidget, key: str, kind: type[T]) -> tuple[Navigator, T] | None:
    """The navigator of `widget`'s window and its page `key`, when that page is a `kind`."""
    navigator = navigator_of(widget)
    page = navigator.page(key) if navigator is not None else None
    if navigator is None or not isinstance(page, kind):
        return None
    return navigator, page
