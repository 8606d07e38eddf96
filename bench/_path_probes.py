"""Timestamps on the gateway's request path, for `bench/latency_path.py` only.

`latency_path.py` puts this file's folder first on the gateway's `PYTHONPATH` under the name
`sitecustomize`, with `LLMGW_PATH_PROBES` naming the file to write: when the headless shell
is imported (before the app is built), each probed function is wrapped to note, on the loop
thread, the nanosecond it was entered (`name>`) and left (`name<`); SIGUSR2 writes the notes.
A note costs about a microsecond, the same in every tree, so compare gaps, not totals.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

# (module, attribute path, label): the stages of a JSON request in the order it meets them.
# A missing one (another tree's code) is skipped and said on stderr.
PROBES: tuple[tuple[str, str, str], ...] = (
    ("aiohttp.web_protocol", "RequestHandler.data_received", "read"),
    ("llmgw_desktop.transports.http_app", "front_door()", "edge"),
    ("llmgw_desktop.transports.http_app", "edge_access()", "auth"),
    ("llmgw_desktop.transports.gateway.chat_routes", "read_body", "body"),
    ("llmgw_desktop.transports.gateway.chat_routes", "_caller_info", "caller"),
    ("llmgw_desktop.engine.gateway.service", "GatewayService.chat", "chat"),
    ("llmgw_desktop.engine.gateway.service", "plan_request", "plan"),
    ("llmgw_desktop.engine.gateway.chat_targets", "ChatTargets._outgoing", "outgoing"),
    ("llmgw_desktop.engine.budgets.ledger", "BudgetLedger.reserve", "reserve"),
    ("llmgw_desktop.engine.gateway.records.recording", "RequestRecords.start_attempt", "row"),
    ("llmgw_desktop.engine.gateway.http_client.http1", "_Connection.send", "send"),
    ("llmgw_desktop.engine.gateway.http_client.http1", "_Connection.data_received", "reply"),
    ("llmgw_desktop.engine.gateway.answers", "AnswerRelay.relay_whole", "relay"),
    ("llmgw_desktop.engine.gateway.records.recording", "RequestRecords.finish", "finish"),
    ("llmgw_desktop.engine.recorder.journal", "RecorderJournal.append_lines", "journal"),
    ("llmgw_desktop.engine.events", "EventBus.publish", "publish"),
    ("aiohttp.web_protocol", "RequestHandler.finish_response", "answer"),
)

_notes: list[tuple[int, str]] = []


def _wrapped(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    now, note = time.perf_counter_ns, _notes.append
    entered, left = label + ">", label + "<"
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            note((now(), entered))
            try:
                return await fn(*args, **kwargs)
            finally:
                note((now(), left))

        return timed_async

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        note((now(), entered))
        try:
            return fn(*args, **kwargs)
        finally:
            note((now(), left))

    return timed


def _install() -> None:
    for module_name, path, label in PROBES:
        try:
            owner: Any = importlib.import_module(module_name)
            *parents, name = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent)
            if name.endswith("()"):  # a factory: what it makes is probed
                name = name[:-2]
                factory = getattr(owner, name)

                def made(*args: Any, _f: Any = factory, _l: str = label, **kwargs: Any) -> Any:
                    return _wrapped(_f(*args, **kwargs), _l)

                setattr(owner, name, made)
            else:
                setattr(owner, name, _wrapped(getattr(owner, name), label))
        except (ImportError, AttributeError) as exc:
            print(f"path probe {label} ({module_name}.{path}) skipped: {exc}", file=sys.stderr)


class _OnShellImport:
    """Installs the probes when the headless shell is first imported (the app not yet built)."""

    done = False

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if not self.done and name == "llmgw_desktop.shell.headless":
            self.done = True
            _install()


def _write(*_: Any) -> None:
    with open(os.environ["LLMGW_PATH_PROBES"], "w", encoding="utf-8") as out:
        out.writelines(f"{t} {label}\n" for t, label in list(_notes))


if os.environ.get("LLMGW_PATH_PROBES"):
    sys.meta_path.insert(0, _OnShellImport())
    signal.signal(signal.SIGUSR2, _write)
