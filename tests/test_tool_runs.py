"""How `llmgw-desktop run` points each tool at the gateway for one process (`shell/tool_runs.py`):
the variables and arguments each reads, and what would send it elsewhere taken out. The tools
themselves run through it in tests/e2e/test_run_command.py."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from llmgw_desktop.shell.tool_runs import Pointing, tool_for

GATEWAY = "http://127.0.0.1:3333"


def _pointing(tmp_path: Path, model: str | None = "gpt-5.1") -> Pointing:
    return Pointing(GATEWAY, "llmgw-local", model, tmp_path)


def test_claude_code_is_told_the_model_for_its_main_and_small_calls(tmp_path: Path) -> None:
    tool = tool_for("/usr/local/bin/claude")
    env = tool.environment({"ANTHROPIC_API_KEY": "sk-ant-real"}, _pointing(tmp_path))
    assert env == {
        "ANTHROPIC_BASE_URL": GATEWAY,
        "ANTHROPIC_AUTH_TOKEN": "llmgw-local",
        "ANTHROPIC_MODEL": "gpt-5.1",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.1",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.1",
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.1",
    }
    assert "ANTHROPIC_MODEL" not in tool.environment({}, _pointing(tmp_path, None))


def test_grok_is_pointed_by_its_models_base_url_and_told_the_model(tmp_path: Path) -> None:
    tool = tool_for("grok")
    env = tool.environment({"XAI_API_KEY": "xai-real"}, _pointing(tmp_path))
    assert env == {"GROK_MODELS_BASE_URL": GATEWAY + "/v1", "XAI_API_KEY": "llmgw-local"}
    assert tool.arguments(_pointing(tmp_path)) == ("--model", "gpt-5.1")
    assert tool.arguments(_pointing(tmp_path, None)) == ()


def test_codex_gets_the_gateway_as_its_provider_for_this_run_only(tmp_path: Path) -> None:
    tool = tool_for("codex")
    arguments = tool.arguments(_pointing(tmp_path))
    overrides = [arguments[i + 1] for i in range(0, len(arguments), 2)]
    assert arguments[::2] == ("-c",) * len(overrides)
    parsed = tomllib.loads("\n".join(overrides))  # Codex reads each as a TOML line
    assert parsed["model_provider"] == "llmgw" and parsed["model"] == "gpt-5.1"
    assert parsed["model_providers"]["llmgw"]["base_url"] == GATEWAY + "/v1"
    assert tool.environment({}, _pointing(tmp_path))["LLMGW_API_KEY"] == "llmgw-local"


def test_gemini_cli_gets_the_api_key_login_over_the_persons_system_settings(
    tmp_path: Path,
) -> None:
    own = tmp_path / "system.json"
    own.write_text(json.dumps({"general": {"vimMode": True}}), encoding="utf-8")
    scratch = tmp_path / "run"
    scratch.mkdir()
    env = tool_for("gemini").environment(
        {"GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(own), "GOOGLE_API_KEY": "real"},
        Pointing(GATEWAY, "llmgw-local", "gpt-5.1", scratch),
    )
    assert "GOOGLE_API_KEY" not in env and env["GEMINI_MODEL"] == "gpt-5.1"
    copy = json.loads(Path(env["GEMINI_CLI_SYSTEM_SETTINGS_PATH"]).read_text(encoding="utf-8"))
    assert copy == {
        "general": {"vimMode": True},
        "security": {"auth": {"selectedType": "gemini-api-key"}},
    }


def test_opencode_reads_a_provider_for_the_gateway_from_its_environment(tmp_path: Path) -> None:
    env = tool_for("opencode").environment({}, _pointing(tmp_path))
    config = json.loads(env["OPENCODE_CONFIG_CONTENT"])
    assert config["model"] == "llmgw/gpt-5.1"
    assert config["provider"]["llmgw"]["options"]["baseURL"] == GATEWAY + "/v1"


def test_any_other_command_gets_every_sdks_variables_and_loses_other_credentials(
    tmp_path: Path,
) -> None:
    tool = tool_for("python3")
    assert (tool.name, tool.vendor, tool.cli) == ("python3", None, None)
    env = tool.environment(
        {"ANTHROPIC_AUTH_TOKEN": "real", "GOOGLE_API_KEY": "real", "HOME": "/home/me"},
        _pointing(tmp_path),
    )
    assert env["HOME"] == "/home/me"
    assert "ANTHROPIC_AUTH_TOKEN" not in env and "GOOGLE_API_KEY" not in env
    assert env["OPENAI_BASE_URL"] == GATEWAY + "/v1" and env["OLLAMA_HOST"] == GATEWAY
    # The older name of the OpenAI base URL (aider's, LangChain's, Bifrost's setups) too.
    assert env["OPENAI_API_BASE"] == env["OPENAI_BASE_URL"]
    assert env["LLMGW_MODEL"] == "gpt-5.1"


def test_every_tool_a_refusal_names_is_one_connect_sets_up_and_run_starts() -> None:
    # A no-key refusal tells Claude Code, Codex and the Gemini CLI the two commands by name
    # (`engine/gateway/errors.py`): both must know the tool.
    from llmgw_desktop.engine.gateway.errors import CONNECTED_TOOLS
    from llmgw_desktop.shell.cli.connect import CLIENT_NAMES
    from llmgw_desktop.shell.tool_runs import TOOLS

    for caller, (name, command) in CONNECTED_TOOLS.items():
        assert caller in CLIENT_NAMES, caller
        assert TOOLS[command].name == name, command
