"""The floor under the gateway: a proxy that only forwards, on the same stacks.

`python bench/gateway_overhead.py --floor` runs it beside the gateways, as a gateway of its own
(label `floor`): aiohttp's server on uvloop, as the gateway serves, and the gateway's own
upstream client (`Http1Client`, keep-alive, httptools), with nothing else: no key, no budget,
no route, no recorder, no metrics. What the gateway spends beyond it is our own request path;
what it spends is the HTTP server's, the client's and the loopback's, which no trimming of ours
can remove. Streamed answers are relayed a piece at a time, as the gateway relays them.

Run as `python bench/_floor_proxy.py PORT UPSTREAM_URL`; it serves until killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvloop
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from llmgw_desktop.engine.gateway.http_client.http1 import Http1Client

_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-key"}


def serve(port: int, upstream: str) -> None:
    client: Http1Client | None = None

    async def forward(request: web.Request) -> web.StreamResponse:
        assert client is not None
        body = await request.read()
        answer = await client.request("POST", upstream, headers=_HEADERS, body=body)
        content_type = answer.headers.get("content-type", "application/json")
        if not content_type.startswith("text/event-stream"):
            data = await answer.read()
            return web.Response(body=data, status=answer.status, content_type="application/json")
        response = web.StreamResponse(status=answer.status, headers={"Content-Type": content_type})
        await response.prepare(request)
        while piece := await answer.readany():
            await response.write(piece)
        await response.write_eof()
        return response

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def start(app: web.Application) -> None:
        nonlocal client
        client = Http1Client(connect_timeout_s=10.0)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", forward)
    app.router.add_get("/health", health)
    app.on_startup.append(start)
    web.run_app(
        app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop()
    )


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
