"""What the HTTP gateway adds on top of the upstream it calls: latency, time to first byte,
and throughput, measured against a zero-latency upstream on loopback.

Usage: python bench/gateway_overhead.py [--calls 2000] [--seconds 8] [--concurrency 64]
       [--desktop] [--bearer] [--baseline DIR] [--postgresql] [--store-url URL]
       [--observability] [--agent] [--team] [--cross] [--budget] [--floor] [--routes]
       [--workers]

`--bearer` locks the gateway with a static bearer token (the rate limit raised out of the way
but still counted), so the figures include authenticating every request. `--baseline DIR`
also runs the gateway of another checkout (`git worktree add /tmp/baseline <commit>`) in the
same run, so a change is measured against what came before on the same machine state.
`--postgresql` also runs the current gateway with its store on PostgreSQL (a throwaway cluster,
bench/_postgres.py, or the empty database `--store-url` names) next to the one on SQLite, in
the same run: each gets its ratio to the direct call, and the PostgreSQL one also the CPU its
server's processes spent per request (when the server runs on this machine).
`--budget` also runs the current gateway under a hard dollar budget covering every call (far
from used up), so each call is admitted in the store and its cost settled there (issue 37),
next to the same gateway without one.
`--observability` runs three gateways of the current tree in the same run: `/metrics`
counting off (`metrics.enabled = false`), on (the default), and on with OpenTelemetry export
(`otel.enabled`, every trace sampled, to an OTLP sink in the upstream's process).
`--team` runs every gateway as a team does by default: the client calls with a gateway key (made
by `llmgw-desktop keys create` in each gateway's home, with a dollar budget of its own) and a
global hard dollar budget covers every call (recorder and metrics are on by default anyway).
`--cross` makes the client an Anthropic one (`/v1/messages`, the same question or agent request
in Anthropic's shape) to the same OpenAI upstream, so every request and answer is translated;
the direct call stays the OpenAI request the upstream answers.
`--routes` also runs the current gateway with the request's model on a route of one target and
on a route of three (three providers of the same upstream, `weighted` 3:1:1, `bench/_routes.py`),
so every request of the second is ordered by the balancer, counted in flight and timed; the
summary gives the paired difference of the two (the choice alone) as a share of `current`'s
added latency, and the balancer's own cost per request measured in this process.
`--workers` also runs the current gateway on PostgreSQL as two workers on one port
(`--workers 2`, http.workers) next to the one process on the same database (`postgresql`), in
the same run; its CPU is that of a supervisor and two processes, so only its rate and the
machine's cores are shown.
`--floor` also runs a proxy that only forwards, on the gateway's own stacks (aiohttp's server on
uvloop, the gateway's upstream client) and nothing else (`_floor_proxy.py`): the part of the
gateway's figures no change to our request path can remove. Each throughput line splits the
gateway's CPU between its event loop's thread (the request path) and its other threads (the
store's, the recorder's flush).
Absolute times drift with the machine; the ratios to the direct call, measured in one run, are
the figures to compare.

Three processes, as in real use: a minimal upstream that answers OpenAI Chat Completions at once
(JSON, or a 6-chunk SSE stream with usage: `_upstream.py`), the gateway (`--headless`, recorder
on) with OPENAI_BASE_URL pointing at it, and this script as the client. Latency and time to
first byte are measured one request at a time, alternating direct and through-gateway calls so
both see the same machine state; the added figure is the median of the paired differences.
Throughput runs `--concurrency` requests in flight for `--seconds` (bounded in count too);
because client, gateway and upstream share this machine's cores, it also reports the gateway
process's CPU time per request, which is the rate one gateway process could sustain with a core
to itself. What the client sends, one line or an agent's request in either shape, is
`_chat_requests.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import psutil
from _chat_requests import AUTH_HEADERS, BENCH_TOKEN, REQUEST, agent_request, as_anthropic
from _cpu_shares import CoreShares, loop_thread_cpu, server_cpu
from _gateway_home import gateway_key as _gateway_key
from _gateway_home import home_env as _home_env
from _postgres import store_url
from _routes import choice_cost_us, targets_env
from _upstream import free_port, serve_upstream, wait_ready

ROOT = Path(__file__).resolve().parent.parent
MAX_THROUGHPUT_REQUESTS = 200_000
# What the client sends (one line, or with --agent a coding agent's request): to the upstream,
# and to the gateways (the same, or with --cross the Anthropic shape of it).
_REQUEST: dict[str, object] = REQUEST
_GATEWAY_REQUEST: dict[str, object] = REQUEST
GATEWAY_PATH = "/v1/chat/completions"


# -- the client -----------------------------------------------------------------------------


async def one(
    session: aiohttp.ClientSession,
    url: str,
    *,
    stream: bool,
    headers: dict[str, str] | None = None,
    direct: bool = False,
) -> tuple[float, float]:
    """(time to first body byte, total time) of one request (`direct`: to the upstream)."""
    body = (_REQUEST if direct else _GATEWAY_REQUEST) | ({"stream": True} if stream else {})
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers or AUTH_HEADERS) as response:
        first = await response.content.readany()
        ttfb = time.perf_counter() - started
        rest = await response.read()
        total = time.perf_counter() - started
    if response.status != 200 or not (first or rest):
        raise SystemExit(f"{url} answered {response.status}: {(first + rest)[:500]!r}")
    return ttfb, total


def quantiles(values: list[float]) -> tuple[float, float]:
    ms = sorted(v * 1000 for v in values)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


async def paired(
    session: aiohttp.ClientSession,
    direct: str,
    gateways: list[Gateway],
    calls: int,
    *,
    stream: bool,
) -> None:
    """Latency one request at a time: each round calls the upstream directly, then each
    gateway, so all see the same machine state; `added` is the median of the paired
    differences, and its ratio to the direct call's own median is the figure to compare."""
    for _ in range(50):  # warm every path (connections, caches, lazy imports)
        await one(session, direct, stream=stream, direct=True)
        for gateway in gateways:
            await one(session, gateway.url, stream=stream, headers=gateway.headers)
    d_first: list[float] = []
    d_total: list[float] = []
    seen = {g.label: ([], [], [], []) for g in gateways}  # first, total, added first, total
    for _ in range(calls):
        a = await one(session, direct, stream=stream, direct=True)
        d_first.append(a[0])
        d_total.append(a[1])
        for gateway in gateways:
            b = await one(session, gateway.url, stream=stream, headers=gateway.headers)
            first, total, added_first, added_total = seen[gateway.label]
            first.append(b[0])
            total.append(b[1])
            added_first.append(b[0] - a[0])
            added_total.append(b[1] - a[1])
    kind = "stream" if stream else "json"
    _routes_summary(kind, seen)
    direct_total = quantiles(d_total)[0]
    direct_first = quantiles(d_first)[0]
    print(f"  {kind} direct total             median {direct_total:6.3f} ms")
    print(f"  {kind} direct first byte        median {direct_first:6.3f} ms")
    for gateway in gateways:
        first, total, added_first, added_total = seen[gateway.label]
        for label, values, base in (
            ("gateway total", total, None),
            ("added total", added_total, direct_total),
            ("gateway first byte", first, None),
            ("added first byte", added_first, direct_first),
        ):
            median, p95 = quantiles(values)
            ratio = f"  = {median / base:4.2f} x direct" if base else ""
            name = f"{kind} {gateway.label} {label}"
            print(f"  {name:<34} median {median:6.3f} ms  p95 {p95:6.3f} ms{ratio}")


def _routes_summary(kind: str, seen: dict[str, tuple[list[float], ...]]) -> None:
    """With `--routes`: what choosing among three targets adds to a request, as the paired
    difference of the `three-targets` and `one-target` gateways round by round (the same
    providers and route, one with nothing to choose), and as a share of what `current` adds to
    the direct call."""
    if not {"three-targets", "one-target", "current"} <= seen.keys():
        return
    three, one, current = seen["three-targets"], seen["one-target"], seen["current"]
    for label, index in (("total", 3), ("first byte", 2)):
        diff = statistics.median(t - o for t, o in zip(three[index], one[index], strict=True))
        added = statistics.median(current[index])
        print(
            f"  {kind} three targets over one, {label}: median {diff * 1e6:+7.1f} us per "
            f"request = {diff / added:+6.1%} of current's added {added * 1000:.3f} ms"
        )


async def throughput(
    url: str,
    seconds: float,
    concurrency: int,
    gateway_pid: int | None,
    *,
    stream: bool = False,
    direct_rate: float | None = None,
    server_port: int | None = None,
    headers: dict[str, str] | None = None,
    direct: bool = False,
    upstream_pid: int | None = None,
) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    done = 0
    deadline = time.perf_counter() + seconds
    process = psutil.Process(gateway_pid) if gateway_pid else None
    times_before = process.cpu_times() if process else None
    shares = CoreShares(process, upstream_pid)
    loop_before = loop_thread_cpu(process) if process else 0.0
    server_before = server_cpu(server_port) if server_port else {}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline and done < MAX_THROUGHPUT_REQUESTS:
                await one(session, url, stream=stream, headers=headers, direct=direct)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    rate = done / elapsed
    line = f"  {rate:8.0f} requests/s ({done} in {elapsed:.1f} s, {concurrency} in flight)"
    if direct_rate:
        line += f" = {rate / direct_rate:4.2f} x direct"
    if process and times_before:
        times = process.cpu_times()
        user = (times.user - times_before.user) / done * 1000
        system = (times.system - times_before.system) / done * 1000
        per_request_ms = user + system
        loop_ms = (loop_thread_cpu(process) - loop_before) / done * 1000
        line += (
            f"; gateway CPU {per_request_ms:.3f} ms/request (user {user:.3f}, system"
            f" {system:.3f}; loop thread {loop_ms:.3f}, other threads"
            f" {per_request_ms - loop_ms:.3f}) = {1000 / per_request_ms:,.0f} requests/s per core"
        )
    if server_port and server_before:  # a server on this machine, seen
        after = server_cpu(server_port)
        spent = sum(cpu - server_before.get(pid, 0.0) for pid, cpu in after.items())
        line += f"; PostgreSQL server CPU {spent / done * 1000:.3f} ms/request"
    print(line)
    print(shares.line(elapsed))
    return rate


@dataclass(frozen=True)
class Gateway:
    """A gateway under test: the current tree, or a baseline checkout (`--baseline`)."""

    label: str
    url: str
    pid: int
    server_port: int | None = None  # the PostgreSQL server its store is on
    headers: dict[str, str] | None = None  # its credential (`--team`: its own gateway key)


async def measure(
    args: argparse.Namespace, direct: str, gateways: list[Gateway], upstream_pid: int | None = None
) -> None:
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        if args.routes:
            print(f"the balancer in this process: {choice_cost_us():.2f} us per request")
        print("latency, one request at a time (direct and through each gateway, in turn):")
        await paired(session, direct, gateways, args.calls, stream=False)
        await paired(session, direct, gateways, args.calls, stream=True)
    print(f"throughput, {args.seconds:.0f} s each:")
    print(" direct upstream:")
    rate = await throughput(
        direct, args.seconds, args.concurrency, None, direct=True, upstream_pid=upstream_pid
    )
    for gateway in gateways:
        for stream in (False, True):
            print(f" through the {gateway.label} gateway ({'stream' if stream else 'json'}):")
            await throughput(
                gateway.url,
                args.seconds,
                args.concurrency,
                gateway.pid,
                stream=stream,
                direct_rate=rate,
                server_port=gateway.server_port,
                headers=gateway.headers,
                upstream_pid=upstream_pid,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--desktop",
        action="store_true",
        help="run the gateway as the desktop app (Qt loop, offscreen) instead of headless",
    )
    parser.add_argument(
        "--bearer", action="store_true", help="require a static bearer token on every request"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of an earlier version (git worktree) to measure in the same run",
    )
    parser.add_argument(
        "--agent",
        action="store_true",
        help="send agent-sized requests (about 40 KB, tools and history) instead of one line",
    )
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="also run the current gateway with its store on PostgreSQL, in the same run",
    )
    parser.add_argument("--store-url", help="the (empty) PostgreSQL database for --postgresql")
    parser.add_argument(
        "--observability",
        action="store_true",
        help="run the current gateway with metrics off, on, and on with OTLP tracing",
    )
    parser.add_argument(
        "--budget",
        action="store_true",
        help="also run the current gateway under a hard budget (admission in the store)",
    )
    parser.add_argument(
        "--team",
        action="store_true",
        help="call with a gateway key (its own budget) under a global hard dollar budget",
    )
    parser.add_argument(
        "--cross",
        action="store_true",
        help="an Anthropic client (/v1/messages) to the OpenAI upstream: every call translated",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run a proxy that only forwards, on the gateway's stacks (bench/_floor_proxy.py)",
    )
    parser.add_argument(
        "--routes",
        action="store_true",
        help="also run the current gateway with the model on a route of three targets",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the gateways on the first core, the client and the upstream on the others (on "
        "two cores the kernel often wakes a process on the core of the one that woke it, so "
        "work a gateway does after writing an answer can delay the client reading it)",
    )
    parser.add_argument(
        "--workers",
        action="store_true",
        help="also run the current gateway on PostgreSQL as two workers on one port",
    )
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global _REQUEST, _GATEWAY_REQUEST, GATEWAY_PATH
    if args.agent:
        _REQUEST = agent_request()
    _GATEWAY_REQUEST = as_anthropic(_REQUEST) if args.cross else _REQUEST
    GATEWAY_PATH = "/v1/messages" if args.cross else "/v1/chat/completions"
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return
    if args.floor and args.cross:
        parser.error("--floor forwards OpenAI Chat as it is; it does not translate (--cross)")
    if args.postgresql or args.store_url or args.workers:
        with store_url(args.store_url) as url:
            run(args, url)
    else:
        run(args, "")


def run(args: argparse.Namespace, pg_url: str) -> None:
    """Start the upstream and the gateways (`pg_url`: one more on PostgreSQL), then measure."""
    up_port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
        env.update(
            LLM_GATEWAY_DETECT_LOCAL="false",
            LLM_GATEWAY_MASTER_KEY="0" * 64,
            OPENAI_API_KEY="sk-bench-key",
            OPENAI_BASE_URL=f"http://127.0.0.1:{up_port}/v1",
        )
        if args.bearer:
            env["LLM_GATEWAY_AUTH_TOKEN"] = BENCH_TOKEN
        if args.bearer or args.team:  # remote principals: the rate limit out of the way
            env["LLM_GATEWAY_RATE_LIMIT_PER_MINUTE"] = str(100_000_000)
            env["LLM_GATEWAY_RATE_LIMIT_BURST"] = str(1_000_000)
        if args.team:
            # A hard dollar budget over every call, far out of reach: checked, never hit.
            env["LLM_GATEWAY_BUDGETS"] = json.dumps(
                [{"scope": "global", "unit": "usd", "period": "monthly", "hard": 1e9}]
            )
        if args.desktop:
            env["QT_QPA_PLATFORM"] = "offscreen"
            env["LLM_GATEWAY_UI_START_HIDDEN"] = "true"
        gateway_cores: set[int] | None = None
        if args.pin:
            cores = sorted(os.sched_getaffinity(0))
            if len(cores) < 2:
                raise SystemExit("--pin needs two cores or more")
            gateway_cores = {cores[0]}
            os.sched_setaffinity(0, set(cores[1:]))  # this process and what it starts next
        processes = [
            subprocess.Popen(
                [sys.executable, __file__, "--serve-upstream", str(up_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]
        none: dict[str, str] = {}
        trees = [("baseline", args.baseline, "", none)] if args.baseline else []
        if args.observability:
            trees += [
                ("metrics-off", ROOT, "", {"LLM_GATEWAY_METRICS": "false"}),
                ("metrics-on", ROOT, "", none),
                (
                    "tracing-on",
                    ROOT,
                    "",
                    {
                        "LLM_GATEWAY_OTEL_ENABLED": "true",
                        "LLM_GATEWAY_OTEL_ENDPOINT": f"http://127.0.0.1:{up_port}",
                    },
                ),
            ]
        else:
            trees.append(("current", ROOT, "", none))
        if args.budget:
            budget = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 1e6}]
            trees.append(("hard-budget", ROOT, "", {"LLM_GATEWAY_BUDGETS": json.dumps(budget)}))
            if pg_url:
                trees.append(
                    ("pg-hard-budget", ROOT, pg_url, {"LLM_GATEWAY_BUDGETS": json.dumps(budget)})
                )
        if pg_url:
            trees.append(("postgresql", ROOT, pg_url, none))
        if args.workers:
            trees.append(("2-workers", ROOT, pg_url, {"LLM_GATEWAY_WORKERS": "2"}))
        if args.routes:
            base_url = f"http://127.0.0.1:{up_port}/v1"
            trees.append(("one-target", ROOT, "", targets_env(base_url, _REQUEST, 1)))
            trees.append(("three-targets", ROOT, "", targets_env(base_url, _REQUEST, 3)))
        gateways = []
        try:
            if args.floor:
                port = free_port()
                floor = subprocess.Popen(
                    [
                        sys.executable,
                        str(ROOT / "bench" / "_floor_proxy.py"),
                        str(port),
                        f"http://127.0.0.1:{up_port}/v1/chat/completions",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                if gateway_cores is not None:
                    os.sched_setaffinity(floor.pid, gateway_cores)
                processes.append(floor)
                url = f"http://127.0.0.1:{port}"
                gateways.append(Gateway("floor", url + GATEWAY_PATH, floor.pid))
                wait_ready(url + "/health")
            for label, tree, db_url, extra in trees:
                port = free_port()
                gateway_env = (
                    env
                    | _home_env(Path(home) / label, port)
                    | {"LLM_GATEWAY_DB_URL": db_url}
                    | extra
                )
                headers = _gateway_key(tree, gateway_env) if args.team else None
                gateway = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "llmgw_desktop",
                        *([] if args.desktop else ["--headless"]),
                    ],
                    # The checkout's own package: `-m` finds it first from its directory.
                    env=gateway_env,
                    cwd=tree,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                if gateway_cores is not None:  # before its threads start: they inherit it
                    os.sched_setaffinity(gateway.pid, gateway_cores)
                processes.append(gateway)
                url = f"http://127.0.0.1:{port}"
                server_port = urlsplit(db_url).port if db_url else None
                # A supervisor's own CPU is not its workers': no per-process figures for it.
                pid = 0 if "LLM_GATEWAY_WORKERS" in extra else gateway.pid
                gateways.append(Gateway(label, url + GATEWAY_PATH, pid, server_port, headers))
                wait_ready(url + "/health")
            wait_ready(f"http://127.0.0.1:{up_port}/")
            direct = f"http://127.0.0.1:{up_port}/v1/chat/completions"
            mode = "desktop app (Qt loop)" if args.desktop else "headless"
            lock = ", bearer token required" if args.bearer else ""
            lock += ", `current` on SQLite, `postgresql` on PostgreSQL" if pg_url else ""
            lock += ", gateway keys and budgets" if args.team else ""
            lock += ", Anthropic client to the OpenAI upstream" if args.cross else ""
            lock += ", gateways pinned to one core" if gateway_cores is not None else ""
            size = len(json.dumps(_REQUEST))
            print(
                f"{time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}, "
                f"{os.cpu_count()} cores, {mode}, recorder on{lock}, {size:,} byte requests"
            )
            asyncio.run(measure(args, direct, gateways, processes[0].pid))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
