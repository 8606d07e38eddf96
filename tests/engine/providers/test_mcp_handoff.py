"""The gateway's MCP servers handed to a CLI for one call: which CLIs take them and how (Claude
Code a private file, Codex its `-c` overrides, Gemini CLI the names), and the servers that are
refused, each with why: not configured, off, a vault secret, a secret bound for a command
line, a working directory Claude Code's config cannot carry."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from llmgw_desktop.config.upstream_mcp import parse_servers
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.providers.base import ProviderRequest
from llmgw_desktop.engine.providers.cli.claude import ClaudeAdapter
from llmgw_desktop.engine.providers.cli.codex import CodexAdapter
from llmgw_desktop.engine.providers.cli.gemini import GeminiAdapter
from llmgw_desktop.engine.providers.mcp_handoff import handoff_file, servers_for

CONFIGURED = parse_servers(
    {
        "docs": {"command": "/usr/bin/docs-mcp", "args": ["--stdio"]},
        "keyed": {"command": "/usr/bin/keyed", "env": {"TOKEN": "t0ken"}},
        "vaulted": {"command": "/usr/bin/v", "env": {"TOKEN": "vault:github"}},
        "web": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer x"}},
        "here": {"command": "./srv", "cwd": "/srv"},
        "off": {"command": "/usr/bin/off", "enabled": False},
    }
)


def _adapter_argv(provider: str, request: ProviderRequest) -> tuple[str, ...]:
    adapter = {"claude": ClaudeAdapter(), "codex": CodexAdapter(), "gemini": GeminiAdapter()}
    return adapter[provider].prepare(request, provider).invocation.argv


async def test_claude_code_reads_the_servers_from_a_private_file_gone_after(
    tmp_path: Path,
) -> None:
    servers = servers_for("claude", ["docs", "keyed", "web"], CONFIGURED)
    async with handoff_file("claude", servers, root=tmp_path) as path:
        assert path is not None
        written = json.loads(path.read_text())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        request = ProviderRequest(prompt="hi", mcp_servers=servers, mcp_config=path)
        argv = _adapter_argv("claude", request)
    # `alwaysLoad`: connected before the first turn, as the real CLI shows
    # (tests/contract/test_mcp_servers_per_call.py).
    assert written == {
        "mcpServers": {
            "docs": {"command": "/usr/bin/docs-mcp", "args": ["--stdio"], "alwaysLoad": True},
            "keyed": {
                "command": "/usr/bin/keyed",
                "args": [],
                "alwaysLoad": True,
                "env": {"TOKEN": "t0ken"},
            },
            "web": {
                "type": "http",
                "url": "https://mcp.example.com/mcp",
                "alwaysLoad": True,
                "headers": {"Authorization": "Bearer x"},
            },
        }
    }
    assert argv[argv.index("--mcp-config") + 1] == str(path)
    assert "t0ken" not in " ".join(argv)  # the secret is in the file, not on the command line
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_codex_gets_overrides_and_gemini_the_names() -> None:
    codex = _adapter_argv(
        "codex",
        ProviderRequest(prompt="hi", mcp_servers=servers_for("codex", ["docs"], CONFIGURED)),
    )
    assert 'mcp_servers.docs.command="/usr/bin/docs-mcp"' in codex
    assert 'mcp_servers.docs.args=["--stdio"]' in codex
    assert "mcp_servers.docs.required=true" in codex  # waited for before the first turn
    gemini = _adapter_argv(
        "gemini",
        ProviderRequest(
            prompt="hi", mcp_servers=servers_for("gemini", ["docs", "web"], CONFIGURED)
        ),
    )
    assert gemini[gemini.index("--allowed-mcp-server-names") + 1] == "docs,web"


@pytest.mark.parametrize(
    ("provider", "names", "said"),
    [
        ("claude", ["nope"], "no MCP server 'nope' is configured"),
        ("claude", ["off"], "no MCP server 'off' is configured"),
        ("claude", ["vaulted"], "reads a secret from the vault"),
        ("codex", ["keyed"], "readable by every local user"),
        ("codex", ["web"], "readable by every local user"),
        ("claude", ["here"], "names a cwd"),
        ("grok", ["docs"], "grok cannot be handed MCP servers"),
        ("opencode-acp", ["docs"], "cannot be handed MCP servers"),
    ],
)
def test_a_server_that_cannot_be_handed_is_refused_with_why(
    provider: str, names: list[str], said: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        servers_for(provider, names, CONFIGURED)
    assert said in refused.value.message
    assert refused.value.details["param"] == "mcpServers"


def test_no_names_hand_nothing_to_any_cli() -> None:
    assert servers_for("grok", [], CONFIGURED) == ()
