"""Start the real `python -m llmgw_desktop` as a child process and wait for it to serve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

READY_TIMEOUT = 30.0
EXIT_TIMEOUT = 20.0


def child_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    """An environment that keeps the child's files under `home` and its socket on `port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
    env.update(
        LLM_GATEWAY_CONFIG=str(home / "config.toml"),
        LLM_GATEWAY_DATA_DIR=str(home / "data"),
        LLM_GATEWAY_LOG_DIR=str(home / "log"),
        LLM_GATEWAY_HTTP_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


# Every app `start` started in this process: a test that fails before it stops its app (a
# timeout, an assert) would leave a gateway running after the run (seen: one a day old).
_started: list[subprocess.Popen[str]] = []


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmgw_desktop", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started.append(proc)
    return proc


def stop_left_running() -> list[int]:
    """Kill every app `start` started that still runs (its CLIs die with it: the lifeline);
    their pids. Run once the session's tests are done (`tests/conftest.py`), not after each
    test: a module's fixture may keep one app for several tests."""
    left = [proc for proc in _started if proc.poll() is None]
    _started.clear()
    for proc in left:
        proc.kill()
        proc.communicate(timeout=EXIT_TIMEOUT)
    return [proc.pid for proc in left]


@contextmanager
def serving(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    """The app started with `args`, once it answers /health on `port`; stopped (SIGTERM) when
    the block ends, and it must then exit 0."""
    proc = start(args, env)
    wait_ready(proc, port)
    try:
        yield proc
    finally:
        code, _, err = stop(proc)
    assert code == 0, err


def health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return dict(json.loads(response.read()))
    except OSError:
        return None


def wait_ready(proc: subprocess.Popen[str], port: int) -> dict[str, Any]:
    """Poll /health (bounded) until it answers; fail with the child's output if it exits."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"child exited {proc.returncode}\nstdout:{out}\nstderr:{err}")
        if (answer := health(port)) is not None:
            return answer
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("child never answered /health")


def stop(proc: subprocess.Popen[str], signum: int = signal.SIGTERM) -> tuple[int, str, str]:
    """Send `signum` and collect exit code and output (killing it if it hangs)."""
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"child did not exit after signal {signum}\n{out}\n{err}") from None
    return proc.returncode, out, err


def post_json(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST `body`; (status, headers, decoded JSON body), errors included."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else {}


def read_log(home: Path) -> str:
    path = home / "log" / "llmgw-desktop.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""
