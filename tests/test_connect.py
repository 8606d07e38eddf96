"""The connection snippets are accepted by the real CLIs that take them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from llmgw_desktop.connect import snippets
from tests.contract.offline import find_cli

URL = "http://127.0.0.1:3333/mcp"


def by_client() -> dict[str, str]:
    return {s.client: s.text for s in snippets(URL, ["/usr/bin/llmgw-desktop", "mcp"])}


def test_snippets_name_the_live_endpoint() -> None:
    texts = by_client()
    assert texts["Claude Code (HTTP)"] == f"claude mcp add --transport http llmgw-desktop {URL}"
    assert json.loads(texts["Cursor"]) == {"mcpServers": {"llmgw-desktop": {"url": URL}}}
    assert json.loads(texts["VS Code"])["servers"]["llmgw-desktop"]["type"] == "http"


def test_claude_code_accepts_its_snippet(tmp_path: Path) -> None:
    claude = find_cli("claude")
    env = dict(os.environ, HOME=str(tmp_path), CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    args = by_client()["Claude Code (HTTP)"].split()[1:]
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


def test_codex_accepts_its_snippet(tmp_path: Path) -> None:
    codex = find_cli("codex")
    home = tmp_path / "codex-home"
    home.mkdir()
    env = dict(os.environ, CODEX_HOME=str(home))
    args = by_client()["Codex"].split()[1:]
    added = subprocess.run([codex, *args], env=env, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    assert URL in (home / "config.toml").read_text()
