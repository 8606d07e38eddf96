"""The real program as a child process: start, serve, hand off, stop on signals."""

from __future__ import annotations

import secrets
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.child_python import run_python
from tests.e2e import gateway_process as gp
from tests.ports import free_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_headless_serves_and_shuts_down_cleanly_on_signal(tmp_path: Path, signum: int) -> None:
    port = free_port()
    proc = gp.start(["--headless"], gp.child_env(tmp_path, port))
    answer = gp.wait_ready(proc, port)
    assert answer["status"] == "ok"

    code, out, err = gp.stop(proc, signum)

    assert code == 0, err
    assert f"MCP endpoint: http://127.0.0.1:{port}/mcp" in out
    # What a person connecting a tool needs: the API's base URL, and whether to bring a key.
    assert f"API base URL: http://127.0.0.1:{port}/v1" in out
    assert "access:       open to programs of this account" in out
    assert "llmgw-desktop stopped." in err
    assert "Traceback" not in err
    log = gp.read_log(tmp_path)
    assert "store closed" in log and "engine stopped" in log
    assert not (tmp_path / "data" / "instance.json").exists()
    db = tmp_path / "data" / "llmgw.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not Path(str(db) + "-wal").exists() or Path(str(db) + "-wal").stat().st_size == 0


def test_a_locked_headless_start_says_a_key_is_needed(tmp_path: Path) -> None:
    port = free_port()
    token = secrets.token_urlsafe(32)
    env = gp.child_env(tmp_path, port, LLM_GATEWAY_AUTH_TOKEN=token)
    proc = gp.start(["--headless"], env)
    gp.wait_ready(proc, port)
    code, out, err = gp.stop(proc)
    assert code == 0, err
    assert "access:       locked: every request needs a gateway key" in out
    assert token not in out + err


def test_without_a_display_the_app_says_so_and_runs_headless(tmp_path: Path) -> None:
    port = free_port()
    env = gp.child_env(tmp_path, port)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    proc = gp.start([], env)
    gp.wait_ready(proc, port)
    code, out, err = gp.stop(proc)
    assert code == 0
    assert "no display found" in err and "running headless" in err
    assert "running headless" in out


def test_second_headless_launch_hands_off_and_exits(tmp_path: Path) -> None:
    port = free_port()
    env = gp.child_env(tmp_path, port)
    with gp.serving(["--headless"], env, port):
        second = run_python("-m", "llmgw_desktop", "--headless", env=env)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert gp.health(port) is not None  # the first one still serves
    assert "another launch asked for the window" in gp.read_log(tmp_path)


def test_second_desktop_launch_brings_the_first_window_forward(tmp_path: Path) -> None:
    port = free_port()
    env = gp.child_env(tmp_path, port, QT_QPA_PLATFORM="offscreen")
    with gp.serving([], env, port):
        second = run_python("-m", "llmgw_desktop", env=env)
        assert second.returncode == 0, second.stderr
        assert "brought its window forward" in second.stdout
    log = gp.read_log(tmp_path)
    assert "desktop app ready" in log
    assert "bringing it forward" in log


def test_port_taken_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_python("-m", "llmgw_desktop", "--headless", env=gp.child_env(tmp_path, port))
    assert result.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "another program" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_stops_start_up_naming_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[http]\nport = 123456\n")
    env = gp.child_env(tmp_path, 0)
    del env["LLM_GATEWAY_HTTP_PORT"]
    result = run_python("-m", "llmgw_desktop", "--headless", env=env)
    assert result.returncode == 2
    assert "bad setting http.port: 123456 is out of range" in result.stderr
    assert f"value from: file {tmp_path / 'config.toml'}" in result.stderr
    assert "Traceback" not in result.stderr
