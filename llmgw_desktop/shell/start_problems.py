"""What a desktop start does when its settings file, its database or its vault cannot be used:
it asks the person (`ui/start_problem.py`) instead of exiting with a message nobody reads (a
start from the desktop menu or at login has no terminal), and does what they chose.

- `config.toml` cannot be used: open the file; read it again; go on with the defaults (and
  the environment, less the bad variables), writing nothing to the file; or quit (exit 2).
- The database cannot be opened: open its folder; open it again; go on with a temporary
  database, deleted at quit; or quit (exit 1).
- The vault stays locked: open the data folder; open it again; go on without it (keys from
  the environment and config.toml still work); or quit.

Headless, or where no window can open, none of this runs: stderr and the exit code say it as
before. With the window, the terminal it was started from hears the same words as the dialog,
once per problem (`echo`), and what the person chose. Everything here needs Qt, so it is
imported only when a problem is met.
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

from llmgw_desktop.config.settings import ConfigError, LoadedSettings, Settings, load_settings
from llmgw_desktop.shell.cli.messages import config_error_lines
from llmgw_desktop.ui.start_problem import Answer, StartProblem, ask, ask_now, show_place

__all__ = ["ScratchStore", "settle_config_error", "settle_store_error", "settle_vault"]

log = logging.getLogger(__name__)


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
            log.warning("settings file %s not used this session: %s", config_file, error)
            _say(f"{config_file} is not used this session: starting with the defaults")
            return _on_defaults(error, named)
        else:
            return None


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
    return StartProblem(
        title="The settings file cannot be used",
        text="\n".join(config_error_lines(error, config_file)),
        place=config_file,
        open_label=f"Open {config_file.name}",
        go_on_label="Start with defaults for this session",
    )


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
    problem = StartProblem(
        title="The database cannot be opened",
        text=f"{message}\n\nIts folder: {place}",
        place=place,
        open_label="Open its folder",
        go_on_label="Start with a temporary database for this session",
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
