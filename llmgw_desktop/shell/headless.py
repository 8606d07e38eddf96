"""Composition root without Qt: the same engine and front doors, stopped by SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import ModelListRead, tune_for_serving
from llmgw_desktop.shell.banner import print_banner
from llmgw_desktop.shell.event_loop import new_event_loop
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime

__all__ = ["install_stop_signals", "new_event_loop", "run_headless", "say_refused_keys"]

log = logging.getLogger(__name__)

TUNE_AFTER_S = 1.0


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Make SIGINT and SIGTERM set `stop` instead of killing the process mid-write."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows loops have no signal handlers
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))


def run_headless(loaded: LoadedSettings, lock: InstanceLock) -> int:
    """Serve until SIGINT/SIGTERM, then shut down in order; the process exit code.

    Raises:
        StoreError: the database cannot be opened.
        PortInUse: the HTTP port is taken.
    """
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_serve(loaded, lock))


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


async def _serve(loaded: LoadedSettings, lock: InstanceLock) -> int:
    def on_activate() -> str:
        log.info("another launch asked for the window; this instance runs headless")
        return "headless"

    stop = asyncio.Event()
    runtime = GatewayRuntime(
        loaded, mode="headless", lock=lock, on_activate=on_activate, on_quit=stop.set
    )
    install_stop_signals(asyncio.get_running_loop(), stop)
    say_refused_keys(runtime)
    await runtime.start()
    # A moment after the door opens, not before: its full collection would hold the first
    # requests (about 60 ms); the MCP SDK loading meanwhile is frozen when it has.
    asyncio.get_running_loop().call_later(TUNE_AFTER_S, tune_for_serving)
    await print_banner(runtime, "running headless")
    try:
        await stop.wait()
    finally:
        print("stopping...", file=sys.stderr, flush=True)
        await runtime.stop()
    print("llmgw-desktop stopped.", file=sys.stderr, flush=True)
    return 0
