"""`llmgw-desktop config --show`: every effective setting and where its value came from."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings, Settings

__all__ = ["COMMAND", "show_config"]

# The path settings left empty mean "the platform's place": shown as the path itself, since
# `""` tells a user nothing about where the gateway keeps their files.
_WHERE_EMPTY_MEANS: dict[str, Callable[[Settings], Path]] = {
    "paths.data_dir": lambda settings: settings.data_path,
    "paths.log_dir": lambda settings: settings.log_path,
    "store.db_path": lambda settings: settings.database_file,
}


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    config: argparse.ArgumentParser = commands.add_parser(
        "config",
        help="show the effective settings",
        description="Print every setting, its value and where the value came from (the "
        "default, the settings file or an environment variable), with the real data dir, log "
        "dir and database path. API keys and passwords are masked. A refused value is shown "
        "at its default, and each refusal is said on stderr (exit 2).",
        epilog=examples(
            "llmgw-desktop config --show",
            "llmgw-desktop --config ~/work.toml config --show --json",
        ),
        formatter_class=HelpWithExamples,
    )
    config.add_argument(
        "--show", action="store_true", help="print every setting and where its value came from"
    )
    config.add_argument("--json", action="store_true", help="print as JSON")
    return config


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    return _to_a_pipe(lambda: show_config(loaded, as_json=args.json))


# Whatever config.toml says: it is how a person finds the file to fix, and what it holds.
COMMAND = Command("config", _declare, _run, past_refusals=True)


def _to_a_pipe(command: Callable[[], int]) -> int:
    """Run a command that prints, ending quietly when its reader stops reading (`| head`)."""
    try:
        code = command()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader has what it wanted. Point stdout at /dev/null so the interpreter's own
        # flush at exit does not fail on the closed pipe a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    return code


def show_config(loaded: LoadedSettings, *, as_json: bool) -> int:
    """Print every effective setting and its source."""
    import json

    from llmgw_desktop.config.settings import declared_settings

    def shown(key: str, secret: bool) -> Any:
        value = loaded.settings.value(key)
        if secret:
            return "***" if value else ""
        if key in _WHERE_EMPTY_MEANS and not value:
            return str(_WHERE_EMPTY_MEANS[key](loaded.settings))
        return _without_secrets(value, key)

    rows = [
        {
            "key": d.key,
            "value": shown(d.key, d.secret),
            "source": loaded.sources[d.key],
            "env": d.env,
            "older_env": list(d.older_env),
            "doc": d.doc,
        }
        for d in declared_settings()
    ]
    refused = [{"key": e.key, "problem": e.problem, "source": e.source} for e in loaded.refused]
    if as_json:
        shown_all = {"config_file": str(loaded.config_file), "settings": rows, "refused": refused}
        print(json.dumps(shown_all, indent=2))
        return _refusals_said(loaded)
    exists = "" if loaded.config_file.exists() else " (not present: defaults apply)"
    print(f"# settings file: {loaded.config_file}{exists}")
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        origin = r["source"] if r["source"] != "default" else f"default; env {r['env']}"
        print(f"{r['key']:<{width}} = {json.dumps(r['value'])}  # {origin}")
    if loaded.unknown_env:
        print(f"# ignored environment variables (not settings): {', '.join(loaded.unknown_env)}")
    if refused:
        print(f"# refused, shown at their defaults: {', '.join(r['key'] for r in refused)}")
    return _refusals_said(loaded)


def _refusals_said(loaded: LoadedSettings) -> int:
    """Each refused value on stderr, as a start says it; EXIT_CONFIG, or 0 with none."""
    if not loaded.refused:
        return 0
    from llmgw_desktop.shell.cli.messages import config_error_message

    first = loaded.refused[0]
    first.errors = loaded.refused
    return config_error_message(first, loaded.config_file)


def _without_secrets(value: Any, key: str = "") -> Any:
    """Settings as shown: API keys written into config.toml are masked, never printed, and so
    is the password in the store's URL."""
    if key == "store.url" and isinstance(value, str):
        from llmgw_desktop.engine.api import redacted_url

        return redacted_url(value)
    if isinstance(value, dict):
        return {
            k: ("***" if k in ("api_key", "api_keys") else _without_secrets(v))
            for k, v in value.items()
        }
    return value
