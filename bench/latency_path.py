"""Where a request's added latency goes: the loop's timeline of one JSON request, by stage,
from its bytes read to its answer written, the median of many one at a time.

Usage: python bench/latency_path.py [--baseline DIR] [--calls 400] [--pin]

The gateway runs as `bench/gateway_overhead.py --team` runs it (a gateway key with its own
budget, a global hard dollar budget, the recorder and metrics on) against the same
zero-latency upstream, with `_path_probes.py` noting when each stage is entered and left.
Requests go one at a time; with `--baseline`, both trees' gateways run side by side and are
called in turn, each round after a direct call to the upstream (as `gateway_overhead`'s
latency pairs are), so both see the same machine. What the timeline shows that a CPU profile
cannot: which work is on the path to the answer (before `answer<`, when aiohttp has written
it) and which comes after, and how long the loop waits on the upstream (`send<` to `reply>`).
The probes cost about a microsecond each, the same in both trees: compare a stage's gap
between the trees, not a total with the gateway's unprobed latency. Two runs of the same tree
differ by up to a tenth in their totals (each process's own cache and memory luck), so a
saving smaller than that shows in its stage's gap, not in `answer<`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import gateway_overhead as bench
import request_stages

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 200


def timelines(
    trees: list[tuple[str, Path]], calls: int, scratch: Path, *, pin: bool = False
) -> tuple[dict[str, tuple[list[tuple[str, float]], float]], float]:
    """Per tree, the median microseconds of each probe note after the request's first read,
    in order, and the median total the client saw (ms); and the direct call's median (ms).
    The trees' gateways run side by side and are called in turn, each round after a direct
    call, so all see the same machine."""
    up_port = bench.free_port()
    site = scratch / "site"
    site.mkdir()
    shutil.copy(Path(__file__).with_name("_path_probes.py"), site / "sitecustomize.py")
    gateway_cores: set[int] | None = None
    if pin:  # as `gateway_overhead.py --pin`: the gateways on the first core
        cores = sorted(os.sched_getaffinity(0))
        gateway_cores = {cores[0]}
        os.sched_setaffinity(0, set(cores[1:]) or gateway_cores)
    upstream = subprocess.Popen(
        [sys.executable, bench.__file__, "--serve-upstream", str(up_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gateways: list[tuple[str, subprocess.Popen[bytes], str, dict[str, str] | None, Path]] = []
    try:
        for label, tree in trees:
            port = bench.free_port()
            env = request_stages.team_env(up_port) | bench._home_env(scratch / label, port)
            headers = bench._gateway_key(tree, env)
            notes = scratch / f"{label}.notes"
            env |= {"LLMGW_PATH_PROBES": str(notes), "PYTHONPATH": str(site)}
            gateway = subprocess.Popen(
                [sys.executable, "-m", "llmgw_desktop", "--headless"],
                env=env,
                cwd=tree,
                stdout=subprocess.DEVNULL,
            )
            if gateway_cores is not None:  # before its threads start: they inherit it
                os.sched_setaffinity(gateway.pid, gateway_cores)
            url = f"http://127.0.0.1:{port}{bench.GATEWAY_PATH}"
            gateways.append((label, gateway, url, headers, notes))
            bench.wait_ready(f"http://127.0.0.1:{port}/health")
        bench.wait_ready(f"http://127.0.0.1:{up_port}/")
        direct = f"http://127.0.0.1:{up_port}{bench.GATEWAY_PATH}"
        targets = [(url, headers) for _, _, url, headers, _ in gateways]
        asyncio.run(_in_turn(direct, targets, WARM_UP))
        time.sleep(1.5)  # what start-up leaves for a second after ready
        totals = asyncio.run(_in_turn(direct, targets, calls))
        for _, gateway, *_ in gateways:
            gateway.send_signal(signal.SIGUSR2)
        time.sleep(1.0)
    finally:
        for _, gateway, *_ in gateways:
            gateway.terminate()
            gateway.wait(timeout=10)
        upstream.terminate()
        upstream.wait(timeout=10)
    direct_ms = statistics.median(totals[0]) * 1000
    return {
        label: (_medians(notes, calls), statistics.median(totals[i + 1]) * 1000)
        for i, (label, _, _, _, notes) in enumerate(gateways)
    }, direct_ms


async def _in_turn(
    direct: str, targets: list[tuple[str, dict[str, str] | None]], calls: int
) -> list[list[float]]:
    """The client's totals (s): the direct call's first, then each target's."""
    totals: list[list[float]] = [[] for _ in range(len(targets) + 1)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for _ in range(calls):
            totals[0].append((await bench.one(session, direct, stream=False, direct=True))[1])
            for (url, headers), seen in zip(targets, totals[1:], strict=True):
                seen.append((await bench.one(session, url, stream=False, headers=headers))[1])
    return totals


def _medians(notes: Path, calls: int) -> list[tuple[str, float]]:
    """Each request's notes from its first read; a label seen twice in one request is
    numbered (`read>#2`: the body's own read)."""
    requests: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] | None = None
    for line in notes.read_text(encoding="utf-8").splitlines():
        written, label = line.split()
        if label == "read>" and (current is None or any(n == "answer<" for _, n in current)):
            current = []
            requests.append(current)
        if current is not None:
            current.append((int(written), label))
    at: dict[str, list[float]] = collections.defaultdict(list)
    for request in requests[-calls:]:
        start, seen = request[0][0], collections.Counter[str]()
        for stamp, label in request:
            seen[label] += 1
            name = label if seen[label] == 1 else f"{label}#{seen[label]}"
            at[name].append((stamp - start) / 1000)
    kept = [(name, statistics.median(v)) for name, v in at.items() if len(v) >= calls * 0.9]
    return sorted(kept, key=lambda item: item[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--baseline", type=Path, help="an earlier checkout to measure first")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the gateways on the first core, the client and the upstream on the others",
    )
    args = parser.parse_args()
    trees = ([("baseline", args.baseline)] if args.baseline else []) + [("current", ROOT)]
    with tempfile.TemporaryDirectory() as scratch:
        results, direct_ms = timelines(trees, args.calls, Path(scratch), pin=args.pin)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, one JSON request at a time, {args.calls} calls")
    print(f"the direct call's median total {direct_ms:.3f} ms: `x direct` below is of it")
    for label, (notes, total) in results.items():
        print(
            f"\n{label}: the client's median total {total:.3f} ms"
            f" = {total / direct_ms:.2f} x direct (probes included)"
        )
        before = 0.0
        for name, at in notes:
            share = (at - before) / 1000 / direct_ms
            print(f"  {name:<14} {at:8.1f} us  (+{at - before:6.1f} = {share:4.2f} x direct)")
            before = at
    if len(results) == 2:
        (_, (old, _)), (_, (new, _)) = results.items()
        old_at, new_at = dict(old), dict(new)
        for mark in ("send>", "answer<"):
            if mark in old_at and mark in new_at:
                ratio = new_at[mark] / old_at[mark]
                print(f"\n{mark} (from the request's first read): {ratio:.2f} x baseline")


if __name__ == "__main__":
    main()
