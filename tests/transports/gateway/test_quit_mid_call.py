"""A gateway stopped (quit, SIGTERM without a drain) while a call waits for its upstream: the
caller is told `gateway_stopping` (503, `Retry-After`) in its own dialect's envelope, or as an
MCP tool's error, not left with a bare disconnect, and the call's row says it was interrupted.
A CLI job's MCP call is `tests/transports/mcp/test_mcp_quit_mid_call.py`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from mcp import Client

from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.mcp.conftest import structured
from tests.waiting import until

SLOW_S = 30.0  # the upstream's silence before its answer: the stop comes first


async def _stopped_while_asked(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, ask: Any
) -> tuple[Exception, list[tuple[str, str]], Any]:
    gateway = await start_gateway({})
    upstream.script(Reply.slow(SLOW_S))
    call = asyncio.ensure_future(ask(gateway))
    await until(lambda: upstream.llm_requests, "the call sent upstream")
    await gateway.stop()
    with pytest.raises(Exception) as raised:  # each SDK's own error type
        await asyncio.wait_for(call, 10)
    return raised.value, _rows_after_stop(), gateway


def _rows_after_stop() -> list[tuple[str, str]]:
    """Each row's state and error code, read from the stopped gateway's store."""
    db = Path(os.environ["LLM_GATEWAY_DATA_DIR"]) / "llmgw.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute("SELECT state, error_code FROM requests"))


async def test_an_openai_sdk_call_in_flight_is_told_the_gateway_is_stopping(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    async def ask(gateway: Any) -> Any:
        client = openai_client(gateway)
        messages = [{"role": "user", "content": "hi"}]
        return await client.chat.completions.create(model="gpt-4o", messages=messages)

    error, rows, _ = await _stopped_while_asked(start_gateway, upstream, ask)
    assert isinstance(error, openai.APIStatusError), repr(error)
    assert error.status_code == 503
    assert error.response.headers["retry-after"] == "5"
    assert error.body["code"] == "gateway_stopping", error.body  # type: ignore[index]
    assert rows == [("interrupted", "gateway_stopping")]


async def test_an_anthropic_stream_not_begun_is_told_in_anthropics_envelope(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    async def ask(gateway: Any) -> Any:
        client = claude_client(gateway)
        messages = [{"role": "user", "content": "hi"}]
        async with client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=messages
        ) as stream:
            return await stream.get_final_message()

    error, rows, _ = await _stopped_while_asked(start_gateway, upstream, ask)
    assert isinstance(error, anthropic.APIStatusError), repr(error)
    assert error.status_code == 503
    assert "stopping" in error.message
    assert rows == [("interrupted", "gateway_stopping")]


async def test_a_model_asked_over_mcp_is_told_the_gateway_is_stopping(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    async def ask(gateway: Any) -> Any:
        async with Client(gateway.mcp_url) as client:
            answer = await client.call_tool("ask_model", {"provider": "openai", "prompt": "hi"})
        raise AssertionError(answer)  # carried out as the error, to be read below

    error, rows, _ = await _stopped_while_asked(start_gateway, upstream, ask)
    assert isinstance(error, AssertionError), repr(error)
    (result,) = error.args
    assert result.is_error, result
    assert structured(result)["error"]["code"] == "gateway_stopping", result
    assert rows == [("interrupted", "gateway_stopping")]
