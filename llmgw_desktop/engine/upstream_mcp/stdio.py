"""A stdio MCP server as the gateway starts it: tied to the gateway's life, stderr kept.

The SDK's `stdio_client` spawns the server itself and hides the process, so the gateway could
neither hold its process group in the lifeline (kill -9 of the gateway would leave the server,
and any child it started, running) nor keep the tail of its stderr for the desk. So the
process is ours, spawned as a CLI is (an environment allow-list, `Lifeline.tie` and `hold`,
its own process group), and only the message framing is the SDK's: newline-delimited JSON-RPC
in and out of the same `SessionMessage` streams `ClientSession` reads from any transport. The
relay's tool calls go on the same pipes beside the session (`stdio_line.py`): their answers are
taken off the server's output before the SDK parses it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pydantic_core
from mcp.shared.message import SessionMessage

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.process_tree import stop_tree
from llmgw_desktop.engine.upstream_mcp.stdio_line import INTERNAL_ERROR, StdioLine

__all__ = ["STDERR_TAIL_BYTES", "ServerProcess", "stdio_streams"]

log = logging.getLogger(__name__)

# The longest message line a server may send (a large tool result, an embedded file).
LINE_LIMIT_BYTES = 64 * 1024 * 1024
# The lists a result may hold at its top level (tools/list, prompts/list, resources/list,
# resources/templates/list): what `most_listed` cuts.
LIST_KEYS = ("tools", "prompts", "resources", "resourceTemplates")
# How much of a server's stderr is kept for the desk and for a crash's error.
STDERR_TAIL_BYTES = 4096
# Most characters of the parse's complaint kept in the error a request gets for its answer.
UNREADABLE_CHARS = 300
# After stdin closes: how long a server gets to exit, then after SIGTERM before SIGKILL.
EXIT_GRACE_S = 2.0
TERM_GRACE_S = 2.0


@dataclass
class ServerProcess:
    """What the gateway knows of a running stdio server."""

    pid: int = 0
    stderr: collections.deque[bytes] = field(default_factory=collections.deque)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    returncode: int | None = None
    # Tool calls sent beside the SDK's session on this run's pipes, once it runs.
    line: StdioLine | None = None

    def stderr_tail(self) -> str:
        """The last few KiB the server wrote to stderr (decoded leniently)."""
        return b"".join(self.stderr).decode("utf-8", "replace")[-STDERR_TAIL_BYTES:]

    def _keep(self, chunk: bytes) -> None:
        self.stderr.append(chunk)
        while sum(len(c) for c in self.stderr) > STDERR_TAIL_BYTES and len(self.stderr) > 1:
            self.stderr.popleft()


@asynccontextmanager
async def stdio_streams(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    lifeline: Lifeline,
    process: ServerProcess,
    most_listed: int | None = None,
) -> AsyncIterator[tuple[Any, Any]]:
    """Start the server and yield the (read, write) streams a `ClientSession` takes; the server
    is stopped (stdin closed, then its group signalled) when the context ends. A list it
    answers (tools, prompts, resources) is cut to `most_listed` entries as it is read, before
    the SDK validates it on the loop.

    Raises:
        OSError: the server cannot be spawned (no such program, not executable, bad cwd).
    """
    spawn, extra = await lifeline.tie(argv, env, cwd)
    proc = await asyncio.create_subprocess_exec(
        *spawn,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        limit=LINE_LIMIT_BYTES,
        start_new_session=sys.platform != "win32",
        **extra,
    )
    process.pid = proc.pid
    assert proc.stdin is not None
    line = process.line = StdioLine(proc.stdin)
    held = False
    try:
        await lifeline.hold(proc.pid)
        held = True
        read_send, read_receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](0)
        async with anyio.create_task_group() as group:
            group.start_soon(_read_stdout, proc, line, read_send, most_listed)
            group.start_soon(_write_stdin, proc, write_receive)
            group.start_soon(_read_stderr, proc, process)
            group.start_soon(_watch_exit, proc, process)
            try:
                yield read_receive, write_send
            finally:
                with anyio.CancelScope(shield=True):
                    await _stop(proc)
                group.cancel_scope.cancel()
    finally:
        line.close()
        if proc.returncode is None:  # failed before the streams were handed over
            with anyio.CancelScope(shield=True):
                await _stop(proc)
        if held:
            await lifeline.release(proc.pid)
        process.returncode = proc.returncode
        process.ended.set()


async def _read_stdout(
    proc: asyncio.subprocess.Process,
    line: StdioLine,
    read_send: Any,
    most_listed: int | None,
) -> None:
    """The server's messages, line by line, into the session's read stream; the relay's
    answers taken off on the way (`line.take`)."""
    assert proc.stdout is not None
    async with read_send:
        try:
            while True:
                try:
                    text = await proc.stdout.readline()
                except (ValueError, OSError) as exc:  # a line over the limit, a closed pipe
                    await read_send.send(ValueError(f"unreadable output: {exc}"))
                    break
                if not text:
                    break
                if text.isspace() or line.take(text):  # (strip() would copy a 32 MB line)
                    continue
                await read_send.send(_message_or_failure(text, most_listed))
        finally:
            line.close()  # the calls still waiting fail as the session's do


def _message_or_failure(text: bytes, most_listed: int | None) -> SessionMessage | Exception:
    try:
        return SessionMessage(_parsed(text, most_listed))
    except ValueError as exc:
        # An answer the SDK cannot read would be dropped, and the call it answers (one through
        # the session: progress, tracing) would wait for ever: it gets that answer as its
        # error instead.
        unread = _unreadable_answer(text, exc)
        return exc if unread is None else SessionMessage(unread)


async def _write_stdin(proc: asyncio.subprocess.Process, write_receive: Any) -> None:
    """The session's messages onto the server's stdin, a line each, until it is gone."""
    assert proc.stdin is not None
    async with write_receive:
        async for item in write_receive:
            data = item.message.model_dump_json(by_alias=True, exclude_unset=True)
            try:
                proc.stdin.write(data.encode("utf-8") + b"\n")
                await proc.stdin.drain()
            except (ConnectionError, RuntimeError):
                return  # the server is gone; the reader ends the session


async def _read_stderr(proc: asyncio.subprocess.Process, process: ServerProcess) -> None:
    assert proc.stderr is not None
    while chunk := await proc.stderr.read(4096):
        process._keep(chunk)


async def _watch_exit(proc: asyncio.subprocess.Process, process: ServerProcess) -> None:
    process.returncode = await proc.wait()
    process.ended.set()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Close stdin and let the server exit; then stop its group as every child's is
    (`process_tree.stop_tree`: SIGTERM, then SIGKILL to what is left, grandchildren too)."""
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    if proc.returncode is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), EXIT_GRACE_S)
    # Whatever the server started in its group goes too, whether or not it has exited.
    await stop_tree(proc, TERM_GRACE_S)


def _parsed(line: bytes, most_listed: int | None = None) -> Any:
    """One JSON-RPC message line as the SDK's type, a list result cut to `most_listed`
    before any model is built. It is decoded first by the parser the SDK's own parse uses
    (pydantic-core's, so an integer past 64 bits or a NaN reads as it did), then validated:
    the SDK's one-step parse of a list of 20,000 tools (32 MB) built every tool on the loop,
    300-450 ms against 40-125 ms for the decode and 4 ms for the cut list's validation; a
    small message is faster this way too (15 against 39 us; measured 2026-11-28).

    Raises:
        ValueError: it is not one (pydantic's ValidationError is a ValueError).
    """
    decoded = pydantic_core.from_json(line)
    result = decoded.get("result") if isinstance(decoded, dict) else None
    if most_listed is not None and isinstance(result, dict):
        for key in LIST_KEYS:
            items = result.get(key)
            if isinstance(items, list) and len(items) > most_listed:
                result[key] = items[:most_listed]
    return mcp_types.jsonrpc_message_adapter.validate_python(decoded, by_name=False)


def _unreadable_answer(line: bytes, problem: ValueError) -> Any:
    """The JSON-RPC error the session's request gets for `line`, an answer to it (an `id`
    and a `result` or an `error`) that is no valid message, e.g. an error whose code is no
    integer; None when the line answers no request (the SDK's parse error says what it is)."""
    try:
        message = jsonio.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or "method" in message:
        return None
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    if "result" not in message and "error" not in message:
        return None
    said = " ".join(str(problem).split())[:UNREADABLE_CHARS]
    return mcp_types.JSONRPCError(
        jsonrpc="2.0",
        id=request_id,
        error=mcp_types.ErrorData(
            code=INTERNAL_ERROR, message=f"the server's answer is not valid JSON-RPC: {said}"
        ),
    )
