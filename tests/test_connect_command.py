"""`llmgw-desktop connect CLIENT`: a tool's exact set-up for this gateway, with this machine's
path to `llmgw-desktop` and a model that answers with the keys the gateway has; `--write` puts
it in the tool's own settings file, the rest of the file kept, only with the person's yes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from llmgw_desktop.shell.cli.main import main
from llmgw_desktop.ui.connect import stdio_command

HOME_FILES = {
    "cursor": Path(".cursor/mcp.json"),
    "jetbrains": Path(".jetbrains/acp.json"),
    "claude-code": Path(".claude/settings.json"),
    "gemini-cli": Path(".gemini/settings.json"),
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        monkeypatch.delenv(name, raising=False)
    return folder


def _printed(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["connect", *args]) == 0
    return capsys.readouterr().out


def test_claude_code_with_only_an_openai_key_names_an_openai_model(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-only-openai")
    out = _printed(capsys, "claude-code")
    assert (
        "ANTHROPIC_BASE_URL=http://127.0.0.1:3333 ANTHROPIC_AUTH_TOKEN=llmgw-local "
        "ANTHROPIC_MODEL=gpt-5.1 ANTHROPIC_DEFAULT_HAIKU_MODEL=gpt-5.1 "
        "ANTHROPIC_DEFAULT_SONNET_MODEL=gpt-5.1 ANTHROPIC_DEFAULT_OPUS_MODEL=gpt-5.1 claude\n"
        in out
    )
    assert "no anthropic key was found" in out
    # The MCP relay by its absolute path: a venv's script is not on an editor's PATH.
    command = stdio_command()
    assert Path(command[0]).is_absolute()
    assert f"claude mcp add --scope user llmgw-desktop -- {' '.join(command)}" in out
    assert "sk-only-openai" not in out


def test_with_no_gateway_running_a_provider_set_to_another_server_is_said_to_be_a_guess(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a running gateway reads what a server `OPENAI_BASE_URL` names serves: the model
    named from the built-in list is said to be a guess, and how to have one it serves."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-only-openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    out = _printed(capsys, "claude-code")
    assert "OPENAI_BASE_URL names another server" in out, out
    assert "start it and connect again" in out
    # A shell set up to send its SDKs through this gateway names the gateway: no guess.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:3333/v1")
    assert "names another server" not in _printed(capsys, "claude-code")


def test_claude_code_with_an_anthropic_key_keeps_its_own_models(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-own")
    out = _printed(capsys, "claude-code")
    line = "ANTHROPIC_BASE_URL=http://127.0.0.1:3333 ANTHROPIC_AUTH_TOKEN=llmgw-local claude"
    assert line + "\n" in out
    assert "ANTHROPIC_MODEL" not in out.split("# --write")[0]


def test_write_with_yes_merges_the_entry_and_keeps_the_rest(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mcp = home / HOME_FILES["cursor"]
    mcp.parent.mkdir(parents=True)
    mcp.write_text(json.dumps({"mcpServers": {"other": {"url": "http://x"}}, "keep": 1}))
    mcp.chmod(0o600)
    out = _printed(capsys, "cursor", "--write", "--yes")
    assert f"Written to {mcp}." in out
    written = json.loads(mcp.read_text())
    assert written["keep"] == 1 and written["mcpServers"]["other"] == {"url": "http://x"}
    assert written["mcpServers"]["llmgw-desktop"] == {"url": "http://127.0.0.1:3333/mcp"}
    assert mcp.stat().st_mode & 0o777 == 0o600


def test_write_without_a_yes_or_on_a_file_with_comments_leaves_it_as_it_was(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    acp = home / HOME_FILES["jetbrains"]
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nothing typed: no
    assert main(["connect", "jetbrains", "--write"]) == 1
    assert "add --yes" in capsys.readouterr().err and not acp.exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["connect", "jetbrains", "--write"]) == 1
    assert "left as it was" in capsys.readouterr().err and not acp.exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["connect", "jetbrains", "--write"]) == 0
    assert json.loads(acp.read_text())["agent_servers"]["LLM gateway"]["args"][0] == "acp"

    zed = home / ".config" / "zed" / "settings.json"
    zed.parent.mkdir(parents=True)
    commented = '// Zed settings\n{"theme": "One Dark"}\n'
    zed.write_text(commented)
    assert main(["connect", "zed", "--write", "--yes"]) == 1
    assert "cannot be read as plain JSON" in capsys.readouterr().err
    assert zed.read_text() == commented


def test_codex_is_written_into_its_toml_with_its_comments_kept(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-only")
    config = home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text('# mine\napproval_policy = "never"\n')
    out = _printed(capsys, "codex", "--write", "--yes")
    assert "export LLMGW_API_KEY=llmgw-local" in out
    text = config.read_text()
    assert text.startswith('# mine\napproval_policy = "never"\n')
    assert 'model_provider = "llmgw"' in text and 'model = "claude-opus-4-6"' in text
    assert 'base_url = "http://127.0.0.1:3333/v1"' in text


def test_claude_code_write_sets_its_environment_in_its_settings(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "g-only")
    _printed(capsys, "claude-code", "--write", "--yes")
    env = json.loads((home / HOME_FILES["claude-code"]).read_text())["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:3333"
    aliases = ("HAIKU", "SONNET", "OPUS")
    assert {env[f"ANTHROPIC_DEFAULT_{alias}_MODEL"] for alias in aliases} == {
        env["ANTHROPIC_MODEL"]
    }
    assert env["ANTHROPIC_MODEL"].startswith("gemini-")


@pytest.mark.parametrize(
    ("before", "kept"), [("llmgw-local", None), ("sk-ant-mine", "sk-ant-mine")]
)
def test_claude_code_write_gives_the_key_as_its_bearer_token(
    home: Path, capsys: pytest.CaptureFixture[str], before: str, kept: str | None
) -> None:
    """Claude Code offers a key in `ANTHROPIC_API_KEY` to the person to trust first, "No"
    preselected, and then is "Not logged in": the gateway's key goes in its bearer token, an
    earlier write's stand-in key is taken out, and a key of the person's own is left alone."""
    settings = home / HOME_FILES["claude-code"]
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"env": {"ANTHROPIC_API_KEY": before}}))
    _printed(capsys, "claude-code", "--write", "--yes")
    env = json.loads(settings.read_text())["env"]
    assert env["ANTHROPIC_AUTH_TOKEN"] == "llmgw-local"
    assert env.get("ANTHROPIC_API_KEY") == kept


def test_neovim_and_the_sdks_are_printed_only(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "codecompanion.adapters" in _printed(capsys, "neovim")
    assert main(["connect", "neovim", "--write", "--yes"]) == 1
    assert "a Lua program" in capsys.readouterr().err
    assert "OpenAI(base_url=" in _printed(capsys, "sdk")


def test_the_sdk_set_up_names_openai_api_base_beside_openai_base_url(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The older name (Bifrost's setups, aider's, LangChain's and many tools') is set to the
    same address wherever the newer one is printed."""
    out = _printed(capsys, "sdk")
    assert "export OPENAI_BASE_URL=http://127.0.0.1:3333/v1\n" in out
    assert "export OPENAI_API_BASE=http://127.0.0.1:3333/v1\n" in out


def test_sdk_names_a_model_that_answers_for_the_first_call(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 64.6: `connect sdk` named no model, so the first call was a guess."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-only")
    out = _printed(capsys, "sdk")
    assert "# OpenAI SDK (first call), in Python:" in out
    assert 'model="claude-opus-4-6"' in out and "print(answer.choices[0].message.content)" in out
    assert "No openai key was found" in out
