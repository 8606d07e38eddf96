from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llmgw_desktop.shell.instance import InstanceLock, hand_off_to_running_instance


def test_second_lock_on_the_same_data_dir_fails_until_released(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path)
    assert first.acquire()
    # flock locks belong to the open file, so even this process cannot take it twice.
    assert not InstanceLock(tmp_path).acquire()
    first.release()
    again = InstanceLock(tmp_path)
    assert again.acquire()
    again.release()


def test_lock_of_a_dead_process_is_free(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from llmgw_desktop.shell.instance import InstanceLock\n"
        f"assert InstanceLock(Path({str(tmp_path)!r})).acquire()\n"
        "os._exit(0)  # no release: the OS must drop the lock\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    lock = InstanceLock(tmp_path)
    assert lock.acquire()
    lock.release()


def test_published_info_is_private_and_removed_on_release(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    assert lock.acquire()
    lock.publish("http://127.0.0.1:1234", "desktop")
    info = json.loads((tmp_path / "instance.json").read_text())
    assert info == {
        "pid": os.getpid(),
        "url": "http://127.0.0.1:1234",
        "token": lock.token,
        "mode": "desktop",
    }
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "instance.json").stat().st_mode) == 0o600
    lock.release()
    assert not (tmp_path / "instance.json").exists()


@contextmanager
def held_by_a_silent_instance(data_dir: Path) -> Iterator[None]:
    """The instance lock of `data_dir` held by one that published an address nothing answers
    at (the discard port), released when the block ends."""
    lock = InstanceLock(data_dir)
    assert lock.acquire()
    lock.publish("http://127.0.0.1:9", "desktop")
    try:
        yield
    finally:
        lock.release()


def test_handoff_to_an_unresponsive_holder_says_so(tmp_path: Path) -> None:
    with held_by_a_silent_instance(tmp_path):
        result = hand_off_to_running_instance(tmp_path, wait_seconds=0.3)
    assert not result.ok
    assert f"pid {os.getpid()}" in result.message and "did not answer" in result.message
