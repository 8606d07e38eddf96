"""What the answer scan (`guard.scan_answers`: the operator's own keys masked where an answer
repeats them) costs per streamed answer, as a share of the gateway's own CPU, in one run.

Usage: python bench/guard_answers.py [--requests 200] [--words 50] [--keys 6] [--runs 3]

1. In process: the scan's stream rewriter (`stream_text.StreamRewriter` with the echo rule) over
   the zero-latency upstream's stream of `--words` x 4 text deltas (4N + 3 events, each as the
   gateway writes it), with `--keys` operator keys, none of them in the answer (the usual case);
   and a whole answer of the same text. Median of 200.
2. Two headless gateways of this tree against the zero-latency upstream
   (`gateway_overhead.py --serve-upstream`, its stream repeated `--words` times), one with
   `guard.scan_answers` off, one on, each holding `--keys` provider keys in its environment
   (and its own secrets: the master key). `--requests` streamed chat requests go to each, four
   in flight to each, both at once; each gateway's CPU per answer is read from the OS
   (psutil). The scan's share is the difference over the `off` gateway's figure; `--runs`
   pairs of fresh gateways, the median ratio.
Absolute times drift with the machine and its load; the ratios, measured in one run, are the
figures to compare (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil
from _gateway_home import home_env
from _upstream import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmgw_desktop.engine.gateway.records.report import RouteReport  # noqa: E402
from llmgw_desktop.engine.gateway.results import Completed  # noqa: E402
from llmgw_desktop.engine.guard.echoes import AnswerEchoes, KeyMatcher, KeyRule  # noqa: E402
from llmgw_desktop.engine.guard.stream_text import StreamRewriter  # noqa: E402
from llmgw_desktop.engine.tokens.usage import Usage  # noqa: E402

# Provider key variables a gateway reads (made-up values of their vendors' shapes and lengths).
KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "XAI_API_KEY",
)


def made_up_key(index: int) -> str:
    """A made-up key of a vendor's length: `sk-bench-...` (never a real credential)."""
    return f"sk-bench-{index:02d}-" + "Qx7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0Mn"[index:] * 2


def stream_events(words: int) -> list[bytes]:
    """The zero-latency upstream's stream at `words` repeats, as its bytes."""
    os.environ["BENCH_STREAM_REPEAT"] = str(words)
    import _upstream

    return list(importlib.reload(_upstream).STREAM_BYTES)  # read at its import


def in_process(words: int, keys: int) -> tuple[float, float, int]:
    """(median us to scan the streamed answer, median us for the same text whole, events)."""
    events = stream_events(words)
    matcher = KeyMatcher({made_up_key(i): f"env:KEY_{i}" for i in range(keys)})
    times = []
    for _ in range(200):
        rewriter = StreamRewriter("openai-chat", KeyRule(matcher, lambda _s: None))
        started = time.perf_counter()
        for event in events:
            rewriter.feed(event)
        rewriter.close()
        times.append((time.perf_counter() - started) * 1e6)
    text = "The capital is Paris. " * words
    raw = (
        b'{"choices":[{"index":0,"message":{"role":"assistant","content":"'
        + text.encode()
        + b'"}}]}'
    )
    answer = Completed(None, RouteReport("r", "m"), Usage(), raw=raw)
    whole = []
    for _ in range(200):
        started = time.perf_counter()
        AnswerEchoes(matcher, lambda _s: None).answer(answer, "openai-chat")
        whole.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times), statistics.median(whole), len(events)


async def cpu_per_answer(urls: dict[str, tuple[str, int]], requests: int) -> dict[str, float]:
    """Each gateway's CPU (user + system) per streamed answer, four in flight to each, both
    gateways asked at the same time (neither is measured after the other: an order of
    turns favoured the first by about 6% with the same gateway twice)."""
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    processes = {label: psutil.Process(pid) for label, (_url, pid) in urls.items()}
    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> None:
            async with session.post(url, json=body) as answer:
                if answer.status != 200:
                    raise SystemExit(f"{url}: {answer.status} {await answer.text()}")
                await answer.read()

        async def batch(url: str) -> None:
            for _ in range(requests // 4):
                await asyncio.gather(*(one(url) for _ in range(4)))

        for url, _pid in urls.values():  # warm each path
            await asyncio.gather(*(one(url) for _ in range(20)))
        before = {label: process.cpu_times() for label, process in processes.items()}
        await asyncio.gather(*(batch(url) for url, _pid in urls.values()))
        after = {label: process.cpu_times() for label, process in processes.items()}
    return {
        label: (
            (after[label].user - before[label].user) + (after[label].system - before[label].system)
        )
        / (requests // 4 * 4)
        * 1000
        for label in urls
    }


def through_gateways(requests: int, words: int, keys: int) -> dict[str, float]:
    """CPU per streamed answer of two gateways, the answer scan off and on."""
    up_port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
        env.update(
            LLM_GATEWAY_DETECT_LOCAL="false",
            LLM_GATEWAY_MASTER_KEY="0" * 64,
            OPENAI_BASE_URL=f"http://127.0.0.1:{up_port}/v1",
            BENCH_STREAM_REPEAT=str(words),
        )
        env.update({name: made_up_key(i) for i, name in enumerate(KEY_VARIABLES[:keys])})
        overhead = ROOT / "bench" / "gateway_overhead.py"
        processes = [
            subprocess.Popen(
                [sys.executable, str(overhead), "--serve-upstream", str(up_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]
        urls: dict[str, tuple[str, int]] = {}
        try:
            for label, scan in (("scan off", "0"), ("scan on", "1")):
                port = free_port()
                gateway = subprocess.Popen(
                    [sys.executable, "-m", "llmgw_desktop", "--headless"],
                    env=env
                    | home_env(Path(home) / label.replace(" ", "-"), port)
                    | {"LLM_GATEWAY_GUARD_SCAN_ANSWERS": scan},
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                processes.append(gateway)
                wait_ready(f"http://127.0.0.1:{port}/health")
                urls[label] = (f"http://127.0.0.1:{port}/v1/chat/completions", gateway.pid)
            wait_ready(f"http://127.0.0.1:{up_port}/")
            return asyncio.run(cpu_per_answer(urls, requests))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--words", type=int, default=50)
    parser.add_argument("--keys", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    streamed, whole, events = in_process(args.words, args.keys)
    print(f"{time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}, {args.keys} keys")
    print(f"  in process: a stream of {events} events {streamed:.0f} us, whole {whole:.0f} us")
    runs = [through_gateways(args.requests, args.words, args.keys) for _ in range(args.runs)]
    for cpu in runs:
        off, on = cpu["scan off"], cpu["scan on"]
        print(
            f"  gateway CPU per streamed answer ({events} events): scan off {off:.2f} ms, "
            f"on {on:.2f} ms: the scan adds {on - off:+.2f} ms = {on / off:.2f} x the gateway's"
        )
    ratio = statistics.median(cpu["scan on"] / cpu["scan off"] for cpu in runs)
    print(f"  median of {args.runs} runs: {ratio:.2f} x")


if __name__ == "__main__":
    main()
