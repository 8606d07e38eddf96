"""The app's icons, loaded from the packaged resources."""

from __future__ import annotations

from importlib import resources

from llmgw_desktop.ui.qt import QIcon

__all__ = ["app_icon", "paused_icon"]


def _icon(name: str) -> QIcon:
    path = resources.files("llmgw_desktop.resources").joinpath("icons", name)
    return QIcon(str(path))


def app_icon() -> QIcon:
    return _icon("llmgw.svg")


def paused_icon() -> QIcon:
    return _icon("llmgw-paused.svg")
