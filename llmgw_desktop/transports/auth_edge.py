"""The edge: one decision for every door, taken from its row (`doors.py`) before the route.

In order, for every request the HTTP front door receives: the `Host` names this machine (DNS
rebinding); the `Origin` is loopback or listed (an upgrade's must be listed: CORS does not
guard a WebSocket); a declared body fits `http.max_body_bytes`; a state-changing body is JSON
unless the door takes forms (`edge.py` says why, and which programs send none); then CORS
preflights, and the credential: public doors pass (the route checks its own where it has
one), every other request gets a principal from `AuthService` or a 401 whose
`WWW-Authenticate` points OAuth clients at the metadata, then must hold the capability its
door needs (else 403). Every refusal is written in the envelope the door's clients parse.

The credential is always checked first: a valid one is never throttled for someone else's
guessing. Remote principals are rate limited (429 with `Retry-After`), and so are wrong
credentials once a client address, or the credential itself, has had too many. CORS stays
closed unless an origin is listed in `http.allowed_origins`; listed origins get preflight
answers and CORS headers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import AbstractRoute

from llmgw_desktop.engine.api import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    AccessDenied,
    AuthService,
    EngineError,
    ErrorCode,
    Principal,
    RefusalCounter,
    constant_time_equal,
    error_headers,
    path_group,
    refusal,
)
from llmgw_desktop.transports.connections import ConnectionGuard, TransportPeer
from llmgw_desktop.transports.doors import Credential, Door, Envelope, door_of
from llmgw_desktop.transports.edge import (
    host_allowed,
    media_type_refusal,
    origin_allowed,
    upgrade_origin_allowed,
)
from llmgw_desktop.transports.gateway.dialect_errors import dialect_envelope, ollama_error
from llmgw_desktop.transports.gateway.fronts import envelope_of, key_places
from llmgw_desktop.transports.http_errors import REFUSAL_CODE_KEY, EdgeRefusal, error_response
from llmgw_desktop.transports.path_aliases import ours

__all__ = [
    "CLIENT_ADDRESS_KEY",
    "DOOR_KEY",
    "PRINCIPAL_KEY",
    "EdgeRules",
    "add_cors_headers",
    "body_too_large",
    "charge_rate",
    "client_address_of",
    "edge_access",
    "edge_error",
    "note_refusal",
    "principal_of",
]

log = logging.getLogger(__name__)

PRINCIPAL_KEY = web.RequestKey("principal", Principal)
CLIENT_ADDRESS_KEY = web.RequestKey("client_address", str)
# The door a request came in by (absent: no door serves it, and a 404 or 405 follows).
DOOR_KEY = web.RequestKey("door", Door)
# A request no door serves is answered without a credential under these (the OAuth server's
# paths, mounted or not); anywhere else it is asked for one before its 404.
UNSERVED_PUBLIC_PREFIXES = ("/.well-known/", "/oauth/")
METRICS_PATH = "/metrics"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# (route, principal) pairs whose access is remembered at most (then it starts over).
MAX_PASSAGES_REMEMBERED = 1024
# `Host` values whose check is remembered at most (then it starts over).
MAX_HOSTS_REMEMBERED = 64
CORS_METHODS = "GET, POST, DELETE, OPTIONS"
CORS_HEADERS = (
    "Authorization, Content-Type, X-Caller, X-Project, Mcp-Session-Id, MCP-Protocol-Version, "
    "anthropic-version, anthropic-beta, x-api-key, x-goog-api-key"
)
CORS_EXPOSE = (
    "Mcp-Session-Id, Retry-After, x-gateway-provider, x-gateway-model, x-gateway-request-id, "
    "x-gateway-max-tokens"
)
EDGE = Credential.EDGE
_FOREIGN_HOST = (
    "the Host header must name this machine (localhost, 127.0.0.1 or [::1]); "
    "this protects the gateway from DNS rebinding"
)
_FOREIGN_ORIGIN = (
    "requests from this web origin are not allowed; add it to "
    "http.allowed_origins in config.toml if you trust it"
)
_UNLISTED_UPGRADE = (
    "a WebSocket takes no Origin but those listed in http.allowed_origins (any page, on any "
    "port of this machine, can open one: no CORS guards it); editors' clients send none"
)


@dataclass(frozen=True)
class EdgeRules:
    """What the edge is told by the settings (the composition root fills it in)."""

    max_body_bytes: int
    mcp_path: str = "/mcp"
    # `http.allowed_origins`: CORS is open to these, and they alone may open a WebSocket.
    allowed_origins: tuple[str, ...] = ()
    # Where a request may come from: the listed origins and our own public origin (the consent
    # form behind a TLS-terminating proxy posts from it), besides loopback pages.
    own_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    # `metrics.scrape_token`: lets a scraper under another account read /metrics alone.
    scrape_token: str = ""


def client_address_of(request: web.Request) -> str:
    """The client's address as the OAuth routes count it (through trusted proxies)."""
    return request.get(CLIENT_ADDRESS_KEY) or request.remote or "unknown"


def principal_of(request: web.Request) -> Principal:
    """The principal the edge decided for this request.

    Raises:
        KeyError: the route is public (no principal is decided for those).
    """
    return request[PRINCIPAL_KEY]


async def still_proven(request: web.Request, auth: AuthService) -> Principal | EdgeRefusal:
    """The credential `request` was admitted with, checked again now: for a connection that
    outlives its first request (the `/acp` socket), whose principal a revocation, an expiry or
    a rotation's end must stop as it stops the next HTTP request."""
    places = key_places(request, request.get(DOOR_KEY))
    verdict = await auth.authenticate(
        request.headers,
        TransportPeer(request.transport),
        query=request.query if places else None,
        places=places,
    )
    if verdict.principal is None:
        return EdgeRefusal(verdict.code, verdict.problem)
    return verdict.principal


def charge_rate(auth: AuthService, principal: Principal) -> EdgeRefusal | None:
    """A request of `principal`'s rate limit (a remote principal's; the local user has none),
    charged now: its refusal when over the limit. The edge charges each HTTP request; a
    connection that outlives its first request (the `/acp` socket) charges each turn after it."""
    if not principal.remote:
        return None
    wait = auth.check_rate(principal.id)
    return None if wait is None else _rate_refusal(wait, auth.rate_limit_words(principal.id))


def edge_access(
    auth: AuthService,
    rules: EdgeRules,
    *,
    connections: ConnectionGuard | None = None,
    refusals: RefusalCounter | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse | None]]:
    """The edge's decision for a request: it answers the request itself (a refusal, a
    preflight), or gives None: the route runs, its door on the request (`DOOR_KEY`) and the
    principal decided (`principal_of`) unless the door is public.

    `rules.scrape_token` (`metrics.scrape_token`) opens `GET /metrics` and nothing else to
    whoever presents it as a bearer token: Prometheus runs under an account of its own, which
    the local-user rule refuses. Any other credential on that route goes the usual way.

    Called by the app's one middleware (`http_app.front_door`) rather than being one: each
    aiohttp middleware layer costs every request a few microseconds, and the gateway's own
    overhead is measured in tenths of a millisecond.
    """
    return Edge(auth, rules, connections, refusals).admit


class Edge:
    """The state the edge keeps between requests, and its steps (`edge_access` says what)."""

    def __init__(
        self,
        auth: AuthService,
        rules: EdgeRules,
        connections: ConnectionGuard | None,
        refusals: RefusalCounter | None,
    ) -> None:
        self.auth = auth
        self.rules = rules
        self.origins = frozenset(rules.allowed_origins)
        self.mcp_path = rules.mcp_path
        self.connections = connections
        self.refusals = refusals
        self.hosts = _AllowedHosts(rules.allowed_hosts)
        # Each route's door, looked up once: the routes are fixed once the app serves.
        self.doors: dict[AbstractRoute, Door | None] = {}
        # The routes each principal was let onto: the access table and the routes are fixed,
        # so a principal allowed a route once is allowed it again (a refusal is worked out
        # anew).
        self.let_in: set[tuple[object, Principal]] = set()
        # The passage let in last, compared by identity: a client's next request comes by the
        # same route with the principal object its key's remembered verdict holds, and hashing
        # a frozen principal (and comparing it field by field) is Python code a request.
        self.last_let_in: tuple[object, Principal | None] = (None, None)

    async def admit(self, request: web.Request) -> web.StreamResponse | None:
        door = self._door(request)
        if door is not None:
            request[DOOR_KEY] = door
        turned_away = self._turned_away(request, door)
        if turned_away is not None:
            return self._refused(request, turned_away)
        headers = request.headers
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in headers:
            origin = headers.get("Origin")
            if origin:
                return _preflight(origin, self.origins)
        public = _unserved_public(request.path) if door is None else door.credential is not EDGE
        if public:
            if request.path.startswith("/oauth/"):
                # The OAuth endpoints throttle guessing per client address: behind a trusted
                # proxy that is the address it forwarded, not the proxy's own.
                request[CLIENT_ADDRESS_KEY] = self.auth.client_address(
                    request.remote or "", headers
                )
            return None
        scrape_token = self.rules.scrape_token
        if request.path == METRICS_PATH and scrape_token and _presents(headers, scrape_token):
            return None
        transport, connections = request.transport, self.connections
        peer = (connections.of(transport) if connections is not None else None) or TransportPeer(
            transport
        )
        # Where this door's dialect puts its clients' key (x-api-key, x-goog-api-key, ?key=).
        places = key_places(request, door)
        query = request.query if places else None
        verdict = await self.auth.authenticate(headers, peer, query=query, places=places)
        return self._authenticated(request, door, verdict, query, places)

    def _door(self, request: web.Request) -> Door | None:
        """The door of the route `request` matched (None: no route did, or it has no row)."""
        route = request.match_info.route
        try:
            return self.doors[route]
        except KeyError:
            resource = route.resource
            if resource is None:
                # No route matched: aiohttp makes a route object for each such request, so it
                # is not remembered (the map would grow with every 404).
                return None
            door = door_of(route.method, resource.canonical, mcp_path=self.mcp_path)
            self.doors[route] = door
            return door

    def _turned_away(self, request: web.Request, door: Door | None) -> web.Response | None:
        """Host, Origin, body size and media type, checked before anything else: the refusal
        in the door's envelope, or None."""
        # Header names as aiohttp's `hdrs` spells them (multidict's `istr`, its case folded once):
        # a plain `str` name is lower-cased and hashed anew at each lookup (about 600
        # instructions a header).
        headers = request.headers
        host = headers.get(hdrs.HOST)
        if not self.hosts(host):
            log.warning("refused request with Host %r", host)
            return edge_error(request, EdgeRefusal(ErrorCode.HOST_NOT_ALLOWED, _FOREIGN_HOST))
        origin = headers.get(hdrs.ORIGIN)
        if origin is not None and (why := self._origin_refusal(origin, door)):
            log.warning("refused a request to %s from Origin %r", request.path, origin)
            return edge_error(request, EdgeRefusal(ErrorCode.ORIGIN_NOT_ALLOWED, why))
        length = request.content_length
        limit = self.rules.max_body_bytes
        if length is not None and length > limit:
            return edge_error(request, body_too_large(limit, length))
        method = request.method
        if method in STATE_CHANGING and request.body_exists and not (door and door.forms):
            why = media_type_refusal(method, request.path, headers.get(hdrs.CONTENT_TYPE), origin)
            if why:
                return edge_error(request, EdgeRefusal(ErrorCode.UNSUPPORTED_MEDIA_TYPE, why))
        return None

    def _origin_refusal(self, origin: str, door: Door | None) -> str | None:
        """Why a request from the page at `origin` is refused at `door` (None: it is not)."""
        if door is not None and door.upgrade:
            return None if upgrade_origin_allowed(origin, self.origins) else _UNLISTED_UPGRADE
        return None if origin_allowed(origin, self.rules.own_origins) else _FOREIGN_ORIGIN

    def _authenticated(
        self,
        request: web.Request,
        door: Door | None,
        verdict: Any,
        query: Any,
        places: tuple[str, ...],
    ) -> web.StreamResponse | None:
        """The principal's credential (`verdict`), rate and access: its refusal, or None (it
        may go on). A plain call after the credential's await: one coroutine fewer a request."""
        principal = verdict.principal
        if principal is None:
            return self._unauthenticated(request, verdict, query, places)
        over = charge_rate(self.auth, principal)
        if over is not None:
            return self._refused(request, _too_many(request, over), principal)
        denied = self._route_denied(request, principal, door)
        if denied is not None:
            return denied
        request[PRINCIPAL_KEY] = principal
        return None

    def _unauthenticated(
        self, request: web.Request, verdict: Any, query: Any, places: tuple[str, ...]
    ) -> web.Response:
        """The answer to a request no credential let in: throttled when it guessed too often."""
        auth, headers = self.auth, request.headers
        if verdict.error == "invalid_token":
            # A wrong credential, counted only now that it has been checked: whoever else
            # guesses from this address, a right one has already got in above.
            client = auth.client_address(request.remote or "", headers)
            wait = auth.wrong_credential(headers, client, query=query, places=places)
            if wait is not None:
                log.info("throttled wrong credentials from %s", client)
                throttled = _too_many(request, _rate_refusal(wait))
                # The client sees `rate_limited`; the count says why it was limited.
                throttled[REFUSAL_CODE_KEY] = "too_many_wrong_credentials"
                return self._refused(request, throttled)
        answer = _unauthorized(
            request, verdict.problem, verdict.error, auth, self.mcp_path, code=verdict.code
        )
        return self._refused(request, answer)

    def _route_denied(
        self, request: web.Request, principal: Principal, door: Door | None
    ) -> web.Response | None:
        """The refusal of `principal` on the door `request` came in by; None: it may go on."""
        route = request.match_info.route
        last_route, last_principal = self.last_let_in
        if last_route is route and last_principal is principal:
            return None
        passage = (route, principal)
        if passage in self.let_in:
            self.last_let_in = passage
            return None
        if route.resource is None:
            return None  # no route matched: the router answers 404 or 405
        denied = _door_refusal(request, principal, door)
        if denied is not None:
            log.info(
                "refused %s %s to %s: %s", request.method, request.path, principal.id, denied.code
            )
            return self._refused(request, edge_error(request, denied), principal)
        if len(self.let_in) >= MAX_PASSAGES_REMEMBERED:
            self.let_in.clear()
        self.let_in.add(passage)
        self.last_let_in = passage
        return None

    def _refused(
        self, request: web.Request, response: web.Response, who: Principal | None = None
    ) -> web.Response:
        # Counted by who (the principal, else the client's address), never by credential.
        if self.refusals is not None:
            note_refusal(self.refusals, self.auth, request, response, self.mcp_path, who)
        return response


class _AllowedHosts:
    """`host_allowed` of one app's `http.allowed_hosts`, remembered per `Host` value: a client
    sends the same one with every request. Bounded, as the values are the clients' to choose."""

    __slots__ = ("_extra", "_seen")

    def __init__(self, extra: tuple[str, ...]) -> None:
        self._extra = extra
        self._seen: dict[str | None, bool] = {}

    def __call__(self, host: str | None) -> bool:
        allowed = self._seen.get(host)
        if allowed is None:
            allowed = host_allowed(host, self._extra)
            if len(self._seen) >= MAX_HOSTS_REMEMBERED:
                self._seen.clear()
            self._seen[host] = allowed
        return allowed


def _unserved_public(path: str) -> bool:
    """Whether a request no door serves is answered without asking who sent it."""
    return path.startswith(UNSERVED_PUBLIC_PREFIXES)


def body_too_large(limit: int, length: int | None = None) -> EdgeRefusal:
    """The refusal of a body past `http.max_body_bytes` (`length`: as declared)."""
    size = f"of {length} bytes " if length is not None else ""
    return EdgeRefusal(
        ErrorCode.BODY_TOO_LARGE,
        f"request body {size}is larger than the {limit} byte limit "
        "(http.max_body_bytes); send a smaller one, or raise the setting",
    )


def _presents(headers: Mapping[str, str], token: str) -> bool:
    """Whether the request's `Authorization: Bearer` is `token` (compared in constant time)."""
    scheme, _, presented = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return constant_time_equal(presented.strip(), token)


def _door_refusal(
    request: web.Request, principal: Principal, door: Door | None
) -> AccessDenied | None:
    """Why `principal` may not come in by `door` (None: it may)."""
    if door is None:
        route = request.match_info.route
        log.error("route %s %s has no door; refused (see doors.py)", request.method, route.resource)
        return AccessDenied(
            f"{request.method} {request.path} is not offered (no door names it)",
            code=ErrorCode.NOT_OFFERED,
        )
    return refusal(principal, door.capability)


def _preflight(origin: str, origins: frozenset[str]) -> web.Response:
    if origin not in origins:
        return web.Response(status=403, text="CORS is closed to this origin")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


def add_cors_headers(
    origins: tuple[str, ...],
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An `on_response_prepare` hook: CORS headers for listed origins, on every answer."""
    allowed = frozenset(origins)

    async def hook(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
            response.headers["Vary"] = "Origin"

    return hook


def _resource_metadata_url(request: web.Request, issuer: str, mcp_path: str) -> str:
    # The issuer (the public URL, else the bound address) rather than the request's scheme and
    # Host: behind a TLS proxy those say http://, and the metadata routes use the issuer too.
    base = issuer.rstrip("/") or f"{request.scheme}://{request.host}"
    suffix = mcp_path if request.path == mcp_path else ""
    return f"{base}/.well-known/oauth-protected-resource{suffix}"


def _unauthorized(
    request: web.Request,
    problem: str,
    error: str,
    auth: AuthService,
    mcp_path: str,
    *,
    code: ErrorCode = ErrorCode.UNAUTHORIZED,
) -> web.Response:
    challenge = 'Bearer realm="llmgw-desktop"'
    # Only point at OAuth metadata when the OAuth server runs: otherwise it is a 404, and MCP
    # clients would start an OAuth discovery that cannot succeed instead of asking for a token.
    if auth.oauth is not None:
        metadata = _resource_metadata_url(request, auth.oauth.issuer, mcp_path)
        challenge += f', resource_metadata="{metadata}"'
    if error:
        challenge += f', error="{error}"'
    # RFC 6750: a malformed request is 400, a missing or bad token 401.
    status = 400 if error == "invalid_request" else 401
    code = ErrorCode.INVALID_REQUEST if status == 400 else code
    response = edge_error(request, EdgeRefusal(code, problem, status=status))
    response.headers["WWW-Authenticate"] = challenge
    log.info("refused unauthenticated %s %s", request.method, request.path)
    return response


def _rate_refusal(wait_s: float, limit: str = "") -> EdgeRefusal:
    """A request over a rate limit (`limit`: which, in words), with how long to wait."""
    seconds = max(1, math.ceil(wait_s))
    over = f" ({limit})" if limit else ""
    refusal = EdgeRefusal(
        ErrorCode.RATE_LIMITED, f"too many requests{over}; try again in {seconds} s"
    )
    refusal.details["retry_after_s"] = seconds
    return refusal


def _too_many(request: web.Request, refusal: EdgeRefusal) -> web.Response:
    response = edge_error(request, refusal)
    response.headers["Retry-After"] = str(refusal.details["retry_after_s"])
    return response


def note_refusal(
    refusals: RefusalCounter,
    auth: AuthService,
    request: web.Request,
    response: web.Response,
    mcp_path: str,
    principal: Principal | None = None,
) -> None:
    """Count `response`, a refusal of `request` at the edge, under its principal when known,
    else the client's address; the code is the one the response carries."""
    if principal is not None:
        who = f"principal:{principal.id}"
    else:
        who = f"address:{auth.client_address(request.remote or '', request.headers)}"
    code = response.get(REFUSAL_CODE_KEY) or f"http_{response.status}"
    refusals.count(who, path_group(ours(request.path), mcp_path), response.status, code)


def edge_error(request: web.Request, error: EngineError) -> web.Response:
    """A refusal at the edge in the envelope its door's clients parse (`doors.Envelope`): the
    Anthropic or Gemini dialect's, Ollama's, else the native API's; its code kept for counting."""
    envelope = envelope_of(request, request.get(DOOR_KEY))
    if envelope is Envelope.NATIVE:
        return error_response(error)
    if envelope is Envelope.OLLAMA:
        response = ollama_error(error)
    else:
        front = DIALECT_ANTHROPIC if envelope is Envelope.ANTHROPIC else DIALECT_GEMINI
        status, body = dialect_envelope(front, error)
        response = web.json_response(body, status=status, headers=error_headers(error, status))
    response[REFUSAL_CODE_KEY] = error.code
    return response
