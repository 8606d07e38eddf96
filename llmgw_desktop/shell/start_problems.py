"""What a desktop start does when its settings file, its database or its vault cannot be used:
it asks the person (`ui/start_problem.py`) instead of exiting with a message nobody reads (a
start from the desktop menu or at login has no terminal), and does what they chose.

- `config.toml` holds refused values: open the file; read it again; go on with every value
  that passed its check and the defaults for the refused ones, writing nothing to the file; or
  quit (exit 2). A file that cannot be read at all: go on with the defaults (and the
  environment, less the bad variables). Money is a boundary: where a refused value is one
  a hard budget stands on (`SPEND_KEYS`), or an unreadable file names budgets, there is no
  going on, since a default there could let a call pass a hard budget.
- The database cannot be opened: open its folder; open it again; go on with a temporary
  database, deleted at quit, unless a hard budget is set (its spend would read zero there);
  or quit (exit 1).
- The vault stays locked: open the data folder; open it again; go on without it (keys from
  the environment and config.toml still work); or quit.

Headless, or where no window can open, none of this runs: stderr and the exit code say it as
before. With the window, the terminal it was started from hears the same words as the dialog,
once per problem (`echo`), and what the person chose. Every dialog's default button is the
safe answer (open the file or folder): Enter never starts a session without something.
Everything here needs Qt, so it is imported only when a problem is met.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmgw_desktop.config.settings import (
    FILE_KEY,
    ConfigError,
    LoadedSettings,
    Settings,
    load_settings,
    settings_past_refusals,
)
from llmgw_desktop.shell.cli.messages import config_error_lines
from llmgw_desktop.ui.start_problem import Answer, StartProblem, ask, ask_now, show_place

__all__ = [
    "KEEP_VALID",
    "SPEND_KEYS",
    "ScratchStore",
    "settle_config_error",
    "settle_store_error",
    "settle_vault",
]

log = logging.getLogger(__name__)

# The settings a hard budget stands on: at its default, each could let a call pass one (no
# budgets; another database or data dir, whose spend reads zero; another calendar or price
# table, counting less). A refused one stops the start: no session goes on without it.
SPEND_KEYS = frozenset(
    {
        "budgets",
        "store.url",
        "store.db_path",
        "store.budget_timezone",
        "paths.data_dir",
        "gateway.prices",
    }
)
# The going on where some values are refused: it keeps the rest, as it says.
KEEP_VALID = "Start keeping the valid settings (defaults for the refused, this session)"
# How an unreadable file is seen to name budgets: its bytes are all there is to look at.
BUDGETS_WORD = b"budget"


def settle_config_error(
    error: ConfigError, named: Path | None, config_file: Path
) -> LoadedSettings | None:
    """Ask until the settings load, the person goes on with defaults, or quits (None).
    `named`: the file `--config` named (None: the usual one, `config_file`)."""
    said: set[str] = set()
    while True:
        problem = _config_problem(error, config_file)
        echo(problem, said)
        answer = ask_now(problem)
        if answer is Answer.OPEN:
            show_place(config_file)
        elif answer is Answer.RETRY:
            try:
                return load_settings(named)
            except ConfigError as again:
                error = again
        elif answer is Answer.GO_ON:
            try:
                return _going_on(error, named, config_file)
            except ConfigError as changed:  # the file changed since it was read: ask again
                error = changed
        else:
            return None


def _going_on(error: ConfigError, named: Path | None, config_file: Path) -> LoadedSettings:
    """The settings a session goes on with: the file's values that passed (the defaults, and
    the environment less its bad variables, when the file cannot be read at all).

    Raises:
        ConfigError: read again, the file has changed to what offers no going on (it cannot
            be read now, or a value a hard budget stands on is refused now).
    """
    if error.key == FILE_KEY:
        log.warning("settings file %s not used this session: %s", config_file, error)
        _say(f"{config_file} is not used this session: starting with the defaults")
        return _on_defaults(error, named)
    loaded = settings_past_refusals(named)
    if not loaded.refused:  # fixed meanwhile: the file itself, in use
        return load_settings(named)
    if {e.key for e in loaded.refused} & SPEND_KEYS:
        first = loaded.refused[0]
        first.errors = loaded.refused
        raise first
    keys = ", ".join(sorted({e.key for e in loaded.refused}))
    log.warning("settings refused this session, at their defaults: %s", keys)
    _say(f"starting with the other settings of {config_file}; at their defaults: {keys}")
    return loaded


def echo(problem: StartProblem, said: set[str]) -> None:
    """Say `problem` on stderr as the dialog says it, unless `said` holds it already: a start
    from a terminal hears what stopped it there too (a dialog may be behind other windows)."""
    words = f"{problem.title}:\n{problem.text}"
    if words in said:
        return
    said.add(words)
    _say(f"{problem.title} (a dialog asks what to do):")
    for line in problem.text.splitlines():
        _say(f"  {line}" if line else "", bare=True)


def _say(line: str, *, bare: bool = False) -> None:
    if sys.stderr is None:  # a start from the desktop menu on Windows: nobody to tell
        return
    print(line if bare else f"llmgw-desktop: {line}", file=sys.stderr, flush=True)


def _config_problem(error: ConfigError, config_file: Path) -> StartProblem:
    lines = config_error_lines(error, config_file)
    if error.key == FILE_KEY:
        go_on: str | None = "Start with defaults for this session"
        stake = _budgets_unreadable(config_file)
    else:
        go_on = KEEP_VALID
        stake = sorted({e.key for e in error.errors} & SPEND_KEYS)
    if stake:
        go_on = None
        lines += [
            "",
            f"No start without {', '.join(stake)}: a hard budget is never passed, and a "
            "session without this could pass one.",
        ]
    return StartProblem(
        title="The settings file cannot be used",
        text="\n".join(lines),
        place=config_file,
        open_label=f"Open {config_file.name}",
        go_on_label=go_on,
    )


def _budgets_unreadable(config_file: Path) -> list[str]:
    """["budgets"] when the file that cannot be read may hold budgets (it names them, or its
    bytes cannot be read to tell): a session on defaults would have none."""
    try:
        named = BUDGETS_WORD in config_file.read_bytes()
    except FileNotFoundError:
        named = False
    except OSError:
        named = True
    return ["budgets"] if named else []


def _on_defaults(error: ConfigError, named: Path | None) -> LoadedSettings:
    """The settings without the file, nor the environment variables that were bad."""
    bad = {e.source.removeprefix("env ") for e in error.errors if e.source.startswith("env ")}
    environ: Mapping[str, str] = {k: v for k, v in os.environ.items() if k not in bad}
    try:
        return load_settings(named, environ, read_file=False)
    except ConfigError:  # settings that clash across variables: none of ours, then
        environ = {k: v for k, v in environ.items() if not k.startswith("LLM_GATEWAY_")}
        return load_settings(named, environ, read_file=False)


class ScratchStore:
    """A temporary database for a session whose own cannot be opened; gone at quit."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def settings(self, settings: Settings) -> Settings:
        """`settings` on a fresh SQLite file in a temporary folder."""
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="llmgw-session-")
        database = Path(self._folder.name) / "llmgw.db"
        return settings.with_values({"store.db_path": str(database), "store.url": ""})

    def remove(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


async def settle_store_error(
    message: str, loaded: LoadedSettings, scratch: ScratchStore
) -> LoadedSettings | None:
    """Ask what to do with a database that cannot be opened: the settings to start with
    (the same, to try again; a temporary database, to go on), or None to quit."""
    settings = loaded.settings
    place = settings.database_file.parent if not settings.store.url else settings.data_path
    text = f"{message}\n\nIts folder: {place}"
    go_on: str | None = "Start with a temporary database for this session"
    if any(budget.get("hard") is not None for budget in settings.budgets):
        # A fresh database's spend reads zero: each hard budget could be passed again.
        go_on = None
        text += (
            "\n\nNo start on a temporary database: its spend would read zero, and a hard "
            "budget is never passed."
        )
    problem = StartProblem(
        title="The database cannot be opened",
        text=text,
        place=place,
        open_label="Open its folder",
        go_on_label=go_on,
    )
    said: set[str] = set()
    while True:
        echo(problem, said)
        answer = await ask(problem)
        if answer is Answer.OPEN:
            show_place(place)
        elif answer is Answer.RETRY:
            return loaded
        elif answer is Answer.GO_ON:
            log.warning("the database cannot be opened (%s): a temporary one this session", message)
            _say("going on with a temporary database, deleted at quit")
            return replace(loaded, settings=scratch.settings(settings))
        else:
            return None


async def settle_vault(vault: Any, data_path: Path, quit_app: Callable[[], None]) -> None:
    """Once the vault's opening has finished: if it stayed locked, ask what to do (`vault` is
    the engine's vault service)."""
    status: dict[str, Any] = await vault.settled()
    said: set[str] = set()
    while status["state"] == "locked":
        problem = StartProblem(
            title="The vault cannot be opened",
            text=f"{status['reason']}\n\nThe keys stored in it are not used until it opens; "
            "keys from the environment and config.toml still are.",
            place=data_path,
            open_label="Open the data folder",
            go_on_label="Go on without the vault",
        )
        echo(problem, said)
        answer = await ask(problem)
        if answer is Answer.OPEN:
            show_place(data_path)
        elif answer is Answer.RETRY:
            await vault.open()
            status = vault.status()
        elif answer is Answer.QUIT:
            quit_app()
            return
        else:
            log.warning("going on without the vault: %s", status["reason"])
            _say("going on without the vault (keys from the environment and config.toml work)")
            return
