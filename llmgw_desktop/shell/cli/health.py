"""`llmgw-desktop health`: ask the gateway these settings describe whether it is ready (or,
with `--live`, alive), for a container's HEALTHCHECK or a script; exit 0 yes, 1 no.

It asks on loopback at `http.port` (the bound address when `http.host` names one), where the
probe endpoints are public: no key or token is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.exit_codes import EXIT_FAILURE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND"]

# Loopback answers at once, or the gateway is too busy to count as healthy.
PROBE_TIMEOUT_S = 4.0
_WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "health",
        help="say whether the gateway of these settings is ready (exit 0) or not (1)",
        description="Ask the gateway these settings describe, on loopback, whether it takes "
        "new work (/health/ready: serving and not draining) or, with --live, whether its "
        "process answers at all (/health/live). Exit 0 when it is, 1 when not. The image's "
        "HEALTHCHECK runs it.",
        epilog=examples("llmgw-desktop health", "llmgw-desktop health --live"),
        formatter_class=HelpWithExamples,
    )
    parser.add_argument("--live", action="store_true", help="ask only whether the process answers")
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    # Imported here: every command builds this parser, and the stdio relay must not pay for
    # the standard library's HTTP client (tests/test_startup_imports.py).
    import urllib.error
    import urllib.request

    from llmgw_desktop.transports.http_server import base_url

    http = loaded.settings.http
    host = "127.0.0.1" if http.host in _WILDCARDS else http.host
    url = base_url(host, http.port) + ("/health/live" if args.live else "/health/ready")
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as answer:  # noqa: S310
            body = answer.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as refused:
        body = refused.read(4096).decode("utf-8", "replace")
        print(f"not ready ({refused.code}): {_status(body)}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        print(f"no gateway answers at {url}: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    print("alive" if args.live else f"ready: {_status(body)}")
    return 0


def _status(body: str) -> str:
    """The status an answer names, or the answer itself."""
    try:
        return str(json.loads(body).get("status", body))
    except (ValueError, AttributeError):
        return body.strip()[:200]


COMMAND = Command("health", _declare, _run)
