"""The README's two commands are the ones that work (CI runs the test command verbatim), and
every connection snippet in the README and the documentation site is the one the app copies.

The snippets live on the site's pages (docs/connect/); the README keeps the first few. A
`toml` block is a gateway `config.toml` example and must load as settings; a block of another
program's TOML (Codex's `config.toml`) is fenced with a title (```` ```toml title="..." ````).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
URL = "http://127.0.0.1:3333/mcp"
# The stdio relay as the README and Claude Code's page write it: its full path from the folder
# the README's install ran in (a venv's script is not on PATH).
INSTALLED = ['"$PWD/.venv/bin/llmgw-desktop"', "mcp"]


def _blocks(text: str, lang: str) -> list[str]:
    return [b.strip() for b in re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)]


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def _pages() -> dict[str, str]:
    return {str(p.relative_to(DOCS)): p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")}


def _json_blocks(text: str) -> list[object]:
    return [json.loads(b) for b in _blocks(text, "json")]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = next(b for b in _blocks(_readme(), "sh") if "pytest" in b)
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_start_command_launches_the_app() -> None:
    blocks = _blocks(_readme(), "sh")
    assert blocks[0].endswith("llmgw-desktop")
    assert "pip install -e ." in blocks[0]


def test_install_page_has_the_readme_commands() -> None:
    readme = _blocks(_readme(), "sh")
    install = _blocks((DOCS / "install.md").read_text(encoding="utf-8"), "sh")
    assert readme[0] in install
    assert next(b for b in readme if "pytest" in b) in install


def test_readme_connection_snippets_match_what_the_app_copies() -> None:
    from llmgw_desktop.ui.connect import snippets

    made = {s.client: s.text for s in snippets(URL, INSTALLED)}
    shell = "\n".join(_blocks(_readme(), "sh"))
    for client in ("Claude Code (HTTP)", "Claude Code (stdio)", "Codex"):
        assert made[client] in shell, client


def test_site_connection_snippets_match_what_the_app_copies() -> None:
    from llmgw_desktop.ui.connect import snippets

    made = {s.client: s.text for s in snippets(URL, ["llmgw-desktop", "mcp"])}
    pages = _pages()
    claude = "\n".join(_blocks(pages["connect/claude-code.md"], "sh"))
    assert made["Claude Code (HTTP)"] in claude
    assert snippets(URL, INSTALLED)[1].text in claude  # the stdio relay, by its full path
    assert made["Codex"] in "\n".join(_blocks(pages["connect/codex.md"], "sh"))
    editors = _json_blocks(pages["connect/cursor-vscode.md"])
    assert json.loads(made["Cursor"]) in editors
    assert json.loads(made["VS Code"]) in editors
    assert json.loads(made["Any stdio client"]) in _json_blocks(pages["connect/index.md"])


def test_site_locked_snippets_match_what_the_app_copies() -> None:
    """With a bearer lock, as the Connect page's Copy gives them (the token's placeholder)."""
    from llmgw_desktop.ui.connect import TOKEN_PLACEHOLDER, sdk_snippets, snippets

    pages = _pages()
    made = {
        s.client: s.text for s in snippets(URL, ["llmgw-desktop", "mcp"], token=TOKEN_PLACEHOLDER)
    }
    assert made["Claude Code (HTTP)"] in "\n".join(_blocks(pages["connect/claude-code.md"], "sh"))
    assert made["Codex"] in "\n".join(_blocks(pages["connect/codex.md"], "sh"))
    editors = _json_blocks(pages["connect/cursor-vscode.md"])
    assert json.loads(made["Cursor"]) in editors
    assert json.loads(made["VS Code"]) in editors
    sdks = {
        s.client: s.text for s in sdk_snippets("http://127.0.0.1:3333", token=TOKEN_PLACEHOLDER)
    }
    python = _blocks(pages["connect/sdks.md"], "python")
    for client in ("OpenAI SDK (Python)", "Anthropic SDK (Python)", "Gemini SDK (Python)"):
        assert sdks[client] in python, client
    shell = "\n".join(_blocks(pages["connect/sdks.md"], "sh"))
    assert sdks["OpenAI SDK (environment)"] in shell
    assert sdks["curl"] in shell


def test_config_examples_are_valid_settings(tmp_path: Path) -> None:
    from llmgw_desktop.config.settings import load_settings

    examples = [(name, b) for name, text in _pages().items() for b in _blocks(text, "toml")]
    examples += [("README.md", b) for b in _blocks(_readme(), "toml")]
    assert len(examples) >= 8
    for name, example in examples:
        # The placeholder stands for a real digest; everything else is loaded as written.
        text = example.replace("<sha256 hex of the client secret>", "0" * 64)
        config = tmp_path / "config.toml"
        config.write_text(text)
        loaded = load_settings(config, environ={})  # raises ConfigError naming a bad key
        assert loaded.settings is not None, name


def test_acp_snippets_on_the_editor_pages_match_what_the_connect_page_copies() -> None:
    from llmgw_desktop.ui.connect import acp_snippets

    pages = _pages()
    made = {s.client: s.text for s in acp_snippets(["llmgw-desktop", "mcp"])}
    assert json.loads(made["Zed"]) in _json_blocks(pages["connect/zed.md"])
    assert json.loads(made["JetBrains IDEs"]) in _json_blocks(pages["connect/jetbrains.md"])
    assert made["Neovim (CodeCompanion)"] in pages["connect/neovim.md"]
    # The README gives the command that prints them with this machine's path.
    shell = _blocks(_readme(), "sh")
    for editor in ("zed", "jetbrains", "neovim"):
        assert any(f".venv/bin/llmgw-desktop connect {editor}" in block for block in shell)


# Who runs each shell line of the README as written (a line none claims fails the test below).
README_LINES_RUN_BY = {
    "python3 -m venv": ".ci/run (the test command), test_readme_start_command_launches_the_app",
    "sudo apt install": "test_start_it_lists_the_packages_qt_s_window_needs_by_distribution",
    "sudo dnf install": "test_start_it_lists_the_packages_qt_s_window_needs_by_distribution",
    "sudo pacman -S": "test_start_it_lists_the_packages_qt_s_window_needs_by_distribution",
    ".venv/bin/llmgw-desktop connect": "tests/clients/test_readme_as_written.py",
    ".venv/bin/llmgw-desktop run": "tests/clients/test_readme_as_written.py",
    "ANTHROPIC_BASE_URL=": "tests/clients/test_readme_as_written.py (and test_claude_code.py)",
    "claude mcp add": "tests/clients/test_readme_as_written.py",
    "codex mcp add": "tests/clients/test_readme_as_written.py",
    "codex exec": "tests/clients/test_readme_as_written.py",
    "export LLMGW_API_KEY": "tests/clients/test_readme_as_written.py",
}


def test_every_readme_command_is_run_as_written_somewhere() -> None:
    lines = [line for block in _blocks(_readme(), "sh") for line in block.splitlines()]
    unclaimed = [line for line in lines if not line.startswith(tuple(README_LINES_RUN_BY))]
    assert unclaimed == [], "run it as written in a test, and name the test above"


def test_start_it_lists_the_packages_qt_s_window_needs_by_distribution() -> None:
    from llmgw_desktop.shell.window_libraries import WINDOW_PACKAGES, install_commands

    for page in (_readme(), (DOCS / "install.md").read_text(encoding="utf-8")):
        shell = "\n".join(_blocks(page, "sh"))
        for line in install_commands(WINDOW_PACKAGES):
            assert line.partition(": ")[2] in shell, line
