"""`llmgw-desktop connect claude-desktop`: Claude Desktop's `mcpServers` entry for the stdio
relay, in its own settings file at its place on each OS; `--write` keeps the person's other
servers and settings and the file as it was beside it.

Claude Desktop does not run here (it ships for macOS and Windows): the entry is checked the
way Claude Desktop uses it, by launching its command and arguments as a stdio MCP server with
the official MCP client, which must list the gateway's tools.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from llmgw_desktop.shell.cli.main import main
from llmgw_desktop.ui.connect import claude_desktop_config, snippets, stdio_command
from tests.ports import free_port

# A person's Claude Desktop settings before the gateway is added: another server, and settings
# of the app's own.
THEIRS = {
    "mcpServers": {"filesystem": {"command": "npx", "args": ["-y", "@mcp/fs", "/home/me"]}},
    "globalShortcut": "Alt+Space",
}
RELAY_START_S = 60.0


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return folder


def test_the_settings_file_is_where_claude_desktop_reads_it_on_each_os() -> None:
    env = {"HOME": "/home/me", "APPDATA": r"C:\Users\me\AppData\Roaming"}
    mac = claude_desktop_config("darwin", env)
    assert mac == Path("/home/me/Library/Application Support/Claude/claude_desktop_config.json")
    assert claude_desktop_config("linux", env) == Path(
        "/home/me/.config/Claude/claude_desktop_config.json"
    )
    xdg = claude_desktop_config("linux", {**env, "XDG_CONFIG_HOME": "/cfg"})
    assert xdg == Path("/cfg/Claude/claude_desktop_config.json")
    windows = str(claude_desktop_config("win32", env))
    assert windows.startswith(r"C:\Users\me\AppData\Roaming")
    assert windows.replace("\\", "/").endswith("/Claude/claude_desktop_config.json")


def test_connect_prints_the_relay_entry_at_claude_desktops_file(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["connect", "claude-desktop"]) == 0
    out = capsys.readouterr().out
    path = home / ".config" / "Claude" / "claude_desktop_config.json"
    assert f"# Claude Desktop, in {path}:" in out
    entry = json.loads(out[out.index("{") : out.rindex("}") + 1])
    command = stdio_command()
    assert entry == {"mcpServers": {"llmgw-desktop": {"command": command[0], "args": ["mcp"]}}}
    assert Path(command[0]).is_absolute()  # Claude Desktop's PATH is not a venv's
    assert "quit" in out.lower()  # it reads the file when it starts
    # The Connect page shows the same entry (one source: `ui/connect.snippets`).
    [shown] = [s for s in snippets("http://127.0.0.1:3333/mcp") if s.client == "Claude Desktop"]
    assert json.loads(shown.text) == entry and shown.where == str(path)


def test_write_keeps_the_persons_servers_and_settings_and_the_file_as_it_was(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = home / ".config" / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir(parents=True)
    before = json.dumps(THEIRS, indent=4)
    config.write_text(before)
    config.chmod(0o600)
    assert main(["connect", "claude-desktop", "--write", "--yes"]) == 0
    out = capsys.readouterr().out
    written = json.loads(config.read_text())
    assert written["globalShortcut"] == "Alt+Space"
    assert written["mcpServers"]["filesystem"] == THEIRS["mcpServers"]["filesystem"]
    assert written["mcpServers"]["llmgw-desktop"]["args"] == ["mcp"]
    assert config.stat().st_mode & 0o777 == 0o600
    backup = config.with_name(config.name + ".llmgw-desktop.bak")
    assert backup.read_text() == before and f"kept as {backup}" in out
    assert backup.stat().st_mode & 0o777 == 0o600
    # Asked again, nothing changes: the file is not rewritten, its backup not replaced.
    written_at = config.stat().st_mtime_ns
    assert main(["connect", "claude-desktop", "--write", "--yes"]) == 0
    assert "already" in capsys.readouterr().out
    assert config.stat().st_mtime_ns == written_at and backup.read_text() == before


def test_a_new_file_is_made_with_only_the_entry_and_no_backup(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["connect", "claude-desktop", "--write", "--yes"]) == 0
    config = home / ".config" / "Claude" / "claude_desktop_config.json"
    assert list(json.loads(config.read_text())) == ["mcpServers"]
    assert not config.with_name(config.name + ".llmgw-desktop.bak").exists()


async def test_the_written_entry_starts_a_relay_that_offers_the_gateways_tools(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Launch what the entry says, as Claude Desktop does, and list its tools (no gateway runs:
    the relay serves in process). On a port of its own: a gateway the developer runs on the
    default port is another data directory's, which the relay rightly refuses to share."""
    monkeypatch.setenv("LLM_GATEWAY_HTTP_PORT", str(free_port()))
    assert main(["connect", "claude-desktop", "--write", "--yes"]) == 0
    config = home / ".config" / "Claude" / "claude_desktop_config.json"
    server = json.loads(config.read_text())["mcpServers"]["llmgw-desktop"]
    relay = StdioServerParameters(
        command=server["command"], args=server["args"], env=dict(os.environ)
    )
    async with (
        stdio_client(relay) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
    assert {"ask_model", "llm_generate", "claude_request"} <= tools


def test_a_file_that_is_not_json_is_named_with_its_line_and_never_overwritten(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A trailing comma (Claude Desktop's own parser refuses it too): the error names the file
    and the line, and the person's file is left byte for byte, with no backup made."""
    config = home / ".config" / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir(parents=True)
    broken = '{\n  "mcpServers": {\n    "filesystem": {"command": "npx"},\n  }\n}\n'
    config.write_text(broken)
    assert main(["connect", "claude-desktop", "--write", "--yes"]) == 1
    error = capsys.readouterr().err
    assert str(config) in error and "line 4" in error and "left as it was" in error
    assert config.read_text() == broken
    assert not config.with_name(config.name + ".llmgw-desktop.bak").exists()
