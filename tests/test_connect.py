"""The connection snippets are accepted by the real CLIs that take them, open or locked."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from llmgw_desktop.ui.connect import CODEX_TOKEN_ENV, snippets
from tests.contract.offline import find_cli

URL = "http://127.0.0.1:3333/mcp"
TOKEN = "snippet-test-token-0123456789abcdef"


def by_client(token: str | None = None) -> dict[str, str]:
    made = snippets(URL, ["/usr/bin/llmgw-desktop", "mcp"], token=token)
    return {s.client: s.text for s in made}


def test_snippets_name_the_live_endpoint() -> None:
    texts = by_client()
    assert (
        texts["Claude Code (HTTP)"]
        == f"claude mcp add --scope user --transport http llmgw-desktop {URL}"
    )
    assert json.loads(texts["Cursor"]) == {"mcpServers": {"llmgw-desktop": {"url": URL}}}
    assert json.loads(texts["VS Code"])["servers"]["llmgw-desktop"]["type"] == "http"
    assert not any("Authorization" in text for text in texts.values())


def test_locked_snippets_send_the_bearer_where_the_client_can() -> None:
    texts = by_client(TOKEN)
    header = {"Authorization": f"Bearer {TOKEN}"}
    cursor = json.loads(texts["Cursor"])["mcpServers"]["llmgw-desktop"]
    assert cursor == {"url": URL, "headers": header}
    vscode = json.loads(texts["VS Code"])["servers"]["llmgw-desktop"]
    assert vscode == {"type": "http", "url": URL, "headers": header}
    assert shlex.split(texts["Claude Code (HTTP)"])[-2:] == [
        "--header",
        f"Authorization: Bearer {TOKEN}",
    ]
    # stdio needs no token: the relay proves the local user with the instance token.
    assert TOKEN not in texts["Claude Code (stdio)"] + texts["Any stdio client"]


@pytest.mark.parametrize("token", [None, TOKEN])
def test_claude_code_accepts_its_snippet(tmp_path: Path, token: str | None) -> None:
    claude = find_cli("claude")
    env = dict(os.environ, HOME=str(tmp_path), CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    args = shlex.split(by_client(token)["Claude Code (HTTP)"])[1:]
    added = subprocess.run(
        [claude, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert added.returncode == 0, added.stderr
    listed = subprocess.run(
        [claude, "mcp", "get", "llmgw-desktop"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert URL in listed.stdout
    if token is not None:
        assert "Authorization" in listed.stdout


@pytest.mark.parametrize("token", [None, TOKEN])
def test_codex_accepts_its_snippet(tmp_path: Path, token: str | None) -> None:
    codex = find_cli("codex")
    home = tmp_path / "codex-home"
    home.mkdir()
    env = dict(os.environ, CODEX_HOME=str(home))
    # Locked, the snippet is an export and the command: run the command, with the export's
    # variable set as the snippet says.
    *exports, command = by_client(token)["Codex"].splitlines()
    assert exports == (
        []
        if token is None
        else [f"export {CODEX_TOKEN_ENV}={TOKEN}  # keep it set where Codex runs"]
    )
    if token is not None:
        env[CODEX_TOKEN_ENV] = token
    args = shlex.split(command)[1:]
    added = subprocess.run([codex, *args], env=env, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    config = (home / "config.toml").read_text()
    assert URL in config
    if token is not None:
        # Codex keeps the variable's name, never the token.
        assert CODEX_TOKEN_ENV in config and TOKEN not in config


def test_a_frozen_bundle_tells_editors_to_launch_its_console_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor launching the windowed Windows executable for stdio MCP would get no stdin or
    stdout; and a frozen executable takes no `-m`. The snippet names the console twin."""
    from llmgw_desktop.config import desktop_entry
    from llmgw_desktop.ui import connect

    bundle = tmp_path / "llmgw-desktop"
    bundle.mkdir()
    windowed = bundle / "llmgw-desktop.exe"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert desktop_entry.cli_executable(str(windowed), platform="win32") == (
        bundle.resolve() / "llmgw-desktop-cli.exe"
    )
    monkeypatch.setattr(
        connect,
        "cli_executable",
        lambda: desktop_entry.cli_executable(str(windowed), platform="win32"),
    )
    assert connect.stdio_command() == [str(bundle.resolve() / "llmgw-desktop-cli.exe"), "mcp"]
    monkeypatch.setattr(sys, "frozen", False)
    assert connect.stdio_command()[-1] == "mcp"
    assert "llmgw-desktop-cli.exe" not in connect.stdio_command()[0]


def test_the_running_install_is_named_before_another_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`.venv/bin/llmgw-desktop connect zed` from a clone names that clone's script, even when
    PATH holds another install first (an older pipx one, another checkout's venv)."""
    from llmgw_desktop.ui import connect

    other = tmp_path / "other-install" / "bin"
    other.mkdir(parents=True)
    (other / "llmgw-desktop").write_text("#!/bin/sh\n")
    (other / "llmgw-desktop").chmod(0o755)
    monkeypatch.setenv("PATH", f"{other}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(connect, "cli_executable", lambda: None)
    beside = Path(sys.executable).with_name("llmgw-desktop")
    if not beside.is_file():
        pytest.skip(f"this Python has no llmgw-desktop script beside it ({beside})")
    assert connect.stdio_command() == [str(beside.absolute()), "mcp"]
