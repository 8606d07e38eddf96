"""Issue 12, finding 6: an MCP session belongs to the principal that opened it.

Bob reused Alice's `Mcp-Session-Id` and deleted her session, and session ids were logged at
INFO. Here Alice (an OAuth client, by a real authorization-code flow) opens a Streamable HTTP
session on a running, locked gateway; Bob (a user the trusted proxy names) and even the bearer
holder then POST, GET and DELETE with her id over real HTTP and get 404, as if it did not exist,
while Alice's session keeps working until she ends it herself. Every log record the gateway
and the SDK wrote meanwhile, at DEBUG, names the id by a short hash only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._operator_support import callers, locked_gateway
from tests.transports.auth.conftest import (
    INITIALIZE,
    MCP_ACCEPT,
    Answer,
    Start,
    send,
    start,  # noqa: F401 - a fixture
)

SESSION_HEADER = "Mcp-Session-Id"
VERSION = INITIALIZE["params"]["protocolVersion"]  # type: ignore[index]
LIST_TOOLS = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
ANSWER_WITHIN_S = 10.0


async def _mcp(
    gateway: GatewayRuntime,
    method: str,
    headers: dict[str, str],
    session: str | None = None,
    body: dict[str, Any] | None = None,
) -> Answer:
    extra = {SESSION_HEADER: session, "MCP-Protocol-Version": VERSION} if session else {}
    accept = {"Accept": "text/event-stream"} if method == "GET" else MCP_ACCEPT
    answer = send(
        gateway, method, gateway.settings.http.path, headers=accept | headers | extra, json=body
    )
    # A GET that got through would hold the session's event stream open: bounded, it fails.
    return await asyncio.wait_for(answer, ANSWER_WITHIN_S)


def _session_of(answer: Answer) -> str:
    return {k.lower(): v for k, v in answer.headers.items()}[SESSION_HEADER.lower()]


async def test_another_principal_cannot_use_or_end_a_session(
    start: Start,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = await locked_gateway(start)
    everyone = await callers(gateway)
    alice = everyone["oauth-mcp"].headers
    intruders = {"bob": everyone["trusted-header"].headers, "operator": everyone["bearer"].headers}

    opened = await _mcp(gateway, "POST", alice, body=INITIALIZE)
    assert opened.status == 200, opened.text
    session = _session_of(opened)
    assert (await _mcp(gateway, "POST", alice, session, INITIALIZED)).status == 202
    first = await _mcp(gateway, "POST", alice, session, LIST_TOOLS)
    assert first.status == 200 and "llm_job_status" in first.text

    for who, headers in intruders.items():
        for method, body in (("POST", LIST_TOOLS), ("GET", None), ("DELETE", None)):
            answer = await _mcp(gateway, method, headers, session, body)
            assert answer.status == 404, (who, method, answer.status, answer.text)
            assert "llm_job_status" not in answer.text
        # The intruder's own session works: the refusal is about the id, not the caller.
        own = await _mcp(gateway, "POST", headers, body=INITIALIZE)
        assert own.status == 200 and _session_of(own) != session

    # Alice's session survived all of it, and she can still end it herself.
    again = await _mcp(gateway, "POST", alice, session, LIST_TOOLS)
    assert again.status == 200 and "llm_job_status" in again.text, again.text
    assert (await _mcp(gateway, "DELETE", alice, session)).status == 200
    assert (await _mcp(gateway, "POST", alice, session, LIST_TOOLS)).status == 404

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert session not in logged and session not in caplog.text
    # The SDK did log the session's life, by its hash.
    digest = "#" + hashlib.sha256(session.encode()).hexdigest()[:10]
    assert digest in logged, logged
