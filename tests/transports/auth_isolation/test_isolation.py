"""Per-principal isolation over the running gateway: one principal's sessions, jobs, job results
and recorded requests are "not found" to another (word for word as for an id that never
existed), and remote provider calls must run in a registered workspace.

One gateway serves the whole module (real claude CLI against the scripted upstream): alice makes
her calls once, then each test has bob try to reach them.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from llmgw_desktop.transports.mcp.server import build_mcp_server
from tests.conftest import PROVIDER_ENV
from tests.contract.offline import find_cli, offline_environment
from tests.fakes.upstream import ScriptedUpstream

# offline and upstream are re-exported as tests/transports/mcp/conftest.py does, for a test
# that wants a gateway of its own.
from tests.transports.mcp.conftest import (  # noqa: F401
    offline,
    start_gateway,
    structured,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "isolation-static-bearer-token-0123456789"
USER_HEADER = "X-Remote-User"
WORKSPACE = "shared"
JOB_TIMEOUT_S = 60.0
# Words a "not found" must not contain: they would tell bob the object exists.
HINTS = re.compile(r"permission|forbidden|owner|belongs|principal|alice|not yours|denied", re.I)


@dataclass
class World:
    """The running gateway and what alice made in it."""

    gateway: GatewayRuntime
    home: Path  # the CLIs' private home, set up by offline_environment
    instance_token: str  # proves the local user over HTTP, even with auth on
    upstream: ScriptedUpstream
    workspace_dir: Path
    session_id: str
    provider_session_id: str
    sync_job_id: str
    async_job_id: str
    correlation_id: str
    prefix_hash: str


def headers_for(user: str | None) -> dict[str, str]:
    """A remote caller holding the static bearer; with `user`, named by the trusted proxy."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if user is not None:
        headers[USER_HEADER] = user
    return headers


@asynccontextmanager
async def mcp_as(gateway: GatewayRuntime, headers: Mapping[str, str]) -> AsyncIterator[Client]:
    """The official MCP client over Streamable HTTP, sending `headers` on every request."""
    async with (
        httpx2.AsyncClient(headers=dict(headers), timeout=30) as http,
        Client(streamable_http_client(gateway.mcp_url, http_client=http)) as client,
    ):
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> tuple[bool, dict[str, Any]]:
    """(is_error, structured body) of one tool call."""
    result = await client.call_tool(tool, arguments)
    return bool(result.is_error), structured(result)


async def finished_job(client: Client, job_id: str) -> dict[str, Any]:
    for _ in range(int(JOB_TIMEOUT_S / 5)):
        failed, status = await call(client, "llm_job_watch", jobId=job_id, timeoutMs=5000)
        assert not failed, status
        if status["state"] not in ("queued", "running"):
            return status
    raise AssertionError(f"job {job_id} did not finish")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    find_cli("claude")
    base = tmp_path_factory.mktemp("isolation")
    workspace_dir = base / "workspace"
    workspace_dir.mkdir()
    # The per-test fixtures (loaded, offline, upstream) are function scoped; the same set-up
    # by hand lets one gateway serve every test of the module.
    environ = {
        "LLM_GATEWAY_CONFIG": str(base / "config" / "config.toml"),
        "LLM_GATEWAY_DATA_DIR": str(base / "data"),
        "LLM_GATEWAY_LOG_DIR": str(base / "log"),
        "LLM_GATEWAY_DETECT_LOCAL": "false",
        # The CLIs' OPENAI_API_KEY has no base URL: reading its model list would leave loopback.
        "LLM_GATEWAY_MODELS_REFRESH_S": "0",
        "LLM_GATEWAY_HTTP_PORT": "0",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("LLM_GATEWAY_") or name in PROVIDER_ENV:
                patch.delenv(name)
        async with ScriptedUpstream() as scripted:
            offline_environment(base / "home", scripted.base_url, patch)
            loaded = load_settings(environ=environ)
            runtime, lock = await start_gateway(
                loaded,
                {
                    "http.auth_token": TOKEN,
                    "http.trusted_principal_header": USER_HEADER,
                    "workspaces.registry": {WORKSPACE: str(workspace_dir)},
                },
            )
            try:
                made = await _alice_makes_her_calls(runtime, scripted, workspace_dir)
                yield World(runtime, base / "home", lock.token, scripted, workspace_dir, *made)
            finally:
                await runtime.stop()
                lock.release()


@pytest.fixture(autouse=True)
def cli_environment(world: World, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-test `isolated_env` drops the provider keys the CLIs need: put them back."""
    offline_environment(world.home, world.upstream.base_url, monkeypatch)


async def _alice_makes_her_calls(
    gateway: GatewayRuntime, scripted: ScriptedUpstream, workspace_dir: Path
) -> tuple[str, str, str, str, str, str]:
    """Alice's session, a sync call in it and an async job in the workspace."""
    async with mcp_as(gateway, headers_for("alice")) as alice:
        failed, session = await call(
            alice, "session_create", provider="claude", workspace=WORKSPACE, title="alice's"
        )
        assert not failed, session
        failed, answer = await call(
            alice,
            "claude_request",
            promptParts={"system": "You are terse.", "task": "alice's secret plan"},
            sessionId=session["sessionId"],
            correlationId="alice-corr",
        )
        assert not failed, answer
        assert "FAKE-OK" in answer["text"]
        failed, queued = await call(
            alice,
            "claude_request_async",
            prompt="alice's background work",
            workspace=WORKSPACE,
            createNewSession=True,
        )
        assert not failed, queued
        assert (await finished_job(alice, queued["jobId"]))["state"] == "completed"
        failed, found = await call(alice, "llm_request_result", correlationId="alice-corr")
        assert not failed, found
        assert found["record"]["prefix_hash"]
    assert Path(answer["workingDir"]) == workspace_dir.resolve()
    return (
        session["sessionId"],
        answer["providerSessionId"],
        answer["jobId"],
        queued["jobId"],
        "alice-corr",
        found["record"]["prefix_hash"],
    )


def assert_same_not_found(
    theirs: tuple[bool, dict[str, Any]],
    alices_id: str,
    unknown: tuple[bool, dict[str, Any]],
    id_: str,
) -> None:
    """Alice's object and one that never existed get the same answer, ids aside."""
    (failed_a, body_a), (failed_b, body_b) = theirs, unknown
    assert failed_a and failed_b
    assert body_a["error"]["code"] == "not_found", body_a
    normalised_a = json.dumps(body_a, sort_keys=True).replace(alices_id, "<id>")
    normalised_b = json.dumps(body_b, sort_keys=True).replace(id_, "<id>")
    assert normalised_a == normalised_b
    assert not HINTS.search(normalised_a), normalised_a


# -- sessions --------------------------------------------------------------------------------


async def test_cross_principal_read_of_a_session(world: World) -> None:
    alices = world.session_id
    unknown = f"gw-{uuid.uuid4()}"
    async with mcp_as(world.gateway, headers_for("bob")) as bob:
        for tool in ("session_get", "session_set_active", "session_delete"):
            assert_same_not_found(
                await call(bob, tool, sessionId=alices),
                alices,
                await call(bob, tool, sessionId=unknown),
                unknown,
            )
        failed, listed = await call(bob, "session_list")
        assert not failed and alices not in {s["sessionId"] for s in listed["sessions"]}
        # Continuing alice's session by its id is the same "not found", and reaches no CLI.
        calls_before = len(world.upstream.llm_requests)
        assert_same_not_found(
            await call(bob, "claude_request", prompt="what did she say?", sessionId=alices),
            alices,
            await call(bob, "claude_request", prompt="what did she say?", sessionId=unknown),
            unknown,
        )
        cleared = await call(bob, "session_clear_all")
    assert len(world.upstream.llm_requests) == calls_before
    assert not cleared[0]
    async with mcp_as(world.gateway, headers_for("alice")) as alice:
        failed, hers = await call(alice, "session_get", sessionId=alices)
        failed_list, her_list = await call(alice, "session_list")
    assert not failed and hers["sessionId"] == alices
    assert not failed_list and alices in {s["sessionId"] for s in her_list["sessions"]}


async def test_cross_principal_http_bridge_cannot_name_a_session(world: World) -> None:
    """`X-Session-Id` on the HTTP bridge names a conversation as `sessionId` does over MCP: bob
    naming alice's gets the same "not found" as an id that never existed, and reaches no CLI."""

    async def bridge(as_user: str, session_id: str) -> tuple[int, str]:
        body = {"model": "claude-cli/sonnet", "messages": [{"role": "user", "content": "hi"}]}
        headers = headers_for(as_user) | {"X-Session-Id": session_id}
        async with httpx2.AsyncClient(timeout=60) as http:
            answer = await http.post(
                world.gateway.base_url + "/v1/chat/completions", json=body, headers=headers
            )
        return answer.status_code, answer.text

    alices, unknown = world.session_id, f"gw-{uuid.uuid4()}"
    calls_before = len(world.upstream.llm_requests)
    status_a, text_a = await bridge("bob", alices)
    status_b, text_b = await bridge("bob", unknown)
    assert status_a == status_b == 404, (status_a, text_a)
    assert text_a.replace(alices, "<id>") == text_b.replace(unknown, "<id>")
    assert not HINTS.search(text_a), text_a
    assert len(world.upstream.llm_requests) == calls_before


async def test_cross_principal_resume_of_a_cli_session_id_sees_no_history(world: World) -> None:
    """Bob naming the CLI's own id of alice's conversation, in the same workspace, must not
    continue her conversation (the claude CLI would find it there)."""
    calls_before = len(world.upstream.llm_requests)
    async with mcp_as(world.gateway, headers_for("bob")) as bob:
        failed, body = await call(
            bob,
            "claude_request",
            prompt="what did she say?",
            sessionId=world.provider_session_id,
            workspace=WORKSPACE,
        )
    sent = world.upstream.llm_requests[calls_before:]
    leaked = any("alice's secret plan" in r.raw_body.decode("utf-8", "replace") for r in sent)
    assert not leaked, body
    if failed:
        assert body["error"]["code"] in ("not_found", "session_not_found"), body
        assert not HINTS.search(json.dumps(body)), body


async def test_cross_principal_resume_latest_in_a_shared_workspace_sees_no_history(
    world: World,
) -> None:
    calls_before = len(world.upstream.llm_requests)
    async with mcp_as(world.gateway, headers_for("carol")) as carol:
        _, body = await call(
            carol, "claude_request", prompt="continue", resumeLatest=True, workspace=WORKSPACE
        )
    sent = world.upstream.llm_requests[calls_before:]
    leaked = any("alice's" in r.raw_body.decode("utf-8", "replace") for r in sent)
    assert not leaked, body


# -- jobs ------------------------------------------------------------------------------------


async def test_cross_principal_read_of_a_job(world: World) -> None:
    unknown = f"job_{uuid.uuid4().hex}"
    async with mcp_as(world.gateway, headers_for("bob")) as bob:
        for job_id in (world.sync_job_id, world.async_job_id):
            for tool, extra in (
                ("llm_job_status", {}),
                ("llm_job_watch", {"timeoutMs": 0}),
                ("llm_job_cancel", {}),
            ):
                assert_same_not_found(
                    await call(bob, tool, jobId=job_id, **extra),
                    job_id,
                    await call(bob, tool, jobId=unknown, **extra),
                    unknown,
                )
    async with mcp_as(world.gateway, headers_for("alice")) as alice:
        failed, status = await call(alice, "llm_job_status", jobId=world.async_job_id)
    assert not failed and status["state"] == "completed"  # bob's cancel changed nothing


async def test_cross_principal_read_of_a_job_result(world: World) -> None:
    unknown = f"job_{uuid.uuid4().hex}"
    async with mcp_as(world.gateway, headers_for("bob")) as bob:
        for job_id in (world.sync_job_id, world.async_job_id):
            for page in ({}, {"offset": 0, "limit": 10}):
                assert_same_not_found(
                    await call(bob, "llm_job_result", jobId=job_id, **page),
                    job_id,
                    await call(bob, "llm_job_result", jobId=unknown, **page),
                    unknown,
                )
    async with mcp_as(world.gateway, headers_for("alice")) as alice:
        failed, result = await call(alice, "llm_job_result", jobId=world.sync_job_id)
    assert not failed and "alice's secret plan" in result["text"]


# -- recorded requests -----------------------------------------------------------------------


async def read_error(client: Client, uri: str) -> str:
    """The error message reading a resource gets (it must fail)."""
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    return str(raised.value)


async def test_cross_principal_read_of_a_recorded_request(world: World) -> None:
    unknown_corr = f"corr-{uuid.uuid4().hex}"
    unknown_session = f"gw-{uuid.uuid4()}"
    unknown_prefix = uuid.uuid4().hex + uuid.uuid4().hex
    async with mcp_as(world.gateway, headers_for("bob")) as bob:
        assert_same_not_found(
            await call(bob, "llm_request_result", correlationId=world.correlation_id),
            world.correlation_id,
            await call(bob, "llm_request_result", correlationId=unknown_corr),
            unknown_corr,
        )
        session_error = await read_error(bob, f"cache-state://session/{world.session_id}")
        unknown_session_error = await read_error(bob, f"cache-state://session/{unknown_session}")
        prefix_error = await read_error(bob, f"cache-state://prefix/{world.prefix_hash}")
        unknown_prefix_error = await read_error(bob, f"cache-state://prefix/{unknown_prefix}")
        global_view = json.loads(
            (await bob.read_resource("cache-state://global")).contents[0].text  # type: ignore[union-attr]
        )
    assert session_error.replace(world.session_id, "<id>") == unknown_session_error.replace(
        unknown_session, "<id>"
    )
    assert prefix_error.replace(world.prefix_hash, "<id>") == unknown_prefix_error.replace(
        unknown_prefix, "<id>"
    )
    assert not HINTS.search(session_error + prefix_error)
    # The recorder stamped alice's rows with her principal, and bob's view holds none of them
    # (no /v1 route hands recorder rows out at all).
    hers = await world.gateway.engine.recorder.recent("user:alice", limit=50)
    his = await world.gateway.engine.recorder.recent("user:bob", limit=50)
    assert hers and all(r["owner_principal"] == "user:alice" for r in hers)
    assert all(r["owner_principal"] == "user:bob" for r in his)
    assert world.correlation_id not in {r.get("correlation_id") for r in his}
    assert global_view["requests"] == sum(r["state"] == "completed" for r in his)


# -- workspaces ------------------------------------------------------------------------------


async def test_remote_call_without_a_workspace_is_refused(world: World, tmp_path: Path) -> None:
    calls_before = len(world.upstream.llm_requests)
    raw = str(tmp_path)
    refusals = []
    for headers in (headers_for("bob"), headers_for(None)):  # a proxy's user, the bearer
        async with mcp_as(world.gateway, headers) as remote:
            refusals += [
                await call(remote, "claude_request", prompt="hi", workingDir=raw),
                await call(remote, "claude_request", prompt="hi"),
                await call(remote, "claude_request_async", prompt="hi", workingDir=raw),
                await call(remote, "claude_request_async", prompt="hi", createNewSession=True),
                await call(remote, "session_create", provider="claude", workingDir=raw),
            ]
    assert len(world.upstream.llm_requests) == calls_before  # no CLI ever ran
    for failed, body in refusals:
        assert failed and body["error"]["code"] == "workspace_required", body
    # Local callers (the instance token over HTTP, or stdio) may name any directory.
    local = {INSTANCE_TOKEN_HEADER: world.instance_token}
    async with mcp_as(world.gateway, local) as desk:
        failed, answer = await call(desk, "claude_request", prompt="local work", workingDir=raw)
    assert not failed, answer
    assert Path(answer["workingDir"]) == tmp_path.resolve()
    async with Client(build_mcp_server(world.gateway.engine)) as stdio:
        failed, session = await call(stdio, "session_create", provider="claude", workingDir=raw)
    assert not failed, session
    # The same remote caller anchored to the registered workspace is let through.
    async with mcp_as(world.gateway, headers_for("bob")) as bob:
        failed, answer = await call(
            bob, "claude_request", prompt="in the workspace", workspace=WORKSPACE
        )
    assert not failed, answer
    assert Path(answer["workingDir"]) == world.workspace_dir.resolve()
