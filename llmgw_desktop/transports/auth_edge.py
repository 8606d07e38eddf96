"""Authentication, rate limits and CORS at the HTTP edge, for every route at once.

Runs after the Host/Origin guard. Public routes (health, OAuth metadata and endpoints, the
OpenAPI document, the instance hand-off) pass; every other request gets a principal from
`AuthService` or a 401 whose `WWW-Authenticate` points OAuth clients at the metadata, then must
hold the capability its route needs (`route_access.py`, the engine's access table; else 403).
The credential is always checked first: a valid one is never throttled for someone else's
guessing. Remote principals are rate limited (429 with `Retry-After`), and so are wrong
credentials once a client address, or the credential itself, has had too many. CORS stays
closed unless an origin is listed in `http.allowed_origins`; listed origins get preflight
answers and CORS headers.
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    AccessDenied,
    AuthService,
    EngineError,
    ErrorCode,
    Principal,
    RefusalCounter,
    error_headers,
    path_group,
    refusal,
)
from llmgw_desktop.transports.connections import ConnectionGuard, TransportPeer
from llmgw_desktop.transports.gateway.dialect_errors import dialect_envelope, ollama_error
from llmgw_desktop.transports.gateway.fronts import is_ollama_route, key_places, request_dialect
from llmgw_desktop.transports.http_errors import REFUSAL_CODE_KEY, EdgeRefusal, error_response
from llmgw_desktop.transports.route_access import (
    LIVE_PATH,
    READY_PATH,
    capability_of_route,
    route_of,
)

__all__ = [
    "CLIENT_ADDRESS_KEY",
    "PRINCIPAL_KEY",
    "add_cors_headers",
    "client_address_of",
    "edge_access",
    "edge_error",
    "note_refusal",
    "principal_of",
]

log = logging.getLogger(__name__)

PRINCIPAL_KEY = web.RequestKey("principal", Principal)
CLIENT_ADDRESS_KEY = web.RequestKey("client_address", str)
PUBLIC_PREFIXES = ("/.well-known/", "/oauth/")
# "/" is open because clients probe it before their first call (Claude Code sends `HEAD /`
# to its base URL): answered with the gateway's name only, it is no refused request.
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/health",
        LIVE_PATH,
        READY_PATH,
        "/openapi.json",
        "/instance/activate",
        "/instance/quit",
    }
)
METRICS_PATH = "/metrics"
# (route, principal) pairs whose access is remembered at most (then it starts over).
MAX_PASSAGES_REMEMBERED = 1024
CORS_METHODS = "GET, POST, DELETE, OPTIONS"
CORS_HEADERS = (
    "Authorization, Content-Type, X-Caller, X-Project, Mcp-Session-Id, MCP-Protocol-Version, "
    "anthropic-version, anthropic-beta, x-api-key, x-goog-api-key"
)
CORS_EXPOSE = (
    "Mcp-Session-Id, Retry-After, x-gateway-provider, x-gateway-model, x-gateway-request-id, "
    "x-gateway-max-tokens"
)


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
    places = key_places(request)
    verdict = await auth.authenticate(
        request.headers,
        TransportPeer(request.transport),
        query=request.query if places else None,
        places=places,
    )
    if verdict.principal is None:
        return EdgeRefusal(verdict.code, verdict.problem)
    return verdict.principal


def edge_access(
    auth: AuthService,
    *,
    allowed_origins: tuple[str, ...],
    mcp_path: str,
    connections: ConnectionGuard | None = None,
    refusals: RefusalCounter | None = None,
    scrape_token: str = "",
) -> Callable[[web.Request], Awaitable[web.StreamResponse | None]]:
    """The edge's access check: CORS preflight, then authentication and rate limits. It
    answers a request itself (a preflight, a refusal), or gives None: the route runs, with
    the principal decided (`principal_of`) unless the route is public.

    `scrape_token` (`metrics.scrape_token`) opens `GET /metrics` and nothing else to whoever
    presents it as a bearer token: Prometheus runs under an account of its own, which the
    local-user rule refuses. Any other credential on that route goes the usual way.

    Called by the app's one middleware (`http_app.front_door`) rather than being one: each
    aiohttp middleware layer costs every request a few microseconds, and the gateway's own
    overhead is measured in tenths of a millisecond.
    """
    edge = _Edge(auth, frozenset(allowed_origins), mcp_path, connections, refusals, scrape_token)
    return edge.admit


class _Edge:
    """The state the edge keeps between requests, and its steps (`edge_access` says what)."""

    def __init__(
        self,
        auth: AuthService,
        origins: frozenset[str],
        mcp_path: str,
        connections: ConnectionGuard | None,
        refusals: RefusalCounter | None,
        scrape_token: str,
    ) -> None:
        self.auth = auth
        self.origins = origins
        self.mcp_path = mcp_path
        self.connections = connections
        self.refusals = refusals
        self.scrape_token = scrape_token
        # The routes each principal was let onto: the access table and the routes are fixed,
        # so a principal allowed a route once is allowed it again (a refusal is worked out
        # anew).
        self.let_in: set[tuple[object, Principal]] = set()

    async def admit(self, request: web.Request) -> web.StreamResponse | None:
        headers = request.headers
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in headers:
            origin = headers.get("Origin")
            if origin:
                return _preflight(origin, self.origins)
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            if path.startswith("/oauth/"):
                # The OAuth endpoints throttle guessing per client address: behind a trusted
                # proxy that is the address it forwarded, not the proxy's own.
                request[CLIENT_ADDRESS_KEY] = self.auth.client_address(
                    request.remote or "", headers
                )
            return None
        if path == METRICS_PATH and self.scrape_token and _presents(headers, self.scrape_token):
            return None
        transport = request.transport
        connections = self.connections
        peer = (connections.of(transport) if connections is not None else None) or TransportPeer(
            transport
        )
        # Where this route's dialect puts its clients' key (x-api-key, x-goog-api-key, ?key=).
        places = key_places(request)
        query = request.query if places else None
        verdict = await self.auth.authenticate(headers, peer, query=query, places=places)
        principal = verdict.principal
        if principal is None:
            return self._unauthenticated(request, verdict, query, places)
        if principal.remote:
            wait = self.auth.check_rate(principal.id)
            if wait is not None:
                return self._refused(request, _too_many(request, wait), principal)
        denied = self._route_denied(request, principal)
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
                throttled = _too_many(request, wait)
                # The client sees `rate_limited`; the count says why it was limited.
                throttled[REFUSAL_CODE_KEY] = "too_many_wrong_credentials"
                return self._refused(request, throttled)
        answer = _unauthorized(
            request, verdict.problem, verdict.error, auth, self.mcp_path, code=verdict.code
        )
        return self._refused(request, answer)

    def _route_denied(self, request: web.Request, principal: Principal) -> web.Response | None:
        """The refusal of `principal` on the route `request` matched; None: it may go on."""
        route = request.match_info.route
        passage = (route, principal)
        if passage in self.let_in:
            return None
        denied = _route_refusal(request, principal, self.mcp_path)
        if denied is not None:
            log.info(
                "refused %s %s to %s: %s", request.method, request.path, principal.id, denied.code
            )
            return self._refused(request, edge_error(request, denied), principal)
        # A request no route matched (a 404 or 405 follows) has a route object of its own.
        if route.resource is not None:
            if len(self.let_in) >= MAX_PASSAGES_REMEMBERED:
                self.let_in.clear()
            self.let_in.add(passage)
        return None

    def _refused(
        self, request: web.Request, response: web.Response, who: Principal | None = None
    ) -> web.Response:
        # Counted by who (the principal, else the client's address), never by credential.
        if self.refusals is not None:
            note_refusal(self.refusals, self.auth, request, response, self.mcp_path, who)
        return response


def _presents(headers: Mapping[str, str], token: str) -> bool:
    """Whether the request's `Authorization: Bearer` is `token` (compared in constant time)."""
    scheme, _, presented = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def _route_refusal(
    request: web.Request, principal: Principal, mcp_path: str
) -> AccessDenied | None:
    """Why `principal` may not use the route `request` matched (None: it may, or no route
    matched and the router answers 404/405)."""
    route = route_of(request)
    if route is None:
        return None
    capability = capability_of_route(*route, mcp_path=mcp_path)
    if capability is None:
        log.error("route %s %s has no access rule; refused (see route_access.py)", *route)
        return AccessDenied(
            f"{request.method} {request.path} is not offered (no access rule names it)",
            code=ErrorCode.NOT_OFFERED,
        )
    return refusal(principal, capability)


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


def _too_many(request: web.Request, wait_s: float) -> web.Response:
    seconds = max(1, math.ceil(wait_s))
    response = edge_error(
        request,
        EdgeRefusal(ErrorCode.RATE_LIMITED, f"too many requests; try again in {seconds} s"),
    )
    response.headers["Retry-After"] = str(seconds)
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
    refusals.count(who, path_group(request.path, mcp_path), response.status, code)


def edge_error(request: web.Request, error: EngineError) -> web.Response:
    """A refusal at the edge in the envelope the endpoint's clients parse: the Anthropic or
    Gemini dialect's for their requests (`fronts.py`), else the native API's (its code kept
    for counting); Ollama's API's own for its routes."""
    if is_ollama_route(request):
        response = ollama_error(error)
        response[REFUSAL_CODE_KEY] = error.code
        return response
    front = request_dialect(request)
    if front is None:
        return error_response(error)
    status, body = dialect_envelope(front, error)
    response = web.json_response(body, status=status, headers=error_headers(error, status))
    response[REFUSAL_CODE_KEY] = error.code
    return response
