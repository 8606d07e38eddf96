"""Finding 12: state-changing routes took `text/plain` bodies.

A web page on another local port passes the Origin check (its origin is loopback), and a
browser sends `text/plain`, form, multipart and untyped bodies cross-origin without asking
first (no CORS preflight). Every state-changing route of the real app, enumerated from its
router, is knocked on with those bodies as such a page sends them (with its `Origin`): each
gets 415 in its dialect's envelope. JSON (with parameters, and `application/*+json`) still goes
through, real SDK clients still work, and the OAuth endpoints keep their form bodies. (A body
with neither `Origin` nor `Content-Type` is no page's: finding 104,
`test_bodies_without_media_type.py`.)
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.doors import door_of
from llmgw_desktop.transports.path_aliases import ours
from tests.fakes.upstream import DEFAULT_ANSWER
from tests.sdk_clients import openai_client
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
    raw_request,
)
from tests.transports.auth.conftest import CLIENT_ID, CLIENT_SECRET, TOKEN, oauth_settings

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
BEARER = ("Authorization", f"Bearer {TOKEN}")
PAGE = ("Origin", "http://localhost:8081")  # a page served from another local port
CHAT = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
NOT_JSON = [
    ("text/plain", CHAT),
    ("text/plain;charset=UTF-8", CHAT),
    ("application/x-www-form-urlencoded", b"model=gpt-4o&messages=hi"),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
    ),
    (None, CHAT),  # no Content-Type at all (a Blob or ArrayBuffer body)
]
# A value for each kind of path parameter, so a route's pattern becomes a real path.
PATH_VALUES = {"target": "gemini-2.5-flash:generateContent", "model": "gpt-4o"}


def state_changing_routes(gateway: GatewayRuntime) -> list[tuple[str, str]]:
    """(method, concrete path) of every state-changing route the app serves, form routes
    excepted; the MCP endpoint (any method) stands for POST and DELETE."""
    app: web.Application = gateway.http._app
    mcp_path = gateway.settings.http.path
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.resource is None:
            continue
        door = door_of(route.method, route.resource.canonical, mcp_path=mcp_path)
        if door is not None and door.forms:
            continue
        info = route.resource.get_info()
        pattern = info.get("path") or info.get("formatter", "")
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: PATH_VALUES.get(m.group(1), "x1"), pattern)
        methods = STATE_CHANGING if route.method == "*" else (route.method,)
        found.update((method, path) for method in methods if method in STATE_CHANGING)
    return sorted(found)


def envelope_message(path: str, body: dict[str, Any]) -> str:
    """The refusal's message, checking the envelope the path's clients parse."""
    error = body["error"]
    path = ours(path)  # another gateway's name of a route (Bifrost's /anthropic/v1/...): ours
    if path.startswith("/api/"):
        assert set(body) == {"error"} and isinstance(error, str), body  # Ollama's own shape
        return error
    # Messages and the clouds' doors onto it (Bedrock's /model/..., Vertex's publishers/...).
    if path.startswith(("/v1/messages", "/model/")) or "/publishers/" in path:
        assert body["type"] == "error" and error["type"] == "invalid_request_error", body
    elif path.startswith("/v1beta/") or ":" in path:
        assert error["code"] == 415 and error["status"], body
    else:
        assert set(error) == {"message", "type", "param", "code"}, body
        assert error["code"] == "unsupported_media_type"
    return str(error["message"])


async def test_every_state_changing_route_refuses_bodies_a_page_can_send(launch: Launch) -> None:
    gateway = await launch({"http.auth_token": TOKEN, **oauth_settings()})
    routes = state_changing_routes(gateway)
    # The enumeration found the routes that matter (and the JSON-taking OAuth registration).
    for expected in (
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/messages"),
        ("POST", "/v1/responses"),
        ("POST", "/v1beta/models/gemini-2.5-flash:generateContent"),
        ("POST", "/v1/generate"),
        ("POST", "/v1/credentials"),
        ("DELETE", "/v1/credentials/x1"),
        ("POST", "/v1/files"),
        ("POST", gateway.settings.http.path),
        ("POST", "/oauth/register"),
        ("POST", "/api/chat"),
        ("POST", "/v1/embeddings"),
        ("POST", "/v1/completions"),
    ):
        assert expected in routes, (expected, routes)
    for method, path in routes:
        for content_type, body in NOT_JSON:
            headers = [BEARER, PAGE] + ([("Content-Type", content_type)] if content_type else [])
            answer = await raw_request(gateway, method, path, headers, body)
            assert answer.status == 415, (method, path, content_type, answer.status, answer.body)
            message = envelope_message(path, answer.json())
            assert "application/json" in message and path in message
    # Nothing reached a handler: no credential was stored by the form-shaped attempts.
    stored = await raw_request(gateway, "GET", "/v1/credentials", [BEARER])
    assert stored.json()["credentials"] == []


async def test_unauthenticated_pages_get_the_same_refusal(launch: Launch) -> None:
    # The check runs before authentication, so it cannot be used to probe credentials either.
    gateway = await launch()  # the default: open to the local user, who is this test
    for method, path in state_changing_routes(gateway):
        answer = await raw_request(
            gateway, method, path, [PAGE, ("Content-Type", "text/plain")], CHAT
        )
        assert answer.status == 415, (method, path)


async def test_json_bodies_are_accepted(launch: Launch, provider_keys: None) -> None:
    gateway = await launch({"http.auth_token": TOKEN})
    for content_type in (
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.llmgw+json",
    ):
        chat = await raw_request(
            gateway, "POST", "/v1/chat/completions", [BEARER, ("Content-Type", content_type)], CHAT
        )
        assert chat.status == 200, (content_type, chat.body)
        assert chat.json()["choices"][0]["message"]["content"].startswith(DEFAULT_ANSWER)
    stored = await raw_request(
        gateway,
        "POST",
        "/v1/credentials",
        [BEARER, ("Content-Type", "application/json")],
        b'{"provider": "openai", "apiKey": "sk-proj-stored-by-the-operator-0123456789"}',
    )
    assert stored.status == 201, stored.body
    # Bodiless state changes need no Content-Type (DELETE is never sent cross-origin unasked).
    record = stored.json()["id"]
    deleted = await raw_request(gateway, "DELETE", f"/v1/credentials/{record}", [BEARER])
    assert deleted.status in (200, 204), deleted.body
    # A real SDK (it sends application/json) is unaffected.
    client = openai_client(gateway, TOKEN)
    async with client:
        answer = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert (answer.choices[0].message.content or "").startswith(DEFAULT_ANSWER)


async def test_oauth_form_endpoints_keep_their_forms(launch: Launch) -> None:
    gateway = await launch({"http.auth_token": TOKEN, **oauth_settings()})
    form = ("Content-Type", "application/x-www-form-urlencoded")
    token = await raw_request(
        gateway,
        "POST",
        "/oauth/token",
        [form],
        f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}".encode(),
    )
    assert token.status != 415, token.body
    assert token.json().get("error") in (None, "unsupported_grant_type", "invalid_grant")
    revoke = await raw_request(
        gateway,
        "POST",
        "/oauth/revoke",
        [form],
        f"token=unknown&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}".encode(),
    )
    assert revoke.status == 200, revoke.body
