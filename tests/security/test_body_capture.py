"""Issue 31 item 3: request bodies are kept only when asked, and never with a secret in them.

With `recorder.capture` on, the official OpenAI SDK (whole answer) and Anthropic SDK (a
stream) send prompts holding keys of several shapes, with keys in their auth headers and in a
header the gateway relays upstream. The recorder keeps both bodies, redacted; the database file
(and its WAL) read as raw bytes holds none of the keys, while the harmless words around them
are there (so the bodies really were written). Off (the default), nothing is kept. Narrowed to
one agent, only that agent's requests are kept; a policy applied while running takes effect at
the next request. Another principal reading a kept body is told nothing.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from llmgw_desktop.engine.recorder.bodies import cut_marker
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)


def _tail(size: int) -> str:
    return secrets.token_hex(size)[:size].upper()


PROMPT_KEY = "sk-ant-api03-" + _tail(32)
ORG_KEY = "sk-proj-" + _tail(32)
AUTH_KEY = "sk-proj-" + _tail(32)
GITHUB = "ghp_" + _tail(36)
# A gateway key of this gateway's own shape, pasted into a prompt (the process holds no key in
# clear, so only its shape can catch it).
GATEWAY_KEY = "llmgw-" + secrets.token_urlsafe(32)
MARKER = "otters-" + _tail(8).lower()  # a harmless word that must be kept
NEEDLES = (
    PROMPT_KEY,
    ORG_KEY,
    AUTH_KEY,
    GITHUB,
    GATEWAY_KEY,
    PROMPT_KEY[-12:],
    ORG_KEY[-12:],
    GITHUB[-12:],
    GATEWAY_KEY[-12:],
)


def _stored_bytes(database: Path) -> bytes:
    parts = [database, database.with_name(database.name + "-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


async def _ask_openai(gateway: GatewayRuntime, caller: str = "nightly-report") -> str:
    client = openai_client(gateway, AUTH_KEY, headers={"X-Trace-Note": ORG_KEY, "X-Caller": caller})
    async with client:
        raw = await client.chat.completions.with_raw_response.create(
            model="openai/gpt-4o-mini",
            messages=[
                {
                    "role": "user",
                    "content": f"{MARKER}: use {PROMPT_KEY} and {GITHUB}, not {GATEWAY_KEY}",
                }
            ],
        )
    return raw.headers["x-gateway-request-id"]


async def _stream_anthropic(gateway: GatewayRuntime) -> str:
    client = claude_client(gateway, AUTH_KEY, headers={"X-Caller": "nightly-report"})
    async with (
        client,
        client.messages.stream(
            model="anthropic/claude-sonnet-4-6",
            max_tokens=32,
            messages=[{"role": "user", "content": f"{MARKER} streamed, key {PROMPT_KEY}"}],
        ) as stream,
    ):
        text = await stream.get_final_text()
        request_id = stream.response.headers["x-gateway-request-id"]
    assert text
    return request_id


async def test_kept_bodies_are_redacted_and_no_secret_reaches_the_file(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway({"recorder.capture.providers": ["*"]})
    whole_id = await _ask_openai(gateway)
    stream_id = await _stream_anthropic(gateway)
    engine = gateway.engine
    await engine.recorder.flush()

    whole = await engine.body_capture.read(whole_id)
    assert whole is not None and whole.endpoint == "/v1/chat/completions" and not whole.stream
    assert MARKER in whole.request and "[REDACTED]" in whole.request
    assert '"choices"' in whole.response
    assert whole.headers.get("x-trace-note", "").endswith("[REDACTED]")
    assert not any(name in whole.headers for name in ("authorization", "x-api-key"))
    streamed = await engine.body_capture.read(stream_id)
    assert streamed is not None and streamed.stream and streamed.endpoint == "/v1/messages"
    assert "message_stop" in streamed.response and MARKER in streamed.request

    stored = _stored_bytes(gateway.settings.database_file)
    assert MARKER.encode() in stored  # the bodies are in the file ...
    for needle in NEEDLES:  # ... and no secret is
        assert needle.encode() not in stored, f"{needle} is in the database file"
    # The row's owner reads it; another principal is told nothing.
    assert await engine.body_capture.read(whole_id, "local") is not None
    assert await engine.body_capture.read(whole_id, "token:someone-else") is None


async def test_nothing_is_kept_while_capture_is_off(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway()
    request_id = await _ask_openai(gateway)
    engine = gateway.engine
    await engine.recorder.flush()
    assert await engine.body_capture.read(request_id) is None
    assert engine.body_capture.written == 0
    assert MARKER.encode() not in _stored_bytes(gateway.settings.database_file)


async def test_an_agent_policy_keeps_that_agent_only_and_applies_live(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway()
    engine = gateway.engine
    before = await _ask_openai(gateway)
    engine.body_capture.apply("recorder.capture.agents", ["nightly"])
    kept = await _ask_openai(gateway)
    other = await _ask_openai(gateway, caller="editor")
    await engine.recorder.flush()
    assert await engine.body_capture.read(before) is None
    assert await engine.body_capture.read(kept) is not None
    assert await engine.body_capture.read(other) is None


async def test_a_long_request_is_kept_cut_and_marked(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"recorder.capture.providers": ["openai"], "recorder.capture.max_body_bytes": 300}
    )
    client = openai_client(gateway, "x")
    async with client:
        raw = await client.chat.completions.with_raw_response.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "otters " * 5000}],
        )
    kept = await gateway.engine.body_capture.read(raw.headers["x-gateway-request-id"])
    assert kept is not None and kept.request_cut > 30_000
    assert kept.request.endswith(cut_marker(kept.request_cut))
    assert len(kept.request) == 300 + len(cut_marker(kept.request_cut))


async def test_a_provider_or_project_policy_keeps_only_the_requests_it_names(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"recorder.capture.providers": ["anthropic"], "recorder.capture.projects": ["shop"]}
    )
    openai_id = await _ask_openai(gateway)  # neither the provider nor a project named
    anthropic_id = await _stream_anthropic(gateway)  # the provider named
    client = openai_client(gateway, "x", headers={"X-Project": "shop"})
    async with client:
        raw = await client.chat.completions.with_raw_response.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": MARKER}]
        )
    project_id = raw.headers["x-gateway-request-id"]
    await gateway.engine.recorder.flush()
    capture = gateway.engine.body_capture
    assert await capture.read(openai_id) is None
    assert await capture.read(anthropic_id) is not None
    kept = await capture.read(project_id)
    assert kept is not None and MARKER in kept.request
