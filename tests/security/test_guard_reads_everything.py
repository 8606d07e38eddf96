"""The outbound guard reads everything a request carries, on every door (issue 62, item 4): a
token behind a data URL's header, a token split by a zero-width character, and a token used as
an object's key, each through every door a request leaves by, with the door's own client:
`block` refuses it in the door's error shape (a token count is estimated here instead) and
`redact` never lets the token reach the upstream. Beside each, the legitimate path: a real
image as a data URL goes as it came, unflagged.

The doors come from one registry (`DOORS`, checked against every POST route the gateway
serves), so a route added without an entry here fails `test_every_post_route_is_a_door_here`.
"""

from __future__ import annotations

import base64
import json
import random
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import ollama
import openai
import pytest
from google.genai import errors as genai_errors
from google.genai import types

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.doors import VERTEX_ANTHROPIC_PATH
from llmgw_desktop.transports.path_aliases import aliases_of
from tests.contract.conftest import (  # noqa: F401 - the fixtures
    offline,
    vibe,
    vibe_engine,
)
from tests.engine.guard.secrets import AWS_ACCESS_KEY, GITHUB_TOKEN, OPENAI_KEY
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import (
    bedrock_client,
    claude_client,
    gemini_client,
    openai_client,
    vertex_client,
)
from tests.transports.gateway.completions.test_fim import PROMPT, providers
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)
from tests.transports.gateway.test_outbound_guard_doors import _acp_turn
from tests.transports.mcp.tools.conftest import connect, structured

REMOTE = {"guard.exempt_local": False}
# A token behind a data URL's header: one line in front of a tool result.
DATA_URL = f"data:text/plain;base64,\nKEY={GITHUB_TOKEN}\n"
# A token split by a zero-width space, invisible where a person reads it.
HIDDEN = AWS_ACCESS_KEY[:8] + "\u200b" + AWS_ACCESS_KEY[8:]
ATTACKS = {"data-url": (DATA_URL, GITHUB_TOKEN), "zero-width": (f"use {HIDDEN}", HIDDEN)}

# What a door did with a request: "refused" (secret_detected, in the door's shape), "sent" (the
# upstream was asked), "estimated" (a token count answered here).
Send = Callable[[GatewayRuntime, str], Awaitable[str]]


def _png() -> str:
    noise = random.Random(7)
    raw = b"".join(b"\x00" + noise.randbytes(96) for _ in range(32))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = (32).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
    return base64.b64encode(png + chunk(b"IEND", b"")).decode()


PNG = _png()


def _secret_detected(text: str) -> str:
    """A refusal of the guard's: a secret's, or one of the operator's rules'."""
    assert "secret_detected" in text or "guard_rule_matched" in text, text
    return "refused"


async def _sdk(work: Awaitable[Any], error: type[Exception], body: Callable[[Any], Any]) -> str:
    """`sent`, or `refused` where `work` raised the SDK's `error` for a guard's refusal
    (`body`: what of the error holds the answer's body)."""
    try:
        await work
    except error as exc:
        return _secret_detected(json.dumps(body(exc)))
    return "sent"


def _openai(work: Awaitable[Any]) -> Awaitable[str]:
    return _sdk(work, openai.APIStatusError, lambda exc: exc.body)


def _anthropic(work: Awaitable[Any]) -> Awaitable[str]:
    return _sdk(work, anthropic.APIStatusError, lambda exc: exc.body)


def _gemini(work: Awaitable[Any]) -> Awaitable[str]:
    return _sdk(work, genai_errors.APIError, lambda exc: exc.details)


async def _ollama(
    gateway: GatewayRuntime, ask: Callable[[ollama.AsyncClient], Awaitable[Any]]
) -> str:
    async with ollama.AsyncClient(host=gateway.base_url) as client:
        try:
            await ask(client)
        except ollama.ResponseError as exc:  # Ollama's shape: the message alone
            assert exc.status_code == 400, exc.error
            assert "the outbound guard found" in exc.error or "guard rule" in exc.error, exc.error
            return "refused"
    return "sent"


async def _chat(gateway: GatewayRuntime, text: str) -> str:
    return await _openai(
        openai_client(gateway).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": text}]
        )
    )


async def _responses(gateway: GatewayRuntime, text: str) -> str:
    return await _openai(openai_client(gateway).responses.create(model="gpt-4o", input=text))


async def _messages(gateway: GatewayRuntime, text: str) -> str:
    return await _anthropic(
        claude_client(gateway).messages.create(
            model="claude-sonnet-4-6", max_tokens=20, messages=[{"role": "user", "content": text}]
        )
    )


async def _count(gateway: GatewayRuntime, text: str) -> str:
    answer = await claude_client(gateway).messages.with_raw_response.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": text}]
    )
    return "estimated" if answer.headers.get("x-gateway-token-count") == "estimate" else "sent"


async def _bedrock_invoke(gateway: GatewayRuntime, text: str) -> str:
    return await _anthropic(
        bedrock_client(gateway).messages.create(
            model="claude-sonnet-4-6", max_tokens=20, messages=[{"role": "user", "content": text}]
        )
    )


async def _bedrock_stream(gateway: GatewayRuntime, text: str) -> str:
    async def streamed() -> None:
        stream = await bedrock_client(gateway).messages.create(
            model="gpt-4o",
            max_tokens=20,
            messages=[{"role": "user", "content": text}],
            stream=True,
        )
        async for _ in stream:
            pass

    return await _anthropic(streamed())


async def _bedrock_count(gateway: GatewayRuntime, text: str) -> str:
    invoke = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1}
    invoke["messages"] = [{"role": "user", "content": text}]
    encoded = base64.b64encode(json.dumps(invoke).encode()).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.base_url + "/model/claude-sonnet-4-6/count-tokens",
            json={"input": {"invokeModel": {"body": encoded}}},
        ) as answer,
    ):
        assert answer.status == 200, await answer.text()
        return "estimated" if answer.headers["x-gateway-token-count"] == "estimate" else "sent"


async def _vertex_predict(gateway: GatewayRuntime, text: str) -> str:
    return await _anthropic(
        vertex_client(gateway).messages.create(
            model="claude-sonnet-4-6", max_tokens=20, messages=[{"role": "user", "content": text}]
        )
    )


async def _vertex_stream(gateway: GatewayRuntime, text: str) -> str:
    async def streamed() -> None:
        async with vertex_client(gateway).messages.stream(
            model="gpt-4o", max_tokens=20, messages=[{"role": "user", "content": text}]
        ) as stream:
            async for _ in stream:
                pass

    return await _anthropic(streamed())


async def _vertex_count(gateway: GatewayRuntime, text: str) -> str:
    answer = await vertex_client(gateway).messages.with_raw_response.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": text}]
    )
    return "estimated" if answer.headers.get("x-gateway-token-count") == "estimate" else "sent"


async def _generate_content(gateway: GatewayRuntime, text: str) -> str:
    return await _gemini(
        gemini_client(gateway).aio.models.generate_content(model="gemini-2.5-flash", contents=text)
    )


async def _embed_content(gateway: GatewayRuntime, text: str) -> str:
    return await _gemini(
        gemini_client(gateway).aio.models.embed_content(
            model="gemini-embedding-001", contents=[text]
        )
    )


async def _embeddings(gateway: GatewayRuntime, text: str) -> str:
    return await _openai(
        openai_client(gateway).embeddings.create(model="text-embedding-3-small", input=text)
    )


async def _completions(gateway: GatewayRuntime, text: str) -> str:
    return await _openai(
        openai_client(gateway).completions.create(
            model="codestral-latest", prompt=PROMPT, suffix=text, max_tokens=8
        )
    )


async def _ollama_chat(gateway: GatewayRuntime, text: str) -> str:
    return await _ollama(
        gateway,
        lambda client: client.chat(
            model="gpt-4o", messages=[{"role": "user", "content": text}], stream=False
        ),
    )


async def _ollama_generate(gateway: GatewayRuntime, text: str) -> str:
    chat = await _ollama(
        gateway, lambda client: client.generate(model="gpt-4o", prompt=text, stream=False)
    )
    fim = await _ollama(
        gateway,
        lambda client: client.generate(
            model="codestral-latest", prompt=PROMPT, suffix=text, stream=False
        ),
    )
    assert chat == fim, (chat, fim)
    return chat


async def _ollama_embed(gateway: GatewayRuntime, text: str) -> str:
    return await _ollama(
        gateway, lambda client: client.embed(model="text-embedding-3-small", input=text)
    )


async def _ollama_embeddings(gateway: GatewayRuntime, text: str) -> str:
    return await _ollama(
        gateway, lambda client: client.embeddings(model="text-embedding-3-small", prompt=text)
    )


async def _native(gateway: GatewayRuntime, text: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.base_url + "/v1/generate", json={"model": "gpt-4o", "prompt": text}
        ) as answer,
    ):
        if answer.status == 200:
            return "sent"
        assert answer.status == 400
        return _secret_detected(await answer.text())


async def _ask_model(gateway: GatewayRuntime, text: str) -> str:
    arguments = {"provider": "openai", "model": "gpt-4o", "prompt": text}
    async with connect(gateway.engine) as client:
        result = await client.call_tool("ask_model", arguments)
    if result.is_error:
        return _secret_detected(json.dumps(structured(result)))
    return "sent"


# Every door a request leaves by, by its route (the MCP tool by its name).
DOORS: dict[str, Send] = {
    "/v1/chat/completions": _chat,
    "/v1/responses": _responses,
    "/v1/messages": _messages,
    "/v1/messages/count_tokens": _count,
    "/model/{model}/invoke": _bedrock_invoke,
    "/model/{model}/invoke-with-response-stream": _bedrock_stream,
    "/model/{model}/count-tokens": _bedrock_count,
    VERTEX_ANTHROPIC_PATH: _vertex_predict,
    f"{VERTEX_ANTHROPIC_PATH} (streamRawPredict)": _vertex_stream,
    f"{VERTEX_ANTHROPIC_PATH} (count-tokens)": _vertex_count,
    "/v1beta/models/{target}": _generate_content,
    "/v1beta/models/{target} (embedContent)": _embed_content,
    "/v1/embeddings": _embeddings,
    "/v1/completions": _completions,
    "/api/chat": _ollama_chat,
    "/api/generate": _ollama_generate,
    "/api/embed": _ollama_embed,
    "/api/embeddings": _ollama_embeddings,
    "/v1/generate": _native,
    "mcp: ask_model": _ask_model,
}
# POST routes that send nothing to a provider.
NOT_DOORS = {
    "/instance/activate": "this machine's second launch",
    "/instance/quit": "this machine's own quit",
    "/api/show": "a model's facts, from the gateway's own list",
    "/v1/credentials": "the operator's vault",
    "/v1/files": "the operator's vault",
    "/v1/models/{target}": "the Gemini routes again, for google-genai with api_version v1",
}
# What a blocked request becomes at each door (a count is estimated here instead).
REFUSED = {
    door: "estimated" if "count_tokens" in door or "count-tokens" in door else "refused"
    for door in DOORS
}


async def _guarded(start: GatewayFactory, upstream: ScriptedUpstream, action: str) -> Any:
    return await start({**providers(upstream), **REMOTE, "guard.secrets": action})


async def test_every_post_route_is_a_door_here(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await _guarded(start_gateway, upstream, "warn")
    routes = {
        route.resource.canonical
        for route in gateway.http.app.router.routes()
        if route.method == "POST" and route.resource is not None
    }
    listed = {door.partition(" ")[0] for door in DOORS if door.startswith("/")}
    # Another gateway's name of a door (Bifrost's /openai/v1/..., `path_aliases`) is the same
    # handler, so the same door.
    aliased = {alias for path in routes for alias in aliases_of(path)}
    assert routes - aliased == listed | set(NOT_DOORS)


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_block_refuses_the_hidden_token_at_every_door(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    attack: str,
) -> None:
    text, token = ATTACKS[attack]
    gateway = await _guarded(start_gateway, upstream, "block")
    done = {door: await send(gateway, text) for door, send in DOORS.items()}
    assert done == REFUSED
    assert upstream.llm_requests == []
    assert token not in json.dumps([c.__dict__ for c in gateway.engine.guard.stats.counts()])


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_redact_never_lets_the_hidden_token_reach_the_upstream(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    attack: str,
) -> None:
    text, token = ATTACKS[attack]
    gateway = await _guarded(start_gateway, upstream, "redact")
    done = {door: await send(gateway, text) for door, send in DOORS.items()}
    assert set(done.values()) == {"sent"}
    sent = "\n".join(r.raw_body.decode() for r in upstream.requests)
    assert token not in sent and json.dumps(token)[1:-1] not in sent
    assert "[SECRET:" in sent


async def test_a_real_image_goes_as_it_came_and_is_not_flagged(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """The legitimate path beside the data URL's: a real PNG, in each dialect's image part."""
    gateway = await _guarded(start_gateway, upstream, "block")
    url = f"data:image/png;base64,{PNG}"
    await openai_client(gateway).chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
    )
    image = {"type": "base64", "media_type": "image/png", "data": PNG}
    await claude_client(gateway).messages.create(
        model="claude-sonnet-4-6",
        max_tokens=20,
        messages=[{"role": "user", "content": [{"type": "image", "source": image}]}],
    )
    part = types.Part.from_bytes(data=base64.b64decode(PNG), mime_type="image/png")
    await gemini_client(gateway).aio.models.generate_content(
        model="gemini-2.5-flash", contents=[part]
    )
    assert len(upstream.llm_requests) == 3
    assert gateway.engine.guard.stats.counts() == []


# -- a token as an object's key --------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {GITHUB_TOKEN: {"type": "string"}}}


async def _key_in_chat_tools(gateway: GatewayRuntime) -> str:
    tool = {"type": "function", "function": {"name": "deploy", "parameters": SCHEMA}}
    return await _openai(
        openai_client(gateway).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "go"}], tools=[tool]
        )
    )


async def _key_in_responses_tools(gateway: GatewayRuntime) -> str:
    tool: Any = {"type": "function", "name": "deploy", "parameters": SCHEMA}
    return await _openai(
        openai_client(gateway).responses.create(model="gpt-4o", input="go", tools=[tool])
    )


async def _key_in_tool_use_input(gateway: GatewayRuntime) -> str:
    messages: Any = [
        {"role": "user", "content": "deploy"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "t1", "name": "deploy", "input": {GITHUB_TOKEN: 1}}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
        },
    ]
    return await _anthropic(
        claude_client(gateway).messages.create(
            model="claude-sonnet-4-6", max_tokens=20, messages=messages
        )
    )


async def _key_in_function_response(gateway: GatewayRuntime) -> str:
    contents = [
        types.Content(role="user", parts=[types.Part.from_text(text="read the env")]),
        types.Content(role="model", parts=[types.Part.from_function_call(name="env", args={})]),
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="env", response={GITHUB_TOKEN: "set"})],
        ),
    ]
    return await _gemini(
        gemini_client(gateway).aio.models.generate_content(
            model="gemini-2.5-flash", contents=contents
        )
    )


async def _key_in_an_embeddings_field(gateway: GatewayRuntime) -> str:
    return await _openai(
        openai_client(gateway).embeddings.create(
            model="text-embedding-3-small", input="hi", extra_body={"metadata": {GITHUB_TOKEN: 1}}
        )
    )


async def _key_in_a_completions_field(gateway: GatewayRuntime) -> str:
    return await _openai(
        openai_client(gateway).completions.create(
            model="deepseek/deepseek-chat",  # its wire sends the client's own fields along
            prompt=PROMPT,
            max_tokens=8,
            extra_body={"metadata": {GITHUB_TOKEN: 1}},
        )
    )


async def _key_in_ollama_format(gateway: GatewayRuntime) -> str:
    return await _ollama(
        gateway,
        lambda client: client.chat(
            model="gpt-4o", messages=[{"role": "user", "content": "go"}], format=SCHEMA
        ),
    )


KEY_DOORS: dict[str, Callable[[GatewayRuntime], Awaitable[str]]] = {
    "chat tools' schema": _key_in_chat_tools,
    "responses tools' schema": _key_in_responses_tools,
    "anthropic tool_use input": _key_in_tool_use_input,
    "gemini functionResponse": _key_in_function_response,
    "embeddings' own field": _key_in_an_embeddings_field,
    "completions' own field": _key_in_a_completions_field,
    "ollama format schema": _key_in_ollama_format,
}


async def test_block_refuses_a_token_used_as_a_key_at_every_door_that_carries_objects(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await _guarded(start_gateway, upstream, "block")
    done = {door: await send(gateway) for door, send in KEY_DOORS.items()}
    assert done == dict.fromkeys(KEY_DOORS, "refused")
    assert upstream.llm_requests == []


async def test_redact_replaces_a_token_used_as_a_key_at_every_door(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await _guarded(start_gateway, upstream, "redact")
    for door, send in KEY_DOORS.items():
        upstream.requests.clear()
        assert await send(gateway) == "sent", door
        sent = "\n".join(r.raw_body.decode() for r in upstream.llm_requests)
        assert GITHUB_TOKEN not in sent, door
        assert "[SECRET:github_token#1]" in sent, door


async def test_a_refusal_names_the_key_by_its_kind_never_its_value(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await _guarded(start_gateway, upstream, "block")
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(gateway).chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "go"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": SCHEMA}}],
            extra_body={"metadata": {OPENAI_KEY: GITHUB_TOKEN}},
        )
    body = json.dumps(refused.value.body)
    assert GITHUB_TOKEN not in body and OPENAI_KEY not in body
    assert "tools[0].function.parameters.properties.[github_token] (a field's name)" in body
    assert "metadata.[openai_key]" in body


async def test_an_acp_turn_behind_a_data_url_header_is_refused(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    """An editor's `llmgw-desktop acp --model` turn, the ACP door."""
    await start_gateway({**REMOTE, "guard.secrets": "block"})
    answer, _ = await _acp_turn(DATA_URL, tmp_path)
    assert answer["error"]["data"]["code"] == "secret_detected"
    assert GITHUB_TOKEN not in json.dumps(answer)
    assert upstream.llm_requests == []


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_cli_run_from_an_mcp_tool_is_read_the_same_way(
    loaded: LoadedSettings,
    vibe: None,  # noqa: F811
    upstream: ScriptedUpstream,
    attack: str,
) -> None:
    """A coding CLI's job from an MCP tool (`mistral_request`, the Mistral Vibe stand-in that
    sends what it is given to the scripted upstream): blocked, it is never run."""
    text, token = ATTACKS[attack]
    async with (
        vibe_engine(loaded, {"guard.secrets": "block"}) as engine,
        connect(engine) as client,
    ):
        result = await client.call_tool("mistral_request", {"prompt": text})
    assert result.is_error and _secret_detected(json.dumps(structured(result))) == "refused"
    assert token not in json.dumps(structured(result))
    assert upstream.llm_requests == []


# -- a token in the earlier value of a repeated key -------------------------------------------


async def test_a_token_in_a_repeated_keys_earlier_value_is_not_sent_past_block(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """The guard reads the parsed body, where a repeated key's last value wins; the local
    user's bytes went upstream as they came, the earlier value and its token with them (red
    team, 2026-11-29). A body giving a key two values is refused from anyone now; beside it,
    the same token in the only value is refused by the guard as ever."""
    gateway = await _guarded(start_gateway, upstream, "block")
    url = gateway.base_url + "/v1/chat/completions"
    hidden = (
        '{"model": "gpt-4o", "messages": [{"role": "user", '
        f'"content": "key {GITHUB_TOKEN}", "content": "hi"}}]}}'
    ).encode()
    plain = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": GITHUB_TOKEN}]})
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        for body, said in ((hidden, "'content' two different values"), (plain, "secret")):
            async with http.post(url, data=body, headers=headers) as answer:
                text = await answer.text()
                assert answer.status == 400 and said in text, text
    assert upstream.llm_requests == []
