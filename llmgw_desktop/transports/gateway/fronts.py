"""Which dialect a request speaks, read from its door and headers, before any handler runs.

The edge needs it to read the caller's key where that dialect's clients put it and to refuse
in the envelope they parse: a door's row says (`doors.py`), except on the model lists, shared
by OpenAI's clients, Anthropic's (which say so with `anthropic-version` or `x-api-key`) and
google-genai's with `api_version="v1"` (`x-goog-api-key` or `x-goog-api-client`), and on a
request no door serves (a 404 is answered in the shape its path's clients read).
"""

from __future__ import annotations

from aiohttp import web

from llmgw_desktop.engine.api import (
    ANTHROPIC_KEY_PLACES,
    BEARER_ONLY,
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    GEMINI_KEY_PLACES,
)
from llmgw_desktop.transports.doors import Door, Envelope
from llmgw_desktop.transports.path_aliases import ours

__all__ = [
    "envelope_of",
    "is_anthropic_client",
    "is_gemini_client",
    "is_ollama_route",
    "key_places",
    "request_dialect",
]

_MODELS = "/v1/models"
# Read for every request: module globals, not enum reads (`engine/states.py`).
_BY_CLIENT = Envelope.BY_CLIENT
_OLLAMA = Envelope.OLLAMA
_ANTHROPIC = Envelope.ANTHROPIC
_GEMINI = Envelope.GEMINI
_NATIVE = Envelope.NATIVE


def is_anthropic_client(request: web.Request) -> bool:
    """Whether the request carries what Anthropic's SDKs send on every request."""
    headers = request.headers
    return "anthropic-version" in headers or "x-api-key" in headers


def is_gemini_client(request: web.Request) -> bool:
    """Whether the request carries what Google's GenAI SDKs send on every request."""
    headers = request.headers
    return "x-goog-api-key" in headers or "x-goog-api-client" in headers


def is_ollama_route(request: web.Request) -> bool:
    """Whether the request is for Ollama's API (`/api/...`), whose clients read an error as
    `{"error": message}`."""
    return request.path.startswith("/api/")


def request_dialect(request: web.Request) -> str | None:
    """The Anthropic or Gemini dialect when the request is one of theirs; None for OpenAI's
    dialects and the native API (which share one envelope)."""
    path = ours(request.path)  # another gateway's path for a route of ours: as ours
    if path.startswith("/v1/messages"):
        return DIALECT_ANTHROPIC
    if path.startswith("/v1beta/") or path == "/v1beta":
        return DIALECT_GEMINI
    if path == _MODELS or path.startswith(_MODELS + "/"):
        if ":" in path[len(_MODELS) :]:
            return DIALECT_GEMINI  # google-genai with api_version="v1"
        if is_anthropic_client(request):
            return DIALECT_ANTHROPIC
        if is_gemini_client(request):
            return DIALECT_GEMINI
    return None


def envelope_of(request: web.Request, door: Door | None) -> Envelope:
    """The error shape the clients of `request` parse: its door's, else read from its path and
    headers (the shared model lists, and requests no door serves)."""
    if door is not None and door.envelope is not _BY_CLIENT:
        return door.envelope
    if door is None and is_ollama_route(request):
        return _OLLAMA
    front = request_dialect(request)
    if front == DIALECT_ANTHROPIC:
        return _ANTHROPIC
    if front == DIALECT_GEMINI:
        return _GEMINI
    return _NATIVE


def key_places(request: web.Request, door: Door | None) -> tuple[str, ...]:
    """Where, besides `Authorization: Bearer`, this request's credential may be."""
    envelope = envelope_of(request, door)
    if envelope is _ANTHROPIC:
        return ANTHROPIC_KEY_PLACES
    if envelope is _GEMINI:
        return GEMINI_KEY_PLACES
    return BEARER_ONLY
