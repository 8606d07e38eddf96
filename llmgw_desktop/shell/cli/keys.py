"""`llmgw-desktop keys create|list|revoke|rotate|lend`: gateway keys from the command line.

For headless and team use: the command opens the store the settings name (the SQLite file, or
the team's PostgreSQL database) and writes there, so every gateway on that store sees a new key
or a revocation at its next request, without a restart. It runs as the operator: whoever can
run it on this account can read the store anyway. A new key's secret is printed once, on
stdout, with how each client carries it; it is never stored or logged. `lend` prints only a
short-lived secret of a key (same principal, scope and budget), for a tool that runs a command
for its credential (Claude Code's `apiKeyHelper`), so no long-lived key sits in its settings.

Exit codes: 0 done; 1 refused or failed (no such key, a name already live, the store cannot be
opened); 2 a bad argument.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands
from llmgw_desktop.shell.exit_codes import EXIT_FAILURE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings
    from llmgw_desktop.engine.api import KeyRecord, MadeKey

__all__ = ["COMMAND", "add_keys_parser", "keys_command", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A lent secret's default life: Claude Code asks its key helper again after 5 minutes (or on
# a 401), so three of its periods.
DEFAULT_LEND_S = 900.0


def parse_duration(text: str) -> float:
    """Seconds in `30d`, `12h`, `90m` or `45s` (a bare number is seconds).

    Raises:
        argparse.ArgumentTypeError: anything else, or not positive.
    """
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:], 0)
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: say 30d, 12h, 90m or 45s") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than zero")
    return seconds


def add_keys_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add `keys` and its four verbs to the command line's sub-commands."""
    keys = commands.add_parser(
        "keys",
        help="make, list, revoke and rotate gateway keys (one per tool or person)",
        description="Gateway keys: a secret per tool or person, each its own principal (the "
        "recorder, budgets and the Agents page tell them apart), with a scope of models, "
        "providers, projects and MCP tools, a budget, a rate limit and an expiry. Written to "
        "the store the settings name, so every gateway on it sees the change at once.",
        epilog="examples:\n"
        "  llmgw-desktop keys create ci-bot --model gpt-4o-mini --budget 5 --rate 60\n"
        "  llmgw-desktop keys create ci-codex --caller codex\n"
        "  llmgw-desktop keys list\n"
        "  llmgw-desktop keys rotate ci-bot --grace 1h\n"
        "  llmgw-desktop keys revoke ci-bot\n"
        "  llmgw-desktop keys lend claude-code --ttl 15m",
        formatter_class=formatter,
    )
    verbs = keys.add_subparsers(dest="keys_command", metavar="VERB", required=True)
    create = verbs.add_parser("create", help="make a key; its secret is printed once")
    create.add_argument("name", help="its name; the principal is key:NAME")
    for flag, dest, what in (
        ("--model", "models", "a model it may reach (repeat; `provider/model`, `*` at the end)"),
        (
            "--provider",
            "providers",
            "a provider it may reach, as the routes name it: openai, claude-cli (repeat; "
            "default: any)",
        ),
        ("--project", "projects", "a project it may name (repeat; default: none)"),
        ("--tool", "tools", "an MCP tool it may call (repeat; default: any)"),
    ):
        create.add_argument(flag, dest=dest, action="append", default=[], help=what)
    create.add_argument(
        "--caller",
        metavar="NAME",
        help="the caller its requests go under, as the routes' `pin` tables name it (codex): "
        "those pins apply to it (what its client calls itself never chooses a pin)",
    )
    create.add_argument("--budget", type=float, metavar="USD", help="a hard dollar budget")
    create.add_argument(
        "--period", choices=("daily", "monthly"), default="monthly", help="the budget's period"
    )
    create.add_argument("--rate", type=int, metavar="PER_MINUTE", help="requests a minute")
    create.add_argument(
        "--expires-in", type=parse_duration, metavar="DURATION", help="e.g. 30d, 12h"
    )
    create.add_argument(
        "--continue-identity",
        action="store_true",
        help="NAME was a revoked key's and this key is the same holder's: it takes that "
        "principal's sessions, jobs, history, cached answers and budget spend (without it, "
        "an earlier key's name is refused)",
    )
    create.add_argument("--json", action="store_true", help="print the key as JSON")
    verbs.add_parser("list", help="every key, without secrets").add_argument(
        "--json", action="store_true", help="print JSON"
    )
    revoke = verbs.add_parser("revoke", help="revoke a key at once, everywhere")
    revoke.add_argument("name")
    rotate = verbs.add_parser("rotate", help="a new secret under the same name")
    rotate.add_argument("name")
    rotate.add_argument(
        "--grace",
        type=parse_duration,
        default=0.0,
        metavar="DURATION",
        help="keep the old secret working this long (default: revoked at once)",
    )
    rotate.add_argument("--json", action="store_true", help="print the key as JSON")
    lend = verbs.add_parser(
        "lend",
        help="print a short-lived secret of a key, for a tool's key helper (Claude Code's "
        "apiKeyHelper)",
    )
    lend.add_argument("name", help="the key it belongs to: same scope, budget and spend")
    lend.add_argument(
        "--ttl",
        type=parse_duration,
        default=DEFAULT_LEND_S,
        metavar="DURATION",
        help="how long it works (default 15m; never past the key's own expiry)",
    )


def keys_command(loaded: LoadedSettings, args: argparse.Namespace) -> int:
    """Run one `keys` verb; returns the exit code."""
    import asyncio  # here, not at the top: `--help` lists this command without running it

    return asyncio.run(_run(loaded, args))


async def _run(loaded: LoadedSettings, args: argparse.Namespace) -> int:
    from llmgw_desktop.engine.api import (
        LOCAL_CALLER,
        EngineError,
        KeyScope,
        KeySpec,
        StoreError,
        keys_on_store,
    )

    settings = loaded.settings
    try:
        async with keys_on_store(
            settings.database_file, settings.store.url, settings.store.password
        ) as keys:
            verb = args.keys_command
            if verb == "create":
                scope = KeyScope.of(
                    models=args.models,
                    providers=args.providers,
                    projects=args.projects,
                    tools=args.tools,
                    caller=args.caller,
                )
                spec = KeySpec(
                    name=args.name,
                    scope=scope,
                    budget_usd=args.budget,
                    budget_period=args.period,
                    per_minute=args.rate,
                    expires_at=time.time() + args.expires_in if args.expires_in else None,
                    continues_identity=args.continue_identity,
                )
                _print_made(await keys.create(LOCAL_CALLER, spec), loaded, as_json=args.json)
            elif verb == "rotate":
                made = await keys.rotate(LOCAL_CALLER, args.name, grace_s=args.grace)
                _print_made(made, loaded, as_json=args.json)
            elif verb == "lend":
                # The secret alone on stdout: a key helper's output is the credential.
                print((await keys.lend(LOCAL_CALLER, args.name, ttl_s=args.ttl)).secret)
            elif verb == "revoke":
                count = await keys.revoke(LOCAL_CALLER, args.name)
                print(f"key:{args.name} revoked ({count} secret{'s' if count != 1 else ''})")
            else:
                _print_list(await keys.list(LOCAL_CALLER), as_json=args.json)
    except EngineError as exc:
        print(f"llmgw-desktop keys: {exc.message}", file=sys.stderr)
        return EXIT_FAILURE
    except StoreError as exc:
        print(f"llmgw-desktop keys: the store cannot be opened: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def _base_url(loaded: LoadedSettings) -> str:
    settings = loaded.settings
    if settings.http.public_url:
        return settings.http.public_url.rstrip("/")
    host = settings.http.host if settings.http.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.http.port}"


def _print_made(made: MadeKey, loaded: LoadedSettings, *, as_json: bool) -> None:
    from llmgw_desktop.ui.connect import key_snippets

    record = made.record
    if as_json:
        print(json.dumps({"secret": made.secret, **record.to_dict(time.time())}, indent=2))
        return
    print(f"{record.principal}  {record.shown}")
    print("\nThe key (shown this once; the gateway keeps only its hash):\n")
    print(f"  {made.secret}\n")
    for snippet in key_snippets(_base_url(loaded), made.secret):
        print(f"# {snippet.client} ({snippet.where})")
        print(snippet.text + "\n")


def _print_list(records: list[KeyRecord], *, as_json: bool) -> None:
    now = time.time()
    if as_json:
        print(json.dumps([r.to_dict(now) for r in records], indent=2))
        return
    if not records:
        print("no gateway keys (make one with: llmgw-desktop keys create NAME)")
        return
    for r in records:
        limits = []
        if r.budget_usd is not None:
            limits.append(f"${r.budget_usd:g}/{r.budget_period}")
        if r.per_minute is not None:
            limits.append(f"{r.per_minute}/min")
        scope = r.scope.describe_targets()
        print(
            f"{r.name:<24} {r.shown:<12} {r.state(now):<9} {scope}"
            + (f"  [{', '.join(limits)}]" if limits else "")
        )


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    add_keys_parser(commands, HelpWithExamples)
    parser: argparse.ArgumentParser = commands.choices["keys"]
    return parser


def _run_command(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    return keys_command(loaded, args)


COMMAND = Command("keys", _declare, _run_command)
