"""The engine's public surface: everything a front door (`transports/`) or the desk (`ui/`) may
use, and nothing else. `tests/engine/test_api_surface.py` fails when either reaches past it.

Two parts:
- The `Engine` (the composition root) and the services it holds, listed in
  `ENGINE_SERVICES`: a front door calls `engine.<service>.<method>(...)` and goes no deeper.
- The value types, errors and constants those services take and return, importable from
  here by name (`from llmgw_desktop.engine.api import Engine, JobView, InvalidRequest`).

Names load lazily (PEP 562): `llmgw_desktop.engine.api.hash_password` imports only the hashing
module, so the command line and the stdio relay, which need a few light names, do not pay for
the whole engine at start-up. `api.pyi` is the one list of those names: type checkers read its
plain imports, and this module reads the same lines at import to know where each name lives, so
adding a name is one line there. `tests/engine/test_api_surface.py` checks that what this module
reads is exactly what Python reads in the stub.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

# What `engine.<name>` a front door may use, by capability. Anything else on the Engine (the
# store, discovery, the switches, the lifeline ...) is the engine's own.
ENGINE_SERVICES: dict[str, str] = {
    # life cycle and health
    "start": "open the store and begin serving",
    "stop": "finish background work (bounded), then close the store",
    "interrupt_work": "end every running job now as interrupted (the first step of a stop)",
    "listening_on": "note the port the front door bound (never used as an upstream)",
    "health": "liveness facts for /health, the tray and Overview",
    "readiness": "whether this process takes new work (/health/ready)",
    "begin_drain": "take no new work, let what runs finish (a rolling restart's first step)",
    "live_jobs": "jobs queued or running: what a drain waits for",
    "process_health": "jobs, limits, breakers, switches, rested hosts (llm_process_health)",
    "degradations": "what degrades the serving gateway now (store, log), or ()",
    "state": "the engine's EngineState",
    "uptime_seconds": "seconds since start",
    "settings": "the settings this engine runs on (read only)",
    "settings_saver": "write a setting back to config.toml (operator only)",
    "live_settings": "save a setting and take it on now where the engine can (operator only)",
    "tasks": "the supervisor front doors start their own background tasks under",
    "events": "the event bus the desk observes",
    "unheard_notices": "the notices told while the engine started, before the desk listened",
    # calls, jobs and sessions
    "runner": "run a call: finished within the deadline, else deferred with its job id",
    "jobs": "read, wait for, watch and cancel jobs; the desk's job list",
    "job_retry": "the desk's Retry of a finished job",
    "sessions": "conversations per principal and the active one per caller",
    "acp_chats": "the chat sessions of `acp --model`, kept per principal for `session/load`",
    "validation": "multi-model answers, comparison and review",
    "gateway": "the HTTP gateway: chat in four dialects, token counts, pass-through",
    "playground": "the desk's chats through the gateway as the local user (streamed, recorded)",
    "approvals": "calls waiting for a person's decision at the desk",
    "guard": "the outbound guard: what it found since start, its questions at the desk",
    # providers
    "providers": "every CLI, API provider and local server: state, switches, models, checks",
    "answering": "whether anything can answer a call now (`now()`), and with how many models",
    "cli_accounts": "each installed CLI's login and plan, from its own files (offline)",
    "provider_editor": "add, edit, test and remove your API providers (operator only; live)",
    # what is stored
    "recorder": "the flight recorder's writer: status and lookups by correlation id",
    "recorder_query": "the flight recorder's pages, details, search, export, agent lanes",
    "body_capture": "the request bodies kept where `recorder.capture` asks (live policy, reads)",
    "refusals": "requests the edge refused, counted by reason",
    "metrics": "live charts: requests, tokens, spend, cache hits",
    "provider_health": "each provider's recent calls: error rate, failures in a row, latency",
    "project_grants": "which principals the operator granted each project (`projects.grants`)",
    "scrape": "the /metrics exposition (None when metrics.enabled is off)",
    "telemetry": "OpenTelemetry spans of requests and tool calls (a no-op unless otel.enabled)",
    "cache": "prompt-cache state per session and prefix",
    "vault": "sealed API keys and auth files",
    "auth": "who is calling: principals, tokens, rate limits",
    "keys": "gateway keys: make, list, revoke, rotate (operator only); each its own principal",
    "oauth": "the OAuth server (None when off): clients, grants, revocation, metadata",
    "consent": "OAuth consents waiting for a person at the desk",
    "workspaces": "named working directories and their remote powers",
    "upstream_mcp": "the user's own MCP servers: their tools on /mcp, relayed calls, state",
    "budgets": "spending limits: each budget's spend this period; edits (operator only)",
    "prices": "the price of a model and where it comes from (your prices over the table)",
    "price_settings": "set or remove your price of a model (operator only; saved, live)",
}

# The stub beside this module is the one list of public names: each line
# `from <home> import <name> as <name>` says where a name lives, for type checkers and, read
# here, for the lazy look-up below. Reading it (14 kB, one regular expression) adds a few
# tenths of a millisecond to this module's import on a loaded machine (docs/PERFORMANCE.md).
_STUB = Path(__file__).with_name("api.pyi")
# `from a.b import X as X` or, where ruff wraps a long line, `from a.b import (\n    X as X,\n)`
_REEXPORT = re.compile(r"^from ([\w.]+) import \(?\s*(\w+) as ", re.MULTILINE)


def _read_homes(stub: Path) -> dict[str, str]:
    """name -> the module that defines it, from the stub's re-exports.

    Raises:
        ImportError: the stub is missing (a bundle or a wheel that left it out).
    """
    try:
        text = stub.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportError(
            f"{stub} is missing: it lists the engine's public names, and must ship beside "
            f"api.py (pyproject.toml's package-data and build.spec's datas name it)"
        ) from exc
    return {name: home for home, name in _REEXPORT.findall(text)}


_HOMES: dict[str, str] = _read_homes(_STUB)
__all__ = ["ENGINE_SERVICES", *_HOMES]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home)
    value = (
        getattr(module, name)
        if hasattr(module, name)
        else importlib.import_module(f"{home}.{name}")
    )
    globals()[name] = value  # the next look-up is a plain global
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
