"""Composition root without Qt: the same engine and front doors, stopped by SIGINT/SIGTERM.

With `http.drain_s` set, the first signal drains (`shell/drain.py`: not ready, no new
connection, what is in flight finishes) before the stop; a second signal stops at once.
Run by systemd as `Type=notify`, it says when it is ready and when it stops (`sd_notify.py`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import ModelListRead, tune_for_serving
from llmgw_desktop.shell.banner import print_banner, print_banner_at_once
from llmgw_desktop.shell.drain import drain
from llmgw_desktop.shell.event_loop import new_event_loop
from llmgw_desktop.shell.exit_codes import rows_lost_at_stop
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.shell.sd_notify import notify
from llmgw_desktop.shell.workers import WorkerRole, bind_to_parent, run_workers, worker_role

__all__ = ["install_stop_signals", "run_headless", "say_refused_keys"]

log = logging.getLogger(__name__)

TUNE_AFTER_S = 1.0


def install_stop_signals(
    loop: asyncio.AbstractEventLoop, stop: asyncio.Event, again: asyncio.Event | None = None
) -> None:
    """Make SIGINT and SIGTERM set `stop` instead of killing the process mid-write, and a
    signal after that set `again` (a person's second Ctrl+C: stop now, drain no longer)."""

    def stop_asked() -> None:
        if stop.is_set() and again is not None:
            again.set()
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop_asked)
        except (NotImplementedError, RuntimeError):  # Windows loops have no signal handlers
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop_asked))


def run_headless(loaded: LoadedSettings, lock: InstanceLock, *, verbose: bool = False) -> int:
    """Serve until SIGINT/SIGTERM, then shut down in order; the process exit code. With
    `http.workers` above 1, supervise that many worker processes instead (`workers.py`).

    Raises:
        StoreError: the database cannot be opened.
        PortInUse: the HTTP port is taken.
    """
    role = worker_role()
    if role is None and loaded.settings.http.workers > 1:
        return run_workers(loaded, lock, verbose=verbose)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_serve(loaded, lock, role))


def say_refused_keys(runtime: GatewayRuntime) -> None:
    """Print, the moment it happens, a provider refusing the key its model list was read with
    at start: a headless person would otherwise learn it from the first failed call."""

    def refused(event: ModelListRead) -> None:
        if event.refused is not None:
            print(
                f"llmgw-desktop: {event.provider} refused the key {event.key} "
                f"({event.refused}): its models are not offered until a working key is stored "
                "in the vault (no restart needed) or set in its variable and the gateway "
                "started again",
                file=sys.stderr,
                flush=True,
            )

    runtime.engine.events.subscribe(ModelListRead, refused, after=True)


async def _serve(loaded: LoadedSettings, lock: InstanceLock, role: WorkerRole | None) -> int:
    def on_activate() -> str:
        log.info("another launch asked for the window; this instance runs headless")
        return "headless"

    stop, again = asyncio.Event(), asyncio.Event()
    on_quit = stop.set
    if role is not None:
        # Any worker may be asked to quit: the supervisor stops them all.
        lock.token = role.token
        on_quit = functools.partial(os.kill, role.parent, signal.SIGTERM)
    runtime = GatewayRuntime(
        loaded,
        mode="headless",
        lock=lock,
        on_activate=on_activate,
        on_quit=on_quit,
        reuse_port=role is not None,
    )
    install_stop_signals(asyncio.get_running_loop(), stop, again)
    if role is not None:
        bind_to_parent(role, stop.set)
    say_refused_keys(runtime)
    await runtime.start()
    # A moment after the door opens, not before: its full collection would hold the first
    # requests (about 60 ms); the MCP SDK loading meanwhile is frozen when it has.
    asyncio.get_running_loop().call_later(TUNE_AFTER_S, tune_for_serving)
    notify("READY=1", f"STATUS=serving at {runtime.base_url}")
    # Beside the wait for a stop, never before it: the banner waits for the first look at the
    # providers and reads the store, and a stop held behind it waited for good on a frozen
    # PostgreSQL (the store cuts a COMMIT's wait only once the stop has begun). A stop asked
    # before it printed prints it at once, with what answers as last looked at.
    told = runtime.engine.tasks.spawn(_say_serving(runtime, role), name="banner")
    try:
        await stop.wait()
        grace_s = runtime.settings.http.drain_s
        if grace_s > 0 and not again.is_set():
            notify("STOPPING=1", "STATUS=draining: what is in flight finishes")
            await drain(runtime, grace_s, again)
    finally:
        if not told.done():
            told.cancel()
            _say_serving_at_once(runtime, role)
        print("stopping...", file=sys.stderr, flush=True)
        notify("STOPPING=1", "STATUS=stopping")
        await runtime.stop()
    code = rows_lost_at_stop(runtime.engine.recorder.lost_at_stop)
    if code == 0:
        print("llmgw-desktop stopped.", file=sys.stderr, flush=True)
    return code


async def _say_serving(runtime: GatewayRuntime, role: WorkerRole | None) -> None:
    """The banner, once the first look at the providers has ended (a worker's one line)."""
    if role is None:
        await print_banner(runtime, "running headless")
    else:
        _say_serving_at_once(runtime, role)


def _say_serving_at_once(runtime: GatewayRuntime, role: WorkerRole | None) -> None:
    if role is None:
        print_banner_at_once(runtime, "running headless")
    else:
        print(f"worker {role.index}/{role.count} serving (pid {os.getpid()})", flush=True)
