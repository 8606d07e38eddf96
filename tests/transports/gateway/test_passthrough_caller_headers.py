"""A remote caller and a misbehaving upstream against the same-dialect passthrough.

The caller (a bearer-token or OAuth principal) must not reach the operator's keys or the host:
none of its credentials, ours or the headers that pick a billed account go upstream, nothing
it sends can add a line to our request, and bad input is a clear 4xx, never a 500. An upstream
answer must not set cookies or CORS grants on our origin, forge our route headers, leak the
key it was sent (whole or in part), freeze the gateway, or leave a recorder row open.

The upstream here is `HostileUpstream`: it shows the exact header lines the gateway sent and
answers with whatever bytes a test writes. Requests that need odd bytes on the wire (duplicate
names, non-ASCII values, control characters) go over a raw socket.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.auth.conftest import oauth_access_token, oauth_settings
from tests.transports.gateway.conftest import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    GatewayFactory,
)
from tests.transports.gateway.hostile_upstream import (
    HostileUpstream,
    RawRequest,
    dechunk,
    response_head,
    streamed,
    whole,
)

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"
TRUSTED_HEADER = "X-Remote-User"
# A key of no known vendor shape, so only the exact-match scrubbing can catch it.
SHAPELESS_KEY = "qx7Zr2Lm9Tp4Vn8Wk3Jd6Hs1Fb5Gc0Ya"
# Bounds, so that a test that goes wrong fails instead of hanging.
ANSWER_TIMEOUT_S = 20.0
ROW_TIMEOUT_S = 5.0

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 5,
    "messages": [{"role": "user", "content": "hi"}],
}
CHAT_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


MESSAGE_START = sse(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [],
            "usage": {"input_tokens": 50, "output_tokens": 1},
        },
    },
)
TEXT_DELTA = sse(
    "content_block_delta",
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
)
MESSAGE_STOP = sse("message_stop", {"type": "message_stop"})
OVERLOADED = sse(
    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)


# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
async def gateway(start_gateway: GatewayFactory, hostile: HostileUpstream) -> GatewayRuntime:
    """The gateway these tests attack, in front of the hostile upstream: only a bearer token
    lets a caller in, and a trusted-principal header is set up (its user alice granted
    project p1, which the header list names)."""
    runtime: GatewayRuntime = await start_gateway(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": TRUSTED_HEADER,
            "projects.grants": {"p1": ["user:alice"]},
        },
    )
    return runtime


def port_of(gateway: GatewayRuntime) -> int:
    return int(gateway.base_url.rsplit(":", 1)[1])


class Exchange:
    """One answer read off a raw socket."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def text(self) -> str:
        lines = "".join(f"{k}: {v}\n" for k, v in self.headers)
        return f"{self.status}\n{lines}\n{self.body.decode('latin-1')}"


async def raw_exchange(
    gateway: GatewayRuntime,
    path: str,
    body: bytes,
    header_lines: list[bytes],
    *,
    length: bool = True,
) -> Exchange:
    """POST `body` with these exact header lines (plus Host, Content-Length and Connection:
    close); the answer after any 1xx."""
    port = port_of(gateway)
    head = [f"POST {path} HTTP/1.1".encode(), f"Host: 127.0.0.1:{port}".encode(), *header_lines]
    if length:
        head.append(f"Content-Length: {len(body)}".encode())
    head.append(b"Connection: close")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            data = await reader.read()
    finally:
        writer.close()
    while True:
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
        if status >= 200:
            break
        data = rest
    if any(k.lower() == "transfer-encoding" and "chunked" in v for k, v in headers):
        rest = dechunk(rest)
    return Exchange(status, headers, rest)


async def post(
    gateway: GatewayRuntime, path: str, body: dict[str, Any] | bytes, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(ANSWER_TIMEOUT_S),
        session.post(
            gateway.base_url + path,
            data=data,
            headers={"Content-Type": "application/json", **headers},
        ) as response,
    ):
        return response.status, dict(response.headers), await response.read()


async def remote_post(
    gateway: GatewayRuntime, path: str, body: dict[str, Any] | bytes, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """`post` as the remote caller: with the gateway's bearer token."""
    return await post(gateway, path, body, Authorization=f"Bearer {TOKEN}", **headers)


async def last_row(gateway: GatewayRuntime, *, settled: bool = True) -> dict[str, Any]:
    """The newest recorder row; with `settled`, once it has left the "started" state."""
    async with asyncio.timeout(ROW_TIMEOUT_S):
        while True:
            rows = await gateway.engine.recorder.recent(limit=1)
            if rows and (not settled or rows[0]["state"] != "started"):
                return rows[0]
            await asyncio.sleep(0.05)


def json_header_lines(headers: list[tuple[str, str]]) -> list[bytes]:
    return [f"{k}: {v}".encode() for k, v in [("Content-Type", "application/json"), *headers]]


# -- 1. what the caller's headers can do upstream ---------------------------------------------

# Per front door: path, body, and the one credential header the upstream must see (ours).
DOORS = {
    "openai-chat": ("/v1/chat/completions", CHAT, ("authorization", f"Bearer {OPENAI_KEY}")),
    "openai-responses": (
        "/v1/responses",
        {"model": "gpt-5.1", "input": "hi"},
        ("authorization", f"Bearer {OPENAI_KEY}"),
    ),
    "anthropic": ("/v1/messages", CLAUDE, ("x-api-key", ANTHROPIC_KEY)),
    "anthropic-count": (
        "/v1/messages/count_tokens",
        {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}]},
        ("x-api-key", ANTHROPIC_KEY),
    ),
    "gemini": (
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        ("x-goog-api-key", GEMINI_KEY),
    ),
}
CREDENTIAL_HEADERS = {"authorization", "x-api-key", "api-key", "x-goog-api-key"}
CALLER_SECRETS = ("caller-secret-1", "caller-secret-2", "caller-secret-3", "caller-secret-4")
# What a caller sends that must not go upstream: credentials in odd case and repeated, our own
# headers, hop-by-hop ones, where the request came from, and the account choosers.
HOSTILE_REQUEST_HEADERS = [
    ("Authorization", f"Bearer {TOKEN}"),
    ("X-API-KEY", CALLER_SECRETS[0]),
    ("x-Api-Key", CALLER_SECRETS[1]),
    ("Api-Key", CALLER_SECRETS[2]),
    ("X-Goog-Api-Key", CALLER_SECRETS[3]),
    ("Cookie", f"session={CALLER_SECRETS[0]}"),
    ("Proxy-Authorization", f"Basic {CALLER_SECRETS[1]}"),
    (TRUSTED_HEADER, "alice"),
    ("X-Forwarded-User", "bob"),
    ("X-Forwarded-For", "203.0.113.9"),
    ("X-Forwarded-Host", "evil.example"),
    ("Forwarded", "for=203.0.113.9;host=evil.example"),
    ("X-Real-IP", "203.0.113.9"),
    ("OpenAI-Organization", "org-someone-else"),
    ("OpenAI-Project", "proj_someone_else"),
    ("X-Goog-User-Project", "someone-elses-project"),
    ("X-Project", "p1"),
    ("X-Caller", "me"),
    ("X-Workspace", "w1"),
    ("Mcp-Session-Id", "s1"),
    ("Last-Event-ID", "7"),
    ("X-Gateway-Pin", "x"),
    ("Sec-Fetch-Site", "cross-site"),
    ("TE", "trailers"),
    ("Keep-Alive", "timeout=300"),
    ("Proxy-Connection", "keep-alive"),
    ("Trailer", "X-Late"),
    ("Expect", "100-continue"),
    ("User-Agent", "curl/8.0"),
    ("X-Custom", "kept"),
    ("x-custom", "also kept"),
]
WITHHELD = {
    "cookie",
    "proxy-authorization",
    TRUSTED_HEADER.lower(),
    "x-forwarded-user",
    "x-forwarded-for",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
    "openai-organization",
    "openai-project",
    "x-goog-user-project",
    "x-project",
    "x-caller",
    "x-workspace",
    "mcp-session-id",
    "last-event-id",
    "x-gateway-pin",
    "sec-fetch-site",
    "te",
    "keep-alive",
    "proxy-connection",
    "trailer",
    "expect",
    "transfer-encoding",
    "x-llmgw-instance-token",
}


def assert_only_ours(seen: RawRequest, credential: tuple[str, str], body: bytes) -> None:
    """`seen` carries the operator's credential once, no other, and nothing of the caller's."""
    name, value = credential
    assert seen.values(name) == [value], seen.header_lines
    assert not (seen.names() & (CREDENTIAL_HEADERS - {name})), seen.header_lines
    assert not (seen.names() & WITHHELD), seen.header_lines
    on_the_wire = json.dumps(seen.header_lines)
    for secret in (TOKEN, *CALLER_SECRETS, "alice", "203.0.113.9", "someone-else"):
        assert secret not in on_the_wire
    # Our framing, once: the upstream reads exactly the body we meant.
    assert len(seen.values("host")) == 1
    assert seen.values("content-length") == [str(len(seen.body))]
    assert seen.body == body or json.loads(seen.body)


@pytest.mark.parametrize("door", DOORS)
async def test_no_credential_of_the_caller_or_account_choice_goes_upstream(
    gateway: GatewayRuntime, hostile: HostileUpstream, door: str
) -> None:
    hostile.answer = whole({"input_tokens": 3, **CHAT_ANSWER})
    path, body, credential = DOORS[door]
    data = json.dumps(body).encode()
    answer = await raw_exchange(gateway, path, data, json_header_lines(HOSTILE_REQUEST_HEADERS))
    assert answer.status == 200, answer.text()
    (seen,) = hostile.llm_requests
    assert_only_ours(seen, credential, data)
    # What is the client's own business goes along, repeated values joined.
    assert seen.values("x-custom") == ["kept, also kept"]
    assert seen.values("user-agent") == ["curl/8.0"]


async def test_the_local_instance_token_never_goes_upstream(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    instance = gateway.engine.auth.instance_token
    assert instance
    status, _, raw = await post(
        gateway, "/v1/chat/completions", CHAT, **{"X-Llmgw-Instance-Token": instance}
    )
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert instance not in json.dumps(seen.header_lines)
    assert seen.values("authorization") == [f"Bearer {OPENAI_KEY}"]


async def test_an_oauth_principals_access_token_never_goes_upstream(
    start_gateway: GatewayFactory, hostile: HostileUpstream
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    gateway = await start_gateway({"http.auth_token": TOKEN, **oauth_settings()})
    access = await oauth_access_token(gateway)
    status, _, raw = await post(
        gateway, "/v1/messages", CLAUDE, Authorization=f"Bearer {access}", **{"X-Api-Key": access}
    )
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert access not in json.dumps(seen.header_lines)
    assert seen.values("x-api-key") == [ANTHROPIC_KEY]
    assert not seen.values("authorization")


@pytest.mark.parametrize(
    "line",
    [
        b"X-A: a\rb",
        b"X-A: a\x00b",
        b"X-A: a\x7fb",
        b"X-A : spaced-name",
        b"X-A\t: tabbed-name",
        b"Transfer-Encoding: chunked",  # beside our Content-Length: smuggling
        b"Content-Length: 1",  # a second, different length
        b"Transfer-Encoding: gzip, chunked",
    ],
)
async def test_request_smuggling_is_refused_at_the_door(
    gateway: GatewayRuntime, hostile: HostileUpstream, line: bytes
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    auth = f"Authorization: Bearer {TOKEN}".encode()
    answer = await raw_exchange(
        gateway, "/v1/chat/completions", json.dumps(CHAT).encode(), [auth, line]
    )
    assert answer.status == 400, answer.text()
    assert hostile.llm_requests == []


async def test_a_bare_line_feed_cannot_add_a_header_line_upstream(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    auth = f"Authorization: Bearer {TOKEN}".encode()
    answer = await raw_exchange(
        gateway,
        "/v1/chat/completions",
        json.dumps(CHAT).encode(),
        [auth, b"X-A: a\nAuthorization: Bearer injected-key-0000"],
    )
    # Refused, or read as two headers of the client's own: the second is a credential and
    # stays here; either way no line reaches the upstream that the client wrote into a value.
    if answer.status != 400:
        (seen,) = hostile.llm_requests
        assert seen.values("authorization") == [f"Bearer {OPENAI_KEY}"]
        assert "injected" not in json.dumps(seen.header_lines)
    else:
        assert hostile.llm_requests == []


async def test_non_ascii_header_values_go_upstream_as_the_clients_own_bytes(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # Before: an emoji in X-Title (OpenRouter's app name header) made every same-dialect
    # request a 400 "check the model id", and `é` went out as another byte.
    hostile.answer = whole(CHAT_ANSWER)
    title = "Café ☕".encode()
    answer = await raw_exchange(
        gateway,
        "/v1/chat/completions",
        json.dumps(CHAT).encode(),
        [
            f"Authorization: Bearer {TOKEN}".encode(),
            b"Content-Type: application/json",
            b"X-Title: " + title,
            b"X-Bytes: \xff\xfe",
        ],
    )
    assert answer.status == 200, answer.text()
    (seen,) = hostile.llm_requests
    # HostileUpstream reads header bytes as latin-1: one character per byte sent.
    assert seen.values("x-title") == [title.decode("latin-1")]
    assert seen.values("x-bytes") == ["\xff\xfe"]


async def test_a_request_refused_on_its_way_out_ends_its_recorder_row(
    gateway: GatewayRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise InvalidRequest("refusing to send a header with control characters", param="model")

    monkeypatch.setattr(gateway.engine.gateway.upstream, "send", refuse)
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    assert status == 400, raw
    row = await last_row(gateway)
    assert (row["state"], row["error_code"]) == ("refused", "invalid_request")


# -- 2. what an upstream's answer headers can do ------------------------------------------------

HOSTILE_ANSWER_HEADERS = [
    ("Set-Cookie", "llmgw_session=forged; Path=/"),
    ("Access-Control-Allow-Origin", "https://evil.example"),
    ("Access-Control-Allow-Credentials", "true"),
    ("X-Gateway-Provider", "forged"),
    ("X-Gateway-Request-Id", "forged"),
    ("Upgrade", "h2c"),
    ("TE", "trailers"),
    ("Trailer", "X-Late"),
    ("Proxy-Authenticate", 'Basic realm="evil"'),
    ("Proxy-Connection", "keep-alive"),
    ("Keep-Alive", "timeout=5"),
    ("Strict-Transport-Security", "max-age=0"),
    ("Alt-Svc", 'h3=":443"; ma=86400'),
    ("Request-Id", "req_upstream_1"),
]
NEVER_RELAYED = {
    "set-cookie",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "upgrade",
    "te",
    "trailer",
    "proxy-authenticate",
    "proxy-connection",
    "keep-alive",
    "strict-transport-security",
    "alt-svc",
}


def assert_answer_headers_are_ours(answer: Exchange) -> None:
    names = {k.lower() for k, _ in answer.headers}
    assert not (names & NEVER_RELAYED), answer.headers
    assert answer.values("x-gateway-provider") in (["openai"], ["anthropic"])
    assert "forged" not in answer.values("x-gateway-request-id")
    assert len(answer.values("content-type")) == 1
    assert answer.values("request-id") == ["req_upstream_1"]  # the upstream's own id is kept


async def test_an_upstreams_answer_headers_cannot_set_cookies_cors_or_our_route_headers(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = whole(CHAT_ANSWER, headers=HOSTILE_ANSWER_HEADERS)
    answer = await raw_exchange(
        gateway,
        "/v1/chat/completions",
        json.dumps(CHAT).encode(),
        json_header_lines([("Authorization", f"Bearer {TOKEN}")]),
    )
    assert answer.status == 200, answer.text()
    assert_answer_headers_are_ours(answer)
    # x_gateway was spliced in: the length we send is the body's, and the body parses.
    assert answer.values("content-length") == [str(len(answer.body))]
    assert json.loads(answer.body)["x_gateway"]["resolvedProvider"] == "openai"


async def test_a_streams_answer_headers_cannot_set_cookies_cors_or_our_route_headers(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = streamed(
        MESSAGE_START, TEXT_DELTA, MESSAGE_STOP, headers=HOSTILE_ANSWER_HEADERS
    )
    answer = await raw_exchange(
        gateway,
        "/v1/messages",
        json.dumps(CLAUDE | {"stream": True}).encode(),
        json_header_lines([("Authorization", f"Bearer {TOKEN}")]),
    )
    assert answer.status == 200, answer.text()
    assert_answer_headers_are_ours(answer)
    assert answer.values("content-type") == ["text/event-stream"]
    assert answer.body == MESSAGE_START + TEXT_DELTA + MESSAGE_STOP


async def test_a_compressed_answer_is_relayed_decoded_with_its_own_length(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    packed = gzip.compress(json.dumps(CHAT_ANSWER).encode())

    async def answer_gzip(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        head = [
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(packed))),
        ]
        writer.write(response_head(200, head) + packed)
        await writer.drain()

    hostile.answer = answer_gzip
    status, headers, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    assert status == 200, raw
    assert "Content-Encoding" not in headers
    assert json.loads(raw)["choices"] == CHAT_ANSWER["choices"]


# -- 3. raw bodies ----------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(
    ("path", "body"),
    [
        # Same dialect, written again (project taken out): deeper than orjson writes.
        ("/v1/chat/completions", {**CHAT, "project": "p1", "deep": "DEEP"}),
        ("/v1/messages", {**CLAUDE, "model": "anthropic/claude-sonnet-4-6", "deep": "DEEP"}),
        # Another dialect: translated.
        ("/v1/messages", {**CLAUDE, "model": "gpt-4o", "metadata": {"deep": "DEEP"}}),
        (
            "/v1/chat/completions",
            {
                **CHAT,
                "model": "claude-sonnet-4-6",
                "tools": [
                    {"type": "function", "function": {"name": "t", "parameters": {"d": "DEEP"}}}
                ],
            },
        ),
    ],
)
async def test_a_body_nested_too_deeply_to_write_again_is_a_400_not_a_500(
    gateway: GatewayRuntime, hostile: HostileUpstream, path: str, body: dict[str, Any]
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    data = json.dumps(body).replace('"DEEP"', nested(400)).encode()
    status, _, raw = await remote_post(gateway, path, data)
    assert status == 400, raw
    assert b"nested too deeply" in raw
    assert hostile.llm_requests == []
    row = await last_row(gateway)
    assert row["state"] == "refused"


@pytest.mark.parametrize(
    "data",
    [
        b"[1, 2]",
        b'"just a string"',
        b"",
        b'{"model": "gpt-4o", "messages": [], "temperature": NaN}',
        b'{"model": "gpt-4o", "messages": [], "temperature": 1e400}',
        b'\xef\xbb\xbf{"model": "gpt-4o", "messages": []}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\\ud800"}]}',
        b'{"model": 5, "messages": []}',
        b'{"model": ["gpt-4o"], "messages": []}',
        b'{"model": "gpt-4o", "stream": "yes", "messages": []}',
        b'{"model": "gpt-4o", "messages": [], "project": "../../etc"}',
        b'{"model": "gpt-4o", "messages": [], "project": ["p1"]}',
        ("[" * 1100 + "]" * 1100).encode(),
    ],
)
async def test_bodies_that_are_not_usable_json_objects_are_a_clear_400(
    gateway: GatewayRuntime, hostile: HostileUpstream, data: bytes
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 400, raw
    assert json.loads(raw)["error"]["message"]
    assert hostile.llm_requests == []


async def test_odd_but_valid_json_goes_upstream_as_it_came(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = whole(CHAT_ANSWER)
    data = (
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], '
        b'"seed": 18446744073709551615, "temperature": 1e308, "logit_bias": {"1": -0}, '
        b'"n": 1, "n": 1}'
    )
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert seen.body == data


async def test_a_repeated_project_field_never_reaches_the_upstream(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # `project` picks whose keys pay; with two, the gateway reads the last (as the upstream
    # would): both are taken out, so no parser disagreement can be played on the upstream.
    hostile.answer = whole(CHAT_ANSWER)
    data = b'{"project": "p1", "model": "gpt-4o", "messages": [], "project": "p2"}'
    # A remote caller may not give one key two values at all (SECURITY.md 33).
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 400 and b"'project' two different values" in raw, raw
    local = {"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data, **local)
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert b"project" not in seen.body
    row = await last_row(gateway)
    assert row["route"]["project"] == "p2"


async def test_a_null_stream_options_is_not_sent_twice(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # The usage the gateway asks for was spliced in after the client's own `null` member: a
    # duplicate key, refused by strict parsers and read as "no usage" by first-wins ones.
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": []}
    hostile.answer = streamed(
        sse(None, chunk | {"choices": [{"index": 0, "delta": {"content": "hi"}}]}),
        sse(None, chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        sse(None, chunk | {"usage": {"prompt_tokens": 3, "completion_tokens": 1}}),
        sse(None, "[DONE]"),
    )
    data = b'{"model": "gpt-4o", "stream": true, "stream_options": null, "messages": []}'
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", data)
    assert status == 200, raw
    (seen,) = hostile.llm_requests
    assert seen.body.count(b'"stream_options"') == 1
    assert json.loads(seen.body)["stream_options"] == {"include_usage": True}
    assert b'"usage"' not in raw  # asked for by us, not by the client: kept from it


@pytest.mark.parametrize(
    "answer",
    [
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"{}   \r\n\t ",
        b'{"choices": []}\n\n\n',
        b'{"x_gateway": {"requestId": "forged"}, "choices": []}',
        b'{"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": -5}}',
        b"<html>nope</html>",
        b"",
        b'{"choices": [' + b'{"index": 0},' * 20000 + b'{"index": 1}]}',
    ],
)
async def test_whatever_an_upstream_answers_the_client_gets_it_or_a_502(
    gateway: GatewayRuntime, hostile: HostileUpstream, answer: bytes
) -> None:
    hostile.answer = whole(answer)
    status, headers, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    assert status in (200, 502), raw
    row = await last_row(gateway)
    if status == 502:
        assert row["state"] == "failed"
        return
    assert row["state"] == "completed"
    relayed = json.loads(raw)
    if isinstance(relayed, dict):
        # Ours is the member a client reads (a JSON parser keeps the last of repeated keys).
        assert relayed["x_gateway"]["requestId"] == headers["x-gateway-request-id"]
    else:
        assert relayed == json.loads(answer)


@pytest.mark.parametrize("figure", [2**64 - 1, 2**63, 1e300, -5])
async def test_an_absurd_usage_figure_is_not_believed(
    gateway: GatewayRuntime, hostile: HostileUpstream, figure: float
) -> None:
    # 2**64 and more could not be written in `x_gateway` (a 500); 2**63 and more could not be
    # stored by the recorder, whose failed write is retried with every later row (all lost).
    absurd = {**CHAT_ANSWER, "usage": {"prompt_tokens": figure, "completion_tokens": 1}}
    hostile.answer = whole(absurd)
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    assert status == 200, raw
    assert json.loads(raw)["x_gateway"]["tokens"]["input"] == 0
    hostile.answer = whole(CHAT_ANSWER)
    await remote_post(gateway, "/v1/chat/completions", CHAT)
    rows = await gateway.engine.recorder.recent(limit=5)
    assert [(r["state"], r["input_tokens"]) for r in rows] == [("completed", 3), ("completed", 0)]


# -- 4. the upstream's error, relayed ------------------------------------------------------------


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", **(extra or {})}}


def key_cases() -> dict[str, tuple[bytes | dict[str, Any], list[tuple[str, str]]]]:
    key = SHAPELESS_KEY
    # The message is cut at 500 characters, the body at 64 KiB: the key across each cut.
    across_message_cut = error_body("m" * (500 - 10) + key)
    prefix = b'{"error": {"message": "'
    across_body_cut = prefix + b"b" * (64 * 1024 - len(prefix) - 10) + key.encode() + b'"}}'
    return {
        "echoed": (error_body(f"Incorrect API key provided: {key}"), []),
        "across the message cut": (across_message_cut, []),
        "across the body cut": (across_body_cut, []),
        "in a header": (error_body("bad request"), [("X-Echo", key), ("Set-Cookie", key)]),
    }


@pytest.mark.parametrize("case", list(key_cases()))
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", CHAT),  # the same dialect: the upstream's body, relayed
        ("/v1/messages", {**CLAUDE, "model": "gpt-4o"}),  # translated: the message only
    ],
)
async def test_the_key_an_upstream_echoes_never_reaches_the_client_even_in_part(
    gateway: GatewayRuntime,
    hostile: HostileUpstream,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    path: str,
    body: dict[str, Any],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SHAPELESS_KEY)
    error, headers = key_cases()[case]
    hostile.answer = whole(error, status=400, headers=headers)
    answer = await raw_exchange(
        gateway,
        path,
        json.dumps(body).encode(),
        json_header_lines([("Authorization", f"Bearer {TOKEN}")]),
    )
    assert answer.status == 400, answer.text()
    seen = answer.text()
    leaked = [n for n in range(8, len(SHAPELESS_KEY) + 1) if SHAPELESS_KEY[:n] in seen]
    assert not leaked, f"{leaked[-1]} characters of the key reached the client"
    rows = await gateway.engine.recorder.recent(limit=5)
    assert SHAPELESS_KEY[:8] not in json.dumps(rows)


async def test_a_relayed_error_body_stays_the_upstreams_json(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # The redactor's `name: value` masking turned `"max_tokens": 100000` into
    # `"max_tokens": [REDACTED]`: a body the client's SDK could not parse.
    error = error_body("max_tokens is too large", param="max_tokens", max_tokens=100000)
    error["error"]["input_tokens"] = 123456
    hostile.answer = whole(error, status=400)
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    assert status == 400
    assert json.loads(raw) == error


@pytest.mark.parametrize("echoed", ["x" * 12_000, "a." * 6_000, "token" * 2_400])
async def test_an_echoed_long_name_does_not_freeze_the_gateway(
    gateway: GatewayRuntime, hostile: HostileUpstream, echoed: str
) -> None:
    # Upstreams quote what they could not take ("Unknown name ...", "The model `...` does not
    # exist"): the relayed body is scrubbed on the event loop, and the redactor took time
    # quadratic in a run of word characters (12 KB: seconds; 64 KB: minutes, all requests
    # stalled).
    hostile.answer = whole(error_body(f"The model `{echoed}` does not exist"), status=404)
    started = time.perf_counter()
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", CHAT)
    took = time.perf_counter() - started
    assert status == 404, raw
    assert took < 2.0, f"the gateway spent {took:.1f} s on one error body"


@pytest.mark.parametrize(
    "text",
    [
        "x" * 16_000,
        "token" * 13_000,
        "a." * 32_000,
        "a-" * 32_000,
        "eyJa-" * 13_000,
        "-----BEGIN A PRIVATE KEY-----" * 2_200,
        "'a" * 32_000,
    ],
    ids=["word", "keyword", "dots", "dashes", "jwt-heads", "pem-heads", "quotes"],
)
def test_redacting_a_large_hostile_text_takes_linear_time(text: str) -> None:
    started = time.perf_counter()
    redact(text)
    took = time.perf_counter() - started
    assert took < 0.5, f"{took:.2f} s for {len(text)} characters"


# -- 5. streams --------------------------------------------------------------------------------


async def stream_claude(gateway: GatewayRuntime) -> tuple[int, bytes]:
    status, _, raw = await remote_post(gateway, "/v1/messages", CLAUDE | {"stream": True})
    return status, raw


@pytest.mark.parametrize(
    "pieces",
    [
        [b"this is not an event stream"],
        [b"<html>\n\n<body>bad gateway</body>\n\n</html>\n"],
        [b": just a comment\n\n"],
        [],
        [OVERLOADED],
        [MESSAGE_START + TEXT_DELTA + OVERLOADED],
    ],
    ids=["garbage", "html", "comment", "nothing", "error-first", "error-in-first-read"],
)
async def test_a_stream_that_never_answers_is_a_502_with_a_failed_row(
    gateway: GatewayRuntime, hostile: HostileUpstream, pieces: list[bytes]
) -> None:
    hostile.answer = streamed(*pieces)
    status, raw = await stream_claude(gateway)
    assert status == 502, raw
    assert json.loads(raw)["error"]["message"]
    row = await last_row(gateway)
    # The row ends as the client saw it (issue 24); the route log keeps the attempt's outcome.
    code = json.loads(raw)["error"].get("code") or "all_routes_failed"
    assert (row["state"], row["error_code"], row["http_status"]) == ("failed", code, 502)
    assert [a["outcome"] for a in row["route"]["attempts"]] == ["stream_start"]


async def test_an_error_event_mid_stream_reaches_the_client_and_fails_the_row(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    hostile.answer = streamed(MESSAGE_START, TEXT_DELTA, OVERLOADED, gap_s=0.2)
    status, raw = await stream_claude(gateway)
    assert status == 200
    assert raw == MESSAGE_START + TEXT_DELTA + OVERLOADED  # the upstream's own words
    row = await last_row(gateway)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    assert row["input_tokens"] == 50


async def test_a_stream_cut_before_its_last_frame_ends_with_an_error_not_a_hang_up(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # A body delimited by the connection's close ends "cleanly" when the upstream is cut
    # off: the client saw a stream just stop, and the recorder blamed the client.
    hostile.answer = streamed(MESSAGE_START, TEXT_DELTA, gap_s=0.2)
    status, raw = await stream_claude(gateway)
    assert status == 200
    assert raw.startswith(MESSAGE_START + TEXT_DELTA)
    assert b"event: error" in raw[len(MESSAGE_START + TEXT_DELTA) :]
    row = await last_row(gateway)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")


async def test_a_huge_frame_is_relayed_whole(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    text = "x" * (8 * 1024 * 1024)
    chunk = {"id": "c", "object": "chat.completion.chunk"}
    hostile.answer = streamed(
        sse(None, chunk | {"choices": [{"index": 0, "delta": {"content": text}}]}),
        sse(None, chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        sse(None, "[DONE]"),
    )
    started = time.perf_counter()
    status, _, raw = await remote_post(gateway, "/v1/chat/completions", CHAT | {"stream": True})
    assert status == 200
    assert raw.count(text.encode()) == 1 and raw.rstrip().endswith(b"data: [DONE]")
    assert time.perf_counter() - started < ANSWER_TIMEOUT_S
    row = await last_row(gateway)
    assert row["state"] == "completed"


async def test_a_never_ending_stream_is_let_go_when_the_client_leaves(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    upstream_done = asyncio.Event()
    max_frames = 20_000

    async def endless(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, [("Content-Type", "text/event-stream")]) + MESSAGE_START)
        try:
            for _ in range(max_frames):  # bounded: 20 000 frames, 10 ms apart
                writer.write(TEXT_DELTA)
                await writer.drain()
                await asyncio.sleep(0.01)
        finally:
            upstream_done.set()

    hostile.answer = endless
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            gateway.base_url + "/v1/messages",
            json=CLAUDE | {"stream": True},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            first = await response.content.readany()
        assert first.startswith(b"event: message_start")
        response.close()
    # The gateway lets the upstream go: its writes fail within a few seconds, not 200 s.
    async with asyncio.timeout(10):
        await upstream_done.wait()
    row = await last_row(gateway)
    assert (row["state"], row["error_code"]) == ("canceled", "client_disconnected")
    assert row["input_tokens"] == 50


async def test_a_client_that_leaves_before_the_answer_begins_ends_its_row(
    gateway: GatewayRuntime, hostile: HostileUpstream
) -> None:
    # The row was started, then the handler was cancelled while waiting for the upstream:
    # it stayed "started" for good, and its bookkeeping in memory with it.
    release = asyncio.Event()

    async def silent(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            await release.wait()

    hostile.answer = silent
    for body in (CLAUDE | {"stream": True}, CLAUDE):
        with pytest.raises(TimeoutError):
            async with aiohttp.ClientSession() as session, asyncio.timeout(0.5):
                await session.post(
                    gateway.base_url + "/v1/messages",
                    json=body,
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
        row = await last_row(gateway)
        assert (row["state"], row["error_code"]) == ("canceled", "client_disconnected")
    release.set()
