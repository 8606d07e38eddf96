"""`llmgw-desktop quit`: what an installer runs before replacing or removing the app's files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from llmgw_desktop.shell.instance import ask_running_instance_to_quit, lock_is_held
from tests.child_python import run_python
from tests.conftest import free_port
from tests.e2e import gateway_process as gp
from tests.test_instance import held_by_a_silent_instance


def _quit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "llmgw_desktop", "quit", "--wait", "20", env=env)


@pytest.mark.parametrize(
    ("args", "extra"),
    [(["--headless"], {}), (["--hidden"], {"QT_QPA_PLATFORM": "offscreen"})],
    ids=["headless", "desktop"],
)
def test_quit_stops_the_running_instance_and_waits_for_it(
    tmp_path: Path, args: list[str], extra: dict[str, str]
) -> None:
    port = free_port()
    env = gp.child_env(tmp_path, port, **extra)
    running = gp.start(args, env)
    gp.wait_ready(running, port)
    try:
        result = _quit(env)
        assert result.returncode == 0, result.stderr
        assert f"(pid {running.pid}) has quit" in result.stdout
        # `quit` returns only once the lock is free: the process is gone or all but.
        assert running.wait(timeout=gp.EXIT_TIMEOUT) == 0
    finally:
        if running.poll() is None:
            running.kill()
        running.communicate()
    assert not lock_is_held(tmp_path / "data")
    log = gp.read_log(tmp_path)
    assert "asked to quit over the instance hand-off" in log and "engine stopped" in log


def test_quit_with_nothing_running_succeeds(tmp_path: Path) -> None:
    result = _quit(gp.child_env(tmp_path, free_port()))
    assert result.returncode == 0, result.stderr
    assert "not running" in result.stdout


def test_quit_of_a_holder_that_does_not_answer_says_so(tmp_path: Path) -> None:
    with held_by_a_silent_instance(tmp_path):
        result = ask_running_instance_to_quit(tmp_path, wait_seconds=0.5)
    assert not result.stopped
    assert "did not take the request to quit" in result.message
    assert "tray menu" in result.message
