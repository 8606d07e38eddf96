"""An upstream's error, relayed through the same-dialect passthrough: the key it was sent, echoed
whole or in part (across the cut of the message or of the body, in a header), reaches neither the
client nor the recorder; the relayed body stays the upstream's JSON; and scrubbing a long hostile
text takes linear time, so an echoed name cannot freeze the gateway.

The gateway, the hostile upstream and the clients are in passthrough_attack_support.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from llmgw_desktop.engine.redact import redact
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.hostile_upstream import HostileUpstream, whole
from tests.transports.gateway.passthrough_attack_support import (
    CHAT,
    CLAUDE,
    TOKEN,
    _gateway,  # noqa: F401 - fixture
    json_header_lines,
    raw_exchange,
    remote_post,
)

# A key of no known vendor shape, so only the exact-match scrubbing can catch it.
SHAPELESS_KEY = "qx7Zr2Lm9Tp4Vn8Wk3Jd6Hs1Fb5Gc0Ya"


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
    start_gateway: GatewayFactory,
    hostile: HostileUpstream,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    path: str,
    body: dict[str, Any],
) -> None:
    # The key the gateway sends (and so scrubs from what comes back) is the one it read at
    # start: set before it starts.
    monkeypatch.setenv("OPENAI_API_KEY", SHAPELESS_KEY)
    gateway = await start_gateway({"http.auth_token": TOKEN})
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
    # CPU time: the work is CPU only, and wall time grows with whatever else the machine runs.
    started = time.thread_time()
    redact(text)
    took = time.thread_time() - started
    assert took < 0.5, f"{took:.2f} s for {len(text)} characters"
