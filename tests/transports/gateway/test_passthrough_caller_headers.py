"""A remote caller's headers against the same-dialect passthrough: the caller (a bearer-token
or OAuth principal) must not reach the operator's keys or the host. None of its credentials, ours
(the bearer token, the local instance token, an OAuth access token) or the headers that pick a
billed account or say where it came from go upstream; nothing it sends can add a line to our
request; its own non-ASCII values go as it sent them; and a request refused on its way out ends
its recorder row.

The gateway, the hostile upstream and the raw-socket client are in passthrough_attack_support.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.auth.conftest import oauth_access_token, oauth_settings
from tests.transports.gateway.conftest import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, GatewayFactory
from tests.transports.gateway.hostile_upstream import HostileUpstream, RawRequest, whole
from tests.transports.gateway.passthrough_attack_support import (
    CHAT,
    CHAT_ANSWER,
    CLAUDE,
    TOKEN,
    TRUSTED_HEADER,
    _gateway,  # noqa: F401 - fixture
    json_header_lines,
    last_row,
    post,
    raw_exchange,
    remote_post,
)

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
