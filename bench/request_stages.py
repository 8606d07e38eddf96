"""Where the gateway's CPU goes per request, by stage: a sampling profile of a headless gateway
under load, each sample charged to the stage of the innermost frame that names one.

Usage: python bench/request_stages.py [--agent] [--cross] [--stream] [--seconds 10]
       [--concurrency 16] [--tree DIR] [--rate 997]

The gateway runs as `bench/gateway_overhead.py --team` runs it (a gateway key with its own
budget, a global hard budget, the recorder and metrics on) against the same zero-latency
upstream; `py-spy` (installed in the bench's environment: `pip install py-spy`) samples every
thread of the gateway's process while this script keeps `--concurrency` requests in flight.
The stages, in the order a request meets them:

  http server   aiohttp's server: the request's parse, the response's write, its protocol
  edge          our middlewares: Host/Origin, body size, the connection's records
  auth          the credential check, the principal, the key's scope and rate limit
  parse         the body read and parsed, the routing facts
  route         the plan, the key pool, the provider's switches
  budget        the budget check and hold
  translate     the neutral form and the upstream dialect's rendering (cross-dialect only)
  upstream      our HTTP/1.1 client: the pool, the write, the read
  answer        the answer on its way back (relay, taps, splices, the stream's frames)
  recorder      the flight recorder: the row, its journal, the flush on its thread
  events        the engine's events and their listeners (the desktop's views among them)
  metrics       /metrics counting and the live figures
  telemetry     spans (nothing while export is off)
  loop          the event loop (uvloop or asyncio): callbacks, timers, the selector
  gc            Python's cycle collector
  other         anything else (logging, the interpreter's own)

Samples multiplied by the measured CPU per request give each stage's microseconds; the shares
are the figure to compare between trees (`--tree` names a checkout to profile instead of this
one), since sampling adds its own overhead.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gateway_overhead as bench
import psutil

ROOT = Path(__file__).resolve().parent.parent

# (stage, pattern on "function (file)"), tried in order on each frame from the innermost out.
STAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (stage, re.compile(pattern))
    for stage, pattern in (
        ("gc", r"^<gc>|gc_collect|\(gc\)"),
        ("telemetry", r"llmgw_desktop/engine/telemetry/"),
        ("metrics", r"llmgw_desktop/engine/metrics/|prometheus_client/"),
        ("events", r"llmgw_desktop/engine/events\.py"),
        ("recorder", r"llmgw_desktop/engine/recorder/|llmgw_desktop/engine/gateway/recording\.py"),
        ("budget", r"llmgw_desktop/engine/budgets/"),
        ("auth", r"llmgw_desktop/engine/auth/|transports/auth_edge\.py|engine/shares\.py"),
        ("translate", r"llmgw_desktop/engine/gateway/(dialects/|translation\.py|ir\.py)"),
        (
            "upstream",
            r"llmgw_desktop/engine/gateway/(http1|pool|dial|proxies|tls|upstream)\.py|httptools",
        ),
        (
            "answer",
            r"llmgw_desktop/engine/gateway/(answers|relay|taps|sse|passthrough|server_tool_use"
            r"|results|report|tracing)\.py|engine/redact\.py",
        ),
        (
            "route",
            r"llmgw_desktop/engine/gateway/(router|keys|service|api_targets|remote_passthrough"
            r"|vendor_features|capture)\.py|engine/tokens/",
        ),
        (
            "parse",
            r"llmgw_desktop/engine/gateway/(facts|incoming)\.py|engine/jsonio\.py"
            r"|transports/gateway/",
        ),
        ("edge", r"llmgw_desktop/transports/|aiohttp/web_middlewares"),
        ("http server", r"aiohttp/"),
        ("loop", r"uvloop|asyncio/|selectors\.py"),
    )
)


def stage_of(frames: list[str]) -> str:
    """The stage a sample's stack (outermost first) is charged to."""
    for frame in reversed(frames):
        for stage, pattern in STAGES:
            if pattern.search(frame):
                return stage
    return "other"


def team_env(up_port: int) -> dict[str, str]:
    """The environment of a gateway run as `gateway_overhead.py --team` runs it (its key is
    made apart), calling the zero-latency upstream on `up_port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
    env.update(
        LLM_GATEWAY_DETECT_LOCAL="false",
        LLM_GATEWAY_MASTER_KEY="0" * 64,
        LLM_GATEWAY_RATE_LIMIT_PER_MINUTE=str(100_000_000),
        LLM_GATEWAY_RATE_LIMIT_BURST=str(1_000_000),
        LLM_GATEWAY_BUDGETS=json.dumps(
            [{"scope": "global", "unit": "usd", "period": "monthly", "hard": 1e9}]
        ),
        OPENAI_API_KEY="sk-bench-key",
        OPENAI_BASE_URL=f"http://127.0.0.1:{up_port}/v1",
    )
    return env


def profile(args: argparse.Namespace, tree: Path) -> None:
    up_port = bench.free_port()
    port = bench.free_port()
    with tempfile.TemporaryDirectory() as home:
        env = team_env(up_port) | bench._home_env(Path(home), port)
        headers = bench._gateway_key(tree, env)
        upstream = subprocess.Popen(
            [sys.executable, bench.__file__, "--serve-upstream", str(up_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        gateway = subprocess.Popen(
            [sys.executable, "-m", "llmgw_desktop", "--headless"],
            env=env,
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        raw = args.keep or Path(home) / "profile.txt"
        try:
            bench.wait_ready(f"http://127.0.0.1:{port}/health")
            bench.wait_ready(f"http://127.0.0.1:{up_port}/")
            url = f"http://127.0.0.1:{port}{bench.GATEWAY_PATH}"
            # Warm every path first, unprofiled.
            bench.asyncio.run(
                bench.throughput(
                    url, 1.0, args.concurrency, None, stream=args.stream, headers=headers
                )
            )
            spy = subprocess.Popen(
                [
                    _py_spy(),
                    "record",
                    "--pid",
                    str(gateway.pid),
                    "--rate",
                    str(args.rate),
                    "--format",
                    "raw",
                    "--threads",
                    "--output",
                    str(raw),
                    "--duration",
                    str(int(args.seconds)),
                    "--gil" if args.gil else "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
            process = psutil.Process(gateway.pid)
            before = process.cpu_times()
            done = _load(url, args, headers)
            after = process.cpu_times()
            spy.wait(timeout=60)
        finally:
            gateway.terminate()
            upstream.terminate()
            gateway.wait(timeout=10)
            upstream.wait(timeout=10)
        cpu_ms = ((after.user - before.user) + (after.system - before.system)) / done * 1000
        report(raw, cpu_ms, done, tree, args.top)


def _py_spy() -> str:
    """py-spy beside this interpreter (the bench's virtual environment), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


def _load(url: str, args: argparse.Namespace, headers: dict[str, str]) -> int:
    """Keep requests in flight for the profile's duration; how many were answered."""

    async def run() -> int:
        connector = bench.aiohttp.TCPConnector(limit=args.concurrency)
        done = 0
        deadline = time.perf_counter() + args.seconds - 1.0
        async with bench.aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    await bench.one(session, url, stream=args.stream, headers=headers)
                    done += 1

            await bench.asyncio.gather(*(worker() for _ in range(args.concurrency)))
        return done

    return bench.asyncio.run(run())


def report(raw: Path, cpu_ms: float, done: int, tree: Path, top: int) -> None:
    by_stage: collections.Counter[str] = collections.Counter()
    by_leaf: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        by_stage[stage_of(frames)] += samples
        by_leaf[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    print(f"{tree}: {done} requests, gateway CPU {cpu_ms:.3f} ms/request, {total} samples")
    for stage, samples in by_stage.most_common():
        share = samples / total
        print(f"  {stage:<12} {share * 100:5.1f} %  {share * cpu_ms * 1000:6.0f} us/request")
    for title, counter in (("self", by_leaf), ("inclusive", inclusive)):
        if top:
            print(f" top {top} frames, {title}:")
        for frame, samples in counter.most_common(top):
            print(f"  {samples / total * 100:5.1f} %  {frame[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", action="store_true", help="agent-sized requests (41 KB)")
    parser.add_argument("--cross", action="store_true", help="an Anthropic client (translated)")
    parser.add_argument("--stream", action="store_true", help="streamed requests")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=997, help="samples a second")
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw samples in this file")
    parser.add_argument("--top", type=int, default=0, help="also list the N busiest frames")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to profile")
    args = parser.parse_args()
    if args.agent:
        bench._REQUEST = bench.agent_request()
    bench._GATEWAY_REQUEST = bench.as_anthropic(bench._REQUEST) if args.cross else bench._REQUEST
    bench.GATEWAY_PATH = "/v1/messages" if args.cross else "/v1/chat/completions"
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"{len(json.dumps(bench._GATEWAY_REQUEST)):,} byte requests"
        f"{', cross-dialect' if args.cross else ''}{', streamed' if args.stream else ''}"
    )
    profile(args, args.tree.resolve())


if __name__ == "__main__":
    main()
