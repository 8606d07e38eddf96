"""How long the desktop's event loop stalls under a flood of gateway requests, dashboard open.

Usage: python bench/dashboard_flood.py [--rate 500] [--seconds 10] [--pages all|KEY,KEY]
       [--stream] [--plain-qasync] [--trace]
       [--profile PREFIX]

The real desktop composition (`DesktopApp`: engine, front doors, window, on a qasync loop, Qt's
offscreen platform) runs in this process with its dashboard window shown. A zero-latency
upstream (`bench/_upstream.py`, the one `bench/gateway_overhead.py` calls) and a paced client
run as their own processes, as in real use: the client sends `--rate` OpenAI Chat requests a
second through the gateway's HTTP door, on a fixed schedule (open loop: a slow gateway gets more
requests in flight, not fewer). Meanwhile two tickers (`_ticker.py`) record how late each of
their wakes is: one a Qt timer every 1 ms (how long the window's own events, its paints and key
presses, wait: a wake late by more than a frame, 16 ms, is a stall the person at the desk can
see), one an asyncio task sleeping 1 ms at a time (how long a coroutine waits for its turn, the
gateway's queue included: the dashboard's own background work waits that long).

The flood runs first with the window hidden (the gateway's own cost to the loop), then with
each page in `--pages` shown in turn (default: every page the window has, Overview first).
Each late wake is split into the loop thread's CPU time and its wait for a CPU, so a stall
caused by other processes on a busy machine can be told from one caused by our code; the load
average is printed with each phase. Also printed: the time from starting the app to the
window's first paint, from building a second window to its first paint, from bringing the
hidden window back to its first paint, and what the Overview charts' update and paint cost.

The loop is the app's own (`ui/event_loop.py`: qasync's, with cancelled timers stopped at
once). `--plain-qasync` runs on qasync's loop as it comes instead, which keeps every cancelled
timer to its deadline: each gateway request leaves two ten-minute ones behind.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _chat_requests import AUTH_HEADERS, REQUEST  # noqa: E402 - siblings, found through sys.path
from _ticker import Stalls, Ticker  # noqa: E402
from _upstream import free_port, serve_upstream, wait_ready  # noqa: E402

MAX_IN_FLIGHT = 512
REQUEST_TIMEOUT_S = 30.0
SETTLE_S = 1.0
IDLE_BASELINE_S = 2.0
CHART_SAMPLES = 40
INDENT = " " * 27


# -- the paced client (runs in its own process) ----------------------------------------------


async def drive(url: str, rate: float, seconds: float, stream: bool) -> dict[str, float]:
    import aiohttp

    total = int(rate * seconds)
    body = REQUEST | ({"stream": True} if stream else {})
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    async with session.post(url, json=body, headers=AUTH_HEADERS) as response:
                        await response.read()
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                except (aiohttp.ClientError, TimeoutError):
                    statuses[0] = statuses.get(0, 0) + 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        tasks = []
        for n in range(total):
            delay = began + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    ms = sorted(v * 1000 for v in latencies)
    return {
        "sent": total,
        "ok": statuses.get(200, 0),
        "failed": total - statuses.get(200, 0),
        "elapsed_s": elapsed,
        "median_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))],
    }


# -- the desktop side ------------------------------------------------------------------------


def _environment(home: str, upstream_port: int) -> None:
    for name in list(os.environ):
        if name.startswith("LLM_GATEWAY_"):
            del os.environ[name]
    os.environ.update(
        QT_QPA_PLATFORM="offscreen",
        LLM_GATEWAY_CONFIG=f"{home}/config.toml",
        LLM_GATEWAY_DATA_DIR=f"{home}/data",
        LLM_GATEWAY_LOG_DIR=f"{home}/log",
        LLM_GATEWAY_HTTP_PORT=str(free_port()),
        LLM_GATEWAY_DETECT_LOCAL="false",
        LLM_GATEWAY_MASTER_KEY="0" * 64,
        OPENAI_API_KEY="sk-bench-key",
        OPENAI_BASE_URL=f"http://127.0.0.1:{upstream_port}/v1",
    )


async def _painted(widget: object | None = None) -> float:
    """Await the next paint of `widget` (of any dashboard page when None, watching the whole
    application: the window does not exist yet); the perf_counter time it happened."""
    from llmgw_desktop.ui.pages.base import Page
    from llmgw_desktop.ui.qt import QApplication, QEvent, QObject

    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            wanted = watched is widget if widget is not None else isinstance(watched, Page)
            if wanted and event.type() == QEvent.Type.Paint and not done.done():
                done.set_result(time.perf_counter())
            return False

    spy = FirstPaint()
    target = widget if widget is not None else QApplication.instance()
    target.installEventFilter(spy)  # type: ignore[union-attr]
    try:
        return await asyncio.wait_for(done, 30)
    finally:
        target.removeEventFilter(spy)  # type: ignore[union-attr]


async def desktop_run(args: argparse.Namespace, home: str) -> None:
    """Start the desktop app, time its window, flood it page by page, print the figures."""
    from llmgw_desktop.config.settings import load_settings
    from llmgw_desktop.shell.app import DesktopApp
    from llmgw_desktop.shell.instance import InstanceLock
    from llmgw_desktop.ui.qt import QApplication

    loaded = load_settings()
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    desktop = DesktopApp(loaded, lock)
    started = time.perf_counter()
    first_paint = asyncio.ensure_future(_painted())
    run = asyncio.get_running_loop().create_task(desktop.run())
    launch_ms = (await first_paint - started) * 1000
    window = desktop.window
    assert window is not None
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, desktop app on "
        f"{QApplication.platformName()}, {args.rate:.0f} requests/s for {args.seconds:.0f} s "
        f"per page ({'stream' if args.stream else 'json'}), recorder on"
        f"{', plain qasync loop' if args.plain_qasync else ''}; load {_load()}"
    )
    print(
        f"window: launch to first paint {launch_ms:.0f} ms (gateway start included); "
        + await _window_figures(desktop, home)
    )

    ticker = Ticker()
    ticker.start()
    await asyncio.sleep(IDLE_BASELINE_S)
    idle = ticker.take()
    print(f"  {'idle, overview shown':<24} {ticker.take_window().summary()}  (window events)")
    print(f"  {'':<24} {idle.summary()}  (asyncio)")
    _print_trace(idle, args)
    assert desktop.runtime is not None
    url = desktop.runtime.base_url + "/v1/chat/completions"
    # The same flood with no window first: what the gateway alone costs the loop.
    window.hide()
    await _flood("window hidden", url, ticker, args, window)
    window.bring_forward()
    for key in list(window.pages) if args.pages == "all" else args.pages.split(","):
        window.show_page(key)
        await _flood(f"{key} page shown", url, ticker, args, window)
    await ticker.stop()

    # The cyclic collector runs on the loop thread; its full pass is one uninterruptible stall.
    began = time.perf_counter()
    gc.collect()
    print(
        f"a full garbage collection ({len(gc.get_objects()):,} tracked objects) takes "
        f"{(time.perf_counter() - began) * 1000:.1f} ms"
    )
    # The app freezes its start-up objects (ui/gc_guard.py), so these are what the run made
    # and still holds.
    kept = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    print("  held since start:", ", ".join(f"{n} {c:,}" for n, c in kept.most_common(6)))
    window.show_page("overview")
    print(_chart_costs(window.pages["overview"]))
    desktop.request_quit()
    await run
    lock.release()


async def _window_figures(desktop: Any, home: str) -> str:
    """Bring the hidden window back, and build a second one on the running gateway."""
    from llmgw_desktop.ui.bridge import EngineBridge
    from llmgw_desktop.ui.main_window import MainWindow, WindowFacts

    window, runtime = desktop.window, desktop.runtime
    window.hide()
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    window.bring_forward()
    reopen_ms = (await _painted(window.current_page) - began) * 1000
    bridge = EngineBridge(runtime.engine)
    began = time.perf_counter()
    fresh = MainWindow(
        bridge,
        desktop.actions,
        WindowFacts(runtime.mcp_url, runtime.base_url + "/health", Path(home), Path(home)),
        close_quits=False,
        on_quit=lambda: None,
    )
    built_ms = (time.perf_counter() - began) * 1000
    fresh.show()
    fresh_ms = (await _painted(fresh.current_page) - began) * 1000
    fresh.hide()
    bridge.detach()
    fresh.deleteLater()
    return (
        f"a new window (every page) built in {built_ms:.0f} ms, painted at {fresh_ms:.0f} ms;"
        f" hidden window brought back and painted in {reopen_ms:.1f} ms;"
        f" pages: {', '.join(window.pages)}"
    )


async def _flood(
    label: str, url: str, ticker: Ticker, args: argparse.Namespace, window: Any
) -> None:
    """One phase: the paced client in its own process, the ticker watching this loop."""
    await asyncio.sleep(SETTLE_S)
    ticker.take()
    ticker.take_window()
    resizes = _ChartResizes(window)
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    gc_runs = [s["collections"] for s in gc.get_stats()]
    cpu_before, loop_before = time.process_time(), time.thread_time()
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        *("--drive", url, "--rate", str(args.rate), "--seconds", str(args.seconds)),
        *(["--stream"] if args.stream else []),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await client.communicate()
    stalls = ticker.take()
    window_stalls = ticker.take_window()
    resized = resizes.stop()
    if profile is not None:
        profile.disable()
        profile.dump_stats(f"{args.profile}.{label.split()[0]}.pstats")
    cpu_ms = (time.process_time() - cpu_before) * 1000
    loop_ms = (time.thread_time() - loop_before) * 1000
    gcs = [s["collections"] - c for s, c in zip(gc.get_stats(), gc_runs, strict=True)]
    figures = json.loads(out)
    sent, elapsed = figures["sent"], figures["elapsed_s"]
    print(f"  {label:<24} {window_stalls.summary()}  (window events)")
    print(f"  {'':<24} {stalls.summary()}  (asyncio)")
    _print_trace(stalls, args)
    print(
        f"{INDENT}client: {figures['ok']}/{sent} ok at {sent / elapsed:.0f}/s, latency"
        f" median {figures['median_ms']:.1f} ms p99 {figures['p99_ms']:.1f} ms;"
        f" gc runs (gen0/1/2) {gcs[0]}/{gcs[1]}/{gcs[2]}; load {_load()}"
    )
    print(f"{INDENT}{_pending_timers()}; {resized}")
    print(
        f"{INDENT}this process: {cpu_ms / sent:.2f} ms CPU per request, of which the loop"
        f" thread {loop_ms / sent:.2f} ms ({loop_ms / 1000 / elapsed:.0%} of a core)"
    )


def _print_trace(stalls: Stalls, args: argparse.Namespace) -> None:
    """With --trace: what the loop did in each on-CPU stall of the phase just measured."""
    if not args.trace:
        return
    from stall_trace import by_kind, report

    from llmgw_desktop.ui.qt import QApplication

    app = QApplication.instance()
    events = app.take() if hasattr(app, "take") else []
    for line in by_kind(events, INDENT) + report(
        stalls.on_cpu_stalls(), events, args.sampler, INDENT
    ):
        print(line)


class _ChartResizes:
    """Counts the Overview plots' resizes during a phase: a plot resized under traffic lays
    pyqtgraph's axes and view out again (the cause of the 20-50 ms stalls of 2026-11-23)."""

    def __init__(self, window: Any) -> None:
        from llmgw_desktop.ui.qt import QEvent, QObject

        overview = window.pages.get("overview")
        built = overview is not None and overview.charts_built
        self._plots = list(overview.charts.plot_widgets) if built else []
        self.count = 0
        counter = self

        class Spy(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Resize:
                    counter.count += 1
                return False

        self._spy = Spy()
        for plot in self._plots:
            plot.installEventFilter(self._spy)

    def stop(self) -> str:
        for plot in self._plots:
            plot.removeEventFilter(self._spy)
        if not self._plots:
            return "overview charts not built"
        return f"overview plots resized {self.count} times"


def _chart_costs(overview: Any) -> str:
    """What the Overview's timer does each quarter second, in this thread's CPU time: update
    one chart, then Qt paints it (timed here as a render of that chart)."""
    charts = overview.charts
    updates, paints = [], []
    charts.redraw()  # a full redraw first, as when the page is shown; not counted
    for turn in range(CHART_SAMPLES):
        began = time.thread_time()
        charts.draw_next()
        updates.append((time.thread_time() - began) * 1000)
        began = time.thread_time()
        charts.plot_widgets[turn % len(charts.plot_widgets)].grab()
        paints.append((time.thread_time() - began) * 1000)
    return (
        f"overview charts, one chart per quarter second: update {statistics.median(updates):.2f}"
        f" ms (worst {max(updates):.2f}), paint {statistics.median(paints):.2f} ms (worst"
        f" {max(paints):.2f}) of CPU, over {len(updates)} slices"
    )


def _pending_timers() -> str:
    """qasync starts one Qt timer per call_later and keeps it (and its handle) until it fires,
    even when the handle was cancelled: count what is pending, by callback."""
    loop = asyncio.get_running_loop()
    pending = getattr(getattr(loop, "_timer", None), "_SimpleTimer__callbacks", None)
    if pending is None:
        return "qasync timers: not visible in this qasync version"
    kinds = collections.Counter(
        getattr(h._callback, "__qualname__", "?") if not h._cancelled else "(cancelled)"
        for h in list(pending.values())
    )
    top = ", ".join(f"{name} {n:,}" for name, n in kinds.most_common(4))
    return f"qasync timers pending: {len(pending):,} ({top})"


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pages", default="all", help="'all' or page keys, comma-separated")
    parser.add_argument("--stream", action="store_true", help="streamed answers (SSE)")
    parser.add_argument(
        "--plain-qasync",
        action="store_true",
        help="qasync's own loop (keeps cancelled timers) instead of the app's",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="name what the loop did in each on-CPU stall (slow Qt events, Python stacks);"
        " slows the loop itself",
    )
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="cProfile the loop thread during each flood, to PREFIX.<phase>.pstats",
    )
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return
    if args.drive:
        print(json.dumps(asyncio.run(drive(args.drive, args.rate, args.seconds, args.stream))))
        return

    up_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--serve-upstream", str(up_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{up_port}/")
        with tempfile.TemporaryDirectory() as home:
            _environment(home, up_port)
            import qasync

            from llmgw_desktop.ui.event_loop import GatewayEventLoop
            from llmgw_desktop.ui.qt import QApplication

            args.sampler = None
            if args.trace:
                from stall_trace import StackSampler, TimedApplication

                app = TimedApplication(sys.argv[:1])
                args.sampler = StackSampler(threading.get_ident())
                args.sampler.start()
            else:
                app = QApplication(sys.argv[:1])
            loop = qasync.QEventLoop(app) if args.plain_qasync else GatewayEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                loop.run_until_complete(desktop_run(args, home))
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)


if __name__ == "__main__":
    main()
