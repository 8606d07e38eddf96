"""A malformed upstream answer falls back to the next route; a bug in our own parser does not.

The dialect parsers raise `UpstreamMalformed` for what an upstream got wrong, and only that (or
undecodable JSON) is read as the upstream's fault. A plain `ValueError` from the parser is our
bug: a 500 naming an internal error, with no second upstream asked, rather than a fallback that
would hide it behind a healthy answer.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.api import DIALECTS
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

# gpt-4o (OpenAI, answering in Chat Completions) first, then Claude.
FALLBACK_ROUTE = {"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}}
# Asked in Anthropic's dialect, so the OpenAI answer goes through the Chat parser.
ASK = {"model": "gpt-4o", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}


async def ask(base_url: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base_url + "/v1/messages", json=ASK, headers={"anthropic-version": "2023-06-01"}
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


async def test_an_answer_that_does_not_parse_falls_back(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    upstream.script(Reply.malformed())
    status, body = await ask(gateway.base_url)
    assert status == 200, body
    assert DEFAULT_ANSWER.split("-")[0] in body["content"][0]["text"]
    assert [r.path for r in upstream.llm_requests] == ["/v1/chat/completions", "/v1/messages"]


async def test_a_bug_in_our_parser_is_an_internal_error_not_a_fallback(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for a parser bug: no real one is known, so the Chat parser is replaced by one
    # failing the way a slip in our own code would (the one patch of our code in this file).
    def buggy_parser(body: Any) -> Any:
        raise ValueError("a slip in our own parsing")

    monkeypatch.setattr(DIALECTS["openai-chat"], "parse_response", buggy_parser)
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    status, body = await ask(gateway.base_url)
    assert status == 500, body
    assert body["error"]["code"] == "internal_error", body
    assert [r.path for r in upstream.llm_requests] == ["/v1/chat/completions"]
