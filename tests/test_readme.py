"""The README's two commands are the ones that work: CI runs the test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _shell_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    blocks = _shell_blocks((ROOT / "README.md").read_text())
    test_command = next(b for b in blocks if "pytest" in b)
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_start_command_launches_the_app() -> None:
    blocks = _shell_blocks((ROOT / "README.md").read_text())
    assert blocks[0].endswith("llmgw-desktop")
    assert "pip install -e ." in blocks[0]


def test_readme_connection_snippets_match_what_the_app_copies() -> None:
    import json

    from llmgw_desktop.ui.connect import snippets

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|json)\n(.*?)```", readme, flags=re.S)
    text = "\n".join(blocks)
    made = {
        s.client: s.text for s in snippets("http://127.0.0.1:3333/mcp", ["llmgw-desktop", "mcp"])
    }
    for client in ("Claude Code (HTTP)", "Claude Code (stdio)", "Codex"):
        assert made[client] in text, client
    json_blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, flags=re.S)]
    assert json.loads(made["Cursor"]) in json_blocks
    assert json.loads(made["VS Code"]) in json_blocks


def test_readme_locked_snippets_match_what_the_app_copies() -> None:
    """With a bearer lock, as the Connect page's Copy gives them (the token's placeholder)."""
    import json

    from llmgw_desktop.ui.connect import TOKEN_PLACEHOLDER, sdk_snippets, snippets

    readme = (ROOT / "README.md").read_text()
    shell = "\n".join(re.findall(r"```sh\n(.*?)```", readme, flags=re.S))
    python = [b.strip() for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)]
    json_blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, flags=re.S)]
    url = "http://127.0.0.1:3333/mcp"
    made = {
        s.client: s.text for s in snippets(url, ["llmgw-desktop", "mcp"], token=TOKEN_PLACEHOLDER)
    }
    for client in ("Claude Code (HTTP)", "Codex"):
        assert made[client] in shell, client
    assert json.loads(made["Cursor"]) in json_blocks
    assert json.loads(made["VS Code"]) in json_blocks
    sdks = {
        s.client: s.text for s in sdk_snippets("http://127.0.0.1:3333", token=TOKEN_PLACEHOLDER)
    }
    for client in ("OpenAI SDK (Python)", "Anthropic SDK (Python)", "Gemini SDK (Python)"):
        assert sdks[client] in python, client


def test_readme_config_examples_are_valid_settings(tmp_path: Path) -> None:
    from llmgw_desktop.config.settings import load_settings

    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    assert examples
    for example in examples:
        # The placeholder stands for a real digest; everything else is loaded as written.
        text = example.replace("<sha256 hex of the client secret>", "0" * 64)
        config = tmp_path / "config.toml"
        config.write_text(text)
        loaded = load_settings(config, environ={})  # raises ConfigError naming a bad key
        assert loaded.settings is not None


def test_readme_acp_snippets_match_what_the_connect_page_copies() -> None:
    import json

    from llmgw_desktop.ui.connect import acp_snippets

    readme = (ROOT / "README.md").read_text()
    made = {s.client: s.text for s in acp_snippets(["llmgw-desktop", "mcp"])}
    json_blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, flags=re.S)]
    assert json.loads(made["Zed"]) in json_blocks
    assert json.loads(made["JetBrains IDEs"]) in json_blocks
    assert made["Neovim (CodeCompanion)"] in readme
