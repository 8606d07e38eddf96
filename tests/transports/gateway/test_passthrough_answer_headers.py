"""An upstream's answer headers against the same-dialect passthrough: whether whole or
streamed, an answer must not set cookies or CORS grants on our origin, forge our route headers or
pass on hop-by-hop ones; a compressed answer is relayed decoded, with its own length.

The gateway, the hostile upstream and the raw-socket client are in passthrough_attack_support.py.
"""

from __future__ import annotations

import asyncio
import gzip
import json

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.hostile_upstream import (
    HostileUpstream,
    RawRequest,
    response_head,
    streamed,
    whole,
)
from tests.transports.gateway.passthrough_attack_support import (
    CHAT,
    CHAT_ANSWER,
    CLAUDE,
    MESSAGE_START,
    TEXT_DELTA,
    TOKEN,
    Exchange,
    _gateway,  # noqa: F401 - fixture
    json_header_lines,
    raw_exchange,
    remote_post,
    sse,
)

MESSAGE_STOP = sse("message_stop", {"type": "message_stop"})


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
