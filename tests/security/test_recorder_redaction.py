"""Issue 13, finding 13: a secret sent in any field a caller controls is never stored in clear.

A key sent as a model name was kept as is in the flight recorder and its search index. Here
secrets of every common shape (Anthropic and OpenAI keys, an AWS key id, a JWT, a GitHub
token) are planted in every field a caller controls (the model, in the body and in Gemini's
URL; `X-Caller`; `X-Project` and the body's project; the prompt; tool names; the MCP client's
User-Agent; a correlation id; pre-approved tool names; a session title) and sent through the
running gateway's dialect routes and MCP tools. Then the database file and its WAL are read as
raw bytes, and the recorder's search and its index's vocabulary are asked: no secret is
anywhere. A legitimate model name and caller are recorded intact, and a secret-looking
correlation id still finds its request.
"""

from __future__ import annotations

import secrets
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.recorder.filters import RecorderFilters
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.security._operator_support import mcp_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)


def _tail(size: int = 20) -> str:
    return secrets.token_hex(size // 2 + 1)[:size].upper()


# Each secret with the part of it that must never be stored (redaction keeps the prefixes).
_AWS = "AKIA" + _tail(16)
_JWT_SIGNATURE = "Sig" + _tail(24)
SECRETS = {
    "anthropic": ("sk-ant-api03-" + _tail(32), None),
    "openai": ("sk-proj-" + _tail(32), None),
    "aws": (_AWS, _AWS[4:]),
    "jwt": (f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{_tail(12)}.{_JWT_SIGNATURE}", _JWT_SIGNATURE),
    "github": ("ghp_" + _tail(36), None),
    "session": ("sk-or-v1-" + _tail(32), None),
}


def secret(name: str) -> str:
    return SECRETS[name][0]


def needles() -> list[str]:
    """What must not appear: each secret whole, and the part of it that identifies it."""
    found = []
    for value, part in SECRETS.values():
        found += [value, part or value.split("-")[-1].split("_")[-1]]
    return found


FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"
LEGIT_MODEL = "gpt-4o-mini"
LEGIT_CALLER = "nightly-report"


async def _post(gateway: GatewayRuntime, path: str, body: dict[str, Any], **headers: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + path, json=body, headers=headers) as answer,
    ):
        await answer.read()
        return answer.status


async def _send_through_every_door(gateway: GatewayRuntime) -> None:
    planted_headers = {
        "X-Caller": f"ci api_key={secret('openai')}",
        "X-Project": secret("github"),
        "User-Agent": f"tool/1.0 {secret('jwt')}",
    }
    prompt = f"use {secret('anthropic')} and {secret('aws')}"
    tools = [{"type": "function", "function": {"name": "fetch_" + _tail(8), "parameters": {}}}]
    chat = {"messages": [{"role": "user", "content": prompt}], "tools": tools}
    # The model as an explicit route (recorded as an upstream attempt) and unresolvable (a
    # refusal), through each dialect.
    for model in (f"openai/{secret('anthropic')}", secret("jwt")):
        await _post(gateway, "/v1/chat/completions", chat | {"model": model}, **planted_headers)
    await _post(
        gateway,
        "/v1/messages",
        {"model": f"anthropic/{secret('aws')}", "max_tokens": 16, "messages": chat["messages"]},
        **planted_headers,
    )
    await _post(
        gateway,
        "/v1/responses",
        {"model": f"openai/{secret('github')}", "input": prompt},
        **planted_headers,
    )
    await _post(
        gateway,
        f"/v1beta/models/{secret('aws')}:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": prompt}]}]},
        **planted_headers,
    )
    await _post(
        gateway,
        "/v1/generate",
        {"prompt": prompt, "provider": "openai", "model": secret("anthropic"), "project": "p1"},
        **planted_headers,
    )
    # The legitimate one, recorded as it came.
    legit = {"model": f"openai/{LEGIT_MODEL}", "messages": chat["messages"]}
    assert await _post(gateway, "/v1/chat/completions", legit, **{"X-Caller": LEGIT_CALLER}) == 200


async def _call_mcp_tools(gateway: GatewayRuntime) -> dict[str, Any]:
    correlation = f"run-{secret('session')}"
    headers = {"User-Agent": f"editor {secret('openai')}"}
    async with mcp_client(gateway, headers) as client:
        # A call that runs (the fake Mistral Vibe CLI): a job, with the correlation id, a
        # prompt and a finished answer in the job store.
        ran = await client.call_tool(
            "mistral_request",
            {
                "prompt": f"summarise {secret('openai')}",
                "correlationId": f"job-{secret('session')}",
            },
        )
        assert not ran.is_error, ran.structured_content
        job = await client.call_tool(
            "llm_request_result", {"correlationId": f"job-{secret('session')}"}
        )
        assert job.structured_content is not None and "job" in job.structured_content, job
        await client.call_tool(
            "claude_request",
            {
                "prompt": f"deploy with {secret('github')}",
                "model": secret("anthropic"),
                "correlationId": correlation,
                "approvalStrategy": "mcp_managed",
                "allowedTools": [f"Bash(curl -H 'Authorization: Bearer {secret('jwt')}')"],
            },
        )
        await client.call_tool(
            "session_create", {"provider": "claude", "title": f"key {secret('aws')}"}
        )
        found = await client.call_tool("llm_request_result", {"correlationId": correlation})
    assert not found.is_error, found.structured_content
    assert found.structured_content is not None
    return dict(found.structured_content["record"])


def _stored_bytes(database: Path) -> bytes:
    """The database and whatever its write-ahead log holds that is not checkpointed yet."""
    parts = [database, database.with_name(database.name + "-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def _index_terms(database: Path) -> list[str]:
    """Every term the recorder's search index holds (it keeps terms, not the row text)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        db.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, requests_fts, row)")
        return [row[0] for row in db.execute("SELECT term FROM temp.terms")]


async def test_no_secret_a_caller_sends_is_stored(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Mistral Vibe's stand-in, answering through the same scripted upstream.
    monkeypatch.setenv("VIBE_TEST_PYTHON", sys.executable)
    monkeypatch.setenv("VIBE_HOME", str(tmp_path / "vibe"))
    monkeypatch.setenv("VIBE_TEST_BASE_URL", upstream.base_url)
    gateway: GatewayRuntime = await start_gateway({"providers.cli_path": [str(FAKE_BIN)]})
    await _send_through_every_door(gateway)
    record = await _call_mcp_tools(gateway)
    # The secret-looking correlation id still found its request; the record shows no secret.
    assert record["model"] is not None and "[REDACTED]" in record["model"]
    assert not any(n in str(record) for n in needles())

    engine = gateway.engine
    await engine.recorder.flush()
    rows = await engine.recorder.recent(limit=50)
    assert len(rows) >= 8, rows
    database = gateway.settings.database_file
    # A search brings the index up to date first (it takes rows in batches): it then holds
    # every row's terms.
    assert await engine.recorder_query.count(RecorderFilters(text="completed")) >= 0
    stored, terms = _stored_bytes(database), _index_terms(database)
    assert terms  # the index holds the rows: a check of no terms would prove nothing
    for needle in needles():
        in_file = needle.encode() in stored
        assert not in_file, f"{needle} is in the database file"
        assert not [t for t in terms if needle.lower() in t], needle
        page = await engine.recorder_query.page(RecorderFilters(text=needle))
        assert page.rows == [], needle
    assert not any(n in str(rows) for n in needles())

    # What is not a secret is kept as it came, and found by search.
    legit = [r for r in rows if r["model"] == LEGIT_MODEL]
    assert legit and legit[0]["caller"] == LEGIT_CALLER, rows
    assert legit[0]["requested_model"] == f"openai/{LEGIT_MODEL}"
    found = await engine.recorder_query.page(RecorderFilters(text=LEGIT_CALLER))
    assert [r.id for r in found.rows] == [legit[0]["id"]]
    # The planted fields were recorded, masked rather than dropped.
    planted = [r for r in rows if r["caller"] != LEGIT_CALLER]
    assert any("REDACTED" in (r["caller"] or "") for r in planted)
    assert any("[REDACTED]" in (r["project"] or "") for r in planted)
    assert any("[REDACTED]" in (r["model"] or r["requested_model"] or "") for r in planted)
