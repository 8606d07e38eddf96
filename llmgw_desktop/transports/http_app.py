"""The aiohttp application behind every HTTP front door: edge checks, errors, core routes.

One middleware (`front_door`) runs, in order: errors (outermost, so every failure answers in
JSON; it also tells the connection guard when a request's handler starts and ends), then the
edge's one decision for the request's door (`auth_edge.py`: Host, Origin, body size, media
type, CORS preflight, credential, access; each door's row is in `doors.py`). The
gateway's routes (the four chat dialects, native and vault endpoints) and the OAuth server
mount here; MCP mounts on the same app from the runtime.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

from llmgw_desktop.engine.api import (
    INSTANCE_TOKEN_HEADER,
    METRICS_CONTENT_TYPE,
    Capability,
    Engine,
    EngineError,
    ErrorCode,
    InvalidRequest,
    constant_time_equal,
    disk_refusal,
    require,
)
from llmgw_desktop.transports.acp.chat_routes import add_acp_chat_routes
from llmgw_desktop.transports.acp.socket_route import add_acp_routes
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.auth_edge import (
    EdgeRules,
    add_cors_headers,
    body_too_large,
    edge_access,
    edge_error,
    note_refusal,
)
from llmgw_desktop.transports.body_room import BodyRoom, no_room
from llmgw_desktop.transports.connections import ConnectionGuard, TransportPeer
from llmgw_desktop.transports.doors import LIVE_PATH, READY_PATH
from llmgw_desktop.transports.edge import origin_of
from llmgw_desktop.transports.gateway.chat_routes import add_chat_routes
from llmgw_desktop.transports.gateway.cloud_routes import add_cloud_routes
from llmgw_desktop.transports.gateway.native_routes import add_native_routes
from llmgw_desktop.transports.gateway.openapi import openapi_document
from llmgw_desktop.transports.http_errors import EdgeRefusal, error_response

__all__ = [
    "CONFIG",
    "INSTANCE_TOKEN_HEADER",
    "HttpAppConfig",
    "activate",
    "build_http_app",
    "front_door",
    "health",
    "live",
    "metrics",
    "openapi",
    "quit_instance",
    "ready",
]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The code an aiohttp HTTP error is answered with (any other status: `http_error`).
_HTTP_CODES = {
    413: ErrorCode.BODY_TOO_LARGE,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
}


@dataclass(frozen=True)
class HttpAppConfig:
    """What the HTTP app needs beyond the engine; the composition root fills it in."""

    max_body_bytes: int
    # Request bodies held at once, all callers together (`body_room.py`).
    max_body_bytes_in_flight: int = 128 * 1024 * 1024
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    # A second launch of the app proves it is the same user with this token (from a 0600 file)
    # and asks the running instance to come forward.
    instance_token: str = ""
    on_activate: Callable[[], str] = field(default=lambda: "headless")
    # An installer asks the running instance to quit (same token); None where it cannot
    # (a stdio instance lives as long as the editor that spawned it).
    on_quit: Callable[[], None] | None = None
    mode: str = "headless"  # what a refused quit names (asking `on_activate` would act)
    mcp_path: str = "/mcp"
    # Where the MCP front door keeps 2025-era sessions ("per-process", or "stateless" with
    # `mcp.stateless`): /health says it, so a team can check every process behind its balancer.
    mcp_sessions: str = "per-process"
    # `http.public_url`: pages served through it (the consent page) post from its origin.
    public_url: str = ""
    # The front door's connection records (slow-client deadlines, the peer's owner); None when
    # the app is served some other way.
    connections: ConnectionGuard | None = None
    # `metrics.scrape_token`: lets a scraper under another account read /metrics alone.
    metrics_scrape_token: str = ""


# What the composition root gave the app, for its route handlers and edge middlewares.
CONFIG = web.AppKey("http_config", HttpAppConfig)


def build_http_app(engine: Engine, config: HttpAppConfig) -> web.Application:
    """The aiohttp app with edge middlewares and the core routes."""
    # Where a browser may call from: `http.allowed_origins`, and our own public origin, which
    # is not a foreign site: the consent form behind a TLS-terminating proxy posts from it. It
    # gets no CORS headers (those stay for http.allowed_origins).
    own_origins = config.allowed_origins + (
        (origin_of(config.public_url),) if origin_of(config.public_url) else ()
    )

    rules = EdgeRules(
        max_body_bytes=config.max_body_bytes,
        mcp_path=config.mcp_path,
        allowed_origins=config.allowed_origins,
        own_origins=own_origins,
        allowed_hosts=config.allowed_hosts,
        scrape_token=config.metrics_scrape_token,
    )
    admit = edge_access(
        engine.auth, rules, connections=config.connections, refusals=engine.refusals
    )
    app = web.Application(
        middlewares=[front_door(config, admit)],
        client_max_size=config.max_body_bytes,
    )
    # The handlers read these from their request's app.
    app[ENGINE], app[CONFIG] = engine, config
    if config.allowed_origins:  # no hook at all (no cost per response) while CORS is closed
        app.on_response_prepare.append(add_cors_headers(config.allowed_origins))
    if engine.oauth is not None:  # off by default: its routes' module loads only when on
        from llmgw_desktop.transports.oauth_routes import add_oauth_routes

        add_oauth_routes(
            app,
            engine.oauth,
            mcp_path=config.mcp_path,
            public_url=config.public_url,
        )
    app.router.add_get("/", root)
    app.router.add_get("/health", health)
    app.router.add_get(LIVE_PATH, live)
    app.router.add_get(READY_PATH, ready)
    app.router.add_post("/instance/activate", activate)
    app.router.add_post("/instance/quit", quit_instance)
    app.router.add_get("/openapi.json", openapi)
    if engine.scrape is not None:
        app.router.add_get("/metrics", metrics)
    add_chat_routes(app, engine)
    add_cloud_routes(app)  # Bedrock's and Vertex's wires onto Messages
    add_native_routes(app, engine)
    add_acp_routes(app)  # editors' connections to the agents the gateway runs
    add_acp_chat_routes(app)  # the chat sessions `acp --model` keeps
    return app


async def health(request: web.Request) -> web.Response:
    """Liveness facts for /health, with where MCP keeps its sessions."""
    engine, config = request.app[ENGINE], request.app[CONFIG]
    return web.json_response(engine.health() | {"mcp": {"sessions": config.mcp_sessions}})


async def live(request: web.Request) -> web.Response:
    """Liveness for an orchestrator: answered whenever the process's loop runs, whatever it
    is doing (starting, serving, draining); a process that cannot answer this is hung."""
    return web.json_response({"alive": True})


async def ready(request: web.Request) -> web.Response:
    """Readiness for an orchestrator or a balancer: 200 while this process takes new work, 503
    while it starts, drains or stops (`EngineHealth.readiness`)."""
    answer = request.app[ENGINE].readiness()
    return web.json_response(answer, status=200 if answer["ready"] else 503)


async def _instance_refusal(request: web.Request) -> web.Response | None:
    config = request.app[CONFIG]
    presented = request.headers.get(INSTANCE_TOKEN_HEADER, "")
    if not config.instance_token or not constant_time_equal(presented, config.instance_token):
        return error_response(
            EdgeRefusal(ErrorCode.BAD_INSTANCE_TOKEN, "instance token missing or wrong")
        )
    # The token is a 0600 file of the gateway's account, which a CLI run for a remote caller
    # could read and hand over: as on every other door, it proves the local user only over a
    # connection of that account (else another account's `quit` could stop the gateway).
    connections = config.connections
    transport = request.transport
    peer = (connections.of(transport) if connections is not None else None) or TransportPeer(
        transport
    )
    verdict = await request.app[ENGINE].auth.instance_verdict(peer)
    if verdict.principal is None:
        return error_response(EdgeRefusal(ErrorCode.BAD_INSTANCE_TOKEN, verdict.problem))
    # The token is the local user's; the access table says these routes are theirs alone.
    require(verdict.principal, Capability.INSTANCE_ACTIVATE)
    return None


async def activate(request: web.Request) -> web.Response:
    """A second launch asks this instance to come forward (instance token)."""
    config = request.app[CONFIG]
    if (refusal := await _instance_refusal(request)) is not None:
        return refusal
    mode = config.on_activate()
    return web.json_response({"activated": True, "mode": mode})


async def quit_instance(request: web.Request) -> web.Response:
    """An installer or `quit` asks this instance to stop (instance token)."""
    config = request.app[CONFIG]
    if (refusal := await _instance_refusal(request)) is not None:
        return refusal
    if config.on_quit is None:
        return web.json_response({"quitting": False, "mode": config.mode})
    log.info("asked to quit over the instance hand-off (an installer or `quit`)")
    # The answer goes out first: shutdown starts on the next turn of the loop.
    asyncio.get_running_loop().call_soon(config.on_quit)
    return web.json_response({"quitting": True})


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus exposition (mounted only with metrics on)."""
    scrape = request.app[ENGINE].scrape
    if scrape is None:  # not mounted then; kept for the type checker
        raise web.HTTPNotFound()
    if not sys.modules.get("prometheus_client"):
        # The first scrape loads the exposition library: off the loop (imports take the
        # GIL in bursts, but never hold the loop for the whole load).
        await asyncio.to_thread(importlib.import_module, "prometheus_client")
    return web.Response(body=scrape.render(), headers={"Content-Type": METRICS_CONTENT_TYPE})


async def root(request: web.Request) -> web.Response:
    """What answers at the base URL a client probes (`HEAD /`): the gateway's name and where
    to look next, nothing about its state (that is /health's)."""
    return web.json_response({"name": "llmgw-desktop", "health": "/health", "api": "/v1"})


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document of the HTTP routes, for this host."""
    return web.json_response(openapi_document(f"{request.scheme}://{request.host}"))


def _refused(request: web.Request, response: web.Response) -> web.Response:
    engine, config = request.app[ENGINE], request.app[CONFIG]
    note_refusal(engine.refusals, engine.auth, request, response, config.mcp_path)
    return response


def front_door(
    config: HttpAppConfig,
    admit: Callable[[web.Request], Awaitable[web.StreamResponse | None]],
) -> Middleware:
    """The app's one middleware: every failure answered in an envelope the caller parses and
    a connection's deadlines kept (around everything), then the edge's decision for the
    request's door (`admit`, `auth_edge.py`), then the route.

    One layer rather than three: each aiohttp middleware is a coroutine every request passes
    through, and again at each of its handler's resumptions (a request's await chain is as
    deep as its middlewares); the checks before the route run as plain calls instead.
    """
    connections = config.connections
    bodies = BodyRoom(config.max_body_bytes_in_flight, config.max_body_bytes)

    @web.middleware
    async def door(request: web.Request, handler: Handler) -> web.StreamResponse:
        connection = connections.of(request.transport) if connections is not None else None
        if connection is not None and connections is not None:
            connection.request_started(request, connections.limits.body_timeout_s)
            if connections.draining:  # this request is served, then its connection closes
                request.protocol.close()
        room = 0
        try:
            answer = await admit(request)
            if answer is not None:
                return answer
            taken = bodies.take(request)
            if taken is None:
                return _no_room(request, bodies)
            room = taken
            served = await handler(request)
            if connections is not None and connections.draining and not served.prepared:
                served.force_close()  # says `Connection: close`: the client goes elsewhere next
            return served
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _http_error(request, config, exc)
        except EngineError as exc:
            # The native routes (/v1/generate ...): the same trace headers as the dialects'.
            response = error_response(exc)
            if exc.trace_headers is None and isinstance(exc, InvalidRequest):
                # Refused before any route ran (a body that is not JSON ...): counted.
                return _refused(request, response)
            return response
        except Exception as exc:
            refused = disk_refusal(exc)
            if refused is not None:
                # Not "see the log": the log may be on the disk that refused. One line, no trace.
                log.warning("%s %s: %s", request.method, request.path, refused.message)
                return error_response(refused)
            log.exception("unhandled error serving %s %s", request.method, request.path)
            return error_response(
                EngineError("internal error; see the app's log", code=ErrorCode.INTERNAL_ERROR)
            )
        finally:
            bodies.give_back(room)
            if connection is not None:
                connection.request_finished()

    return door


def _no_room(request: web.Request, bodies: BodyRoom) -> web.Response:
    """The refusal of a request whose body finds no room: none of it was read, so its
    connection closes after the answer rather than read the rest to stay open."""
    answer = _refused(request, edge_error(request, no_room(bodies)))
    answer.force_close()
    return answer


def _http_error(
    request: web.Request, config: HttpAppConfig, exc: web.HTTPException
) -> web.Response:
    """An aiohttp HTTP error (no route, wrong method, a body cut off) in the route's dialect."""
    code = _HTTP_CODES.get(exc.status, ErrorCode.HTTP_ERROR)
    message = exc.text if exc.status != 404 else f"no route for {request.path}"
    if exc.status == 413:  # a body without a length, cut off as it was read
        return _refused(request, edge_error(request, body_too_large(config.max_body_bytes)))
    if exc.status == 405:
        allowed = exc.headers.get("Allow", "")
        message = f"{request.method} is not served on {request.path}" + (
            f"; it takes {allowed}" if allowed else ""
        )
    refusal = EdgeRefusal(code, message or exc.reason, status=exc.status)
    # In the envelope of the route's dialect, as a client of it parses errors.
    answer = edge_error(request, refusal)
    if "Allow" in exc.headers:
        answer.headers["Allow"] = exc.headers["Allow"]
    return answer
