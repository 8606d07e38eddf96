"""The user's own MCP servers behind the gateway: real servers from npm over stdio, one of
ours (the Python SDK's own MCPServer) over stdio and Streamable HTTP, real gateways, and the
official `mcp` client on our /mcp."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx2
import psutil
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from llmgw_desktop.engine.api import LOCAL_PRINCIPAL, Principal
from llmgw_desktop.engine.calls.approval import PendingApproval
from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.security._oauth_support import oauth_settings
from tests.security._power_support import oauth_mcp
from tests.transports.mcp.upstream_support import (
    CRASHER,
    FILESYSTEM,
    Start,
    crasher,
    everything,
    local_mcp,
    rows,
    served_over_http,
)
from tests.waiting import until

# Bounded waits for processes to appear or go (polled by psutil, never a fixed sleep).
PROCESS_WAIT_S = 20.0


async def test_the_local_user_lists_and_calls_aggregated_tools_and_each_call_is_recorded(
    start: Start, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("hello", encoding="utf-8")
    gateway = await start(
        {
            "mcp.servers": {
                "everything": everything(),
                "files": {"command": str(FILESYSTEM), "args": [str(shared)]},
            }
        }
    )
    async with local_mcp(gateway) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert "claude_request" in names, names
        assert {"everything__echo", "files__list_directory"} <= set(names), names
        echoed = await client.call_tool("everything__echo", {"message": "hello there"})
        listed = await client.call_tool("files__list_directory", {"path": str(shared)})
    assert not echoed.is_error and "hello there" in echoed.content[0].text, echoed
    assert not listed.is_error and "notes.txt" in listed.content[0].text, listed
    (row,) = await rows(gateway, "everything")
    assert row["state"] == "completed" and row["tool"] == "everything__echo", row
    assert row["owner_principal"] == LOCAL_PRINCIPAL and row["transport"] == "mcp-http", row
    # By default neither the arguments nor the result are kept: only their sizes.
    assert "hello there" not in str(row), row
    assert [r["tool"] for r in await rows(gateway, "files")] == ["files__list_directory"]


@pytest.fixture
def http_server() -> Iterator[str]:
    """The crasher served over Streamable HTTP on loopback; its endpoint's URL."""
    with served_over_http(str(CRASHER), "http") as url:
        yield url


async def test_a_server_over_streamable_http_is_relayed(start: Start, http_server: str) -> None:
    gateway = await start({"mcp.servers": {"remote": {"url": http_server}}})
    async with local_mcp(gateway) as client:
        result = await client.call_tool("remote__add", {"a": 2, "b": 40})
    assert not result.is_error and "42" in result.content[0].text, result
    assert [r["state"] for r in await rows(gateway, "remote")] == ["completed"]


async def test_progress_from_the_server_reaches_our_client(start: Start) -> None:
    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with local_mcp(gateway) as client:
        result = await client.call_tool("crasher__slow", {}, progress_callback=progress)
    assert not result.is_error, result
    assert [(d, t) for d, t, _ in seen] == [(1, 2), (2, 2)], seen


async def test_a_server_that_crashes_mid_call_gives_a_clear_error_and_is_restarted(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    async with local_mcp(gateway) as client:
        first = await client.call_tool("crasher__pid", {})
        crashed = await client.call_tool("crasher__crash", {})
        again = await client.call_tool("crasher__pid", {})
    assert crashed.is_error, crashed
    error = crashed.structured_content["error"]
    assert error["code"] == "upstream_server_failed" and error["retryable"] is True, error
    assert "exited with status 3" in error["message"], error
    assert "going down on purpose" in error["details"]["stderrTail"], error
    old, new = int(first.content[0].text), int(again.content[0].text)
    assert old != new and (not psutil.pid_exists(old) or _zombie(old))
    states = [(r["tool"], r["state"], r["error_code"]) for r in await rows(gateway, "crasher")]
    assert ("crasher__crash", "failed", "upstream_server_failed") in states, states
    status = {s["name"]: s for s in gateway.engine.upstream_mcp.status()}["crasher"]
    assert status["state"] == "running" and status["starts"] == 2, status


async def test_a_remote_principal_gets_no_server_tools_unless_the_operator_allows_them(
    start: Start,
) -> None:
    gateway = await start(
        {
            **oauth_settings(),
            "mcp.servers": {"shut": everything(), "open": everything(allow=["echo"])},
        },
    )
    async with oauth_mcp(gateway) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("shut__echo", {"message": "hi"})
        allowed = await client.call_tool("open__echo", {"message": "hi"})
        unlisted = await client.call_tool("open__get-sum", {"a": 1, "b": 2})
    assert not {n for n in names if n.startswith("shut__")}, names
    assert {n for n in names if n.startswith("open__")} == {"open__echo"}, names
    assert refused.is_error, refused
    error = refused.structured_content["error"]
    assert error["code"] == "upstream_tool_refused", error
    assert error["details"]["setting"] == "mcp.servers.shut.remote", error
    assert "mcp.servers.shut.allow" in error["message"], error
    assert unlisted.structured_content["error"]["code"] == "upstream_tool_refused"
    # The legitimate path beside the refusal: the tool the operator allowed runs.
    assert not allowed.is_error and "hi" in allowed.content[0].text, allowed
    (row,) = await rows(gateway, "shut")
    assert row["state"] == "refused" and row["error_code"] == "upstream_tool_refused", row
    assert row["owner_principal"] == "oauth:laptop-editor", row
    # A server offering a remote principal nothing is not started for it: it started once,
    # with the gateway, for the operator, and its list and refused call started it no more.
    status = {s["name"]: s for s in gateway.engine.upstream_mcp.status()}
    assert status["shut"]["starts"] == 1, status["shut"]
    assert status["open"]["state"] == "running", status["open"]


async def test_servers_start_with_the_gateway_but_a_switched_off_or_oauth_one_waits(
    start: Start,
) -> None:
    # Clients that list once without waiting (Claude Code's -p) then see every tool. An OAuth
    # server would open the operator's browser to sign in: it waits for its first use.
    gateway = await start(
        {
            "mcp.servers": {
                "local": everything(),
                "off": {**everything(), "enabled": False},
                "signin": {"url": "http://127.0.0.1:9/mcp", "oauth": True},
            }
        }
    )
    servers = gateway.engine.upstream_mcp

    def state(name: str) -> dict[str, object]:
        return {s["name"]: s for s in servers.status()}[name]

    async with asyncio.timeout(PROCESS_WAIT_S):
        while state("local")["state"] != "running":  # noqa: ASYNC110 - no list asked; polled
            await asyncio.sleep(0.05)
    assert state("off")["starts"] == 0 and state("off")["state"] == "disabled", state("off")
    assert state("signin")["starts"] == 0 and state("signin")["state"] == "idle"


async def test_a_tool_named_for_approval_waits_for_the_desk(start: Start) -> None:
    gateway = await start({"mcp.servers": {"everything": everything(approval=["get-sum"])}})
    asked: list[PendingApproval] = []
    answers = [True, False]

    def desk(pending: PendingApproval) -> None:
        asked.append(pending)
        gateway.engine.approvals.answer(pending.id, answers[len(asked) - 1])

    gateway.engine.approvals.attach_desk(desk)
    async with local_mcp(gateway) as client:
        approved = await client.call_tool("everything__get-sum", {"a": 1, "b": 2})
        denied = await client.call_tool("everything__get-sum", {"a": 1, "b": 2})
        unasked = await client.call_tool("everything__echo", {"message": "x"})
    assert not approved.is_error and "3" in approved.content[0].text, approved
    assert denied.structured_content["error"]["code"] == "approval_denied", denied
    assert "mcp.servers.everything.approval" in denied.structured_content["error"]["message"]
    assert not unasked.is_error
    assert [p.request.allowed_tools for p in asked] == [("everything__get-sum",)] * 2
    states = [r["state"] for r in await rows(gateway, "everything")]
    assert sorted(states) == ["completed", "completed", "denied"], states


async def test_a_vault_reference_reaches_the_server_and_the_gateways_secrets_do_not(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", "ab" * 32)
    gateway = await start(
        {"mcp.servers": {"everything": everything(env={"UPSTREAM_TOKEN": "vault:upstream"})}}
    )
    await gateway.engine.vault.store_key(
        Principal(LOCAL_PRINCIPAL, "local"), "upstream", "sealed-upstream-token-123"
    )
    async with local_mcp(gateway) as client:
        result = await client.call_tool("everything__get-env", {})
    text = result.content[0].text
    assert "sealed-upstream-token-123" in text
    assert "LLM_GATEWAY_" not in text, "the gateway's own variables reached a server"


def test_kill_9_of_the_gateway_leaves_no_server_running(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "config.toml").write_text(
        f"[mcp.servers.crasher]\ncommand = {str(sys.executable)!r}\nargs = [{str(CRASHER)!r}]\n",
        encoding="utf-8",
    )
    proc = gp.start(["--headless"], gp.child_env(tmp_path, port))
    try:
        gp.wait_ready(proc, port)
        server_pid = _server_pid(port)
        assert psutil.pid_exists(server_pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        with suppress(psutil.NoSuchProcess):
            psutil.Process(server_pid).wait(timeout=PROCESS_WAIT_S)
        assert not psutil.pid_exists(server_pid) or _zombie(server_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _server_pid(port: int) -> int:
    """The crasher's pid, asked through the gateway's /mcp by the official client."""
    import anyio

    async def ask() -> int:
        async with (
            httpx2.AsyncClient(timeout=60) as http,
            Client(
                streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http),
                mode="legacy",
            ) as client,
        ):
            result = await client.call_tool("crasher__pid", {})
        return int(result.content[0].text)

    return anyio.run(ask)


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_a_server_that_served_then_crashed_restarts_at_once_each_time(
    start: Start, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A run that served ends a run of failed starts: after six failed starts a server that
    ran 12 s, then crashed on a call, was started again only 30 s later, and a call meanwhile
    waited those 30 s to be told "it did not start within 30 s" (second person pass,
    2026-11-29). Each crash after serving is restarted at the first back-off."""
    from llmgw_desktop.engine.upstream_mcp import connection

    monkeypatch.setattr(connection, "SERVED_S", 0.0)  # any run that served (5 s in use)
    caplog.set_level("INFO", logger=connection.__name__)
    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    async with local_mcp(gateway) as client:
        for _ in range(4):
            assert not (await client.call_tool("crasher__pid", {})).is_error
            assert (await client.call_tool("crasher__crash", {})).is_error
        assert not (await client.call_tool("crasher__pid", {})).is_error
    waits = [r.getMessage() for r in caplog.records if "restarts in" in r.getMessage()]
    assert len(waits) == 4 and all(w.endswith("restarts in 0.5 s") for w in waits), waits


async def test_a_call_is_told_at_once_when_the_next_start_is_past_its_wait(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a server waits out a back-off longer than a caller's wait for a start, the caller
    is told when it is started again, at once, not after its wait with "did not start"."""
    from llmgw_desktop.engine.backoff import Backoff
    from llmgw_desktop.engine.upstream_mcp import connection

    monkeypatch.setattr(connection, "RESTART", Backoff(first_s=60.0, longest_s=60.0))
    # A caller waits up to 20 s for a start (a loaded machine started the crasher past 2 s):
    # the 60 s back-off is past it.
    gateway = await start({"mcp.servers": {"crasher": crasher()}, "mcp.start_timeout_ms": 20_000})
    async with local_mcp(gateway) as client:
        assert not (await client.call_tool("crasher__pid", {})).is_error
        assert (await client.call_tool("crasher__crash", {})).is_error
        waited = time.monotonic()
        told = await client.call_tool("crasher__pid", {})
    assert told.is_error, told
    assert time.monotonic() - waited < 1.5
    message = told.structured_content["error"]["message"]
    assert "is started again in" in message and "did not start within" not in message, message


async def test_a_server_that_fails_is_told_to_the_desk_and_counted_on_health(
    start: Start,
) -> None:
    """A failing server is not seen only on its page: its failure is an engine notice (the
    tray's balloon and history, opening the MCP servers page), its return is said too, and
    `/health` counts it while it fails (the names are the user's: the count only)."""
    from llmgw_desktop.engine.api import Notice

    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    told: list[Notice] = []
    gateway.engine.events.subscribe(Notice, told.append)
    async with local_mcp(gateway) as client:
        assert not (await client.call_tool("crasher__pid", {})).is_error  # legitimate: runs
        assert gateway.engine.health()["mcpServers"] == {"configured": 1, "failing": 0}
        assert (await client.call_tool("crasher__crash", {})).is_error
        await until(gateway.engine.upstream_mcp.failing, "the server failing")
        assert gateway.engine.health()["mcpServers"] == {"configured": 1, "failing": 1}
        assert not (await client.call_tool("crasher__pid", {})).is_error  # restarted
    assert gateway.engine.health()["mcpServers"] == {"configured": 1, "failing": 0}
    assert [(n.level, n.topic) for n in told] == [
        ("error", "mcp-servers"),
        ("info", "mcp-servers"),
    ], told
    assert told[0].message.startswith("MCP server crasher failed: exited with status 3"), told
    assert told[1].message == "MCP server crasher runs again."


async def test_a_server_failing_to_start_again_and_again_is_told_once(
    start: Start, tmp_path: Path
) -> None:
    """Restarted with a back-off, each failed start logged: the desk hears of it once."""
    from llmgw_desktop.engine.api import Notice
    from llmgw_desktop.engine.upstream_mcp import connection

    missing = {"command": str(tmp_path / "no-such-server")}
    told: list[Notice] = []
    gateway = await start({"mcp.servers": {"gone": missing}})
    gateway.engine.events.subscribe(Notice, told.append)
    server = gateway.engine.upstream_mcp.servers["gone"]
    server.wake()
    await until(lambda: server.starts >= 3, "three failed starts", timeout_s=30)
    assert connection.RESTART.first_s < 2  # the test's three starts take a few seconds
    assert [n.level for n in told] == ["error"], told
    assert gateway.engine.health()["mcpServers"]["failing"] == 1
