"""Start-up on a data directory it may not write, and on a settings file that is not UTF-8.

Each case runs the real `python -m llmgw_desktop` and expects one clear message on stderr
naming the path and what to do, the documented exit code (`shell/exit_codes.py`, README), and no
traceback; then the same start-up with the fault removed works.

Tests run as root here, and root writes through a 0500 directory. So the child that meets the
0500 directory runs as root without capabilities (`setpriv --bounding-set=-all`), which makes
the kernel apply the mode bits as for any user (EACCES), without needing an account that can
reach this interpreter. Not as root, the child runs as the same user, as is. A read-only mount
(EROFS) is tried as well where this process may mount a tmpfs, and skipped where it may not.
"""

from __future__ import annotations

import codecs
import concurrent.futures
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmgw_desktop.shell.exit_codes import EXIT_CONFIG, EXIT_UNWRITABLE
from tests.e2e import gateway_process as gp
from tests.ports import free_port

RUN_TIMEOUT_S = 60.0
SETTINGS = "[http]\nport = {port}\n# comment: {note}\n"


def run(
    args: list[str], env: dict[str, str], *, drop_privileges: bool = False
) -> subprocess.CompletedProcess[str]:
    """The CLI run to its end, stdin closed (for `mcp`: at once, like an editor that left)."""
    command = [sys.executable, "-m", "llmgw_desktop", *args]
    if drop_privileges:
        command = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", *command]
    return subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def run_each(
    runs: list[list[str]], env: dict[str, str], *, drop_privileges: bool = False
) -> list[subprocess.CompletedProcess[str]]:
    """`run` for each of `runs` at once: each is a whole start-up that fails alone, and side
    by side they use both cores instead of one after the other."""
    with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:
        return list(pool.map(lambda args: run(args, env, drop_privileges=drop_privileges), runs))


def assert_one_clear_message(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    for needle in needles:
        assert needle in result.stderr, result.stderr


def starts_and_stops(env: dict[str, str], port: int) -> None:
    """The legitimate path: the same start-up serves, then stops cleanly on SIGTERM."""
    child = gp.start(["--headless"], env)
    gp.wait_ready(child, port)
    code, _, err = gp.stop(child)
    assert code == 0, err


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def read_only_data(home: Path) -> Iterator[Path]:
    data = home / "data"
    data.mkdir(parents=True)
    data.chmod(0o500)
    yield data
    data.chmod(0o700)


def test_a_0500_data_dir_is_one_message_and_exit_4(home: Path, read_only_data: Path) -> None:
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: nothing here can make 0500 bind root")
    port = free_port()
    env = gp.child_env(home, port)
    for result in run_each([["--headless"], ["mcp"]], env, drop_privileges=as_root):
        assert result.returncode == EXIT_UNWRITABLE, result.stderr
        assert_one_clear_message(
            result,
            f"cannot write in the data directory {read_only_data} (Permission denied)",
            "paths.data_dir",
            "LLM_GATEWAY_DATA_DIR",
        )
    assert list(read_only_data.iterdir()) == []  # nothing was half-made in it
    read_only_data.chmod(0o700)
    starts_and_stops(env, port)


def test_a_read_only_mount_is_one_message_and_exit_4(home: Path) -> None:
    mount_point = home / "mounted-data"
    mount_point.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.strip()}")
    try:
        env = gp.child_env(home, free_port(), LLM_GATEWAY_DATA_DIR=str(mount_point))
        result = run(["--headless"], env)
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)
    assert result.returncode == EXIT_UNWRITABLE, result.stderr
    assert_one_clear_message(
        result, f"cannot write in the data directory {mount_point} (Read-only file system)"
    )


def test_a_read_only_log_dir_is_named_too(home: Path) -> None:
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: nothing here can make 0500 bind root")
    logs = home / "log"
    logs.mkdir(parents=True)
    logs.chmod(0o500)
    try:
        result = run(
            ["--headless"], gp.child_env(home, free_port()), drop_privileges=os.geteuid() == 0
        )
    finally:
        logs.chmod(0o700)
    assert result.returncode == EXIT_UNWRITABLE, result.stderr
    assert_one_clear_message(
        result, f"cannot write in the log directory {logs}", "LLM_GATEWAY_LOG_DIR"
    )


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (
            codecs.BOM_UTF16_LE + SETTINGS.format(port=0, note="x").encode("utf-16-le"),
            "is saved as UTF-16, not UTF-8",
        ),
        (
            SETTINGS.format(port=0, note="café").encode("cp1252"),
            "is not UTF-8 text: byte 0xe9 on line 3, column 15 is not valid UTF-8",
        ),
    ],
    ids=["utf16-with-bom", "cp1252-byte"],
)
def test_a_settings_file_that_is_not_utf8_is_one_message_and_exit_2(
    encoded: bytes, expected: str, home: Path
) -> None:
    port = free_port()
    env = gp.child_env(home, port)
    config = Path(env["LLM_GATEWAY_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_bytes(encoded)
    said = (f"the settings file {config} {expected}", "save it as UTF-8")
    started, stdio, show = run_each([["--headless"], ["mcp"], ["config", "--show"]], env)
    for result in (started, stdio):
        assert result.returncode == EXIT_CONFIG, result.stderr
        assert_one_clear_message(result, *said)
    # How the file is found: `config` names it (and the defaults), and says the same.
    assert show.returncode == EXIT_CONFIG, show.stderr
    assert f"# settings file: {config}" in show.stdout
    assert "Traceback" not in show.stderr and all(words in show.stderr for words in said)
    # The same settings saved as UTF-8 (with the BOM Notepad adds, which is still UTF-8) work.
    text = SETTINGS.format(port=port, note="café")
    config.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    shown = run(["config", "--show"], env)
    assert shown.returncode == 0, shown.stderr
    assert "http.port" in shown.stdout and f"= {port}" in shown.stdout
    starts_and_stops(env, port)


@pytest.mark.parametrize("command", [["--headless"], ["mcp"]], ids=["headless", "mcp"])
@pytest.mark.parametrize(
    "blocked", ["log/llmgw-desktop.log", "data/instance.lock"], ids=["log-file", "lock-file"]
)
def test_a_directory_where_a_file_belongs_is_one_line_and_exit_4(
    home: Path, command: list[str], blocked: str
) -> None:
    # The directories are writable, so the up-front check passes; opening the file itself
    # fails, and that too must end in one line rather than a traceback.
    (home / blocked).mkdir(parents=True)
    result = run(command, gp.child_env(home, free_port()))
    assert result.returncode == EXIT_UNWRITABLE, result.stderr
    assert_one_clear_message(result, f"cannot open {home / blocked} (Is a directory)")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
