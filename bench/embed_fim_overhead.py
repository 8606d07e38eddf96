"""What the gateway adds to an embedding and to a fill-in-the-middle completion that editor
autocomplete cancels, against the direct call to the same upstream, in one run.

Usage: python bench/embed_fim_overhead.py [--calls 300]

Three processes, as in real use: an upstream on loopback (this script with `--serve-upstream
PORT`) answering OpenAI's `/v1/embeddings` at once with 1,536-dimension vectors (numbers, or
base64 as the `openai` SDKs ask by default) and Mistral Codestral's `/v1/fim/completions` as a
stream that sends its first chunk and then holds the rest until the client hangs up; the
gateway (`--headless`, recorder on, Codestral's provider pointed at that upstream); and this
script as the client. Calls alternate direct and through the gateway, one at a time, so both
see the same machine state; each figure is a median.

- **embedding**: the whole answer, one text, base64 (the SDKs' default) and float.
- **cancelled FIM**: time to the first chunk of a streamed completion, then the client hangs
  up; and how long after the hang-up the upstream sees its connection close (the gateway must
  stop the upstream at once: autocomplete abandons most of what it asks).

Absolute times drift with the machine; the ratios to the direct call are the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from _gateway_home import home_env
from _upstream import free_port, wait_ready
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
DIMENSIONS = 1536
VECTOR = [((i * 7919) % 1000 - 500) / 1000 for i in range(DIMENSIONS)]
FLOAT_ANSWER = json.dumps(
    {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": VECTOR}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }
).encode()
BASE64_ANSWER = json.dumps(
    {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": 0,
                "embedding": base64.b64encode(struct.pack(f"<{DIMENSIONS}f", *VECTOR)).decode(),
            }
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }
).encode()
FIRST_CHUNK = (
    b'data: {"id":"fim","object":"chat.completion.chunk","created":0,"model":"codestral-latest",'
    b'"choices":[{"index":0,"delta":{"content":"return a + b"},"finish_reason":null}]}\n\n'
)
# The longest an upstream holds a FIM stream open (the client hangs up long before).
HOLD_S = 5.0
FIM_BODY = {
    "model": "codestral-latest",
    "prompt": "def add(a, b):\n    ",
    "suffix": "\n\nprint(add(1, 2))",
    "stream": True,
}


# -- the upstream (its own process) ---------------------------------------------------------


async def _embeddings(request: web.Request) -> web.Response:
    body = await request.json()
    answer = BASE64_ANSWER if body.get("encoding_format") == "base64" else FLOAT_ANSWER
    return web.Response(body=answer, content_type="application/json")


async def _fim(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(FIRST_CHUNK)
    started = time.perf_counter()
    while time.perf_counter() - started < HOLD_S:  # until the client's side hangs up
        transport = request.transport
        if transport is None or transport.is_closing():
            break
        await asyncio.sleep(0.0005)
    request.app["closed_at"].append(time.time())
    return response


async def _closed(request: web.Request) -> web.Response:
    """When the upstream last saw a FIM stream's client hang up (wall clock), and clears it."""
    seen = request.app["closed_at"]
    answer = {"closedAt": seen[-1] if seen else None}
    seen.clear()
    return web.json_response(answer)


def serve_upstream(port: int) -> None:
    app = web.Application()
    app["closed_at"] = []
    app.router.add_post("/v1/embeddings", _embeddings)
    app.router.add_post("/v1/fim/completions", _fim)
    app.router.add_get("/closed", _closed)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# -- the client ------------------------------------------------------------------------------


async def _embed(session: aiohttp.ClientSession, url: str, encoding: str) -> float:
    body = {"model": "text-embedding-3-small", "input": "hello world", "encoding_format": encoding}
    started = time.perf_counter()
    async with session.post(url, json=body) as response:
        await response.read()
        assert response.status == 200, await response.text()
    return time.perf_counter() - started


async def _cancelled_fim(
    session: aiohttp.ClientSession, url: str, upstream: str
) -> tuple[float, float]:
    """Time to the first chunk, and from the hang-up to the upstream seeing it."""
    started = time.perf_counter()
    response = await session.post(url, json=FIM_BODY)
    assert response.status == 200, await response.text()
    await response.content.readany()
    first = time.perf_counter() - started
    hung_up = time.time()
    response.close()  # autocomplete moved on: the connection goes
    for _ in range(2000):
        async with session.get(upstream + "/closed") as seen:
            closed = (await seen.json())["closedAt"]
        if closed is not None:
            return first, closed - hung_up
        await asyncio.sleep(0.001)
    raise SystemExit("the upstream never saw the client hang up")


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def measure(calls: int, direct: str, gateway: str) -> None:
    connector = aiohttp.TCPConnector(limit=4, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        for encoding in ("base64", "float"):
            pairs: dict[str, list[float]] = {"direct": [], "gateway": []}
            for _ in range(calls):
                pairs["direct"].append(await _embed(session, direct + "/v1/embeddings", encoding))
                pairs["gateway"].append(await _embed(session, gateway + "/v1/embeddings", encoding))
            d, g = _median_ms(pairs["direct"]), _median_ms(pairs["gateway"])
            print(
                f"embedding ({DIMENSIONS} dims, {encoding}): direct {d:.2f} ms, gateway "
                f"{g:.2f} ms, added {g - d:.2f} ms, ratio {g / d:.2f}"
            )
        firsts: dict[str, list[float]] = {"direct": [], "gateway": []}
        stops: dict[str, list[float]] = {"direct": [], "gateway": []}
        for _ in range(max(20, calls // 5)):
            for name, base, path in (
                ("direct", direct, "/v1/fim/completions"),
                ("gateway", gateway, "/v1/completions"),
            ):
                first, stop = await _cancelled_fim(session, base + path, direct)
                firsts[name].append(first)
                stops[name].append(stop)
        d, g = _median_ms(firsts["direct"]), _median_ms(firsts["gateway"])
        print(
            f"cancelled FIM, first chunk: direct {d:.2f} ms, gateway {g:.2f} ms, added "
            f"{g - d:.2f} ms, ratio {g / d:.2f}"
        )
        ds, gs = _median_ms(stops["direct"]), _median_ms(stops["gateway"])
        print(
            f"cancelled FIM, hang-up to upstream closed: direct {ds:.2f} ms, gateway "
            f"{gs:.2f} ms (the upstream polls every 0.5 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return
    up_port, gw_port = free_port(), free_port()
    direct = f"http://127.0.0.1:{up_port}"
    processes = []
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "config.toml"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
        env |= home_env(Path(home), gw_port) | {
            "OPENAI_API_KEY": "sk-bench-openai",
            "OPENAI_BASE_URL": direct + "/v1",
        }
        config.write_text(
            "[gateway.providers.mistral]\n"
            f'base_url = "{direct}/v1"\napi_key = "bench-mistral-key"\n',
            encoding="utf-8",
        )
        try:
            processes.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--serve-upstream", str(up_port)],
                    stdout=subprocess.DEVNULL,
                )
            )
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "llmgw_desktop", "--headless"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            gateway = f"http://127.0.0.1:{gw_port}"
            wait_ready(gateway + "/health")
            wait_ready(direct + "/closed")
            print(
                f"{time.strftime('%Y-%m-%d')}, python {sys.version.split()[0]}, "
                f"{os.cpu_count()} cores, headless, recorder on, {args.calls} calls each"
            )
            asyncio.run(measure(args.calls, direct, gateway))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
