"""The log directory on a full disk: the gateway serves on, and `/health` says so while it lasts.

A fault pass (2026-11-29, F5) filled a tmpfs holding only the log directory: requests were
served and recorded (every row), the lines went to stderr with one note, and it recovered when
room came back; but `/health` said `ok` throughout, so nothing a monitor reads showed it. Now
`/health` is `degraded` with `log.state` `failing` and why, until a line fits again. The
gateway is the real process (`python -m llmgw_desktop --headless`), the disk a real tmpfs
(`small_disk`: skipped where none can be mounted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.reliability._recfaults_support import (
    ChildGateway,
    fill,
    small_disk,
    upstream_in_thread,
    wait_for,
)

DISK = "4m"


class LoggingGateway(ChildGateway):
    """The gateway writing its DEBUG lines too: a request gives the log lines to refuse."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "LLM_GATEWAY_LOG_LEVEL": "DEBUG"}


def test_a_full_log_disk_is_said_on_health_while_it_lasts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with upstream_in_thread() as upstream, small_disk(home / "log", DISK):
        gw = LoggingGateway(home, upstream)
        try:
            health = gw.start()
            assert health["status"] == "ok" and health["log"] == {"state": "ok", "reason": None}
            filler = fill(home / "log", "filler.bin")
            # Lines are written as the gateway works: a few requests bring the refusal.
            health = wait_for(lambda: _log_after_a_chat(gw, "failing"))
            assert health["status"] == "degraded", health
            assert "cannot be written" in health["log"]["reason"], health
            assert str(home) not in health["log"]["reason"]  # no path to anyone at the door

            filler.unlink()
            health = wait_for(lambda: _log_after_a_chat(gw, "ok"))
            assert health["status"] == "ok", health
            code, _, err = gw.stop()
            assert code == 0, err
        finally:
            gw.kill()


def _log_after_a_chat(gw: ChildGateway, state: str) -> dict[str, Any] | None:
    """`/health` once a chat has been answered, if its log is in `state` (else None)."""
    assert gw.chat("a line for the log")[0] == 200
    found = gw.health()
    return found if found["log"]["state"] == state else None
