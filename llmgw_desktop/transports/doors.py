"""Every door into the gateway, one row each: what the edge decides for a request at it.

A door is a way in: an HTTP route (its method and path as the router knows them), an upgrade
to a WebSocket, or a pipe an editor launches on stdio. The edge (`auth_edge.Edge`) finds the
row of the route a request matched and takes every decision from it, in one pass, before any
handler runs (`docs/ARCHITECTURE.md`, "The edge"):

- `capability`: what the caller's principal must hold (who holds which: `engine/auth/access.py`);
- `credential`: who proves the caller: the edge (a bearer token, or the key places of the
  door's dialect), the route itself (a client secret, the consent password, the instance token),
  or nobody (a public door);
- `envelope`: the error shape the door's clients parse; every refusal at the edge is written in
  it (Host, Origin, size, media type, credential, access);
- `forms`: the door takes HTML-form bodies (OAuth's, by RFC 6749, and the consent page's); every
  other door takes JSON only, as a page can send forms and text across origins unasked;
- `upgrade`: a WebSocket; browsers put no CORS in front of one, so an `Origin` not listed in
  `http.allowed_origins` is refused there, loopback or not;
- `line_cap`: the largest message a socket or pipe door reads (a request's body is held to
  `http.max_body_bytes` on every HTTP door).

A route the app serves without a row is refused for everyone (fail closed), and
`tests/security/test_door_matrix.py` walks the router against this table and knocks on every
door with every edge property. Adding a door is one `Door` here beside its handler
(CONTRIBUTING.md, "Add a door"). The paths other gateways' users already have in their
settings (Bifrost's `/openai/v1/...`, CliGate's `/backend-api/codex/responses`) are rows too,
each a copy of the row of ours it names (`path_aliases.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from llmgw_desktop.engine.api import Capability
from llmgw_desktop.transports.line_caps import ACP_LINE_BYTES, MCP_EVENT_BYTES
from llmgw_desktop.transports.path_aliases import aliases_of

__all__ = [
    "DOORS",
    "LIVE_PATH",
    "MCP_DOOR",
    "READY_PATH",
    "STDIO_DOORS",
    "VERTEX_ANTHROPIC_PATH",
    "Credential",
    "Door",
    "Envelope",
    "StdioDoor",
    "door_of",
]


class Credential(StrEnum):
    """Who proves who is calling at a door."""

    EDGE = "edge"  # the edge authenticates: a principal, or 401 in the door's envelope
    OWN = "own"  # the route checks its own (client secret, consent password, instance token)
    NONE = "none"  # public: anyone may ask


class Envelope(StrEnum):
    """The error shape a door's clients parse (`auth_edge.edge_error` writes each)."""

    NATIVE = "native"  # OpenAI's `{"error": {message, type, param, code}}`: OpenAI, MCP, ours
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    OLLAMA = "ollama"  # `{"error": message}`
    # The model lists shared by three SDKs: the client's headers say which (`fronts.py`).
    BY_CLIENT = "by-client"


@dataclass(frozen=True, slots=True)
class Door:
    """One HTTP route (or upgrade) and what the edge decides there."""

    method: str  # "GET", "POST" ...; "*" for any (the MCP endpoint)
    path: str  # the route's canonical path (`resource.canonical`); MCP's is `MCP_PATH`
    capability: Capability
    credential: Credential = Credential.EDGE
    envelope: Envelope = Envelope.NATIVE
    forms: bool = False
    upgrade: bool = False
    streams: bool = False  # it can answer as a stream (SSE, NDJSON), not only whole
    line_cap: int | None = None


@dataclass(frozen=True, slots=True)
class StdioDoor:
    """A door an editor launches as a command: its lines on stdin, answers on stdout. Its
    requests reach the engine through the HTTP door `via`, proven local by the instance token
    over a connection of this account (or, with no gateway running, in process)."""

    name: str
    command: str
    line_cap: int
    via: str
    # The ways it is served: relayed to the gateway that runs, or (none running) by the
    # launched process itself, in process. Each reads the editor's lines under `line_cap`
    # (the door matrix sends a line past it down each).
    served: tuple[str, ...] = ("relayed", "in process")


PUBLIC, USE, VAULT = Capability.PUBLIC, Capability.GATEWAY_USE, Capability.VAULT
NONE, OWN = Credential.NONE, Credential.OWN
ANTHROPIC, GEMINI, OLLAMA = Envelope.ANTHROPIC, Envelope.GEMINI, Envelope.OLLAMA
MCP_PATH = "{mcp}"  # the MCP endpoint, at whatever `http.path` says
LIVE_PATH, READY_PATH = "/health/live", "/health/ready"
MCP_DOOR = Door("*", MCP_PATH, USE, streams=True)
VERTEX_ANTHROPIC_PATH = (
    "/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{target}"
)

_OWN: tuple[Door, ...] = (
    # The gateway's name, for clients that probe their base URL, and its liveness.
    Door("GET", "/", PUBLIC, NONE),
    Door("GET", "/health", PUBLIC, NONE),
    # An orchestrator's probes: the process answers (live), it takes new work (ready).
    Door("GET", LIVE_PATH, PUBLIC, NONE),
    Door("GET", READY_PATH, PUBLIC, NONE),
    Door("GET", "/openapi.json", PUBLIC, NONE),
    # Every caller's figures: the operator's, or a scraper holding `metrics.scrape_token` (the
    # edge lets that token through for this door alone).
    Door("GET", "/metrics", Capability.METRICS_READ),
    # Only the local user holds the instance token; the route checks it and who connected.
    Door("POST", "/instance/activate", Capability.INSTANCE_ACTIVATE, OWN),
    Door("POST", "/instance/quit", Capability.INSTANCE_ACTIVATE, OWN),
    # The OAuth server: clients authenticate inside (secrets, PKCE, registration policy), the
    # consent page asks for the consent password and checks its own CSRF token.
    Door("GET", "/.well-known/oauth-authorization-server", PUBLIC, NONE),
    Door("GET", "/.well-known/oauth-protected-resource", PUBLIC, NONE),
    Door("GET", "/.well-known/oauth-protected-resource/{resource}", PUBLIC, NONE),
    Door("GET", "/oauth/authorize", PUBLIC, OWN),
    Door("POST", "/oauth/authorize", PUBLIC, OWN, forms=True),
    Door("POST", "/oauth/token", PUBLIC, OWN, forms=True),
    Door("POST", "/oauth/register", PUBLIC, OWN),
    Door("POST", "/oauth/revoke", PUBLIC, OWN, forms=True),
    Door("GET", "/oauth/consent/{id}", PUBLIC, OWN),
    Door("GET", "/oauth/consent/{id}/status", PUBLIC, OWN),
    Door("POST", "/oauth/consent/{id}", PUBLIC, OWN, forms=True),
    # The LLM gateway's dialects.
    Door("POST", "/v1/chat/completions", USE, streams=True),
    Door("POST", "/v1/responses", USE, streams=True),
    Door("POST", "/v1/messages", USE, envelope=ANTHROPIC, streams=True),
    Door("POST", "/v1/messages/count_tokens", USE, envelope=ANTHROPIC),
    Door("POST", "/v1/embeddings", USE),
    Door("POST", "/v1/completions", USE, streams=True),
    Door("POST", "/v1beta/models/{target}", USE, envelope=GEMINI, streams=True),
    # google-genai with api_version="v1" posts here; the model lists below are shared.
    Door("POST", "/v1/models/{target}", USE, envelope=GEMINI, streams=True),
    Door("GET", "/v1/models", USE, envelope=Envelope.BY_CLIENT),
    Door("GET", "/v1/models/{model}", USE, envelope=Envelope.BY_CLIENT),
    Door("GET", "/v1beta/models", USE, envelope=GEMINI),
    Door("GET", "/v1beta/models/{model}", USE, envelope=GEMINI),
    # The clouds' wires onto Messages (`gateway/cloud_routes.py`), as clients set up for Amazon
    # Bedrock or Google Vertex AI send them; their SDKs read Anthropic's errors.
    Door("POST", "/model/{model}/invoke", USE, envelope=ANTHROPIC),
    Door(
        "POST", "/model/{model}/invoke-with-response-stream", USE, envelope=ANTHROPIC, streams=True
    ),
    Door("POST", "/model/{model}/count-tokens", USE, envelope=ANTHROPIC),
    # Bedrock's list of inference profiles, asked without a credential: none here.
    Door("GET", "/inference-profiles", PUBLIC, NONE),
    Door("POST", VERTEX_ANTHROPIC_PATH, USE, envelope=ANTHROPIC, streams=True),
    # Ollama's API, for the tools that speak only it (`gateway/ollama_routes.py`).
    Door("POST", "/api/chat", USE, envelope=OLLAMA, streams=True),
    Door("POST", "/api/generate", USE, envelope=OLLAMA, streams=True),
    Door("POST", "/api/embed", USE, envelope=OLLAMA),
    Door("POST", "/api/embeddings", USE, envelope=OLLAMA),
    Door("GET", "/api/tags", USE, envelope=OLLAMA),
    Door("POST", "/api/show", USE, envelope=OLLAMA),
    Door("GET", "/api/ps", USE, envelope=OLLAMA),
    Door("GET", "/api/version", USE, envelope=OLLAMA),
    # The gateway's own API.
    Door("POST", "/v1/generate", USE),
    Door("GET", "/v1/providers", USE),
    # An editor's ACP connection to an agent the gateway runs.
    Door("GET", "/acp", USE, upgrade=True, streams=True, line_cap=ACP_LINE_BYTES),
    # The chat sessions of `acp --model`, each its principal's (the engine checks whose).
    Door("GET", "/v1/acp/chats/{id}", USE),
    Door("PUT", "/v1/acp/chats/{id}", USE),
    # The vault: the operator's alone.
    Door("POST", "/v1/credentials", VAULT),
    Door("GET", "/v1/credentials", VAULT),
    Door("DELETE", "/v1/credentials/{id}", VAULT),
    Door("POST", "/v1/files", VAULT),
    Door("GET", "/v1/files", VAULT),
    Door("DELETE", "/v1/files/{id}", VAULT),
    # MCP over Streamable HTTP: POST, its event stream (GET) and a session's end (DELETE).
    MCP_DOOR,
)
# Every door: ours, then each other gateway's path for one of ours (`path_aliases.py`), a copy
# of our door's row, so it is held to every rule ours is.
DOORS: tuple[Door, ...] = (
    *_OWN,
    *(replace(door, path=alias) for door in _OWN for alias in aliases_of(door.path)),
)

STDIO_DOORS: tuple[StdioDoor, ...] = (
    StdioDoor("mcp-stdio", "llmgw-desktop mcp", MCP_EVENT_BYTES, via=MCP_PATH),
    StdioDoor("acp-stdio", "llmgw-desktop acp", ACP_LINE_BYTES, via="/acp"),
)

_BY_ROUTE: Mapping[tuple[str, str], Door] = {(d.method, d.path): d for d in DOORS}


def door_of(method: str, path: str, *, mcp_path: str) -> Door | None:
    """The door of a route (its method and canonical path); None if it has no row. HEAD is
    GET's door."""
    if path == mcp_path:
        return MCP_DOOR
    if method == "HEAD":
        method = "GET"
    return _BY_ROUTE.get((method, path))
