"""Helpers for the recorder-under-faults tests: a child gateway in front of a scripted upstream,
a small tmpfs for its data dir, and plain-HTTP requests to it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.store import Database
from tests import waiting
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port
from tests.postgres import opened

WAIT_S = 20.0


# The loop each upstream served from a thread runs on, by the upstream's id.
_UPSTREAM_LOOPS: dict[int, asyncio.AbstractEventLoop] = {}


def open_stream_gate(upstream: ScriptedUpstream) -> None:
    """Set the `stream_gate` of an upstream served by `upstream_in_thread`, from its own loop
    (an asyncio event is set on the loop its waiters wait on)."""
    gate = upstream.stream_gate
    assert gate is not None
    _UPSTREAM_LOOPS[id(upstream)].call_soon_threadsafe(gate.set)


@contextlib.contextmanager
def upstream_in_thread() -> Iterator[ScriptedUpstream]:
    """The scripted fake upstream, served from a thread of its own (these tests are plain
    functions that start processes and wait on them)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        async with ScriptedUpstream() as up:
            holder["up"] = up
            holder["stop"] = asyncio.Event()
            started.set()
            await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10), "the fake upstream did not start"
    _UPSTREAM_LOOPS[id(holder["up"])] = loop
    try:
        yield holder["up"]
    finally:
        del _UPSTREAM_LOOPS[id(holder["up"])]
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[bool]:
    """Mount a tmpfs of `size` at `path`; yields False (nothing mounted) if the system refuses."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    try:
        yield done.returncode == 0
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[None]:
    """A tmpfs of `size` mounted at `path` for the block; the test skips where the system
    refuses one (it needs root: here and in CI the tests run as root)."""
    with tmpfs(path, size) as mounted:
        if not mounted:
            pytest.skip("this system refuses a tmpfs mount (needs root); see docs/RELIABILITY.md")
        yield


@contextlib.asynccontextmanager
async def store_on_a_small_disk(data: Path, size: str) -> AsyncIterator[Database]:
    """An open store in `data`, a tmpfs of `size` (the test skips where none can be mounted),
    closed and unmounted after the block."""
    with small_disk(data, size):
        async with opened(Database(data / "llmgw.db")) as db:
            yield db


def fill(directory: Path, name: str) -> Path:
    """Write a file until the filesystem says it is full; the file (delete it to free)."""
    filler = directory / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 512):  # down to what fits in less than a page
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, chunk)
    finally:
        os.close(fd)
    return filler


class ChildGateway:
    """The real gateway (`python -m llmgw_desktop --headless`) on one data dir, restartable."""

    def __init__(self, home: Path, upstream: ScriptedUpstream) -> None:
        self.home = home
        self.port = free_port()
        self.upstream = upstream
        self.proc: subprocess.Popen[str] | None = None

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def db(self) -> Path:
        return self.data / "llmgw.db"

    def env(self) -> dict[str, str]:
        return gp.child_env(
            self.home,
            self.port,
            OPENAI_API_KEY="sk-test-recfaults",
            OPENAI_BASE_URL=self.upstream.base_url + "/v1",
            LLM_GATEWAY_DETECT_LOCAL="false",
            LLM_GATEWAY_MODELS_REFRESH_S="0",
            LLM_GATEWAY_RETRY_ATTEMPTS="1",
        )

    def start(self) -> dict[str, Any]:
        self.proc = gp.start(["--headless"], self.env())
        return gp.wait_ready(self.proc, self.port)

    def stop(self) -> tuple[int, str, str]:
        assert self.proc is not None
        proc, self.proc = self.proc, None
        return gp.stop(proc)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None

    def health(self) -> dict[str, Any]:
        answer = gp.health(self.port)
        assert answer is not None, "the gateway did not answer /health"
        return answer

    def chat(self, text: str) -> tuple[int, dict[str, Any]]:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
        status, _, answer = gp.post_json(
            f"http://127.0.0.1:{self.port}/v1/chat/completions", body, timeout=10
        )
        return status, answer

    def log(self) -> str:
        return gp.read_log(self.home)


# Polled as every test waits (`tests/waiting.py`), within this suite's longer bound.
wait_for = functools.partial(waiting.wait_for, timeout_s=WAIT_S, step_s=0.1)
