"""Pages reach each other through the window as a typed navigator, never by looking its
attributes up by name (a renamed window method then failed silently: the button did nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import llmgw_desktop.ui as ui
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.navigator import Navigator

UI = Path(ui.__file__).parent
BY_NAME = re.compile(r"getattr\((self\.)?window(\(\))?,")


def test_the_window_is_every_page_s_navigator() -> None:
    missing = [name for name in dir(Navigator) if not name.startswith("_")]
    missing = [name for name in missing if not callable(getattr(MainWindow, name, None))]
    assert missing == []


def test_no_page_looks_the_window_up_by_name() -> None:
    found = [
        f"{path.relative_to(UI)}:{number}"
        for path in sorted(UI.rglob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if BY_NAME.search(line)
    ]
    assert found == [], "ask navigator_of(page) (ui/navigator.py) instead"


def test_the_recorder_names_the_playground_by_its_key() -> None:
    from llmgw_desktop.ui.pages.playground import PlaygroundPage
    from llmgw_desktop.ui.pages.recorder import PLAYGROUND_KEY, Replays

    assert PLAYGROUND_KEY == PlaygroundPage.KEY
    assert callable(getattr(PlaygroundPage, "replay", None))
    assert issubclass(PlaygroundPage, Replays)
