"""An agent fronted for an editor: its model endpoint and key become the gateway's, and what
would send it elsewhere is taken out; an agent whose own settings send it elsewhere is not
routed."""

from __future__ import annotations

import json
from pathlib import Path

from llmgw_desktop.engine.providers.acp.gateway_env import (
    own_route,
    routed_environment,
    routes_through_gateway,
    tool_environment,
    tool_own_route,
)

GATEWAY, KEY = "http://127.0.0.1:4000", "llmgw-acp-key"


def test_claude_code_calls_the_gateway_with_the_connection_key_only() -> None:
    environment = {
        "ANTHROPIC_API_KEY": "sk-ant-real",
        "ANTHROPIC_AUTH_TOKEN": "real-token",
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "PATH": "/usr/bin",
    }
    routed = routed_environment("claude-acp", environment, GATEWAY, KEY)
    assert routed == {
        "ANTHROPIC_BASE_URL": GATEWAY,
        "ANTHROPIC_API_KEY": KEY,
        "PATH": "/usr/bin",
    }


def test_openai_style_agents_get_the_v1_base_and_gemini_its_own() -> None:
    assert routed_environment("codex-acp", {}, GATEWAY + "/", KEY)["OPENAI_BASE_URL"] == (
        GATEWAY + "/v1"
    )
    assert routed_environment("qwen", {"DASHSCOPE_API_KEY": "x"}, GATEWAY, KEY) == {
        "OPENAI_BASE_URL": GATEWAY + "/v1",
        "OPENAI_API_KEY": KEY,
    }
    gemini = routed_environment("gemini-acp", {"GOOGLE_API_KEY": "x"}, GATEWAY, KEY)
    assert gemini == {"GOOGLE_GEMINI_BASE_URL": GATEWAY, "GEMINI_API_KEY": KEY}


def test_an_agent_without_a_known_convention_is_left_as_it_is() -> None:
    environment = {"OPENCODE_CONFIG": "x"}
    assert routed_environment("opencode-acp", environment, GATEWAY, KEY) == environment
    assert routed_environment("claude-acp", environment, "", KEY) == environment


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_settings_that_choose_another_login_keep_the_agent_off_the_route(tmp_path: Path) -> None:
    # Each agent's own settings, as its operator's sign-in or the connect command writes them.
    home = {"HOME": str(tmp_path)}
    assert all(own_route(agent, home) is None for agent in _AGENTS)
    _write(tmp_path / ".claude/settings.json", json.dumps({"env": {"ANTHROPIC_API_KEY": "t"}}))
    _write(tmp_path / ".gemini/settings.json", _login("oauth-personal"))
    _write(tmp_path / ".qwen/settings.json", _login("qwen-oauth"))
    _write(tmp_path / ".codex/config.toml", 'model_provider = "llmgw"\n')
    found = {agent: own_route(agent, home) for agent in _AGENTS}
    assert "ANTHROPIC_API_KEY" in (found["claude-acp"] or "")
    assert "oauth-personal" in (found["gemini-acp"] or "")
    assert "qwen-oauth" in (found["qwen"] or "")
    assert "'llmgw'" in (found["codex-acp"] or "")
    assert own_route("opencode-acp", home) is None  # no known convention: never routed anyway


def test_settings_that_leave_the_route_alone_keep_it(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    _write(tmp_path / ".claude/settings.json", json.dumps({"env": {"MAX_THINKING_TOKENS": "1"}}))
    _write(tmp_path / ".gemini/settings.json", _login("gemini-api-key"))
    _write(tmp_path / ".qwen/settings.json", _login("openai"))
    _write(tmp_path / ".codex/config.toml", 'model = "gpt-5.5"\n')
    assert all(own_route(agent, home) is None for agent in _AGENTS)
    # A Qwen Code key or base URL of its own is preferred to its environment's.
    _write(tmp_path / ".qwen/settings.json", json.dumps({"security": {"auth": {"apiKey": "k"}}}))
    assert own_route("qwen", home) is not None
    # Unreadable settings are no settings (the agent would not start on them either).
    _write(tmp_path / ".gemini/settings.json", "{not json")
    assert own_route("gemini-acp", home) is None


def test_each_agents_home_variable_is_where_its_settings_are(tmp_path: Path) -> None:
    _write(tmp_path / "claude-dir/settings.json", json.dumps({"apiKeyHelper": "echo k"}))
    _write(tmp_path / "gemini-home/.gemini/settings.json", _login("vertex-ai"))
    _write(tmp_path / "codex-dir/config.toml", 'model_provider = "azure"\n')
    home = {
        "HOME": str(tmp_path / "elsewhere"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-dir"),
        "GEMINI_CLI_HOME": str(tmp_path / "gemini-home"),
        "CODEX_HOME": str(tmp_path / "codex-dir"),
    }
    for agent in ("claude-acp", "gemini-acp", "codex-acp"):
        assert own_route(agent, home) is not None, agent


_AGENTS = ("claude-acp", "gemini-acp", "qwen", "codex-acp")


def _login(chosen: str) -> str:
    return json.dumps({"security": {"auth": {"selectedType": chosen}}})


def test_a_tool_run_takes_its_key_as_claude_codes_bearer_and_drops_the_real_one() -> None:
    environment = {"ANTHROPIC_API_KEY": "sk-ant-real", "PATH": "/usr/bin"}
    assert tool_environment("claude", environment, GATEWAY, KEY) == {
        "ANTHROPIC_BASE_URL": GATEWAY,
        "ANTHROPIC_AUTH_TOKEN": KEY,
        "PATH": "/usr/bin",
    }
    assert tool_environment("gemini", {}, GATEWAY, KEY) == {
        "GOOGLE_GEMINI_BASE_URL": GATEWAY,
        "GEMINI_API_KEY": KEY,
    }
    # xAI's Grok CLI: its model list and calls from its models base URL, the key a bearer.
    assert tool_environment("grok", {"GROK_CODE_XAI_API_KEY": "xai-real"}, GATEWAY, KEY) == {
        "GROK_MODELS_BASE_URL": GATEWAY + "/v1",
        "XAI_API_KEY": KEY,
    }
    assert tool_environment("copilot", {}, GATEWAY, KEY) is None


def test_grok_s_own_config_may_send_its_calls_elsewhere(tmp_path: Path) -> None:
    grok_home = tmp_path / "grok"
    grok_home.mkdir()
    environment = {"GROK_HOME": str(grok_home)}
    assert tool_own_route("grok", environment) is None
    (grok_home / "config.toml").write_text('[model.grok-build]\napi_key = "xai-own"\n')
    assert "grok-build its own api_key" in (tool_own_route("grok", environment) or "")
    (grok_home / "config.toml").write_text('[endpoints]\nmodels_base_url = "https://x"\n')
    assert "models_base_url" in (tool_own_route("grok", environment) or "")


def test_a_cli_the_gateway_runs_itself_never_counts_as_routed_back() -> None:
    # `run`'s ids are the CLIs' own: a job the gateway runs of them is not pointed at the
    # gateway, so a hard budget must not take it for one whose calls come back.
    for cli in ("claude", "gemini", "codex", "opencode"):
        assert not routes_through_gateway(cli), cli
