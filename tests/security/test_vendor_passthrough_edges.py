"""The ways around the remote passthrough check (SECURITY.md 17) a red-team review found.

Each is the static-bearer holder (a remote principal with no passthrough grant) against the
real gateway, the scripted upstream recording what the vendor would have been sent, beside the
local user (or a plain request) being served. Findings 32 to 35 in SECURITY.md.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import anthropic
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
)
from tests.security.test_vendor_passthrough import (
    CLAUDE,
    GPT,
    HELLO,
    TOKEN,
    claude,
    local_headers,
    refused_names,
)

GEMINI = "gemini-2.5-flash"
MCP_SERVER = {"type": "url", "url": "https://attacker.example/mcp", "name": "x"}
ACCOUNT_BETAS = "mcp-client-2025-04-04,files-api-2025-04-14"
OPERATORS_FILE = [
    {
        "role": "user",
        "content": [
            {"type": "document", "source": {"type": "file", "file_id": "file_op"}},
            {"type": "text", "text": "how long is the operator's file?"},
        ],
    }
]


@pytest.fixture
async def gateway(launch: Launch, provider_keys: None) -> GatewayRuntime:
    return await launch({"http.auth_token": TOKEN})


async def _post(
    gateway: GatewayRuntime, path: str, raw: bytes, **headers: str
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.base_url + path,
            data=raw,
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/json",
                **headers,
            },
        ) as answer,
    ):
        return answer.status, json.loads(await answer.read() or b"{}")


async def test_count_tokens_passes_the_remote_passthrough_check(
    gateway: GatewayRuntime, scripted_upstream: ScriptedUpstream
) -> None:
    async with claude(gateway) as remote:
        # The legitimate count passes and is exact.
        plain = await remote.messages.count_tokens(model=CLAUDE, messages=HELLO)  # type: ignore[arg-type]
        assert plain.input_tokens > 0
        assert [r.endpoint for r in scripted_upstream.requests] == ["count_tokens"]
        scripted_upstream.requests.clear()
        # Refused as messages.create is, before anything is sent.
        for kwargs in (
            {"extra_body": {"mcp_servers": [MCP_SERVER]}},
            {"extra_headers": {"anthropic-beta": ACCOUNT_BETAS}},
            {"messages": OPERATORS_FILE},
        ):
            call: dict[str, Any] = {"model": CLAUDE, "messages": HELLO} | kwargs
            with pytest.raises(anthropic.PermissionDeniedError) as refused:
                await remote.messages.count_tokens(**call)
            assert "gateway.remote_passthrough" in str(refused.value)
    refused_names(refused.value, "file_id")
    assert scripted_upstream.requests == []
    # The local user counts the same request as it came.
    async with claude(gateway, local_headers(gateway)) as local:
        counted = await local.messages.count_tokens(
            model=CLAUDE,
            messages=OPERATORS_FILE,  # type: ignore[arg-type]
            extra_headers={"anthropic-beta": ACCOUNT_BETAS},
            extra_body={"mcp_servers": [MCP_SERVER]},
        )
    assert counted.input_tokens > 0
    (sent,) = scripted_upstream.requests
    assert sent.body["mcp_servers"] == [MCP_SERVER]
    assert "mcp-client" in sent.headers.get("anthropic-beta", "")


async def test_gemini_count_tokens_passes_the_remote_passthrough_check(
    gateway: GatewayRuntime, scripted_upstream: ScriptedUpstream
) -> None:
    path = f"/v1beta/models/{GEMINI}:countTokens"
    contents = [{"role": "user", "parts": [{"text": "hi"}]}]
    status, answer = await _post(gateway, path, json.dumps({"contents": contents}).encode())
    assert status == 200 and answer["totalTokens"] > 0, answer
    scripted_upstream.requests.clear()
    # A server tool, on its own or inside the request the count names.
    searched = {"contents": contents, "tools": [{"googleSearch": {}}]}
    for body in (searched, {"generateContentRequest": {"model": f"models/{GEMINI}", **searched}}):
        status, answer = await _post(gateway, path, json.dumps(body).encode())
        assert status == 403, answer
        assert "web_search" in json.dumps(answer)
    assert scripted_upstream.requests == []


def _repeating(tools_first: str) -> bytes:
    """A Messages body naming `tools` twice: the first a server tool, the last empty."""
    return (
        f'{{"model": "{CLAUDE}", "max_tokens": 20, "messages": {json.dumps(HELLO)}, '
        f'"tools": {tools_first}, "tools": []}}'
    ).encode()


async def test_duplicate_keys_cannot_hide_a_server_tool(
    gateway: GatewayRuntime, scripted_upstream: ScriptedUpstream
) -> None:
    search = json.dumps([{"type": "web_search_20250305", "name": "web_search", "max_uses": 50}])
    version = {"anthropic-version": "2023-06-01"}
    # The check reads the last `tools` (none); a first-wins upstream would run the search.
    status, answer = await _post(gateway, "/v1/messages", _repeating(search), **version)
    assert status == 400, answer
    assert answer["error"]["type"] == "invalid_request_error"
    assert "'tools' two different values" in answer["error"]["message"], answer
    # A key repeated deeper (a tool's `type`) is refused the same way.
    nested = b'[{"type": "web_search_20250305", "type": "custom", "name": "s", "input_schema": {}}]'
    status, answer = await _post(gateway, "/v1/messages", _repeating(nested.decode()), **version)
    assert status == 400 and "'type' two different values" in answer["error"]["message"], answer
    assert scripted_upstream.llm_requests == []
    # A remote body naming each key once goes as it came, byte for byte.
    plain = (
        f'{{"model": "{CLAUDE}",  "max_tokens": 20, "messages": {json.dumps(HELLO)}}}'
    ).encode()
    status, answer = await _post(gateway, "/v1/messages", plain, **version)
    assert status == 200, answer
    # The local user's may use the search, and is refused the repeated key all the same: the
    # outbound guard and the budgets read its body as this check does (SECURITY.md 121).
    raw = _repeating(search)
    status, answer = await _post(gateway, "/v1/messages", raw, **version, **local_headers(gateway))
    assert status == 400 and "'tools' two different values" in answer["error"]["message"], answer
    assert [r.raw_body for r in scripted_upstream.llm_requests] == [plain]


def _namespace(*tools: dict[str, Any]) -> dict[str, Any]:
    return {"type": "namespace", "name": "ns", "description": "grouped", "tools": list(tools)}


async def test_a_server_tool_nested_in_a_namespace_is_named(
    gateway: GatewayRuntime, scripted_upstream: ScriptedUpstream
) -> None:
    mcp = {
        "type": "mcp",
        "server_label": "x",
        "server_url": "https://attacker.example/mcp",
        "require_approval": "never",
    }
    echo = {"type": "function", "name": "echo", "parameters": {"type": "object"}}
    for tools in ([_namespace(mcp)], [_namespace(echo, _namespace(mcp))]):
        body = {"model": GPT, "input": "hi", "tools": tools}
        status, answer = await _post(gateway, "/v1/responses", json.dumps(body).encode())
        assert status == 403, answer
        assert "'mcp_servers'" in answer["error"]["message"], answer
        assert ".tools[" in answer["error"]["message"], answer  # where: inside the namespace
    assert scripted_upstream.llm_requests == []
    # A namespace of functions (as Codex groups an MCP server's tools) passes for a remote caller.
    body = {"model": GPT, "input": "hi", "tools": [_namespace(echo)]}
    status, answer = await _post(gateway, "/v1/responses", json.dumps(body).encode())
    assert status == 200, answer
    assert len(scripted_upstream.llm_requests) == 1


def _gemini_asking(*parts: dict[str, Any]) -> bytes:
    return json.dumps({"contents": [{"role": "user", "parts": list(parts)}]}).encode()


async def test_a_gemini_file_of_the_operators_account_is_refused(
    gateway: GatewayRuntime, scripted_upstream: ScriptedUpstream
) -> None:
    path = f"/v1beta/models/{GEMINI}:generateContent"
    summarise = {"text": "summarise"}
    operators = "https://generativelanguage.googleapis.com/v1beta/files/op1"
    for uri, feature in (
        (operators, "file_id"),
        ("files/op1", "file_id"),
        ("gs://operator-bucket/report.pdf", "file_id"),
        ("https://www.youtube.com/watch?v=abc", "web_fetch"),  # fetched on the operator's key
    ):
        part = {"fileData": {"mimeType": "application/pdf", "fileUri": uri}}
        status, answer = await _post(gateway, path, _gemini_asking(part, summarise))
        assert status == 403, (uri, answer)
        message = answer["error"]["message"]
        assert f"'{feature}'" in message and "contents[0].parts[0].fileData" in message, message
    # The genai SDK's snake_case spelling is read the same way.
    part = {"file_data": {"mime_type": "application/pdf", "file_uri": operators}}
    status, answer = await _post(gateway, path, _gemini_asking(part, summarise))
    assert status == 403, answer
    assert scripted_upstream.llm_requests == []
    # Text (and inline data) passes for a remote caller; the local user may name its own file.
    status, answer = await _post(gateway, path, _gemini_asking(summarise))
    assert status == 200, answer
    part = {"fileData": {"mimeType": "application/pdf", "fileUri": operators}}
    status, answer = await _post(
        gateway, path, _gemini_asking(part, summarise), **local_headers(gateway)
    )
    assert status == 200, answer
    assert len(scripted_upstream.llm_requests) == 2
