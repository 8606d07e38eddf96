"""Where one gateway request goes by our own function: a deterministic profile (cProfile, on the
event loop's thread, its CPU clock) of the gateway `request_instructions.py` counts, each
function's calls, self and inclusive cost a request.

Usage: python bench/request_profile.py [--stream] [--routes] [--requests 2000] [--top 40]
       [--tree DIR] [--only llmgw_desktop/] [--instructions K] [--keep FILE]

The gateway runs as `gateway_overhead.py --team` runs it (a gateway key with its own budget, a
global hard dollar budget, the recorder and metrics on; `--routes`: the request's model a route
of three targets, `_routes.py`) against the zero-latency upstream. The profiler is switched on
after 200 warm-up requests, once the gateway is idle, and off a second after the last measured
one. `callgrind` (`request_instructions.py`) gives the figure to compare; this gives where it
goes, which callgrind cannot: under Python 3.11 it sees the interpreter's C functions, not
ours. The profiler's own cost is per call, so its microseconds overweigh functions of many
small calls; `--instructions K` (the loop's callgrind count a request, in thousands) spreads
that count over the functions by their share of the profile, an estimate to rank by, not a
measurement. A coroutine's calls count each time it resumes (a call awaited once shows 2).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 200


def _label(code: object) -> tuple[str, int, str]:
    """cProfile's key for a function, telling apart the methods `dataclasses` generates.

    Every generated `__init__` (and `__eq__`, `__setattr__`, ...) is compiled from a text named
    `<string>` at line 2, so cProfile's own key gives them all one row, and its stats keep the
    last one seen: a request's dataclass constructions were missing from the profile. Their
    parameter names tell them apart."""
    if isinstance(code, str):
        return ("~", 0, code)
    assert isinstance(code, types.CodeType)
    if code.co_filename != "<string>":
        return (code.co_filename, code.co_firstlineno, code.co_name)
    fields = ",".join(code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount])
    return ("<dataclass>", 0, f"{code.co_name}({fields})")


def serve(out: str) -> None:
    """Run the headless gateway here, profiled between SIGUSR1 and SIGUSR2 (written to `out`)."""
    profile = cProfile.Profile(time.thread_time_ns, 1e-9)
    cProfile.label = _label  # type: ignore[attr-defined]

    def dump(*_: object) -> None:
        profile.disable()
        profile.dump_stats(out)

    signal.signal(signal.SIGUSR1, lambda *_: profile.enable())
    signal.signal(signal.SIGUSR2, dump)
    sys.argv = ["llmgw_desktop", "--headless"]
    # The checkout profiled is the one this runs in (`--tree`), not the one this venv installs.
    sys.path.insert(0, os.getcwd())
    runpy.run_module("llmgw_desktop", run_name="__main__", alter_sys=True)


def record(args: argparse.Namespace, out: Path) -> None:
    """Profile `args.requests` requests of the gateway of `args.tree` into `out`."""
    import gateway_overhead as bench
    import request_instructions
    import request_stages
    from _routes import targets_env

    with tempfile.TemporaryDirectory() as scratch:
        up_port, port = bench.free_port(), bench.free_port()
        env = request_stages.team_env(up_port) | bench._home_env(Path(scratch), port)
        if args.routes:
            env |= targets_env(f"http://127.0.0.1:{up_port}/v1", bench._REQUEST, 3)
        headers = bench._gateway_key(args.tree, env)
        upstream = subprocess.Popen(
            [sys.executable, bench.__file__, "--serve-upstream", str(up_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        gateway = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(out)],
            env=env,
            cwd=args.tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            bench.wait_ready(f"http://127.0.0.1:{port}/health", timeout_s=120)
            bench.wait_ready(f"http://127.0.0.1:{up_port}/")
            url = f"http://127.0.0.1:{port}{bench.GATEWAY_PATH}"
            run = request_instructions._requests
            asyncio.run(run(url, WARM_UP, 8, headers, stream=args.stream))
            request_instructions._settle(gateway.pid)
            os.kill(gateway.pid, signal.SIGUSR1)
            asyncio.run(run(url, args.requests, 8, headers, stream=args.stream))
            time.sleep(1.0)  # the recorder's flush of the last rows
            os.kill(gateway.pid, signal.SIGUSR2)
            deadline = time.monotonic() + 30
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)  # written whole
        finally:
            gateway.terminate()
            upstream.terminate()
            gateway.wait(timeout=30)
            upstream.wait(timeout=10)


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    for cut in ("site-packages/", f"{ROOT}/", "python3.11/"):
        path = path.split(cut)[-1]
    return f"{path}:{line}({name})"


def report(out: Path, args: argparse.Namespace) -> None:
    """The `--top` functions under `--only` by inclusive cost, then by self cost."""
    stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    n = args.requests
    total = sum(entry[2] for entry in stats.values())
    rows = [
        (_where(key), calls / n, own / n * 1e6, inclusive / n * 1e6)
        for key, (_, calls, own, inclusive, _) in stats.items()
        if args.only in _where(key)
    ]
    per = args.instructions
    print(f"profiled {total / n * 1e6:,.0f} us a request on the loop ({n} requests)")
    for title, column in (("inclusive", 3), ("self", 2)):
        print(f"\nby {title}: calls, self us, inclusive us, its share" + (", ~k" if per else ""))
        for row in sorted(rows, key=lambda r: -r[column])[: args.top]:
            where, calls, own, inclusive = row
            share = row[column] / (total / n * 1e6)
            estimate = f" {share * per:7,.0f} k" if per else ""
            print(f"{calls:6.2f} {own:7.1f} {inclusive:8.1f} {share:6.1%}{estimate}  {where}")


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2])
        return
    sys.path.insert(0, str(ROOT / "bench"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", action="store_true", help="streamed answers (SSE)")
    parser.add_argument("--routes", action="store_true", help="the model a route of three")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to profile")
    parser.add_argument(
        "--only", default="llmgw_desktop/", help="list functions whose place has this"
    )
    parser.add_argument("--instructions", type=float, help="the loop's callgrind k a request")
    parser.add_argument("--keep", type=Path, help="leave the profile in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch) / "request.prof"
        out.unlink(missing_ok=True)
        record(args, out)
        report(out, args)


if __name__ == "__main__":
    main()
