"""The gateway's added latency over spawning a CLI directly, and its event-loop stalls under load.

Usage: python bench/cli_overhead.py [--runs 50] [--concurrent 100] [--rounds 3]
       [--only overhead|stalls]

Part 1 runs the real `claude` (from .clis/, see .ci/clis) against the scripted upstream on
loopback, alternating a direct spawn (the same argv, stdin, environment and working directory
the adapter builds) with the same call through the engine (job row, dedup key, parsing,
session bookkeeping, all on a real store). The median of the per-pair differences is what the
gateway adds, but the CLI's own run-to-run spread (tens of ms) makes that figure noisy; the
"gateway's own" line is exact: each call's wall time minus its CLI process's lifetime.

Part 2 submits N jobs at once through the engine and measures how late a 5 ms ticker on the
event loop wakes up while they run. Two hundred real Claude Code processes (~150 MB each)
would not fit in this machine's memory, so part 2 runs a tiny shell stand-in that prints
captured Claude stream-json output after half a second: the loop does the same work per job
(spawn, pipe reads, parsing, progress, store writes) without the CLI's own cost. On Linux it
alternates rounds of the gateway as it is (CLIs tied to it by `setpriv --pdeathsig`, spawned
with vfork) with rounds of the old tie (a `preexec_fn` in a forked child, still the fallback
without setpriv) and prints the ratio, so the comparison holds on a busy machine; each round
also measures the ticker on an idle loop, which is this machine's scheduling noise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmgw_desktop.config.settings import load_settings  # noqa: E402
from llmgw_desktop.engine.calls import CallParams  # noqa: E402
from llmgw_desktop.engine.engine import Engine  # noqa: E402
from llmgw_desktop.engine.gc_tuning import tune_for_serving  # noqa: E402
from llmgw_desktop.engine.providers.base import ProviderRequest  # noqa: E402
from llmgw_desktop.engine.providers.cli_adapters import adapter_for  # noqa: E402
from llmgw_desktop.engine.providers.process import RunLimits, run_process  # noqa: E402
from tests.contract.offline import CLI_BIN, prepare_offline_home  # noqa: E402
from tests.fakes.upstream import ScriptedUpstream  # noqa: E402

TICK_S = 0.005  # the ticker's period: a frame at 200 Hz, well under the 16 ms aim
IDLE_S = 2.0  # how long the idle loop is measured in each round
CAPTURED = ROOT / "tests" / "fixtures" / "cli" / "claude" / "plain_stream_json.stdout"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def start_tuned(engine: Engine) -> Engine:
    """The engine started and the collector tuned, as the app runs it (`headless.py`): with
    Python's defaults a full collection walks everything start-up made, a 60 ms stall here."""
    await engine.start()
    tune_for_serving()
    return engine


def make_engine(home: Path, overrides: Mapping[str, Any] | None = None) -> Engine:
    os.environ["LLM_GATEWAY_CONFIG"] = str(home / "gw" / "config.toml")
    os.environ["LLM_GATEWAY_DATA_DIR"] = str(home / "gw" / "data")
    # The offline CLI home points API keys at a scripted upstream that lists no models: reading
    # providers' model lists would only print warnings into the figures.
    os.environ["LLM_GATEWAY_MODELS_REFRESH_S"] = "0"
    settings = load_settings().settings.with_values(
        {"providers.cli_path": [str(CLI_BIN)]} | dict(overrides or {})
    )
    return Engine(settings)


async def overhead(runs: int, home: Path) -> None:
    async with ScriptedUpstream() as upstream:
        os.environ.update(prepare_offline_home(home / "cli-home", upstream.base_url))
        engine = await start_tuned(make_engine(home))
        claude = engine.discovery.executable("claude")
        if claude is None:
            print("claude is not installed in .clis/: run the npm install from .ci/run first")
            await engine.stop()
            return
        adapter = adapter_for("claude")
        direct_times, gateway_times, own_times = [], [], []
        workdir = home / "direct"
        workdir.mkdir()
        for n in range(runs):
            prompt = f"benchmark call {n}"
            invocation = adapter.prepare(
                ProviderRequest(prompt=prompt, working_dir=workdir), claude
            ).invocation
            started = time.perf_counter()
            await run_process(invocation, RunLimits(timeout_s=60))
            direct_times.append(time.perf_counter() - started)

            started = time.perf_counter()
            submitted = await engine.calls.submit(
                "claude", CallParams(prompt=prompt, working_dir=str(workdir)), "local"
            )
            view = await engine.jobs.wait(submitted.job_id, "local", timeout_s=60)
            gateway_times.append(time.perf_counter() - started)
            assert view.state.value == "completed", view.error
            assert view.result is not None
            # The engine's own time: the call's wall time minus the CLI process's lifetime.
            own_times.append(gateway_times[-1] - view.result["duration_s"])
        await engine.stop()
    added = [g - d for g, d in zip(gateway_times, direct_times, strict=True)]
    print(f"claude, {runs} runs each, alternating (times in ms)")
    for label, values in (
        ("direct spawn", direct_times),
        ("via gateway", gateway_times),
        ("added", added),
        ("gateway's own", own_times),
    ):
        print(f"  {label:<13} {summary(values)}")
    # The share of each call that is the gateway's own: own time over the CLI's lifetime.
    shares = [own / (total - own) for own, total in zip(own_times, gateway_times, strict=True)]
    print(f"  own share     median {statistics.median(shares) * 100:6.2f} %  (aim: at most 1 %)")


def summary(values: list[float]) -> str:
    median, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
    return f"median {median:7.1f}  p95 {p95:7.1f}"


async def loop_stalls(concurrent: int, home: Path, *, fork_tie: bool = False) -> list[float]:
    """Run `concurrent` stand-in jobs at once; the ticker's lateness, in seconds, per tick."""
    stand_in = home / "bin" / "claude"
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text(f"#!/bin/sh\ncat > /dev/null\nsleep 0.5\ncat '{CAPTURED}'\n")
    stand_in.chmod(0o755)
    engine = make_engine(
        home,
        {
            "providers.cli_path": [str(stand_in.parent)],
            "jobs.max_concurrent": concurrent,
            "jobs.max_concurrent_per_provider": concurrent,
            "jobs.max_queued": concurrent,
        },
    )
    await start_tuned(engine)
    if fork_tie:
        engine.lifeline._setpriv = ""  # as without setpriv: the old preexec_fn tie
    started = time.perf_counter()
    async with ticking() as lags:
        submitted = [
            await engine.calls.submit("claude", CallParams(prompt=f"job {n}"), "local")
            for n in range(concurrent)
        ]
        views = [await engine.jobs.wait(s.job_id, "local", timeout_s=120) for s in submitted]
    elapsed = time.perf_counter() - started
    await engine.stop()
    done = sum(v.state.value == "completed" for v in views)
    label = "old fork tie" if fork_tie else "as it is"
    print(f"  {label:<13} {done}/{concurrent} completed in {elapsed:.2f} s, {lag_summary(lags)}")
    return lags


@contextlib.asynccontextmanager
async def ticking() -> AsyncIterator[list[float]]:
    """A 5 ms ticker on the loop while the block runs; yields its lateness per tick (s)."""
    lags: list[float] = []
    running = True

    async def ticker() -> None:
        while running:
            started = time.perf_counter()
            await asyncio.sleep(TICK_S)
            lags.append(time.perf_counter() - started - TICK_S)

    tick = asyncio.get_running_loop().create_task(ticker())
    try:
        yield lags
    finally:
        running = False
        await tick


async def idle_lags(seconds: float) -> list[float]:
    """The ticker alone: how late this machine wakes an idle loop (its scheduling noise)."""
    async with ticking() as lags:
        await asyncio.sleep(seconds)
    print(f"  idle loop     no jobs, {seconds:.1f} s, {lag_summary(lags)}")
    return lags


def lag_summary(lags: list[float]) -> str:
    worst, p99 = max(lags) * 1000, percentile(lags, 0.99) * 1000
    median = statistics.median(lags) * 1000
    return f"loop lag worst {worst:5.1f} ms, p99 {p99:5.1f} ms, median {median:4.2f} ms"


async def compare_stalls(concurrent: int, rounds: int, home: Path) -> None:
    """Alternate rounds of the gateway as it is with rounds of the old fork tie (Linux)."""
    print(f"{concurrent} concurrent jobs (stand-in CLI), {rounds} rounds each, alternating")
    modes = [False, True] if sys.platform.startswith("linux") else [False]
    lags: dict[bool, list[float]] = {mode: [] for mode in modes}
    idle: list[float] = []
    for n in range(rounds):
        idle += await idle_lags(IDLE_S)
        for mode in modes:
            lags[mode] += await loop_stalls(concurrent, home / f"{n}-{mode}", fork_tie=mode)
    now = lags[False]
    print(f"  idle loop, all rounds: {lag_summary(idle)}")
    print(f"  as it is, all rounds:  {lag_summary(now)}")
    if True in lags:
        before = lags[True]
        print(f"  old fork tie, all:     {lag_summary(before)}")
        print(
            f"  ratio as it is / old: worst {max(now) / max(before):.2f}, "
            f"p99 {percentile(now, 0.99) / percentile(before, 0.99):.2f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="part 2 rounds per variant")
    parser.add_argument("--only", choices=("overhead", "stalls"), help="run one part")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {load()}")
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        if args.only != "stalls":
            await overhead(args.runs, Path(first))
        if args.only != "overhead":
            await compare_stalls(args.concurrent, args.rounds, Path(second))
    print(load())


def load() -> str:
    """The load average: on a shared machine it says how far to trust the figures."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    asyncio.run(main())
