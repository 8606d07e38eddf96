"""`llmgw-desktop connect CLIENT [--write [--yes]]`: print the exact set-up of a coding tool,
editor or SDK for this gateway; with `--write`, and the person's yes, put it in the client's
own settings file (the rest of that file kept, and the file as it was kept beside it).

Exit codes: 0 printed (and written); 1 not written (refused, the file cannot be read as plain
JSON or TOML, or the client has no file to write); 2 a bad argument.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.exit_codes import EXIT_FAILURE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings
    from llmgw_desktop.ui.connect_setups import Setup

__all__ = ["BACKUP_SUFFIX", "COMMAND", "Written", "backup_of", "write_setup"]

# What the file a `--write` changed is kept as, beside it, as it was before that change.
BACKUP_SUFFIX = ".llmgw-desktop.bak"

# The clients `connect` knows (`ui/connect_setups.CLIENTS`), listed here so `--help` does not
# import what builds them.
CLIENT_NAMES = (
    "claude-code",
    "codex",
    "gemini-cli",
    "claude-desktop",
    "cursor",
    "vscode",
    "zed",
    "jetbrains",
    "neovim",
    "sdk",
)


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "connect",
        help="print (or write) a tool's set-up for this gateway",
        description="Print the exact set-up of a coding tool, editor or SDK for this gateway: "
        "its address, this machine's path to llmgw-desktop, and a model that answers with the "
        "keys the gateway has (asked of the running gateway, else read from this environment). "
        "With --write, put it in the tool's settings file once you say yes.",
        epilog=examples(
            "llmgw-desktop connect claude-code",
            "llmgw-desktop connect codex --write",
            "llmgw-desktop connect cursor --write --yes",
        ),
        formatter_class=HelpWithExamples,
    )
    parser.add_argument("client", choices=CLIENT_NAMES, help="the tool to set up")
    parser.add_argument(
        "--write", action="store_true", help="put the set-up in the tool's settings file"
    )
    parser.add_argument("--yes", action="store_true", help="write without asking first")
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    from llmgw_desktop.shell.connect_facts import gather
    from llmgw_desktop.ui.connect_setups import setup_for

    setup = setup_for(args.client, gather(loaded.settings))
    print("\n".join(setup.lines))
    if not args.write:
        return 0
    if setup.file is None or setup.entry is None:
        print(
            f"llmgw-desktop: nothing to write for {args.client}: {setup.why_not}.", file=sys.stderr
        )
        return EXIT_FAILURE
    if not args.yes and not _agreed(setup.file):
        print(f"llmgw-desktop: {setup.file} left as it was.", file=sys.stderr)
        return EXIT_FAILURE
    written = write_setup(setup)
    if isinstance(written, str):
        print(f"llmgw-desktop: {setup.file} left as it was: {written}", file=sys.stderr)
        return EXIT_FAILURE
    if written.unchanged:
        print(f"{setup.file} has this set-up already: nothing written.")
    elif written.backup is not None:
        print(f"Written to {setup.file}. The file as it was is kept as {written.backup}.")
    else:
        print(f"Written to {setup.file}.")
    return 0


def _agreed(file: Path) -> bool:
    """The person's yes to writing `file`, read from stdin (nothing to read: no)."""
    print(f"Write this into {file} (the rest of the file is kept)? [y/N] ", end="", flush=True)
    answer = sys.stdin.readline()
    if not answer:
        print(
            "\nllmgw-desktop: no answer on stdin: add --yes to write without asking.",
            file=sys.stderr,
        )
        return False
    return answer.strip().lower() in ("y", "yes")


@dataclass(frozen=True)
class Written:
    """What `--write` did: nothing, the entry being there already (`unchanged`), or wrote the
    file, the file as it was kept as `backup` (None: there was none)."""

    backup: Path | None = None
    unchanged: bool = False


def backup_of(file: Path) -> Path:
    """Where `--write` keeps `file` as it was before its last change, beside it."""
    return file.with_name(file.name + BACKUP_SUFFIX)


def write_setup(setup: Setup) -> Written | str:
    """Put `setup`'s entry in its file, the rest of the file kept, written whole or not at
    all, the file as it was kept beside it (`backup_of`); what was done, or why it was not (a
    file that is not plain JSON or TOML, one that cannot be written)."""
    assert setup.file is not None and setup.entry is not None
    file = setup.file
    toml = file.suffix == ".toml"
    try:
        text = file.read_text(encoding="utf-8") if file.exists() else ""
        document = _parsed(text, toml=toml)
    except (OSError, ValueError) as exc:
        kind = "TOML" if toml else "plain JSON (comments are not)"
        return f"it cannot be read as {kind} ({exc}); add the entry by hand"
    unchanged = _rendered(document, toml=toml)
    setup.entry(document)
    written = _rendered(document, toml=toml)
    if text.strip() and written == unchanged:
        return Written(unchanged=True)
    backup = backup_of(file) if file.exists() else None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        if backup is not None:
            shutil.copy2(file, backup)  # its mode too: a 0600 file's copy is 0600
        fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(written)
        if file.exists():
            Path(temporary).chmod(file.stat().st_mode & 0o777)
        Path(temporary).replace(file)
    except OSError as exc:
        return f"it cannot be written ({exc.strerror or exc})"
    return Written(backup)


def _parsed(text: str, *, toml: bool) -> Any:
    """The file's document: a tomlkit one (comments kept) or a JSON object.

    Raises:
        ValueError: not TOML, or not a JSON object.
    """
    if toml:
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            return tomlkit.parse(text)
        except ParseError as exc:
            raise ValueError(str(exc)) from None
    document = json.loads(text) if text.strip() else {}
    if not isinstance(document, dict):
        raise ValueError("the file holds no JSON object")
    return document


def _rendered(document: Any, *, toml: bool) -> str:
    if toml:
        import tomlkit

        return tomlkit.dumps(document)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


COMMAND = Command("connect", _declare, _run)
