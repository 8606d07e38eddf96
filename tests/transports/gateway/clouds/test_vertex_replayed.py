"""Google Vertex AI's own answers (tests/fixtures/clouds/vertex_answers.py) replayed through the
gateway, each request carrying a token google-auth fetched from the loopback token endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import openai
import pytest

from tests.fakes.clouds.google import GoogleTokenServer
from tests.fakes.clouds.replay import Canned, ReplayUpstream, Seen
from tests.fixtures.clouds import vertex_answers as vertex
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.clouds.conftest import (
    VERTEX_GEMINI,
    VERTEX_LOCATION,
    VERTEX_PROJECT,
)
from tests.transports.gateway.conftest import GatewayFactory

MESSAGES = [{"role": "user", "content": "capital of France?"}]
SSE = {"content-type": "text/event-stream"}


@pytest.fixture
async def vertex_replay(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> tuple[ReplayUpstream, GoogleTokenServer]:
    async with GoogleTokenServer() as google:

        def token_issued(seen: Seen) -> str | None:
            token = seen.headers.get("authorization", "").removeprefix("Bearer ")
            return None if token in google.issued else "not a token Google issued"

        async with ReplayUpstream(check=token_issued) as up:
            key = google.write(isolated_env / "sa.json", google.service_account(VERTEX_PROJECT))
            monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
            monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", VERTEX_LOCATION)
            monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", up.url)
            yield up, google


async def test_a_vertex_stream_reaches_an_anthropic_client_with_its_cache_usage(
    vertex_replay: tuple[ReplayUpstream, GoogleTokenServer], start_gateway: GatewayFactory
) -> None:
    up, google = vertex_replay
    up.add(Canned(vertex.stream(), headers=SSE))
    gateway = await start_gateway()
    async with claude_client(gateway).messages.stream(
        model=f"vertex/{VERTEX_GEMINI}", max_tokens=20, messages=MESSAGES
    ) as stream:
        text = "".join([p async for p in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Paris."
    assert final.usage.cache_read_input_tokens == 1024
    assert final.usage.input_tokens == 1500 - 1024
    (seen,) = up.requests
    # The project came from the service-account key, not from a variable.
    assert seen.path == (
        f"/v1/projects/{VERTEX_PROJECT}/locations/{VERTEX_LOCATION}/publishers/google/models/"
        f"{VERTEX_GEMINI}:streamGenerateContent"
    )
    assert seen.query == {"alt": "sse"} and google.issued == ["ya29.fake-1"]


async def test_a_blocked_answer_is_a_refusal_for_an_openai_client(
    vertex_replay: tuple[ReplayUpstream, GoogleTokenServer], start_gateway: GatewayFactory
) -> None:
    up, _ = vertex_replay
    up.add(Canned(json.dumps(vertex.BLOCKED).encode()))
    gateway = await start_gateway()
    reply = await openai_client(gateway).chat.completions.create(
        model=f"vertex/{VERTEX_GEMINI}", messages=MESSAGES
    )
    assert reply.choices[0].finish_reason == "content_filter"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (vertex.BUSY, 429, "rate_limited"),
        (vertex.QUOTA, 429, "quota_exceeded"),
        (vertex.NOT_FOUND, 403, "model_not_enabled"),
    ],
)
async def test_vertex_errors_keep_their_message(
    body: dict[str, object],
    status: int,
    code: str,
    vertex_replay: tuple[ReplayUpstream, GoogleTokenServer],
    start_gateway: GatewayFactory,
) -> None:
    up, _ = vertex_replay
    canned = Canned(json.dumps(body).encode(), status=int(body["error"]["code"]))  # type: ignore[index]
    up.add(canned)
    gateway = await start_gateway()
    with pytest.raises(anthropic.APIStatusError) as caught:
        await claude_client(gateway).messages.create(
            model=f"vertex/{VERTEX_GEMINI}", max_tokens=20, messages=MESSAGES
        )
    assert caught.value.status_code == status
    assert str(body["error"]["message"])[:40] in caught.value.message  # type: ignore[index]
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["error_code"] == code or (
        code == "rate_limited" and row["error_code"] == "upstream_429"
    )
    _ = openai
