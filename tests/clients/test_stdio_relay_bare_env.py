"""`llmgw-desktop mcp` launched with a bare environment (MCP Inspector 2.12 passes only HOME,
PATH, PWD, SHELL and TERM) while the app runs with XDG_* set: it relays to that app, so the
editor shares its store; or, when it cannot find it, says why on stderr and exits, never
starting a second gateway with a store of its own.

Real processes: the app (`--headless`) as a child, the relay under the official `mcp` SDK's
stdio client. HOME is the test's own directory, so nothing lands in the real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mcp import StdioServerParameters

from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.transports.mcp.conftest import session_made_through

RELAY_TIMEOUT_S = 60.0


def app_env(home: Path, port: int) -> dict[str, str]:
    """The app's environment: its files under XDG directories, nothing else of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_GATEWAY_", "XDG_"))}
    return env | {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "xdg" / "config"),
        "XDG_DATA_HOME": str(home / "xdg" / "data"),
        "XDG_STATE_HOME": str(home / "xdg" / "state"),
        "XDG_CACHE_HOME": str(home / "xdg" / "cache"),
        "LLM_GATEWAY_HTTP_PORT": str(port),
        "LLM_GATEWAY_DETECT_LOCAL": "false",
        "PYTHONUNBUFFERED": "1",
    }


def bare_env(home: Path, cwd: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "PWD": str(cwd),
        "SHELL": "/bin/sh",
        "TERM": "dumb",
    }


def bare_data_dir(home: Path) -> Path:
    return home / ".local" / "share" / "llmgw-desktop"


async def test_a_bare_relay_finds_the_app_started_with_xdg_set(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    relay = StdioServerParameters(
        command=sys.executable,
        args=["-m", "llmgw_desktop", "mcp"],
        env=bare_env(home, tmp_path),
        cwd=tmp_path,
    )
    with gp.serving(["--headless"], app_env(home, port), port):
        made, listed = await session_made_through(relay, port, "bare")
    # The session is in the app's store: the relay used it rather than a store of its own.
    assert made in listed
    assert not list(bare_data_dir(home).glob("*.sqlite*")) and not list(
        bare_data_dir(home).glob("*.db*")
    )
    # The pointer goes with the app.
    assert not (bare_data_dir(home) / "running-elsewhere.json").exists()


def test_a_bare_relay_that_cannot_find_the_app_says_why_and_starts_nothing(
    tmp_path: Path,
) -> None:
    home, port = tmp_path / "home", free_port()
    with gp.serving(["--headless"], app_env(home, port), port):
        # No pointer (an app of an older version, or one removed by hand), and the relay's own
        # config names the same port: it must not become a second gateway.
        (bare_data_dir(home) / "running-elsewhere.json").unlink()
        config = home / ".config" / "llmgw-desktop" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f"[http]\nport = {port}\n", encoding="utf-8")
        relay = subprocess.run(
            [sys.executable, "-m", "llmgw_desktop", "mcp"],
            env=bare_env(home, tmp_path),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RELAY_TIMEOUT_S,
        )
    assert relay.returncode == 1, relay.stderr
    assert relay.stdout == ""  # stdout is MCP's alone
    assert f"a gateway already runs at http://127.0.0.1:{port}" in relay.stderr
    assert "another data directory" in relay.stderr and "XDG_" in relay.stderr
    assert not list(bare_data_dir(home).glob("*.sqlite*"))
