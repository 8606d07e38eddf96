"""Clients that leave mid-stream, and editors that quit: a normal end, never an error.

A raw-socket client opens the MCP event stream (GET) and a tool call's stream (POST), then
closes its sockets while the gateway still has something to send on them; then the gateway is
stopped. Nothing may be logged at ERROR, and no task may be left with an exception nobody
retrieved (asyncio reports those when the task is collected, so the test collects). The stdio
relay is driven the same way: the editor closes its end while an answer is on its way.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.jobs.desk_rows import DeskFilter
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.logged_errors import errors_logged
from tests.mcp_wire import PROTOCOL, initialize
from tests.reliability._callers_support import install_recording_claude, runs
from tests.transports.mcp.conftest import start_gateway

# Long enough for the client to be gone before the answer is written, short enough to wait for.
CLAUDE_SECONDS = 1.0
RACES = 20  # event streams opened and dropped at once, each at a slightly different moment
WAIT_S = 30.0


class Records(logging.Handler):
    """Every record at WARNING or above, from any logger (asyncio's included)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def errors(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in errors_logged(self.records)]


@pytest.fixture
def records() -> Iterator[Records]:
    # What earlier tests in this worker left for the collector (an SDK client never closed,
    # whose finaliser schedules its close on a loop long gone) is collected before the watch
    # begins: the test judges its own run's unretrieved tasks, not theirs (seen once in a
    # two-worker run).
    gc.collect()
    handler = Records()
    watched = [logging.getLogger(), logging.getLogger("asyncio")]
    for logger in watched:
        logger.addHandler(handler)
    yield handler
    for logger in watched:
        logger.removeHandler(handler)


@pytest.fixture
async def gateway(
    loaded: LoadedSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GatewayRuntime]:
    monkeypatch.setenv("CLAUDE_STAND_IN_SECONDS", str(CLAUDE_SECONDS))
    bin_dir = install_recording_claude(tmp_path / "bin", tmp_path / "claude-runs.jsonl")
    runtime, lock = await start_gateway(loaded, {"providers.cli_path": [str(bin_dir)]})
    try:
        yield runtime
    finally:
        await runtime.stop()  # stopping twice is harmless: the test stops it itself
        lock.release()


class RawClient:
    """HTTP/1.1 requests to /mcp on sockets of its own, closed whenever the test says."""

    def __init__(self, gateway: GatewayRuntime) -> None:
        host, port = gateway.base_url.removeprefix("http://").rsplit(":", 1)
        self.host, self.port, self.path = host, int(port), gateway.settings.http.path
        self.session_id = ""
        self.open: list[asyncio.StreamWriter] = []

    async def request(
        self, method: str, message: dict[str, object] | None = None
    ) -> tuple[bytes, asyncio.StreamReader]:
        """Send one request and read its status line and headers; the body is left unread."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(message).encode() if message is not None else b""
        headers = [
            f"{method} {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: application/json, text/event-stream",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            f"MCP-Protocol-Version: {PROTOCOL}",
        ]
        if self.session_id:
            headers.append(f"Mcp-Session-Id: {self.session_id}")
        writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
        await writer.drain()
        self.open.append(writer)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
        return head, reader

    async def initialize(self) -> None:
        head, _ = await self.request(
            "POST",
            initialize("raw-socket", version="1"),
        )
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "mcp-session-id":
                self.session_id = value.strip()
        assert self.session_id, head
        await self.request("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"})

    def hang_up(self) -> None:
        """Close every socket at once, as a client process that dies does."""
        for writer in self.open:
            writer.close()
        self.open.clear()


async def read_answer(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The JSON-RPC response on an SSE answer stream (its first `data:` line with an id)."""
    while line := await reader.readline():
        text = line.decode().strip()
        if text.startswith("data:") and '"id"' in text:
            return dict(json.loads(text[5:]))
    raise AssertionError("the answer stream ended without a response")


async def wait_for_run(record: Path, marker: str) -> None:
    """Until the stand-in has started the run whose prompt holds `marker`."""
    async with asyncio.timeout(WAIT_S):
        while not runs(record, marker):  # noqa: ASYNC110 - another process writes the record
            await asyncio.sleep(0.05)


async def wait_for_jobs(gateway: GatewayRuntime) -> None:
    """Until every job the gateway has finishes (their answers have nowhere to go)."""
    for job in await gateway.engine.jobs.list_for_desk(DeskFilter()):
        await gateway.engine.jobs.wait(job.view.id, job.principal, WAIT_S)


async def test_a_client_leaving_mid_stream_is_not_an_error(
    gateway: GatewayRuntime, records: Records, tmp_path: Path
) -> None:
    client = RawClient(gateway)
    await client.initialize()
    head, _ = await client.request("GET")
    assert head.startswith(b"HTTP/1.1 200"), head  # the event stream is open
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "claude_request", "arguments": {"prompt": "LEFT-EARLY"}},
    }
    head, _ = await client.request("POST", call)
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head, head
    await wait_for_run(tmp_path / "claude-runs.jsonl", "LEFT-EARLY")
    client.hang_up()  # the answer is still being made: it will find nobody to write to
    # Event streams opened and dropped before (or while) the gateway sends their headers.
    for attempt in range(RACES):
        racer = RawClient(gateway)
        racer.session_id = client.session_id
        _, writer = await asyncio.open_connection(racer.host, racer.port)
        writer.write(
            (
                f"GET {racer.path} HTTP/1.1\r\nHost: {racer.host}:{racer.port}\r\n"
                f"Accept: text/event-stream\r\nMCP-Protocol-Version: {PROTOCOL}\r\n"
                f"Mcp-Session-Id: {racer.session_id}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        await asyncio.sleep(0.001 * (attempt % 5))
        writer.close()
    await wait_for_jobs(gateway)
    # The legitimate path still works: a client that stays gets its answer.
    stayer = RawClient(gateway)
    await stayer.initialize()
    head, reader = await stayer.request(
        "POST", {**call, "params": {"name": "claude_request", "arguments": {"prompt": "STAYED"}}}
    )
    answer = await asyncio.wait_for(read_answer(reader), WAIT_S)
    assert answer["result"]["isError"] is False, answer
    assert answer["result"]["structuredContent"]["text"].startswith("OK "), answer
    stayer.hang_up()
    await gateway.stop()
    gc.collect()
    await asyncio.sleep(0)
    assert records.errors() == []
    assert not any("never retrieved" in r.getMessage() for r in records.records)


async def test_an_editor_quitting_under_the_stdio_relay_is_one_line(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    # The editor's end of the relay's stdout is a pipe the test can close, as a quitting editor.
    editor_reads, relay_writes = os.pipe()
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "llmgw_desktop",
        "--verbose",  # the relay's log on stderr, where the test reads it
        "mcp",
        env=dict(os.environ),
        stdin=asyncio.subprocess.PIPE,
        stdout=relay_writes,
        stderr=asyncio.subprocess.PIPE,
    )
    os.close(relay_writes)
    assert relay.stdin is not None and relay.stderr is not None

    def send(message: dict[str, object]) -> None:
        assert relay.stdin is not None
        relay.stdin.write((json.dumps(message) + "\n").encode())

    send(initialize("quitting-editor", version="1"))
    first = await asyncio.wait_for(asyncio.to_thread(os.read, editor_reads, 65536), WAIT_S)
    assert b'"result"' in first, first
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "claude_request", "arguments": {"prompt": "EDITOR-QUITS"}},
        }
    )
    await wait_for_run(tmp_path / "claude-runs.jsonl", "EDITOR-QUITS")
    # The editor quits: first its reading end goes, then (once the answer is on its way to
    # nobody) its writing end. The relay delivers what is in flight before it exits.
    os.close(editor_reads)
    await wait_for_jobs(gateway)
    seen = await asyncio.wait_for(read_until(relay.stderr, "the editor closed the connection"), 10)
    relay.stdin.close()
    stderr = seen + (await asyncio.wait_for(relay.stderr.read(), WAIT_S)).decode()
    assert await relay.wait() == 0, stderr
    assert "Traceback" not in stderr and "never retrieved" not in stderr, stderr
    assert " ERROR " not in stderr and "WARNING" not in stderr, stderr
    assert stderr.count("the editor closed the connection") == 1, stderr


async def read_until(stream: asyncio.StreamReader, text: str) -> str:
    """What `stream` says up to and including the line holding `text`."""
    seen = ""
    while line := (await stream.readline()).decode():
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"never said {text!r}:\n{seen}")


KILLED_CLIENT = """
import asyncio, sys
from mcp import Client, Implementation
async def main():
    info = Implementation(name="killed-agent", version="1")
    async with Client(sys.argv[1], mode="legacy", client_info=info) as client:
        print("connected", flush=True)
        await client.call_tool("claude_request", {"prompt": sys.argv[2]})
asyncio.run(main())
"""


async def test_a_client_process_killed_mid_call_is_not_an_error(
    gateway: GatewayRuntime, records: Records, tmp_path: Path
) -> None:
    # The official client, with its event stream open and a call in flight, killed outright.
    for n in range(3):
        agent = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            KILLED_CLIENT,
            gateway.mcp_url,
            f"KILLED-{n}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert agent.stdout is not None
        assert await asyncio.wait_for(agent.stdout.readline(), WAIT_S) == b"connected\n"
        await wait_for_run(tmp_path / "claude-runs.jsonl", f"KILLED-{n}")
        agent.kill()
        await agent.wait()
    await wait_for_jobs(gateway)
    await gateway.stop()
    gc.collect()
    await asyncio.sleep(0)
    assert records.errors() == []
    assert not any("never retrieved" in r.getMessage() for r in records.records)
