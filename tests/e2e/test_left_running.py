"""An app a test started and did not stop (it failed first) is stopped once the session's
tests are done (`gateway_process.stop_left_running`, run by `tests/conftest.py`): none
outlives the run. Found: a gateway a failed banner test had started, still serving an hour
later."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e import gateway_process as gp
from tests.ports import free_port


def test_an_app_left_running_is_stopped_and_one_stopped_is_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its own list: another test's app on this worker (a module's fixture) is not this one's.
    monkeypatch.setattr(gp, "_started", [])
    port = free_port()
    stopped = gp.start(["--headless"], gp.child_env(tmp_path / "a", port))
    gp.wait_ready(stopped, port)
    code, _out, err = gp.stop(stopped)
    assert code == 0, err
    other = free_port()
    left = gp.start(["--headless"], gp.child_env(tmp_path / "b", other))
    gp.wait_ready(left, other)
    assert gp.stop_left_running() == [left.pid]
    assert left.poll() is not None
    try:
        os.kill(left.pid, 0)
    except ProcessLookupError:
        pass  # gone, and reaped
    else:
        raise AssertionError(f"{left.pid} still runs")
    assert gp.stop_left_running() == []
