"""What loading the budgets costs at start with many recorded requests in their periods.

Usage: python bench/budget_load.py [--rows 100000] [--runs 7] [--data-dir DIR]
       [--engine sqlite|postgresql] [--store-url postgresql://...]

Fills a fresh store with `--rows` requests spread over the last 30 days (bench/_recorder_rows.py),
starts a real `Engine` on it with a global dollar budget per day and per month (so the first
start counts both periods in from the rows) and stops it. Then, `--runs` times: an engine
started with those budgets (their periods counted in already by the first), and an engine
started without budgets to which the same budgets are added (`Budgets.replace`, as the Budgets
page does): the work a budget loaded on a period another run counted in costs, its lanes
raised to what the recorder's rows say (`spend.count_in`, one grouped read of the rows per
period start) and its spend read back.

Printed: how many rows the two periods hold, and the median and the longest start and load,
in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from _postgres import ENGINES, store_url  # noqa: E402
from _recorder_rows import fill, keeping_every_row  # noqa: E402

from llmgw_desktop.engine.api import LOCAL_CALLER  # noqa: E402
from llmgw_desktop.engine.engine import Engine  # noqa: E402

BUDGETS = [
    {"scope": "global", "unit": "usd", "period": "daily", "hard": 1e9},
    {"scope": "global", "unit": "usd", "period": "monthly", "hard": 1e9},
]


async def _rows_in_periods(engine: Engine) -> list[int]:
    database = engine.store.models.database
    starts = [s.starts_at for s in engine.budgets.statuses()]

    def count() -> list[int]:
        sql = "SELECT count(*) FROM requests WHERE started_at >= {!r} AND finished_at IS NOT NULL"
        return [database.execute_sql(sql.format(start)).fetchone()[0] for start in starts]

    return await engine.store.read(count)


async def run(data_dir: Path, rows: int, runs: int, url: str) -> None:
    settings = keeping_every_row(data_dir, rows, url)
    await fill(settings.database_file, rows, url)
    with_budgets = settings.with_values({"budgets": BUDGETS})
    first = Engine(with_budgets)  # counts both periods in, if no earlier run did
    await first.start()
    print("rows in the day, the month:", await _rows_in_periods(first))
    await first.stop()
    starts, loads = [], []
    for _ in range(runs):
        engine = Engine(with_budgets)
        started = time.perf_counter()
        await engine.start()
        starts.append((time.perf_counter() - started) * 1000)
        await engine.stop()
        engine = Engine(settings)  # none loaded, then the same budgets added
        await engine.start()
        try:
            started = time.perf_counter()
            await engine.budgets.replace(LOCAL_CALLER, BUDGETS)
            loads.append((time.perf_counter() - started) * 1000)
        finally:
            await engine.stop()
    for name, took in (("engine start", starts), ("budgets loaded", loads)):
        print(f"{name}: median {statistics.median(took):.1f} ms, longest {max(took):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--engine", choices=ENGINES, default="sqlite")
    parser.add_argument("--store-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmgw-bench-budgets-") as temp:
        data_dir = args.data_dir or Path(temp)
        data_dir.mkdir(parents=True, exist_ok=True)
        if args.store_url or args.engine == "postgresql":
            with store_url(args.store_url) as url:
                asyncio.run(run(data_dir, args.rows, args.runs, url))
        else:
            asyncio.run(run(data_dir, args.rows, args.runs, ""))


if __name__ == "__main__":
    main()
