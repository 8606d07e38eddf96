"""Instructions per gateway request, by thread, counted by callgrind: a figure the machine's
load does not move, for comparing two checkouts where wall time and CPU time are too noisy.

Usage: python bench/request_instructions.py [--baseline DIR] [--agent] [--cross] [--stream]
       [--routes] [--floor] [--requests 300] [--concurrency 8] [--keep DIR] [--cycles]

The gateway runs as `bench/gateway_overhead.py --team` runs it (a gateway key with its own
budget, a global hard dollar budget, the recorder and metrics on) under
`valgrind --tool=callgrind`, against the same zero-latency upstream (not under valgrind).
Counting starts after 60 warm-up requests, once the gateway is idle (what start-up leaves for a
second after the door opens has run), and stops a second after the last measured one (the
recorder's flush included), so start-up is left out; each thread's count is divided by the
requests. `--keep DIR` leaves callgrind's files there (for `callgrind_annotate`).
`--cycles` also simulates the caches and branch predictors and gives callgrind's cycle
estimate (instructions, plus 10 for each first-level miss and mispredicted branch, 100 for each
last-level miss): an instruction cut that does not cut the estimate (a larger body of code,
say) does not cut the time either, and CPU time here is too noisy to tell (two or three times
slower to count).
`--baseline DIR` counts another checkout the same way first; `--floor` counts the
proxy that only forwards on the gateway's stacks (`_floor_proxy.py`) first. What callgrind counts
is user-space instructions: the kernel's part (socket sends, file writes) is not in it, and
background work that runs by the clock (a flush every quarter second) weighs more the slower
the run, so compare figures taken at the same `--concurrency`. `--routes` makes the request's
model a route of three targets (`_routes.py`, weighted 3:1:1), each a provider of the upstream.
Needs valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gateway_overhead as bench
import psutil
import request_stages
from _routes import targets_env

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 60
_TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.M)
_TOTALS = re.compile(r"^(?:summary|totals):((?: \d+)+)", re.M)
_EVENTS = re.compile(r"^events: (.+)$", re.M)
# Callgrind's cycle estimate: each event's weight (those not named weigh nothing).
_CYCLE_WEIGHTS = {
    "Ir": 1,
    "I1mr": 10,
    "D1mr": 10,
    "D1mw": 10,
    "ILmr": 100,
    "DLmr": 100,
    "DLmw": 100,
    "Bcm": 10,
    "Bim": 10,
}
_THREAD = re.compile(r"^thread: (\d+)", re.M)
# Threads that ran fewer instructions than this a request (timers, the log writer) are summed
# as "other" rather than listed.
LISTED_PER_REQUEST = 50_000
# Counting waits until the idle gateway uses less than this share of a core over
# `SETTLED_OVER_S`: the start-up work it leaves for after the door opens (the system CA store
# loaded on a worker thread, a full collection and freeze on the loop, each a timer a second
# after ready) runs once, and under callgrind it can fall after the warm-up.
SETTLED_SHARE = 0.1
SETTLED_OVER_S = 1.0
SETTLE_MAX_S = 300.0
_UP = "/v1/chat/completions"


def count(
    tree: Path, args: argparse.Namespace, scratch: Path, *, floor: bool = False
) -> dict[str, float]:
    """Instructions per request by thread (main, database, other) of `tree`'s gateway
    (`floor`: of the proxy that only forwards, `_floor_proxy.py`, instead)."""
    up_port, port = bench.free_port(), bench.free_port()
    home = scratch / ("floor" if floor else tree.name)
    env = request_stages.team_env(up_port) | bench._home_env(home, port)
    if args.routes:
        env |= targets_env(f"http://127.0.0.1:{up_port}/v1", bench._REQUEST, 3)
    headers = {} if floor else bench._gateway_key(tree, env)
    out = scratch / f"{'floor' if floor else tree.name}.callgrind"
    served = (
        [str(ROOT / "bench" / "_floor_proxy.py"), str(port), f"http://127.0.0.1:{up_port}{_UP}"]
        if floor
        else ["-m", "llmgw_desktop", "--headless"]
    )
    upstream = subprocess.Popen(
        [sys.executable, bench.__file__, "--serve-upstream", str(up_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gateway = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--separate-threads=yes",
            *(["--cache-sim=yes", "--branch-sim=yes"] if args.cycles else []),
            f"--callgrind-out-file={out}",
            sys.executable,
            *served,
        ],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        bench.wait_ready(f"http://127.0.0.1:{port}/health", timeout_s=600)
        bench.wait_ready(f"http://127.0.0.1:{up_port}/")
        url = f"http://127.0.0.1:{port}{bench.GATEWAY_PATH}"
        asyncio.run(_requests(url, WARM_UP, args.concurrency, headers, stream=args.stream))
        _settle(gateway.pid)
        _control(gateway.pid, "-i", "on")
        asyncio.run(_requests(url, args.requests, args.concurrency, headers, stream=args.stream))
        time.sleep(1.0)  # the recorder's flush of the last rows
        _control(gateway.pid, "-i", "off")
        _control(gateway.pid, "-d")
    finally:
        gateway.terminate()
        upstream.terminate()
        gateway.wait(timeout=120)
        upstream.wait(timeout=10)
    by_thread: dict[str, float] = {"main": 0.0, "database": 0.0, "other": 0.0}
    for dump in sorted(scratch.glob(f"{out.name}*")):
        text = dump.read_text(errors="replace")
        totals = _TOTAL.findall(text)
        thread = _THREAD.search(text)
        if not totals or thread is None:
            continue
        per_request = int(totals[-1]) / args.requests
        # Thread 1 is the loop's; the database thread is the busiest of the rest.
        if thread.group(1) == "1":
            by_thread["main"] += per_request
        elif per_request >= LISTED_PER_REQUEST and not by_thread["database"]:
            by_thread["database"] = per_request
        else:
            by_thread["other"] += per_request
        if args.cycles:
            by_thread["cycles"] = by_thread.get("cycles", 0.0) + _cycles(text) / args.requests
    return by_thread


def _cycles(text: str) -> float:
    """Callgrind's cycle estimate of one dump (`_CYCLE_WEIGHTS`)."""
    events = _EVENTS.search(text)
    totals = _TOTALS.findall(text)
    if events is None or not totals:
        return 0.0
    counts = dict(zip(events.group(1).split(), (int(n) for n in totals[-1].split()), strict=False))
    return float(sum(_CYCLE_WEIGHTS.get(name, 0) * n for name, n in counts.items()))


async def _requests(
    url: str, n: int, concurrency: int, headers: dict[str, str], *, stream: bool = False
) -> None:
    connector = bench.aiohttp.TCPConnector(limit=concurrency)
    left = n
    async with bench.aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await bench.one(session, url, stream=stream, headers=headers)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _settle(pid: int) -> None:
    """Wait until the process at `pid` is idle (see `SETTLED_SHARE`)."""
    process = psutil.Process(pid)
    deadline = time.monotonic() + SETTLE_MAX_S
    while time.monotonic() < deadline:
        before = sum(process.cpu_times()[:2])
        time.sleep(SETTLED_OVER_S)
        if sum(process.cpu_times()[:2]) - before < SETTLED_SHARE * SETTLED_OVER_S:
            return
    raise SystemExit(f"the gateway was still busy {SETTLE_MAX_S:.0f} s after its warm-up")


def _control(pid: int, *what: str) -> None:
    subprocess.run(["callgrind_control", *what, str(pid)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout, counted first")
    parser.add_argument("--agent", action="store_true", help="agent-sized requests (41 KB)")
    parser.add_argument("--cross", action="store_true", help="an Anthropic client (translated)")
    parser.add_argument("--stream", action="store_true", help="streamed answers (SSE)")
    parser.add_argument(
        "--routes", action="store_true", help="the request's model a route of three targets"
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also count a proxy that only forwards on the gateway's stacks (_floor_proxy.py)",
    )
    parser.add_argument("--keep", type=Path, help="leave callgrind's files in this folder")
    parser.add_argument(
        "--cycles", action="store_true", help="also the cycle estimate (caches simulated)"
    )
    args = parser.parse_args()
    if args.floor and args.cross:
        parser.error("--floor forwards OpenAI Chat as it is; it does not translate (--cross)")
    if args.agent:
        bench._REQUEST = bench.agent_request()
    bench._GATEWAY_REQUEST = bench.as_anthropic(bench._REQUEST) if args.cross else bench._REQUEST
    bench.GATEWAY_PATH = "/v1/messages" if args.cross else "/v1/chat/completions"
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, python {sys.version.split()[0]}, load"
        f" {os.getloadavg()[0]:.1f}, {args.requests} requests, {args.concurrency} in flight,"
        f" {len(bench.json.dumps(bench._GATEWAY_REQUEST)):,} byte requests"
        f"{', cross-dialect' if args.cross else ''}{', streamed' if args.stream else ''}"
        f"{', a route of three targets' if args.routes else ''}"
    )
    trees = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("current", ROOT)]
    counted = {}
    estimated: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.floor:
            found = count(ROOT, args, Path(scratch), floor=True)
            found.pop("cycles", None)
            parts = ", ".join(f"{name} {n / 1e3:,.0f} k" for name, n in found.items())
            total = sum(found.values())
            print(f"  {'floor':<9} {total / 1e3:8,.0f} k instructions a request ({parts})")
        for label, tree in trees:
            counted[label] = found = count(tree, args, Path(scratch))
            cycles = found.pop("cycles", None)
            total = sum(found.values())
            parts = ", ".join(f"{name} {n / 1e3:,.0f} k" for name, n in found.items())
            print(f"  {label:<9} {total / 1e3:8,.0f} k instructions a request ({parts})")
            if cycles is not None:
                print(f"  {'':<9} {cycles / 1e3:8,.0f} k estimated cycles a request")
                estimated[label] = cycles
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for dump in Path(scratch).glob("*.callgrind*"):
                shutil.copy(dump, args.keep / dump.name)
    if len(counted) == 2:
        before, after = (sum(c.values()) for c in counted.values())
        print(f"  current / baseline: {after / before:.2f}")
    if len(estimated) == 2:
        ratio = estimated["current"] / estimated["baseline"]
        print(f"  estimated cycles, current / baseline: {ratio:.2f}")


if __name__ == "__main__":
    main()
