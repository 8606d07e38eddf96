"""What a command module provides, and the help layout every command shares."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["Command", "HelpWithExamples", "Subcommands", "examples"]

Subcommands = Any  # argparse's `_SubParsersAction`, which it does not name publicly


@dataclass(frozen=True)
class Command:
    """One `llmgw-desktop COMMAND`: how it is declared and how it runs.

    `run` gets the parsed arguments and the loaded settings (None for a command that reads no
    settings, so a bad settings file cannot stop it) and returns the exit code.
    `reads_kept_code`: its settings load and run compile dataclasses through the code the app
    kept (`shell/startup.py`): for a command whose start-up time people wait on.
    `past_refusals`: it runs on the settings as far as they are valid (`LoadedSettings.refused`
    lists the rest, at their defaults; an unreadable file is not read): for a command a person
    needs while the file is broken, to stop the app (`quit`) or to find the file (`config`).
    """

    name: str
    declare: Callable[[Subcommands], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace, LoadedSettings | None], int]
    needs_settings: bool = True
    reads_kept_code: bool = False
    past_refusals: bool = False


def examples(*lines: str) -> str:
    """An epilog of example command lines, printed as written."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


class HelpWithExamples(argparse.HelpFormatter):
    """Wraps descriptions as usual but prints the examples epilog line by line, as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)
