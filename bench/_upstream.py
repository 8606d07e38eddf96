"""The zero-latency upstream the gateway benchmarks call, and starting servers on loopback.

It answers OpenAI Chat Completions at once with the same small completion, as JSON or as a
6-chunk SSE stream with usage, and takes and drops what an OTLP exporter sends
(`gateway_overhead.py --observability`). It runs in its own process, as a real upstream would:
`python bench/gateway_overhead.py --serve-upstream PORT` (the other benches start it that way
too). `free_port` and `wait_ready` give a server a loopback port and wait until it answers.

`BENCH_STREAM_REPEAT=N` in the environment repeats the stream's four words N times (4N + 3
events): counted at two lengths (`request_instructions.py --stream`), the difference over the
added events is what one more event of a stream costs, which a real answer pays hundreds of
times. `BENCH_STREAM_PACE_MS=N` waits N ms between the stream's events, so each reaches the
gateway in a read of its own, as a model's tokens do (without it the events are written at
once and arrive together, as from a fast model or a buffering proxy).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import urllib.request

from aiohttp import web

ANSWER = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Paris."},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 2,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 0},
    },
}
ANSWER_BYTES = json.dumps(ANSWER).encode()


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


STREAM_BYTES = [
    _chunk({"role": "assistant", "content": ""}),
    *(
        _chunk({"content": word})
        for word in ("The ", "capital ", "is ", "Paris.")
        * int(os.environ.get("BENCH_STREAM_REPEAT", "1"))
    ),
    _chunk({}, "stop"),
    b"data: "
    + json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o",
            "choices": [],
            "usage": ANSWER["usage"],
        }
    ).encode()
    + b"\n\n",
    b"data: [DONE]\n\n",
]


PACE_S = float(os.environ.get("BENCH_STREAM_PACE_MS", "0")) / 1000


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if not body.get("stream"):
        return web.Response(body=ANSWER_BYTES, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for piece in STREAM_BYTES:
        await response.write(piece)
        if PACE_S:
            await asyncio.sleep(PACE_S)
    await response.write_eof()
    return response


async def otlp_sink(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=b"", content_type="application/x-protobuf")


def serve_upstream(port: int) -> None:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    # An OTLP/HTTP endpoint that takes and drops what the gateway exports (--observability).
    app.router.add_post("/v1/traces", otlp_sink)
    app.router.add_post("/v1/metrics", otlp_sink)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error still means it is listening
                return
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")
