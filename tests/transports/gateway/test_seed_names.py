"""The names the seeds' gateways use, answered here: what mcp-llm-bridge's dashboard reads in
`/v1/models`, and the paths Bifrost's and CliGate's users already have in their settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai
from google import genai
from google.genai import types

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

HI: Any = [{"role": "user", "content": "hi"}]
TOKEN = "operator-bearer-token-0123456789-abcdefghij"
CODEX_FIXTURE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "clients" / "codex" / "gpt-with-mcp.json"
)


async def get(gateway: GatewayRuntime, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(gateway.base_url + path, **kwargs) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


async def test_every_model_row_has_the_name_and_output_limit_the_seeds_dashboard_reads(
    gateway: GatewayRuntime,
) -> None:
    status, listing = await get(gateway, "/v1/models")
    assert status == 200
    rows = {row["id"]: row for row in listing["data"]}
    assert all("name" in row and "max_tokens" in row for row in rows.values())
    sonnet = rows["claude-sonnet-4-6"]
    assert sonnet["name"] == "Claude Sonnet 4.6" and sonnet["max_tokens"] == 64000
    assert rows["gpt-4o"]["max_tokens"] == 16384
    # What the gateway does not know it does not guess: the id as the name, no limit.
    unknown = [row for row in rows.values() if row["max_tokens"] is None]
    assert all(isinstance(row["name"], str) and row["name"] for row in unknown)


async def test_bifrosts_openai_paths_answer_the_openai_sdk_set_up_for_bifrost(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """Bifrost's docs set the OpenAI SDK's base URL to `http://host/openai`; Codex's is set
    to `/openai/v1` (the seed's `OPENAI_API_BASE`). Both reach the gateway's OpenAI routes."""
    for base in ("/openai", "/openai/v1"):
        client = openai.AsyncOpenAI(
            base_url=gateway.base_url + base, api_key="unused", max_retries=0
        )
        chat = await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert (chat.choices[0].message.content or "").startswith(DEFAULT_ANSWER)
        answer = await client.responses.create(model="gpt-4o-mini", input="hi")
        assert answer.output_text.startswith(DEFAULT_ANSWER)
        listed = [m.id async for m in client.models.list()]
        assert "gpt-4o-mini" in listed and "claude-sonnet-4-6" in listed
        one = await client.models.retrieve("gpt-4o")
        assert one.id == "gpt-4o"
    assert {r.path for r in upstream.llm_requests} == {"/v1/chat/completions", "/v1/responses"}


async def test_bifrosts_anthropic_and_genai_paths_answer_their_sdks(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    claude = anthropic.AsyncAnthropic(
        base_url=gateway.base_url + "/anthropic", api_key="unused", max_retries=0
    )
    message = await claude.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=HI)
    assert message.content[0].text.startswith(DEFAULT_ANSWER)  # type: ignore[union-attr]
    counted = await claude.messages.count_tokens(model="claude-sonnet-4-6", messages=HI)
    assert counted.input_tokens > 0
    # The model list in Anthropic's own shape, as at /v1/models for its SDK.
    page = await claude.models.list(limit=2)
    assert len(page.data) == 2 and page.data[0].type == "model" and page.has_more
    gemini = genai.Client(
        api_key="unused",
        http_options=types.HttpOptions(base_url=gateway.base_url + "/genai", retry_options=None),
    )
    answer = await gemini.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (answer.text or "").startswith(DEFAULT_ANSWER)
    assert [r.path for r in upstream.llm_requests][-1].startswith("/v1beta/models/gemini-2.5")


async def test_cligates_codex_backend_path_is_the_responses_route(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """What Codex sends (its recorded request) at CliGate's `POST /backend-api/codex/
    responses`, where Codex signed in with ChatGPT posts when its backend is set there."""
    recorded = json.loads((CODEX_FIXTURE).read_text(encoding="utf-8"))[0]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.base_url + "/backend-api/codex/responses",
            json=recorded["body"],
            headers=recorded["headers"],
        ) as answer,
    ):
        assert answer.status == 200, await answer.text()
        assert answer.content_type == "text/event-stream"
        events = await answer.text()
    assert "response.completed" in events
    assert upstream.llm_requests[-1].path == "/v1/responses"
    rows = await gateway.engine.recorder.recent(limit=1)
    assert rows[0]["state"] == "completed" and rows[0]["provider"] == "openai"


async def test_other_gateways_paths_are_held_to_every_rule_of_the_route_they_name(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """A locked gateway: each alias asks for the credential where its route's clients carry
    it and refuses in their envelope; a path the other gateway has that we do not serve is a
    404, not a way around a rule."""
    gateway = await start_gateway({"http.auth_token": TOKEN})
    body = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": HI}
    status, refused = await post(gateway, "/anthropic/v1/messages", body, {})
    assert status == 401 and refused["type"] == "error", refused  # Anthropic's envelope
    # Anthropic's SDK carries the key in x-api-key: read there, as at /v1/messages.
    status, answered = await post(gateway, "/anthropic/v1/messages", body, {"x-api-key": TOKEN})
    assert status == 200, answered
    status, refused = await post(
        gateway,
        "/genai/v1beta/models/gemini-2.5-flash:generateContent",
        {"contents": [{"parts": [{"text": "hi"}]}]},
        {},
    )
    assert status == 401 and refused["error"]["status"] == "UNAUTHENTICATED", refused
    status, refused = await post(
        gateway,
        "/backend-api/codex/responses",
        {"model": "gpt-4o-mini", "input": "hi"},
        {"Origin": "https://evil.example", "Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 403 and refused["error"]["code"] == "origin_not_allowed", refused
    status, refused = await post(
        gateway, "/openai/v1/files", {}, {"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 404, refused
    assert len(upstream.llm_requests) == 1


async def post(
    gateway: GatewayRuntime, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + path, json=body, headers=headers) as answer,
    ):
        return answer.status, await answer.json(content_type=None)
