"""The dialog a desktop start shows when something a person can fix stops it: a settings file
that cannot be used, a database that cannot be opened, a vault that stays locked.

Started from the desktop menu or at login, the app has no terminal: what stderr says would be
said to nobody and the app would simply not open. The dialog says the same words and offers
what can be done: open the file (or folder) to fix it, try again, go on for this session
without it (defaults, a temporary database, no vault) where the shell allows it, or quit.
Enter presses the safe answer, open the file: a reflex never starts a session without it. The
shell decides what each answer does (`shell/start_problems.py`); this module only asks.

`ask_now` asks before the app's event loop runs (the settings are read before anything
starts); `ask` asks inside it, awaited, never in a nested loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from llmgw_desktop.ui.qt import QApplication, QDesktopServices, QMessageBox, QUrl

__all__ = ["Answer", "StartProblem", "ask", "ask_now", "problem_box", "show_place"]

APP = "llmgw-desktop"


class Answer(StrEnum):
    """What the person chose."""

    OPEN = "open"  # show the file or folder (the dialog comes back)
    RETRY = "retry"  # try again, after fixing it
    GO_ON = "go_on"  # start without it, for this session
    QUIT = "quit"


@dataclass(frozen=True)
class StartProblem:
    """What went wrong, where to fix it, and what going on without it means."""

    title: str  # one line: "The settings file cannot be used"
    text: str  # the whole message, as stderr says it
    place: Path  # the file or folder `Answer.OPEN` shows
    open_label: str  # "Open config.toml"
    go_on_label: str | None  # "Start with defaults for this session"; None: no going on
    retry: bool = True  # whether trying again may help


def problem_box(problem: StartProblem) -> tuple[QMessageBox, dict[Any, Answer]]:
    """The dialog, and which button means which answer."""
    box = QMessageBox(QMessageBox.Icon.Warning, APP, problem.title)
    box.setInformativeText(problem.text)
    open_button = box.addButton(problem.open_label, QMessageBox.ButtonRole.ActionRole)
    buttons = {open_button: Answer.OPEN}
    if problem.retry:
        buttons[box.addButton("Try again", QMessageBox.ButtonRole.AcceptRole)] = Answer.RETRY
    if problem.go_on_label is not None:
        go_on = box.addButton(problem.go_on_label, QMessageBox.ButtonRole.AcceptRole)
        buttons[go_on] = Answer.GO_ON
    buttons[box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)] = Answer.QUIT
    box.setDefaultButton(open_button)
    return box, buttons


def ask_now(problem: StartProblem) -> Answer:
    """Ask before the event loop runs (a Qt application is made if there is none yet)."""
    if QApplication.instance() is None:
        QApplication([APP])
    box, buttons = problem_box(problem)
    box.exec()
    return buttons.get(box.clickedButton(), Answer.QUIT)


async def ask(problem: StartProblem) -> Answer:
    """Ask inside the running loop, without a nested one: the dialog's answer is awaited."""
    box, buttons = problem_box(problem)
    answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()

    def on_finished(_result: int) -> None:
        if not answered.done():
            answered.set_result(buttons.get(box.clickedButton(), Answer.QUIT))

    box.finished.connect(on_finished)
    box.open()
    return await answered


def show_place(place: Path) -> None:
    """Open the file in its usual program, or the folder in the file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(place)))
