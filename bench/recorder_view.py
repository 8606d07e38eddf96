"""What the Flight recorder page costs with a million recorded requests.

Usage: python bench/recorder_view.py [--rows 1000000] [--data-dir DIR]
       [--engine sqlite|postgresql] [--store-url postgresql://...]

Fills a fresh store with `--rows` requests spread over the last 30 days (bulk insert into the
store: ten providers, sixty callers, twenty principals, a few states and error codes, route
and approval JSON), then starts a real `Engine` on it and opens the real `RecorderPage` on a
qasync loop, offscreen. `--data-dir` keeps an SQLite store between runs (filled once).

`--engine postgresql` runs the same on a PostgreSQL store: a throwaway cluster started for the
run (bench/_postgres.py), or the database `--store-url` names (filled once, kept). The rows go
in with `COPY`, and the table is then vacuumed and analysed, as autovacuum would have done on a
server that had been taking these rows for a month.

Printed, in milliseconds unless said otherwise:
- page open: from building the page and showing it to its first page of rows on screen, and
  to the total count shown beside it;
- count and first page under each of a few filters (`RecorderQuery` directly, so the figure
  is the query's own, including the hop to the DB thread and back), newest first and a few
  oldest first; error code, HTTP status and project have no index, and a project no row has
  is their worst case (the time index walked to its end); the filter boxes' choices;
- "Failed only" clicked on the page (rows on screen), and Time's header clicked (oldest first);
- a filter typed into the page (search box to rows on screen, minus the 250 ms settle delay);
- scroll fetch: each further page the view asks for as it is scrolled to the bottom, and a
  page 500,000 rows deep (keyset: the same cost as the first);
- export of a filtered set to JSON Lines;
- the recorder's own write of 125 finished requests (the search index takes them in batches);
- the longest the event loop went without running in each phase, and while idle first (on
  a busy machine, the idle figure is other processes taking the CPU, not this page). Cyclic
  garbage is collected on the GUI thread, as in the desktop app, so a full collection shows
  up here too.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync  # noqa: E402 - after the platform is chosen
from _postgres import ENGINES, store_url  # noqa: E402
from _recorder_rows import fill, keeping_every_row  # noqa: E402

from llmgw_desktop.config.settings import Settings  # noqa: E402
from llmgw_desktop.engine.engine import Engine  # noqa: E402
from llmgw_desktop.engine.recorder import PageCursor, RecorderFilters  # noqa: E402
from llmgw_desktop.engine.store.sql import portable  # noqa: E402
from llmgw_desktop.ui.actions import GatewayActions  # noqa: E402
from llmgw_desktop.ui.bridge import EngineBridge  # noqa: E402
from llmgw_desktop.ui.gc_guard import GuiThreadCollector  # noqa: E402
from llmgw_desktop.ui.pages.base import PageContext, WindowFacts  # noqa: E402
from llmgw_desktop.ui.pages.recorder import RecorderPage  # noqa: E402
from llmgw_desktop.ui.pages.recorder_filters import SEARCH_SETTLE_MS  # noqa: E402
from llmgw_desktop.ui.qt import QApplication  # noqa: E402

DEFAULT_ROWS = 1_000_000
STEP_TIMEOUT_S = 120.0
IDLE_BASELINE_S = 2.0


class StallWatch:
    """The longest gap between wakes of a 5 ms ticker on the loop: how long the UI froze."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self.phase_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def phase(self) -> str:
        """The worst stall since the last call, for printing beside a phase's figures."""
        worst, self.phase_ms = self.phase_ms, 0.0
        return f"[longest loop stall {worst:.0f} ms]"

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            late = (time.perf_counter() - before - 0.005) * 1000
            self.worst_ms = max(self.worst_ms, late)
            self.phase_ms = max(self.phase_ms, late)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def until(condition: Callable[[], Any]) -> float:
    """Seconds until `condition()` holds (awaiting, never blocking), bounded."""
    started = time.perf_counter()
    async with asyncio.timeout(STEP_TIMEOUT_S):
        while not condition():
            await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def timed(work: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """The median milliseconds of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


async def measure(settings: Settings, rows: int) -> None:
    engine = Engine(settings)
    await engine.start()
    bridge = EngineBridge(engine)
    watch = StallWatch()
    watch.start()
    await asyncio.sleep(IDLE_BASELINE_S)
    print(f"idle for {IDLE_BASELINE_S:.0f} s, as a baseline for this machine: {watch.phase()}")
    try:
        await page_figures(engine, bridge, watch)
        await query_figures(engine, rows)
        print(watch.phase())
        await write_figures(engine)
        print(watch.phase())
    finally:
        watch.stop()
        bridge.detach()
        await engine.stop()
    print(f"\nlongest event-loop stall meanwhile: {watch.worst_ms:.1f} ms")


async def page_figures(engine: Engine, bridge: EngineBridge, watch: StallWatch) -> None:
    actions = GatewayActions(
        bridge, endpoint=lambda: "", open_dashboard=lambda: None, quit_app=lambda: None
    )
    data = engine.settings.data_path
    facts = WindowFacts("", "", data, data / "log")
    started = time.perf_counter()
    page = RecorderPage(PageContext(bridge=bridge, actions=actions, facts=facts))
    page.resize(1400, 900)
    page.show()
    page.page_shown()
    await until(lambda: page.model.loaded > 0)
    opened = time.perf_counter() - started
    await until(lambda: page.model.total is not None)
    counted = time.perf_counter() - started
    print(
        f"\npage open: first page on screen {opened * 1000:.0f} ms; count of"
        f" {page.model.total:,} shown {counted * 1000:.0f} ms {watch.phase()}"
    )

    for label, click in (
        ("'Failed only' clicked", page.failed_button.click),
        ("'Failed only' clicked off", page.failed_button.click),
        ("Time header clicked (oldest first)", lambda: page.show_oldest_first(True)),
        ("Time header clicked (newest first)", lambda: page.show_oldest_first(False)),
    ):
        started = time.perf_counter()
        click()
        await until(lambda: not page.model.loading)
        took = time.perf_counter() - started
        await until(lambda: page.model.total is not None)
        print(f"{label}: rows on screen {took * 1000:.0f} ms {watch.phase()}")

    for text in ("process_timeout", "caller-42", "anthropic", ""):
        page.search_box.setText(text)
        page.apply_filters()  # what the settle timer does once typing stops
        took = await until(lambda: not page.model.loading)
        await until(lambda: page.model.total is not None)
        print(
            f"typed {text!r}: rows on screen {took * 1000:.0f} ms after the settle delay"
            f" ({page.model.total:,} match) {watch.phase()}"
        )

    per_page: list[float] = []
    arrived: list[float] = []
    page.model.pageLoaded.connect(lambda _loaded: arrived.append(time.perf_counter()))

    def arrived_at_least(count: int) -> Callable[[], bool]:
        return lambda: len(arrived) >= count

    for number in range(1, 21):
        started = time.perf_counter()
        page.table.scrollToBottom()  # the view asks the model for more
        await until(arrived_at_least(number))
        per_page.append((arrived[-1] - started) * 1000)
    print(
        f"scroll fetch: {len(per_page)} pages of 300, median {statistics.median(per_page):.1f} ms,"
        f" worst {max(per_page):.1f} ms (now {page.model.loaded:,} rows loaded) {watch.phase()}"
    )
    print(f"(the page waits {SEARCH_SETTLE_MS} ms for typing to settle before it asks)")
    page.page_hidden()
    page.close()


async def query_figures(engine: Engine, rows: int) -> None:
    query = engine.recorder_query
    now = time.time()
    cases = {
        "no filter": RecorderFilters(),
        "provider": RecorderFilters(provider="openai"),
        "state failed": RecorderFilters(state="failed"),
        "principal + last 24 h": RecorderFilters(principal="client-7", since=now - 86400),
        "last 15 min": RecorderFilters(since=now - 900),
        "provider + state": RecorderFilters(provider="codex", state="canceled"),
        "text, rare (error code)": RecorderFilters(text="upstream_connect"),
        "text, common (provider)": RecorderFilters(text="anthropic"),
        "text, nearly all (state)": RecorderFilters(text="completed"),
        "text + provider": RecorderFilters(text="caller-7", provider="gemini"),
        "failed only": RecorderFilters(failed_only=True),
        "failed only + provider": RecorderFilters(failed_only=True, provider="openai"),
        "failed only + text": RecorderFilters(failed_only=True, text="caller-7"),
        "error code (no index)": RecorderFilters(error_code="upstream_connect"),
        "HTTP status (no index)": RecorderFilters(http_status=429),
        "project none (no index)": RecorderFilters(project="no-such-project"),
    }
    oldest = ("no filter", "provider", "failed only", "error code (no index)")
    print(f"\n{'filter':<28}{'first page':>12}{'count':>10}{'rows':>12}{'oldest first':>14}")
    for name, filters in cases.items():
        page_ms, _ = await timed(functools.partial(query.page, filters))
        count_ms, total = await timed(functools.partial(query.count, filters))
        line = f"{name:<28}{page_ms:>10.1f}ms{count_ms:>8.1f}ms{total:>12,}"
        if name in oldest:
            oldest_ms, _ = await timed(functools.partial(query.page, filters, oldest_first=True))
            line += f"{oldest_ms:>12.1f}ms"
        print(line)
    choices_ms, _ = await timed(query.choices)
    print(f"the filter boxes' choices: {choices_ms:.1f} ms")

    def deep_cursor() -> PageCursor:
        sql = (
            "SELECT started_at, id FROM requests ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?"
        )
        depth = min(500_000, rows // 2)
        database = engine.store.models.database
        row = database.execute_sql(portable(database, sql), [depth]).fetchone()
        return PageCursor(row[0], row[1])

    cursor = await engine.store.run(deep_cursor)
    deep_ms, _ = await timed(lambda: query.page(RecorderFilters(), cursor))
    print(f"a page {min(500_000, rows // 2):,} rows deep (keyset): {deep_ms:.1f} ms")
    deep_ms, _ = await timed(lambda: query.page(RecorderFilters(), cursor, oldest_first=True))
    print(f"the same depth oldest first (keyset): {deep_ms:.1f} ms")

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        path = Path(out) / "openai.jsonl"
        written = await query.export(RecorderFilters(provider="openai"), path, "jsonl")
        took = time.perf_counter() - started
        print(
            f"export of {written:,} rows to JSON Lines: {took:.2f} s "
            f"({written / took:,.0f} rows/s, {path.stat().st_size >> 20} MB)"
        )


async def write_figures(engine: Engine) -> None:
    recorder = engine.recorder
    times = []
    for _ in range(10):
        for _ in range(125):
            record = recorder.start(principal="local", provider="openai", caller="bench")
            recorder.finish(record, state="completed", input_tokens=10, output_tokens=2)
        started = time.perf_counter()
        await recorder.flush()
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"recorder write of 125 finished requests (search index batched): median "
        f"{statistics.median(times):.1f} ms, worst {max(times):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--engine", choices=ENGINES, default="sqlite")
    parser.add_argument("--store-url", default=None, help="a PostgreSQL database to fill and use")
    args = parser.parse_args()
    if args.store_url or args.engine == "postgresql":
        with store_url(args.store_url) as url:
            run(args, url)
    else:
        run(args, "")


def run(args: argparse.Namespace, url: str) -> None:
    rows = args.rows
    keep = args.data_dir
    scratch = None if keep else tempfile.TemporaryDirectory(prefix="llmgw-recorder-bench-")
    data_dir = keep or Path(scratch.name)  # type: ignore[union-attr]
    settings = keeping_every_row(data_dir, rows, url)
    where = url.rsplit("@", 1)[-1] if url else settings.database_file
    print(f"rows: {rows:,}; store: {where}; load: {os.getloadavg()}")
    app = QApplication([])
    QApplication.setQuitOnLastWindowClosed(False)
    collector = GuiThreadCollector()  # as the desktop app does: see ui/gc_guard.py
    loop = qasync.QEventLoop(app)
    try:
        loop.run_until_complete(fill(settings.database_file, rows, url))
        loop.run_until_complete(measure(settings, rows))
    finally:
        collector.stop()
        loop.close()
        if scratch is not None:
            scratch.cleanup()


if __name__ == "__main__":
    main()
