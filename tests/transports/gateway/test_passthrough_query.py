"""The query string of a request passed through to its own dialect's upstream: what that
dialect defines goes on (`POST /v1/messages?beta=true`, as Claude Code sends it, and its
`count_tokens`; the real Claude Code's is in `tests/clients/test_claude_code.py`), nothing
else does (a name the gateway sets itself, such as Gemini's `key`, stays the gateway's), and
a translated request sends none."""

from __future__ import annotations

import aiohttp

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import HI, claude_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    gateway,
    provider_env,
    start_gateway,
)


async def test_the_anthropic_client_keeps_beta_true_upstream(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    upstream.script(Reply.ok())
    client = claude_client(gateway)
    # The SDK's beta client no longer puts it in the URL; Claude Code does (its fixture).
    beta = {"beta": "true"}
    await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=50, messages=HI, extra_query=beta
    )
    await client.messages.count_tokens(model="claude-sonnet-4-6", messages=HI, extra_query=beta)
    sent = [(r.path, r.query) for r in upstream.requests if r.path.startswith("/v1/messages")]
    assert sent == [
        ("/v1/messages", {"beta": "true"}),
        ("/v1/messages/count_tokens", {"beta": "true"}),
    ]


async def test_only_the_dialects_own_parameters_go_on_and_none_when_translated(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    upstream.script(Reply.ok(), Reply.ok(), Reply.ok())
    body = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": HI}
    gemini = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    async with aiohttp.ClientSession() as http:
        url = f"{gateway.base_url}/v1/messages?beta=true&key=stolen&x=1"
        async with http.post(url, json=body) as answer:
            assert answer.status == 200, await answer.text()
        translated = {**body, "model": "gpt-4o-mini"}
        async with http.post(f"{gateway.base_url}/v1/messages?beta=true", json=translated) as a:
            assert a.status == 200, await a.text()
        url = f"{gateway.base_url}/v1beta/models/gemini-2.5-flash:generateContent?key=stolen"
        async with http.post(url, json=gemini) as answer:
            assert answer.status == 200, await answer.text()
    claude, openai, google = upstream.llm_requests
    assert claude.query == {"beta": "true"}
    assert openai.path == "/v1/chat/completions" and openai.query == {}
    assert "stolen" not in str(google.query)
