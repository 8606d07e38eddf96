"""Paths under the home folder are shown as `~/…`, as a file manager or a shell shows them
(review round 2: the window showed /tmp/llmgw-screens-…/ and /work/… paths whole); what is
copied or opened stays the whole path."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.kit.text import PathLabel, home_short, home_short_in


def test_the_home_folder_is_said_as_a_tilde_and_nothing_else_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "alice"
    monkeypatch.setenv("HOME", str(home))
    assert home_short(str(home / ".local" / "bin" / "vibe")) == "~/.local/bin/vibe"
    assert home_short(str(home)) == "~"
    # A sibling whose name begins with the home's is not under it.
    assert home_short(str(tmp_path / "alice2" / "x")) == str(tmp_path / "alice2" / "x")
    assert home_short("/usr/bin/claude") == "/usr/bin/claude"
    # Inside words too, as a CLI's login says where it was read from.
    said = f"read from {home}/.vibe/.env (and not {tmp_path}/alice2/.env)"
    assert home_short_in(said) == f"read from ~/.vibe/.env (and not {tmp_path}/alice2/.env)"


def test_a_path_label_shows_the_short_form_and_keeps_the_whole_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qtbot: QtBot
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    whole = str(tmp_path / ".local" / "state" / "llmgw-desktop" / "llmgw-desktop.log")
    label = PathLabel(whole)
    qtbot.addWidget(label)
    label.resize(label.sizeHint())
    label.show()
    assert label.text() == "~/.local/state/llmgw-desktop/llmgw-desktop.log"
    assert label.toolTip() == whole and label.accessibleName() == whole
