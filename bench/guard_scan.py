"""What the outbound guard costs: its detectors' import, the scan of a 200 kB coding-agent
request, and that scan as a share of the gateway's own CPU per request, measured in one run.

Usage: python bench/guard_scan.py [--requests 200] [--kb 200] [--before TREE]

`--before TREE` measures another tree's guard beside this one's in the same run (a checkout of
main: `git archive main | tar -x -C /tmp/before`): its scans in process (each tree's in a child
of its own, alternating), and a third gateway, of that tree, with `warn`.

The request is `_chat_requests.agent_request()` with tool results made of this repository's own
source files until its JSON is `--kb` kilobytes: a long system prompt, a dozen tools, ten tool
calls and their results, and no secret (the usual case: every request is read, few hold one).

1. The import: a fresh interpreter loading the detectors (`scanner.load_detectors`) against
   one that only starts, each the median of five.
2. The scan in this process, warm: `inspect_body` on the request with every string new (median
   of 50), the same conversation sent again (its long strings remembered by digest, as a
   coding agent's next turn is read: `ScanCache`), and the request with three secrets in it,
   redacted (`Redaction.body`), as `redact` does.
3. Two gateways of this tree, headless, against the zero-latency upstream
   (`gateway_overhead.py --serve-upstream`): one with `guard.secrets = off`, one with `warn`
   (and `guard.exempt_local = false`, since the upstream is on loopback). `--requests` go to
   each, four in flight, alternating, and each gateway's CPU per request is read from the OS
   (psutil): first with every tool result new in each request (nothing remembered), then the
   same request again and again (a conversation resent). The guard's share is the difference
   over the `off` gateway's figure.
Absolute times drift with the machine and its load; the ratios, measured in one run, are the
figures to compare (docs/PERFORMANCE.md).
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
from pathlib import Path

import aiohttp
import psutil
from _chat_requests import agent_request
from _gateway_home import home_env
from _upstream import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
# `--guard-from TREE` reads with another tree's guard (`--before` runs this script so, in a child
# of its own): put it first on the path before the import.
_FROM = sys.argv.index("--guard-from") + 1 if "--guard-from" in sys.argv else 0
sys.path.insert(0, sys.argv[_FROM] if _FROM else str(ROOT))

from llmgw_desktop.engine.guard.redaction import Redaction  # noqa: E402
from llmgw_desktop.engine.guard.request_scan import ScanCache, inspect_body  # noqa: E402
from llmgw_desktop.engine.guard.scanner import load_detectors  # noqa: E402

SECRETS = (
    "AKIAZ3QRT7LMNB4WXY2P",  # pragma: allowlist secret - made up for this bench
    "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",  # pragma: allowlist secret
    "sk-ant-api03-" + "Qx7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0Mn" * 3 + "AA",  # pragma: allowlist secret
)


def agent_body(kb: int) -> dict[str, object]:
    """An agent's request of about `kb` kilobytes, its tool results this repository's code."""
    body = agent_request()
    messages = body["messages"]
    assert isinstance(messages, list)
    sources = sorted((ROOT / "llmgw_desktop" / "engine" / "gateway").glob("*.py"))
    turn = 0
    while len(json.dumps(body)) < kb * 1024 and turn < len(sources):
        text = sources[turn].read_text("utf-8")[: kb * 1024 - len(json.dumps(body))]
        messages.insert(-1, {"role": "tool", "tool_call_id": f"call_{turn % 10}", "content": text})
        turn += 1
    return body


def median_ms(work: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def child_ms(code: str) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def fresh(body: dict[str, object], turn: int) -> dict[str, object]:
    """`body` with every tool result changed (nothing of it read before)."""
    messages = [
        {**m, "content": f"# turn {turn}\n{m['content']}"} if m.get("role") == "tool" else m
        for m in body["messages"]  # type: ignore[attr-defined]
    ]
    return {**body, "messages": messages}


def scans(body: dict[str, object]) -> tuple[float, float, float, int]:
    """(median ms to read `body` new, read again with its strings remembered, read and redact
    it with three secrets in it; findings in the latter)."""
    load_detectors()
    options = {"personal": False, "max_chars": 16 << 20, "budget_s": 5.0}
    bodies = iter(fresh(body, turn) for turn in range(10**6))
    clean = median_ms(lambda: inspect_body(next(bodies), **options), 50)  # type: ignore[arg-type]
    cache = ScanCache()
    inspect_body(body, cache=cache, **options)  # type: ignore[arg-type]
    again = median_ms(lambda: inspect_body(body, cache=cache, **options), 50)  # type: ignore[arg-type]
    dirty = json.loads(json.dumps(body))
    dirty["messages"][1]["content"] += "\n".join(f"key={s}" for s in SECRETS)  # type: ignore[index]
    found = inspect_body(dirty, **options)  # type: ignore[arg-type]

    def redact() -> None:
        inspection = inspect_body(dirty, **options)  # type: ignore[arg-type]
        Redaction(inspection.findings).body(dirty)

    return clean, again, median_ms(redact, 50), len(found.findings)


async def cpu_per_request(
    urls: dict[str, tuple[str, int]], body: dict[str, object], requests: int, *, new: bool
) -> dict[str, float]:
    """Each gateway's CPU (user + system) per request, `requests` each, four in flight
    (`new`: every request's tool results changed, else the same request each time)."""
    turns = iter(range(10**9))
    spent: dict[str, float] = dict.fromkeys(urls, 0.0)
    async with aiohttp.ClientSession() as session:
        for url, _pid in urls.values():  # warm each path
            for _ in range(20):
                async with session.post(url, json=body) as answer:
                    await answer.read()
        for _round in range(requests // 20):
            for label, (url, pid) in urls.items():
                process = psutil.Process(pid)
                before = process.cpu_times()

                async def one(url: str = url) -> None:
                    sent = fresh(body, next(turns)) if new else body
                    async with session.post(url, json=sent) as answer:
                        if answer.status != 200:
                            raise SystemExit(f"{url}: {answer.status} {await answer.text()}")
                        await answer.read()

                for _batch in range(5):
                    await asyncio.gather(*(one() for _ in range(4)))
                after = process.cpu_times()
                spent[label] += (after.user - before.user) + (after.system - before.system)
    return {label: seconds / (requests // 20 * 20) * 1000 for label, seconds in spent.items()}


def scans_of(
    trees: list[Path | None], kb: int, rounds: int = 3
) -> list[tuple[float, float, float, int]]:
    """`scans` with each tree's guard (None: this one's), each in a child process, the trees
    in turn `rounds` times; the median of each tree's children."""
    runs: list[list[list[float]]] = [[] for _ in trees]
    for _ in range(rounds):
        for index, tree in enumerate(trees):
            argv = [sys.executable, __file__, "--scan-only", "--kb", str(kb)]
            if tree is not None:
                argv += ["--guard-from", str(tree)]
            done = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT)
            runs[index].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return [
        tuple(statistics.median(r[i] for r in tree_runs) for i in range(4))  # type: ignore[misc]
        for tree_runs in runs
    ]


def _print_scans(label: str, measured: tuple[float, float, float, int]) -> None:
    clean, again, redacted, found = measured
    print(
        f"  {label}: scan, warm, in process: {clean:.2f} ms every string new, {again:.2f} ms "
        f"sent again; scan and redact, {found} secrets: {redacted:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--kb", type=int, default=200)
    parser.add_argument("--before", type=Path, help="another tree's guard, measured beside")
    parser.add_argument("--guard-from", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scan-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    body = agent_body(args.kb)
    if args.scan_only:
        print(json.dumps(scans(body)))
        return
    size = len(json.dumps(body))
    bare = child_ms("pass")
    loaded = child_ms("from llmgw_desktop.engine.guard.scanner import load_detectors as l; l()")
    print(f"{time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}, request {size:,} bytes")
    print(f"  detectors' import: {loaded - bare:.0f} ms over a bare interpreter ({bare:.0f} ms)")
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.before is not None:
        trees.insert(0, ("before", args.before.resolve()))
    measured = scans_of([tree for _label, tree in trees], args.kb)
    for (label, _tree), figures in zip(trees, measured, strict=True):
        _print_scans(label, figures)
    cpu_new, cpu_again = gateways_cpu(body, args.requests, args.before)
    for label, cpu in (("every string new", cpu_new), ("sent again", cpu_again)):
        off = cpu["guard off"]
        for name, spent in cpu.items():
            if name != "guard off":
                print(
                    f"  gateway CPU per request, {label}: guard off {off:.2f} ms, {name} "
                    f"{spent:.2f} ms: the guard adds {spent - off:+.2f} ms = {spent / off:.2f} x "
                    "the gateway's own"
                )


def gateways_cpu(
    body: dict[str, object], requests: int, before: Path | None
) -> tuple[dict[str, float], dict[str, float]]:
    """Each gateway's CPU per request (`cpu_per_request`), every string new and sent again:
    this tree's with the guard off and on `warn`, and `before`'s on `warn` where given."""

    up_port = free_port()
    gateways: list[tuple[str, Path, dict[str, str]]] = [
        ("guard off", ROOT, {"LLM_GATEWAY_GUARD_SECRETS": "off"}),
        ("guard warn", ROOT, WARN),
    ]
    if before is not None:
        gateways.append(("guard warn, before", before.resolve(), WARN))
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
        env.update(
            LLM_GATEWAY_DETECT_LOCAL="false",
            LLM_GATEWAY_MASTER_KEY="0" * 64,
            OPENAI_API_KEY="sk-bench-key",
            OPENAI_BASE_URL=f"http://127.0.0.1:{up_port}/v1",
            LLM_GATEWAY_MAX_BODY_BYTES=str(64 << 20),
        )
        overhead = ROOT / "bench" / "gateway_overhead.py"
        processes = [
            subprocess.Popen(
                [sys.executable, str(overhead), "--serve-upstream", str(up_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]
        urls: dict[str, tuple[str, int]] = {}
        try:
            for label, tree, guard in gateways:
                port = free_port()
                gateway = subprocess.Popen(
                    [sys.executable, "-m", "llmgw_desktop", "--headless"],
                    env=env
                    | home_env(Path(home) / label.replace(" ", "-").replace(",", ""), port)
                    | guard
                    | {"PYTHONPATH": str(tree)},
                    cwd=tree,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                processes.append(gateway)
                wait_ready(f"http://127.0.0.1:{port}/health")
                urls[label] = (f"http://127.0.0.1:{port}/v1/chat/completions", gateway.pid)
            wait_ready(f"http://127.0.0.1:{up_port}/")
            cpu_new = asyncio.run(cpu_per_request(urls, body, requests, new=True))
            cpu_again = asyncio.run(cpu_per_request(urls, body, requests, new=False))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
    return cpu_new, cpu_again


# The guard on `warn`, reading requests to the upstream on loopback too.
WARN = {"LLM_GATEWAY_GUARD_SECRETS": "warn", "LLM_GATEWAY_GUARD_EXEMPT_LOCAL": "0"}

if __name__ == "__main__":
    main()
