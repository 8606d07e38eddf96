"""Finding 19 (issue 26, item 8): the PostgreSQL password written as `?password=`.

`config --show` and every message naming the store masked a password written as
`postgresql://user:password@host/db`, but libpq takes it as a query parameter too, and
`?password=...` was printed as written: by `config --show`, in the start-up error when the
server could not be reached, and in the log. A URL with no scheme was echoed whole by the
settings check. Now `redacted_url` masks the parameter too, and the check names only the
scheme.

The real CLI runs in child processes; the store's server is a closed loopback port.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e import gateway_process as gp
from tests.ports import free_port

PASSWORD = "Pg-Secret-0f9e8d7c6b5a"
RUN_TIMEOUT_S = 60.0


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmgw_desktop", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def everything_written(home: Path, result: subprocess.CompletedProcess[str]) -> str:
    """The run's output and every file it left under `home` (the log among them)."""
    files = [p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()]
    return "\n".join([result.stdout, result.stderr, *files])


def test_query_password_is_masked_in_show_and_startup_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    closed = free_port()
    url = f"postgresql://gw@127.0.0.1:{closed}/llmgw?password={PASSWORD}&sslmode=disable"
    env = gp.child_env(home, free_port(), LLM_GATEWAY_DB_URL=url)

    shown = run(["config", "--show", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    assert PASSWORD not in everything_written(home, shown)
    # The legitimate view: the store is still named, with everything but the password.
    (store,) = [row for row in json.loads(shown.stdout)["settings"] if row["key"] == "store.url"]
    assert store["value"].startswith(f"postgresql://gw@127.0.0.1:{closed}/llmgw?")
    assert "password=***" in store["value"] and "sslmode=disable" in store["value"]

    started = run(["--headless"], env)
    assert started.returncode != 0
    assert "cannot open the database" in started.stderr, started.stderr
    assert f"127.0.0.1:{closed}" in started.stderr  # which server it could not reach
    assert PASSWORD not in everything_written(home, started)


def test_url_without_scheme_is_not_echoed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = gp.child_env(
        home, free_port(), LLM_GATEWAY_DB_URL=f"gw@db.internal/llmgw?password={PASSWORD}"
    )
    refused = run(["config", "--show"], env)
    assert refused.returncode != 0
    assert "store.url" in refused.stderr, refused.stderr
    assert PASSWORD not in everything_written(home, refused)
