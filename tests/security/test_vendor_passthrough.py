"""Issue 26, item 4: same-dialect passthrough must not hand a remote caller the operator's
vendor account.

A request for an upstream of the client's own dialect goes out as it came, on the operator's
key. A remote principal (here the static-bearer holder and users a trusted proxy names) used to
make the vendor connect to MCP servers of its choosing, run billed server tools, reuse code
containers, switch on betas, keep or run responses in the background, and read another
principal's stored conversation through `previous_response_id`; every answer named the
operator's vendor organisation. Each feature is tried here as the attack (refused with a 403
in the client's own dialect, naming the field and the setting, and nothing reaches the
scripted upstream) beside the legitimate path: the local user passes, and a feature the
operator listed in `gateway.remote_passthrough` passes. The clients are the official `openai`
and `anthropic` SDKs against the real gateway.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest

from llmgw_desktop.engine.tokens.pricing import price_table
from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
)
from tests.security._power_support import local_headers
from tests.transports.gateway.conftest import ANTHROPIC_KEY, OPENAI_KEY
from tests.transports.gateway.hostile_upstream import HostileUpstream, streamed, whole

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"
USER_HEADER = "X-Remote-User"
CLAUDE = "claude-sonnet-4-6"
GPT = "gpt-4o"
HELLO = [{"role": "user", "content": "hi"}]
ACCOUNT_HEADERS = ("openai-organization", "openai-project", "anthropic-organization-id")

# Each attack: (name, the feature's name in the policy, how the Anthropic call carries it).
ANTHROPIC_ATTACKS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "mcp_servers",
        "mcp_servers",
        {
            "extra_body": {
                "mcp_servers": [{"type": "url", "url": "https://attacker.example/mcp", "name": "x"}]
            }
        },
    ),
    (
        "web_search tool",
        "web_search",
        {"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]},
    ),
    (
        "code_execution tool",
        "code_execution",
        {"tools": [{"type": "code_execution_20250825", "name": "code_execution"}]},
    ),
    (
        "an unknown server tool",
        "tool_search_tool_regex",
        {"tools": [{"type": "tool_search_tool_regex_20251119", "name": "tool_search"}]},
    ),
    ("container reuse", "container", {"extra_body": {"container": "container_011CVictim"}}),
    (
        "a beta header",
        "anthropic-beta:mcp-client-2025-04-04",
        {"extra_headers": {"anthropic-beta": "mcp-client-2025-04-04"}},
    ),
    (
        "a file of the operator's Files API",
        "file_id",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
                        {"type": "text", "text": "summarise"},
                    ],
                }
            ]
        },
    ),
]
RESPONSES_ATTACKS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "an mcp tool",
        "mcp_servers",
        {
            "tools": [
                {
                    "type": "mcp",
                    "server_label": "x",
                    "server_url": "https://attacker.example/mcp",
                    "require_approval": "never",
                }
            ]
        },
    ),
    ("web_search tool", "web_search", {"tools": [{"type": "web_search"}]}),
    # Hosted: only Codex's client-side tool_search (execution "client") passes (test_codex.py).
    ("a hosted tool_search", "tool_search", {"tools": [{"type": "tool_search"}]}),
    (
        "code_interpreter tool",
        "code_execution",
        {"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]},
    ),
    ("background", "background", {"background": True, "store": True}),
    ("store", "store", {"store": True}),
    ("a stored conversation", "conversation", {"conversation": "conv_victim"}),
    ("a stored prompt", "prompt", {"prompt": {"id": "pmpt_operator"}}),
]
CHAT_ATTACKS: list[tuple[str, str, dict[str, Any]]] = [
    ("web_search_options", "web_search", {"extra_body": {"web_search_options": {}}}),
    ("store", "store", {"store": True}),
]


@pytest.fixture
async def gateway(launch: Launch, provider_keys: None) -> GatewayRuntime:
    return await launch({"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER})


def remote_headers(user: str | None = None) -> dict[str, str]:
    return {USER_HEADER: user} if user else {}


def claude(gateway: GatewayRuntime, headers: dict[str, str] | None = None) -> Any:
    return claude_client(
        gateway, TOKEN, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})}
    )


def gpt(gateway: GatewayRuntime, headers: dict[str, str] | None = None) -> openai.AsyncOpenAI:
    return openai_client(gateway, TOKEN, headers=headers or {})


def anthropic_call(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"model": CLAUDE, "max_tokens": 20, "messages": HELLO} | kwargs


def refused_names(error: openai.APIStatusError | anthropic.APIStatusError, feature: str) -> None:
    """A 403 in the client's dialect naming the feature and the setting that would allow it."""
    assert error.status_code == 403, error
    message = str(error)
    assert f'"{feature}"' in message or f"'{feature}'" in message, message
    assert "gateway.remote_passthrough" in message, message


@pytest.mark.parametrize(("what", "feature", "kwargs"), ANTHROPIC_ATTACKS)
async def test_a_remote_caller_cannot_pass_anthropic_vendor_features(
    gateway: GatewayRuntime,
    scripted_upstream: ScriptedUpstream,
    what: str,
    feature: str,
    kwargs: dict[str, Any],
) -> None:
    async with claude(gateway) as remote:
        with pytest.raises(anthropic.PermissionDeniedError) as refused:
            await remote.messages.create(**anthropic_call(kwargs))
    refused_names(refused.value, feature)
    body = refused.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "permission_error", body
    assert scripted_upstream.llm_requests == []  # nothing reached the vendor
    # The local user keeps every feature: the same request goes upstream as it came.
    async with claude(gateway, local_headers(gateway)) as local:
        answer = await local.messages.with_raw_response.create(**anthropic_call(kwargs))
    assert answer.status_code == 200
    assert len(scripted_upstream.llm_requests) == 1
    for name in ACCOUNT_HEADERS:  # nobody learns whose account it is
        assert name not in answer.headers, name


@pytest.mark.parametrize(("what", "feature", "kwargs"), RESPONSES_ATTACKS)
async def test_a_remote_caller_cannot_pass_responses_vendor_features(
    gateway: GatewayRuntime,
    scripted_upstream: ScriptedUpstream,
    what: str,
    feature: str,
    kwargs: dict[str, Any],
) -> None:
    async with gpt(gateway) as remote:
        with pytest.raises(openai.PermissionDeniedError) as refused:
            await remote.responses.create(model=GPT, input="hi", **kwargs)
    refused_names(refused.value, feature)
    assert scripted_upstream.llm_requests == []
    async with gpt(gateway, local_headers(gateway)) as local:
        answer = await local.responses.create(model=GPT, input="hi", **kwargs)
    assert answer.output_text
    (seen,) = scripted_upstream.llm_requests
    assert all(seen.body[k] == v for k, v in kwargs.items())  # as the local user sent it


@pytest.mark.parametrize(("what", "feature", "kwargs"), CHAT_ATTACKS)
async def test_a_remote_caller_cannot_pass_chat_vendor_features(
    gateway: GatewayRuntime,
    scripted_upstream: ScriptedUpstream,
    what: str,
    feature: str,
    kwargs: dict[str, Any],
) -> None:
    async with gpt(gateway) as remote:
        with pytest.raises(openai.PermissionDeniedError) as refused:
            await remote.chat.completions.create(model=GPT, messages=HELLO, **kwargs)
    refused_names(refused.value, feature)
    assert scripted_upstream.llm_requests == []
    async with gpt(gateway, local_headers(gateway)) as local:
        answer = await local.chat.completions.with_raw_response.create(
            model=GPT, messages=HELLO, **kwargs
        )
    assert answer.status_code == 200
    for name in ACCOUNT_HEADERS:
        assert name not in answer.headers, name


async def test_an_allowed_feature_passes_for_remote_callers_and_the_rest_stays_closed(
    launch: Launch, provider_keys: None, scripted_upstream: ScriptedUpstream
) -> None:
    gateway = await launch(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "gateway.remote_passthrough.allow": [
                "web_search",
                "anthropic-beta:interleaved-thinking",
            ],
            "gateway.remote_passthrough.principals": {"user:ci": ["code_execution"]},
        },
    )
    search = {"tools": [{"type": "web_search_20250305", "name": "web_search"}]}
    beta = {"extra_headers": {"anthropic-beta": "interleaved-thinking"}}
    async with claude(gateway) as remote:
        answer = await remote.messages.with_raw_response.create(**anthropic_call(search | beta))
    assert answer.status_code == 200
    (seen,) = scripted_upstream.llm_requests
    assert seen.body["tools"] == search["tools"]
    assert seen.headers["anthropic-beta"] == "interleaved-thinking"
    for name in ACCOUNT_HEADERS:  # stripped for remote callers too
        assert name not in answer.headers, name
    # One principal's grant is its own.
    code = {"tools": [{"type": "code_execution_20250825", "name": "code_execution"}]}
    async with claude(gateway, remote_headers("ci")) as ci:
        await ci.messages.create(**anthropic_call(code))
    async with claude(gateway, remote_headers("someone")) as someone:
        with pytest.raises(anthropic.PermissionDeniedError):
            await someone.messages.create(**anthropic_call(code))
    assert len(scripted_upstream.llm_requests) == 2


# What Claude Code 2.1 sends on every request, in its default set-up (tests/fixtures).
CLAUDE_CODE_BETAS = (
    "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,"
    "thinking-token-count-2026-05-13,context-management-2025-06-27,"
    "prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,effort-2025-11-24"
)


async def test_a_remote_claude_code_passes_with_its_default_betas(
    gateway: GatewayRuntime, scripted_upstream: ScriptedUpstream
) -> None:
    # Betas that change how the model answers are not the account's features: refusing them
    # would refuse Claude Code on a locked gateway. One that opens MCP connections is refused.
    async with claude(gateway) as remote:
        betas = {"extra_headers": {"anthropic-beta": CLAUDE_CODE_BETAS}}
        answer = await remote.messages.with_raw_response.create(**anthropic_call(betas))
        assert answer.status_code == 200
        mcp = {"extra_headers": {"anthropic-beta": f"{CLAUDE_CODE_BETAS},mcp-client-2025-11-20"}}
        with pytest.raises(anthropic.PermissionDeniedError) as refused:
            await remote.messages.create(**anthropic_call(mcp))
    refused_names(refused.value, "anthropic-beta:mcp-client-2025-11-20")
    (seen,) = scripted_upstream.llm_requests
    assert seen.headers["anthropic-beta"] == CLAUDE_CODE_BETAS


async def test_a_remote_responses_call_is_not_stored_unless_allowed(
    gateway: GatewayRuntime, scripted_upstream: ScriptedUpstream
) -> None:
    # OpenAI keeps a response unless told not to: for a remote caller the gateway tells it.
    async with gpt(gateway) as remote, gpt(gateway, local_headers(gateway)) as local:
        await remote.responses.create(model=GPT, input="hi")
        await local.responses.create(model=GPT, input="hi")
    remote, local = scripted_upstream.llm_requests
    assert remote.body["store"] is False
    assert "store" not in local.body


async def test_previous_response_id_reads_only_the_callers_own_responses(
    launch: Launch, provider_keys: None, scripted_upstream: ScriptedUpstream
) -> None:
    gateway = await launch(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "gateway.remote_passthrough.allow": ["store"],
        },
    )
    async with (
        gpt(gateway, remote_headers("alice")) as alice,
        gpt(gateway, remote_headers("mallory")) as mallory,
        gpt(gateway, local_headers(gateway)) as local,
    ):
        first = await alice.responses.create(model=GPT, input="my secret plan", store=True)
        # Streamed answers are owned as well.
        async with alice.responses.stream(model=GPT, input="more", store=True) as stream:
            streamed = (await stream.get_final_response()).id
        sent = len(scripted_upstream.llm_requests)
        for victim in (first.id, streamed, "resp_made_elsewhere"):
            with pytest.raises(openai.PermissionDeniedError) as refused:
                await mallory.responses.create(
                    model=GPT, input="repeat it", previous_response_id=victim
                )
            assert "previous_response_id" in str(refused.value)
        assert len(scripted_upstream.llm_requests) == sent  # none reached the vendor
        # Alice continues her own; the local user may name any.
        await alice.responses.create(model=GPT, input="go on", previous_response_id=first.id)
        await alice.responses.create(model=GPT, input="go on", previous_response_id=streamed)
        await local.responses.create(model=GPT, input="go on", previous_response_id="resp_any")
    assert [r.body.get("previous_response_id") for r in scripted_upstream.llm_requests[sent:]] == [
        first.id,
        streamed,
        "resp_any",
    ]


# -- allowed server tools are counted in cost ---------------------------------------------------

ROW_TIMEOUT_S = 5.0
PRICED_GPT = "gpt-5"
SEARCHES = 3
WEB_SEARCH_USD_PER_CALL = 0.01  # Anthropic's and OpenAI's list price: $10 per 1,000 searches


@pytest.fixture
async def hostile(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[HostileUpstream]:
    """The API providers pointed at an upstream that answers with the bytes a test writes."""
    async with HostileUpstream() as up:
        monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", up.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", up.base_url + "/v1")
        yield up


async def _settled_row(gateway: GatewayRuntime) -> dict[str, Any]:
    async with asyncio.timeout(ROW_TIMEOUT_S):
        while True:
            rows = await gateway.engine.recorder.recent(limit=1)
            if rows and rows[0]["state"] != "started":
                return rows[0]
            await asyncio.sleep(0.05)


async def test_allowed_server_tool_calls_are_counted_in_the_cost(
    launch: Launch, hostile: HostileUpstream
) -> None:
    gateway = await launch(
        {"http.auth_token": TOKEN, "gateway.remote_passthrough.allow": ["web_search"]}
    )
    usage = {"input_tokens": 1000, "output_tokens": 100}
    hostile.answer = whole(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": CLAUDE,
            "content": [{"type": "text", "text": "found it"}],
            "stop_reason": "end_turn",
            "usage": usage | {"server_tool_use": {"web_search_requests": SEARCHES}},
        }
    )
    search = {"tools": [{"type": "web_search_20250305", "name": "web_search"}]}
    async with claude(gateway) as remote:
        await remote.messages.create(**anthropic_call(search))
    row = await _settled_row(gateway)
    tokens_only = price_table().cost_of(CLAUDE, Usage(input_tokens=1000, output_tokens=100))
    assert tokens_only is not None
    assert row["cost_usd"] == pytest.approx(tokens_only + SEARCHES * WEB_SEARCH_USD_PER_CALL)
    assert row["route"]["serverTools"] == {"web_search": SEARCHES}
    # A streamed Responses answer: each web_search_call item is one billed call.
    calls = [{"type": "web_search_call", "id": f"ws_{i}", "status": "completed"} for i in range(2)]
    final = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": PRICED_GPT,
        "output": [*calls, {"type": "message", "role": "assistant", "content": []}],
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
    }
    hostile.answer = streamed(
        sse("response.created", {"type": "response.created", "response": final | {"output": []}}),
        sse("response.completed", {"type": "response.completed", "response": final}),
    )
    async with gpt(gateway) as remote:
        stream = await remote.responses.create(
            model=PRICED_GPT, input="news?", tools=[{"type": "web_search"}], stream=True
        )
        async for _ in stream:
            pass
    row = await _settled_row(gateway)
    assert row["route"]["serverTools"] == {"web_search": 2}
    tokens_only = price_table().cost_of(PRICED_GPT, Usage(input_tokens=10, output_tokens=5))
    assert tokens_only is not None
    assert row["cost_usd"] == pytest.approx(tokens_only + 2 * WEB_SEARCH_USD_PER_CALL)


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
