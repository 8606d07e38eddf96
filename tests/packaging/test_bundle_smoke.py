"""The PyInstaller bundle, as built: it starts headless, serves /health and MCP, and stops.

Runs where LLMGW_BUNDLE names a built bundle folder (CI builds one while it installs, and
the suite runs this module with the rest: see .ci/run); skipped otherwise, since building
takes minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e import gateway_process as gp
from tests.mcp_wire import initialize
from tests.ports import free_port

BUNDLE = os.environ.get("LLMGW_BUNDLE", "")
pytestmark = [
    pytest.mark.skipif(not BUNDLE, reason="no bundle built (set LLMGW_BUNDLE=dist/llmgw-desktop)"),
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]
INITIALIZE = initialize("bundle-smoke")


def _executable() -> Path:
    exe = Path(BUNDLE) / "llmgw-desktop"
    assert exe.is_file(), f"LLMGW_BUNDLE={BUNDLE} holds no llmgw-desktop executable"
    return exe


def _mcp_initialize(port: int) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=json.dumps(INITIALIZE).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
        kind = response.headers.get("Content-Type", "")
    if kind.startswith("text/event-stream"):  # one `data:` line carries the JSON-RPC answer
        body = next(line[5:] for line in body.splitlines() if line.startswith("data:"))
    return dict(json.loads(body))


def test_bundle_reports_the_package_version() -> None:
    from llmgw_desktop import __version__

    result = subprocess.run(
        [str(_executable()), "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"llmgw-desktop {__version__}"


def test_bundle_serves_health_and_mcp_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(_executable()), "--headless"],
        env=gp.child_env(tmp_path, port),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert gp.wait_ready(proc, port)["status"] == "ok"
        answer = _mcp_initialize(port)
        assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"]
        family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
        code, out, err = gp.stop(proc, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == 0, err
    assert "llmgw-desktop stopped." in err and "Traceback" not in err
    assert f"MCP endpoint: http://127.0.0.1:{port}/mcp" in out
    orphans = [pid for pid in family if psutil.pid_exists(pid) and _alive(pid)]
    assert not orphans, f"left running after SIGTERM: {orphans}"
    assert not (tmp_path / "data" / "instance.json").exists()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
