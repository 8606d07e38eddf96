"""`llmgw-desktop hash-password`: the scrypt hash of a consent password, never the password."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.exit_codes import EXIT_FAILURE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND", "MIN_PASSWORD_CHARS", "hash_password_command"]

MIN_PASSWORD_CHARS = 12


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "hash-password",
        help="hash a consent password for http.oauth.consent_password_hash (reads it from stdin "
        "or asks for it)",
        description="Print the scrypt hash of a consent password, for the setting "
        "http.oauth.consent_password_hash. It asks twice on a terminal, or reads one line "
        "from stdin; the password itself is never printed or stored.",
        epilog=examples(
            "llmgw-desktop hash-password",
            "pass show llmgw/consent | llmgw-desktop hash-password",
        ),
        formatter_class=HelpWithExamples,
    )
    return parser


def _run(_args: argparse.Namespace, _loaded: LoadedSettings | None) -> int:
    return hash_password_command()


COMMAND = Command("hash-password", _declare, _run, needs_settings=False)


def hash_password_command() -> int:
    """Print the scrypt hash of a password typed (twice) or piped in; never the password."""
    import getpass

    from llmgw_desktop.engine.api import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Consent password: ")
        if password != getpass.getpass("Again: "):
            print("llmgw-desktop: the two passwords differ", file=sys.stderr)
            return EXIT_FAILURE
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD_CHARS:
        print(f"llmgw-desktop: use at least {MIN_PASSWORD_CHARS} characters", file=sys.stderr)
        return EXIT_FAILURE
    print(hash_password(password))
    return 0
