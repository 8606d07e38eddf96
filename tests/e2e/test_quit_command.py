"""`llmgw-desktop quit`: what an installer runs before replacing or removing the app's files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from llmgw_desktop.engine.api import process_gone
from llmgw_desktop.shell.instance import ask_running_instance_to_quit, lock_is_held
from tests.child_python import ROOT, run_python
from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.test_instance import held_by_a_silent_instance


def _quit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "llmgw_desktop", "quit", "--wait", "20", env=env)


@contextmanager
def _running(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    """The app started with `args` and answering on `port`; killed at the end if `quit` did
    not stop it."""
    running = gp.start(args, env)
    gp.wait_ready(running, port)
    try:
        yield running
    finally:
        if running.poll() is None:
            running.kill()
        running.communicate()


def _quit_stops(running: subprocess.Popen[str], env: dict[str, str]) -> None:
    """`quit` stops `running`, and returns only once the lock is free: it is gone or all
    but."""
    result = _quit(env)
    assert result.returncode == 0, result.stderr
    assert f"(pid {running.pid}) has quit" in result.stdout
    assert running.wait(timeout=gp.EXIT_TIMEOUT) == 0


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
    with _running(args, env, port) as running:
        _quit_stops(running, env)
    assert not lock_is_held(tmp_path / "data")
    log = gp.read_log(tmp_path)
    assert "asked to quit over the instance hand-off" in log and "engine stopped" in log


def test_quit_stops_the_running_app_while_its_settings_file_holds_a_refused_value(
    tmp_path: Path,
) -> None:
    """The data dir `quit` looks in is the file's, read past the value now refused: a broken
    file never leaves the app running (an installer runs `quit` before replacing it)."""
    port = free_port()
    env = gp.child_env(tmp_path, port)
    del env["LLM_GATEWAY_DATA_DIR"]  # where the instance is: in config.toml only
    config = tmp_path / "config.toml"
    data = tmp_path / "data-from-the-file"
    config.write_text(f'[paths]\ndata_dir = "{data.as_posix()}"\n', encoding="utf-8")
    with _running(["--headless"], env, port) as running:
        with config.open("a", encoding="utf-8") as more:
            more.write('[http]\nallowed_hosts = ["https://x/"]\n')  # edited, and wrong
        _quit_stops(running, env)
    assert not lock_is_held(data)


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


# An instance that lets go of its lock when asked to quit, and ends a while later (as an app's
# interpreter ends after its lock is released, here stretched to a second).
LINGERING_HOLDER = """
import http.server, json, sys, threading, time
from pathlib import Path
from llmgw_desktop.shell.instance import InstanceLock

lock = InstanceLock(Path(sys.argv[1]))
assert lock.acquire()

class Quit(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.dumps({"quitting": True, "mode": "desktop"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        threading.Thread(target=ended).start()

def ended():
    lock.release()
    time.sleep(1.0)
    server.shutdown()

server = http.server.HTTPServer(("127.0.0.1", 0), Quit)
lock.publish(f"http://127.0.0.1:{server.server_address[1]}", "desktop")
print("ready", flush=True)
server.serve_forever()
"""


def test_has_quit_is_said_once_the_process_is_gone_not_when_its_lock_is(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", LINGERING_HOLDER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = ask_running_instance_to_quit(tmp_path, wait_seconds=20)
        assert result.stopped, result.message
        assert f"(pid {holder.pid}) has quit" in result.message
        # Ended (only waiting for this test, its parent, to collect it): not still running.
        assert holder.poll() == 0
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate()


def test_a_process_is_gone_once_it_has_ended_even_before_its_parent_collects_it() -> None:
    """A child that has exited but is not collected yet (a zombie) runs nothing: gone."""
    assert not process_gone(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while not process_gone(child.pid):  # never collected meanwhile: no poll()
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.01)
        assert child.returncode is None  # still to be collected: seen as a zombie
    finally:
        child.wait()
