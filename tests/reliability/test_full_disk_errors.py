"""A write the disk refuses is answered as that, not as an internal error (issue 38, item 3).

The real gateway as a child process with its whole home (data dir and log) on a small tmpfs the
test mounts and fills to the last page, as the issue found it: storing a credential or a file
answered 500 "internal error; see the app's log" while the log was on the same full disk (the
traceback went to stderr). Now each front door that writes (the native HTTP routes, MCP tools)
answers the retryable 507 `disk_refused`, naming the disk and what it said, with Retry-After,
and logs one line with no traceback; log lines the disk refuses go to stderr as lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e import gateway_process as gp
from tests.reliability._crash_support import call
from tests.reliability._recfaults_support import (
    ChildGateway,
    fill,
    small_disk,
    upstream_in_thread,
    wait_for,
)

DISK = "24m"
TRIES = 40  # writes until the disk is out of the room SQLite's files already had


def _post(gw: ChildGateway, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    status, headers, answer = gp.post_json(f"http://127.0.0.1:{gw.port}{path}", body, timeout=10)
    return status, answer, "" if status < 400 else headers.get("Retry-After", "")


def _until_refused(write: Callable[[int], tuple[int, dict[str, Any], str]]) -> tuple:
    """Write until the disk refuses (a write can still fit in room SQLite's files already
    had); the first answer that is not a success."""
    for n in range(TRIES):
        answer = write(n)
        if answer[0] != 201:
            return answer
    raise AssertionError(f"{TRIES} writes on a full disk all succeeded")


def test_storing_a_credential_or_a_file_on_a_full_disk_answers_507_naming_the_disk(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with upstream_in_thread() as upstream, small_disk(home, DISK):
        gw = ChildGateway(home, upstream)
        try:
            gw.start()
            wait_for(lambda: gw.health()["vault"] == "open")  # its key file made first
            filler = fill(home, "filler.bin")

            status, body, retry_after = _until_refused(
                lambda n: _post(
                    gw, "/v1/credentials", {"provider": "openai", "apiKey": f"sk-test-{n:040d}"}
                )
            )
            assert status == 507, body
            error = body["error"]
            assert error["code"] == "disk_refused"
            assert "see the app's log" not in error["message"]
            assert f"the disk holding the database {gw.db}" in error["message"]
            assert "it is full" in error["message"]
            assert retry_after == "30"

            status, body, _ = _post(
                gw,
                "/v1/files",
                {"provider": "codex", "fileName": "auth.json", "content": "{}"},
            )
            assert status == 507, body
            assert body["error"]["code"] == "disk_refused"

            result = call(
                f"http://127.0.0.1:{gw.port}/mcp",
                "vault_store",
                provider="anthropic",
                apiKey="sk-ant-api03-" + "B" * 40,
            )
            assert result["error"]["code"] == "disk_refused", result
            assert result["error"]["retryable"] is True

            filler.unlink()
            status, body, _ = _post(
                gw, "/v1/credentials", {"provider": "openai", "apiKey": "sk-test-" + "9" * 40}
            )
            assert status == 201, body  # room again: stored
            code, out, err = gw.stop()
            assert code == 0, err
            assert "Traceback" not in out + err + gw.log()
            # The log is on the full disk: a line that did not fit went to stderr, as a line
            # (tests/test_logging_setup.py makes every write fail).
            assert "--- Logging error ---" not in err
            said = err + gw.log()
            # One line for the outage (the store's), none per refused request.
            assert said.count("store degraded (store): database or disk is full") == 1, said
        finally:
            gw.kill()


def test_a_start_on_a_full_disk_says_so_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """Fault injection, 2026-11-29: started on a full data disk, the gateway exited 1 with a
    traceback (its address could not be written, a temporary file left beside it), or, with
    the disk filled after a clean stop, told the person to move a sound database aside. Now:
    exit 4, one message naming the full disk and its cure, nothing left behind."""
    home = tmp_path / "home"
    with upstream_in_thread() as upstream, small_disk(home / "data", DISK):
        gw = ChildGateway(home, upstream)
        try:
            assert gw.start()["status"] == "ok"  # the store made while there is room
            assert gw.chat("before")[0] == 200
            code, _, err = gw.stop()
            assert code == 0, err
            filler = fill(gw.data, "filler.bin")
            proc = gp.start(["--headless"], gw.env())
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 4, (proc.returncode, out, err)
            assert "its disk is full" in err and "Free some room on that disk" in err, err
            assert "Traceback" not in out + err, err
            assert not list(gw.data.glob(".instance-*")), list(gw.data.iterdir())
            filler.unlink()  # room again: it starts as before
            assert gw.start()["status"] == "ok"
        finally:
            gw.kill()
