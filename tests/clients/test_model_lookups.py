"""Each dialect's SDK looks models up in its own shape: google-genai's `models.get` and
`models.list`, anthropic's `models.list` (paged) and `models.retrieve`, openai's
`models.list` and `models.retrieve`; an unsupported method on a dialect's route is refused in
that dialect's envelope."""

from __future__ import annotations

import aiohttp
import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from llmgw_desktop.engine.api import PICKER_NAMESPACE
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.sdk_clients import claude_client, gemini_client, openai_client


async def listed(gateway: GatewayRuntime) -> list[str]:
    return [row["id"] for row in await gateway.engine.providers.models()]


async def test_google_genai_gets_a_model_and_lists_them(gateway: GatewayRuntime) -> None:
    client = gemini_client(gateway)
    model = await client.aio.models.get(model="gemini-2.5-flash")
    assert model.name == "models/gemini-2.5-flash"
    assert "generateContent" in (model.supported_actions or [])
    # The SDK's own spelling with the collection prefix names the same model.
    assert (await client.aio.models.get(model="models/gemini-2.5-flash")).name == model.name
    names = [m.name async for m in await client.aio.models.list()]
    assert "models/gemini-2.5-flash" in names and "models/gpt-4o" in names
    with pytest.raises(genai_errors.ClientError) as missing:
        await client.aio.models.get(model="gemini-0-nonexistent")
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"


async def test_anthropic_sdk_lists_models_page_by_page_and_retrieves_one(
    gateway: GatewayRuntime,
) -> None:
    client = claude_client(gateway)
    served = await listed(gateway)
    # Anthropic's list names each model that is not Anthropic's again under the namespace
    # Claude Code's model discovery keeps (`anthropic-gateway/gpt-4o`).
    everything = served + [
        PICKER_NAMESPACE + m for m in served if not m.lower().startswith(("claude", "anthropic"))
    ]
    assert len(served) > 3 and len(everything) > len(served)
    # The SDK pages on by `after_id` while `has_more`: two at a time, the whole list, once.
    first = await client.models.list(limit=2)
    assert [m.id for m in first.data] == everything[:2]
    assert first.has_more and first.first_id == everything[0] and first.last_id == everything[1]
    assert [m.id async for m in first] == everything
    before = await client.models.list(limit=2, before_id=everything[3])
    assert [m.id for m in before.data] == everything[1:3] and before.has_more
    assert (await client.models.retrieve(f"{PICKER_NAMESPACE}gpt-4o")).display_name == (
        "gpt-4o (openai)"
    )
    model = await client.models.retrieve("claude-sonnet-4-6")
    assert model.type == "model" and model.id == "claude-sonnet-4-6"
    assert model.display_name and model.created_at.year >= 1970
    with pytest.raises(anthropic.NotFoundError) as missing:
        await client.models.retrieve("claude-0-nonexistent")
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as bad:
        await client.models.list(limit=0)
    assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


async def test_openai_sdk_keeps_openais_shape(gateway: GatewayRuntime) -> None:
    client = openai_client(gateway)
    ids = [m.id async for m in client.models.list()]
    assert ids == await listed(gateway)
    model = await client.models.retrieve("gpt-4o")
    assert model.id == "gpt-4o" and model.object == "model" and model.owned_by == "openai"
    with pytest.raises(openai.NotFoundError) as missing:
        await client.models.retrieve("gpt-0-nonexistent")
    assert missing.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("method", "path", "headers", "shape"),
    [
        ("GET", "/v1/messages", {"anthropic-version": "2023-06-01"}, "anthropic"),
        ("DELETE", "/v1/messages/count_tokens", {}, "anthropic"),
        ("GET", "/v1beta/models/gemini-2.5-flash:generateContent", {}, "gemini"),
        ("DELETE", "/v1beta/models/gemini-2.5-flash", {}, "gemini"),
        ("GET", "/v1/chat/completions", {}, "openai"),
        ("PATCH", "/v1/models", {"anthropic-version": "2023-06-01"}, "anthropic"),
    ],
)
async def test_an_unsupported_method_is_refused_in_the_routes_dialect(
    method: str, path: str, headers: dict[str, str], shape: str, gateway: GatewayRuntime
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, gateway.base_url + path, headers=headers) as answer,
    ):
        assert answer.status == 405
        assert answer.headers["Allow"]
        body = await answer.json()
    if shape == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    elif shape == "gemini":
        assert body["error"]["code"] == 405 and body["error"]["status"]
    else:
        assert body["error"]["code"] == "method_not_allowed"
    message = body["error"]["message"]
    assert method in message and path in message, message
