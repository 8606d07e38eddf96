"""Red-team review of issue 37: a remote caller cannot make the vendor fetch web addresses.

A request may name an image or a document by its web address instead of carrying it: OpenAI
Chat's `image_url`, Responses' `input_image` and `input_file.file_url`, Anthropic's `url`
sources (in a message or inside a tool's result). The vendor then fetches it on the operator's
account: traffic from the vendor to an address of the caller's choosing, and input billed that
the gateway never saw (a 100-page PDF is some 150,000 tokens from a request of a hundred bytes,
held as a few tokens under a hard budget). Gemini's `fileData` naming a web address was already
the `web_fetch` feature; these went through for a gateway key whose scope allows the model,
same-dialect and translated alike. They are now `web_fetch` for every dialect (refused unless
the operator lists it in `gateway.remote_passthrough`), on the translated path too.

The caller is a key made by the operator (scope: two models); the clients are the official
`openai` and `anthropic` SDKs; the scripted upstream records what the vendor would have been
sent. Beside each: the same content carried inline (a `data:` address, base64) is served, and
the local user and a key the operator allowed `web_fetch` are served.
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.security.keys.conftest import provider_env, start_gateway  # noqa: F401
from tests.transports.gateway.conftest import GatewayFactory

GPT = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-6"
PAPER = "https://attacker.example/100-pages.pdf"
PICTURE = "https://attacker.example/picture.png"
# One transparent pixel, inline: what a caller sends when it has the picture itself.
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
# The local user's own call (the gateway is open to it on loopback; keys are still keys).
LOCAL = "not-a-key"


def _chat(url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is in it?"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


def _responses_image(url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "what is in it?"},
                {"type": "input_image", "image_url": url},
            ],
        }
    ]


def _responses_file(url: str) -> list[dict[str, Any]]:
    file: dict[str, Any] = {"type": "input_file", "file_url": url}
    if url.startswith("data:"):
        file = {"type": "input_file", "filename": "paper.pdf", "file_data": url}
    return [{"role": "user", "content": [{"type": "input_text", "text": "summarise"}, file]}]


def _claude_document(source: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "document", "source": source},
                {"type": "text", "text": "summarise"},
            ],
        }
    ]


def _claude_tool_result(source: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "look at the picture"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "look", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "image", "source": source}],
                }
            ],
        },
    ]


INLINE_PNG = {"type": "base64", "media_type": "image/png", "data": PIXEL}


async def _key(gateway: GatewayRuntime, name: str) -> str:
    made = await gateway.engine.keys.create(
        OPERATOR, KeySpec(name=name, scope=KeyScope.of(models=[GPT, CLAUDE]))
    )
    return made.secret


async def _openai(gateway: GatewayRuntime, key: str, kind: str, url: str) -> int:
    client = openai_client(gateway, key)
    try:
        if kind == "chat":
            await client.chat.completions.create(model=GPT, messages=_chat(url))  # type: ignore[arg-type]
        elif kind == "chat-to-claude":  # translated: OpenAI Chat to Anthropic
            await client.chat.completions.create(model=CLAUDE, messages=_chat(url))  # type: ignore[arg-type]
        elif kind == "responses-image":
            await client.responses.create(model=GPT, input=_responses_image(url))  # type: ignore[arg-type]
        else:
            await client.responses.create(model=GPT, input=_responses_file(url))  # type: ignore[arg-type]
    except openai.APIStatusError as refused:
        body: Any = refused.body
        assert "web_fetch" in str(body), body
        return refused.status_code
    return 200


async def _anthropic(gateway: GatewayRuntime, key: str, kind: str, source: dict[str, Any]) -> int:
    client = claude_client(gateway, key)
    messages = _claude_document(source) if kind == "document" else _claude_tool_result(source)
    try:
        await client.messages.create(model=CLAUDE, max_tokens=64, messages=messages)  # type: ignore[arg-type]
    except anthropic.APIStatusError as refused:
        assert "web_fetch" in str(refused.body), refused.body
        return refused.status_code
    return 200


OPENAI_KINDS = ["chat", "chat-to-claude", "responses-image", "responses-file"]


@pytest.mark.parametrize("kind", OPENAI_KINDS)
async def test_a_key_cannot_make_openai_fetch_an_address(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    kind: str,
) -> None:
    gateway: GatewayRuntime = await start_gateway()
    key = await _key(gateway, "viewer")
    address = PAPER if kind == "responses-file" else PICTURE
    assert await _openai(gateway, key, kind, address) == 403
    assert upstream.llm_requests == []
    # The legitimate paths: the picture carried inline, the local user's address, and a key
    # the operator allowed to have the vendor fetch.
    inline = (
        "data:application/pdf;base64,JVBERi0="
        if kind == "responses-file"
        else f"data:image/png;base64,{PIXEL}"
    )
    assert await _openai(gateway, key, kind, inline) == 200
    assert await _openai(gateway, LOCAL, kind, address) == 200
    assert len(upstream.llm_requests) == 2


@pytest.mark.parametrize("kind", ["document", "tool-result"])
async def test_a_key_cannot_make_anthropic_fetch_an_address(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    kind: str,
) -> None:
    gateway: GatewayRuntime = await start_gateway()
    key = await _key(gateway, "reader")
    address = PAPER if kind == "document" else PICTURE
    assert await _anthropic(gateway, key, kind, {"type": "url", "url": address}) == 403
    assert upstream.llm_requests == []
    inline = (
        {"type": "text", "media_type": "text/plain", "data": "a short document"}
        if kind == "document"
        else INLINE_PNG
    )
    assert await _anthropic(gateway, key, kind, inline) == 200
    assert await _anthropic(gateway, LOCAL, kind, {"type": "url", "url": address}) == 200
    assert len(upstream.llm_requests) == 2


async def test_a_key_the_operator_allowed_may_have_the_vendor_fetch(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"gateway.remote_passthrough.principals": {"key:allowed": ["web_fetch"]}}
    )
    allowed = await _key(gateway, "allowed")
    assert await _openai(gateway, allowed, "chat", PICTURE) == 200
    source = {"type": "url", "url": PAPER}
    assert await _anthropic(gateway, allowed, "document", source) == 200
    assert len(upstream.llm_requests) == 2
