"""Finding 104 (issue 62, item 8): tools that speak Ollama's API got 415.

LiteLLM's `ollama/` and `ollama_chat/` providers (and aider, which runs them) send
`POST /api/generate` and `/api/chat` with a JSON body and no `Content-Type` at all
(`tests/fixtures/clients/tools/litellm.json`); finding 12's JSON-only rule refused every one.
A browser sends `Origin` on every POST, so a request with neither `Origin` nor `Content-Type`
is no page's: it is served as JSON. Every drive-by stays refused: the same body from a page
(it carries `Origin`, loopback or not), and the bodies a page sends unasked (`text/plain`,
forms, multipart). Refusals on `/api/*` come back in Ollama's own shape (`{"error": "..."}`),
the Host and Origin ones included. The real clients are `tests/clients/test_ollama_clients.py`.
"""

from __future__ import annotations

import json

from tests.fakes.upstream import DEFAULT_ANSWER
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
    raw_request,
    rebound_request,
)

CHAT = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": false}'
GENERATE = b'{"model": "gpt-4o", "prompt": "hi", "stream": false}'
# What LiteLLM sends besides the body (its fixture): no Content-Type, no Origin.
LITELLM = [("User-Agent", "litellm/1.110.2"), ("Accept", "*/*")]
FOREIGN = ("Origin", "https://evil.example")


def ollama_message(body: bytes) -> str:
    """The refusal's message, checking it is in Ollama's shape: `{"error": message}`."""
    parsed = json.loads(body)
    assert set(parsed) == {"error"} and isinstance(parsed["error"], str), parsed
    return str(parsed["error"])


async def test_a_body_with_neither_origin_nor_media_type_is_served(
    launch: Launch, provider_keys: None
) -> None:
    gateway = await launch()
    for path, body, said in (
        ("/api/chat", CHAT, lambda a: a["message"]["content"]),
        ("/api/generate", GENERATE, lambda a: a["response"]),
        ("/v1/chat/completions", CHAT, lambda a: a["choices"][0]["message"]["content"]),
    ):
        answer = await raw_request(gateway, "POST", path, LITELLM, body)
        assert answer.status == 200, (path, answer.body)
        assert said(answer.json()).startswith(DEFAULT_ANSWER), answer.body


async def test_every_drive_by_stays_refused_in_ollamas_shape(launch: Launch) -> None:
    gateway = await launch()
    for path, body in (("/api/chat", CHAT), ("/api/generate", GENERATE)):
        # The same body from a page: no Content-Type, but an Origin (a loopback page's is
        # refused for its body, a sandboxed frame's opaque one for itself).
        for origin, status, said in (
            ("http://localhost:8081", 415, "application/json"),
            ("null", 403, "http.allowed_origins"),
        ):
            answer = await raw_request(gateway, "POST", path, [("Origin", origin)], body)
            assert answer.status == status, (path, origin, answer.body)
            assert said in ollama_message(answer.body)
        for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            answer = await raw_request(gateway, "POST", path, [("Content-Type", media)], body)
            assert answer.status == 415, (path, media, answer.body)
            ollama_message(answer.body)
        # A foreign page, and DNS rebinding: refused in the shape an Ollama client reads.
        foreign = await raw_request(gateway, "POST", path, [FOREIGN], body)
        assert foreign.status == 403 and "http.allowed_origins" in ollama_message(foreign.body)
    rebound = await rebound_request(gateway, "POST", "/api/chat", [], CHAT)
    assert rebound.status == 421, rebound
    assert "DNS rebinding" in ollama_message(rebound.body)
