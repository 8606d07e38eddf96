"""`llmgw-desktop mcp` with the official client over stdio: in-process, and relaying to a
running gateway; both protocol versions; a real CLI answering through it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from mcp import Client, StdioServerParameters

from llmgw_desktop.transports.line_caps import MCP_EVENT_BYTES, LineTooLong
from llmgw_desktop.transports.mcp import stdio_wire
from llmgw_desktop.transports.mcp.stdio_wire import ThreadFedReader
from tests.contract.offline import CLI_BIN, find_cli
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port
from tests.transports.mcp.conftest import session_made_through, structured
from tests.transports.mcp.test_mcp_http import EXPECTED_TOOLS

MODES = ["legacy", "2026-07-28"]


def stdio_params(home: Path, port: int) -> StdioServerParameters:
    env = gp.child_env(home, port, LLM_GATEWAY_CLI_PATH=str(CLI_BIN))
    return StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=env
    )


@pytest.mark.parametrize("mode", MODES)
async def test_stdio_in_process_answers_with_a_real_cli(
    mode: str, tmp_path: Path, offline: Path, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    async with Client(stdio_params(tmp_path / "gw", free_port()), mode=mode) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        answer = structured(await client.call_tool("claude_request", {"prompt": "over stdio"}))
    assert tools == EXPECTED_TOOLS
    assert "FAKE-OK" in answer["text"] and "over stdio" in answer["text"]
    log = (tmp_path / "gw" / "log" / "llmgw-desktop.log").read_text()
    assert "relaying" not in log


@pytest.mark.parametrize("mode", MODES)
async def test_stdio_relays_to_the_running_gateway(mode: str, tmp_path: Path) -> None:
    port = free_port()
    env = gp.child_env(tmp_path / "gw", port)
    with gp.serving(["--headless"], env, port):
        # The session lives in the running gateway's store: ask it directly over HTTP.
        made, listed = await session_made_through(
            stdio_params(tmp_path / "gw", port), port, "relay", mode
        )
    assert made in listed
    assert "relaying stdio MCP" in gp.read_log(tmp_path / "gw")


def test_stdout_carries_only_mcp_messages(tmp_path: Path) -> None:
    env = gp.child_env(tmp_path / "gw", free_port())
    request = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "llmgw_desktop", "--verbose", "mcp"],  # logs to stderr only
        input=request,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith("{") for line in lines), result.stdout
    assert '"id":1' in lines[0].replace(" ", "")
    assert "store open" in result.stderr  # --verbose went to stderr, not into the protocol
    assert os.path.exists(tmp_path / "gw" / "log" / "llmgw-desktop.log")


def _script(tmp_path: Path) -> tuple[int, dict[str, str], Path]:
    """A gateway's port and environment, and a script's requests written to a file at once:
    `initialize`, `initialized` and `tools/list` (the longest answer)."""
    port = free_port()
    lines = [
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}',
        '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
    ]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(lines) + "\n")
    return port, gp.child_env(tmp_path / "gw", port), requests


@pytest.mark.parametrize("stdout_is", ["file", "pipe"])
def test_the_relay_answers_lines_written_at_once_from_a_file_or_a_pipe(
    tmp_path: Path, stdout_is: str
) -> None:
    """A script's way: every line written at once, stdin closed, stdin and stdout files
    (`llmgw-desktop mcp < requests.jsonl > answers.jsonl`). Before, uvloop aborted the relay
    (rc 134, nothing answered) on a file it cannot watch, and the `tools/list` sent beside the
    `initialize` was refused for want of the session its answer carries."""
    port, env, requests = _script(tmp_path)
    answers = tmp_path / "answers.jsonl"
    command = [sys.executable, "-m", "llmgw_desktop", "mcp"]
    with gp.serving(["--headless"], env, port), requests.open("rb") as stdin:
        if stdout_is == "file":
            with answers.open("wb") as stdout:
                done = subprocess.run(command, stdin=stdin, stdout=stdout, env=env, timeout=60)
            out = answers.read_text()
        else:
            done = subprocess.run(command, stdin=stdin, capture_output=True, env=env, timeout=60)
            out = done.stdout.decode()
    assert done.returncode == 0
    by_id = {m["id"]: m for m in map(json.loads, out.splitlines())}
    assert "result" in by_id[1], by_id
    assert {t["name"] for t in by_id[2]["result"]["tools"]} == EXPECTED_TOOLS
    assert "relaying stdio MCP" in gp.read_log(tmp_path / "gw")


def test_the_relay_ends_only_once_its_answers_reached_a_slow_reader(tmp_path: Path) -> None:
    """CI, 2026-11-30: a script's pipe got the `tools/list` answer cut at 131,004 characters
    (exit 0): the relay ended at its input's end with the rest still in its stdout writer's
    buffer. Here the reader starts reading only a while after the relay has answered, so the
    pipe fills (64 KiB) and the rest waits in the writer: it must come whole all the same."""
    port, env, requests = _script(tmp_path)
    command = [sys.executable, "-m", "llmgw_desktop", "mcp"]
    with gp.serving(["--headless"], env, port), requests.open("rb") as stdin:
        relay = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, env=env)
        assert relay.stdout is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            relay.wait(timeout=8)  # a reader busy elsewhere: the relay answers meanwhile
        out = relay.stdout.read().decode()
        assert relay.wait(timeout=60) == 0
    by_id = {m["id"]: m for m in map(json.loads, out.splitlines())}
    assert "result" in by_id[2], by_id[2]
    assert {t["name"] for t in by_id[2]["result"]["tools"]} == EXPECTED_TOOLS


# An editor's line past the stdio door's cap, relayed or served in process (SECURITY.md,
# finding 113): the SDK's stdio transport, which serves the door in process, read a line whole
# however long it grew (1 GiB without a newline: 1 GiB more held).
SERVED = ["in process", "relayed"]
MIB = 1024 * 1024


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (Linux keeps it; elsewhere, its memory now)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return int(psutil.Process(pid).memory_info().rss)
    (kib,) = (line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) * 1024


def _hello(request_id: int = 1) -> bytes:
    params = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    message = {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}
    return json.dumps(message).encode() + b"\n"


async def _stdio_door(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`llmgw-desktop mcp`, its `initialize` answered."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "llmgw_desktop", "mcp"),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=4 * MCP_EVENT_BYTES,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(_hello())
    await process.stdin.drain()
    answer = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
    assert "result" in answer, answer
    return process


async def _send_past_the_cap(process: asyncio.subprocess.Process) -> tuple[int, int]:
    """Four caps' worth of one line without a newline, a MiB at a time, while the door reads
    it: (bytes written before the door closed its stdin, its peak memory's growth meanwhile,
    read after each MiB it took)."""
    assert process.stdin is not None
    before = peak = _peak_rss(process.pid)
    sent, chunk = 0, b"x" * MIB
    try:
        while sent < 4 * MCP_EVENT_BYTES:
            process.stdin.write(chunk)
            await process.stdin.drain()
            sent += len(chunk)
            peak = _peak_rss(process.pid)
        process.stdin.write(b"\n")
        await process.stdin.drain()
    except (ConnectionError, psutil.Error, OSError, ValueError):
        pass  # the door refused the line and ended (its memory is no longer there to read)
    return sent, peak - before


@pytest.mark.parametrize("served", SERVED)
async def test_a_line_past_the_cap_ends_the_door_alike_on_both_paths_and_a_client_goes_on(
    served: str, tmp_path: Path
) -> None:
    """The attack: one line four times the cap, no newline. Either path reads at most the cap
    of it (its memory grows by well under what was sent), says so on stderr and ends with exit
    1, having written no answer for it. The legitimate path beside it: the official client
    then completes initialize, tools/list and a tool call on the same door, served the same
    way (the data directory's lock went with the refused process)."""
    port = free_port()
    env = gp.child_env(tmp_path / "gw", port)
    with contextlib.ExitStack() as stack:
        if served == "relayed":
            stack.enter_context(gp.serving(["--headless"], env, port))
        process = await _stdio_door(env)
        try:
            sent, grown = await _send_past_the_cap(process)
            assert grown < 2 * MCP_EVENT_BYTES, (grown // MIB, sent // MIB)
            ended = await asyncio.wait_for(process.wait(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.stdout is not None and process.stderr is not None
        assert await process.stdout.read() == b""  # no answer to the refused line
        stderr = (await process.stderr.read()).decode()
        assert ended == 1, stderr
        assert str(LineTooLong(MCP_EVENT_BYTES)) in stderr
        assert ("relaying stdio MCP" in gp.read_log(tmp_path / "gw")) == (served == "relayed")
        async with Client(stdio_params(tmp_path / "gw", port)) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            listed = structured(await client.call_tool("session_list", {}))
    assert tools == EXPECTED_TOOLS
    assert listed["sessions"] == []


# Run by this, the door is its only child: its peak memory is the children's peak.
PEAK_OF_CHILD = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("served", SERVED)
def test_a_file_on_stdin_is_read_a_bounded_read_at_a_time(served: str, tmp_path: Path) -> None:
    """A script's file on stdin (`llmgw-desktop mcp < requests.jsonl`), its `initialize` then a
    line of eight caps without a newline: the door refuses the second having read at most
    about twice the cap of it, and ends (answering nothing but the first, if that answer
    came before the refusal ended the session). Before, a file was read whole into memory
    at once, whatever its size (each path then held all 512 MiB)."""
    port = free_port()
    env = gp.child_env(tmp_path / "gw", port)
    requests = tmp_path / "requests.jsonl"
    with requests.open("wb") as out:
        out.write(_hello())
        for _ in range(8 * MCP_EVENT_BYTES // MIB):
            out.write(b"x" * MIB)
    command = [sys.executable, "-c", PEAK_OF_CHILD, sys.executable, "-m", "llmgw_desktop", "mcp"]
    with contextlib.ExitStack() as stack:
        if served == "relayed":
            stack.enter_context(gp.serving(["--headless"], env, port))
        stdin = stack.enter_context(requests.open("rb"))
        done = subprocess.run(command, stdin=stdin, capture_output=True, env=env, timeout=120)
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert str(LineTooLong(MCP_EVENT_BYTES)) in stderr
    # Said in one line on either path (relayed, a file's reader wrapped it in an exception
    # group: a traceback), and no read left holding stdin's lock at exit (a CI run's relay
    # ended in "Fatal Python error: _enter_buffered_busy", exit 250).
    assert "Traceback" not in stderr and "Fatal Python error" not in stderr, stderr
    answers = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert all(answer["id"] == 1 and "result" in answer for answer in answers), answers
    peak = int(stderr.strip().splitlines()[-1])
    assert peak < 4 * MCP_EVENT_BYTES, (peak // MIB, requests.stat().st_size // MIB)


async def test_a_line_just_under_the_cap_is_answered_in_process(tmp_path: Path) -> None:
    """A request padded (JSON whitespace) to just under the cap is read and answered, and the
    door serves on: the cap refuses only what passes it."""
    process = await _stdio_door(gp.child_env(tmp_path / "gw", free_port()))
    assert process.stdin is not None and process.stdout is not None
    try:
        head = b'{"jsonrpc":"2.0","id":2,"method":"ping"'
        process.stdin.write(head + b" " * (MCP_EVENT_BYTES - len(head) - 2) + b"}\n")
        process.stdin.write(b'{"jsonrpc":"2.0","id":3,"method":"tools/list"}\n')
        await process.stdin.drain()
        ping = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        listed = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert ping == {"jsonrpc": "2.0", "id": 2, "result": {}}, ping
    assert {t["name"] for t in listed["result"]["tools"]} == EXPECTED_TOOLS


CHILD_READS_STDIN = """
import asyncio, subprocess, sys
from llmgw_desktop.transports.mcp.stdio_in_process import claimed_stdin

with claimed_stdin() as wire:
    child = subprocess.run(
        [sys.executable, "-c", "import sys; print(len(sys.stdin.buffer.read()))"],
        capture_output=True, text=True, check=True,
    )
    print("child read", child.stdout.strip(), "bytes; the door read", wire.readline().strip())
print("fd 0 after:", sys.stdin.buffer.readline().strip())
"""


def test_while_the_door_serves_in_process_a_child_reads_no_stdin(tmp_path: Path) -> None:
    """The in-process door reads its own stdin (the SDK then leaves fd 0 alone), so it keeps
    the SDK's guarantee itself: a child process started meanwhile inherits fd 0 reading the null
    device (EOF), never the editor's lines; fd 0 is the wire again after."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD_READS_STDIN],
        input=b"first line\nsecond line\n",
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.decode().splitlines() == [
        "child read 0 bytes; the door read b'first line'",
        "fd 0 after: b'second line'",
    ], done.stderr


async def test_the_thread_fed_reader_holds_the_cap_as_the_pipe_reader_does() -> None:
    """Windows' path (its loop watches no anonymous pipe, so the wire is read in a thread), run
    here on a real pipe: a line is read as soon as it comes, and one past the cap is refused
    as the pipe reader refuses it."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0, closefd=True) as wire_in:
        async with ThreadFedReader.opened(wire_in) as reader:
            os.write(write_fd, b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
            first = await asyncio.wait_for(stdio_wire.read_line(reader), 10)
            assert first == b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'

            def write_past_the_cap() -> None:
                with os.fdopen(write_fd, "wb") as out:
                    for _ in range(MCP_EVENT_BYTES // MIB + 1):
                        out.write(b"x" * MIB)

            writing = asyncio.create_task(asyncio.to_thread(write_past_the_cap))
            with pytest.raises(LineTooLong):
                await asyncio.wait_for(stdio_wire.read_line(reader), 60)
            await asyncio.wait_for(writing, 60)
