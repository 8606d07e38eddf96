"""The one table of how an agent or CLI is pointed at the gateway (`gateway_env.ROUTES`): its
model endpoint and key become the gateway's, and what would send it elsewhere is taken out; an
agent whose own settings send it elsewhere is not routed."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from llmgw_desktop.engine.providers.acp.gateway_env import (
    ROUTES,
    RoutePointing,
    own_route,
    pointed_arguments,
    pointed_environment,
    tool_environment,
    tool_own_route,
    vendor_of,
)

GATEWAY, KEY = "http://127.0.0.1:4000", "llmgw-acp-key"


def routed_environment(
    provider: str, environment: dict[str, str], base_url: str, key: str
) -> dict[str, str]:
    return pointed_environment(provider, environment, RoutePointing(base_url, key))


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


def test_a_cli_job_is_pointed_from_the_same_table() -> None:
    """Under a hard budget the gateway points a CLI's own job at itself (`agent_callbacks`):
    Claude Code and Gemini CLI by their variables, Codex by its `-c` overrides and a key
    variable, OpenCode by an inline configuration enabling only the providers it has keys for.
    Each drops the vendor keys it has no use for once pointed."""
    real = {"ANTHROPIC_API_KEY": "sk-ant-real", "OPENAI_API_KEY": "sk-real", "PATH": "/bin"}
    pointing = RoutePointing(GATEWAY, KEY, ("anthropic", "google"))
    assert pointed_environment("claude", real, pointing) == {
        "ANTHROPIC_BASE_URL": GATEWAY,
        "ANTHROPIC_AUTH_TOKEN": KEY,
        "OPENAI_API_KEY": "sk-real",
        "PATH": "/bin",
    }
    assert pointed_environment("codex", real, pointing) == {"LLMGW_API_KEY": KEY, "PATH": "/bin"}
    overrides = pointed_arguments("codex", pointing)
    parsed = tomllib.loads("\n".join(overrides[1::2]))  # Codex reads each as a TOML line
    assert overrides[::2] == ("-c", "-c") and parsed["model_provider"] == "llmgw"
    assert parsed["model_providers"]["llmgw"]["base_url"] == GATEWAY + "/v1"
    opencode = pointed_environment("opencode", real, pointing)
    config = json.loads(opencode.pop("OPENCODE_CONFIG_CONTENT"))
    assert opencode == {"PATH": "/bin"}
    assert config["enabled_providers"] == ["anthropic", "google"]
    assert config["provider"]["anthropic"]["options"] == {"baseURL": GATEWAY + "/v1", "apiKey": KEY}
    assert config["provider"]["google"]["options"]["baseURL"] == GATEWAY + "/v1beta"
    assert pointed_arguments("claude", pointing) == () and "copilot" not in ROUTES


def test_whose_key_pays_is_the_rows_vendor_or_the_one_opencodes_model_names() -> None:
    assert vendor_of("claude", "opus") == "anthropic" and vendor_of("codex", None) == "openai"
    assert vendor_of("gemini", None) == "google" == vendor_of("opencode", "google/gemini-2.5-pro")
    assert vendor_of("opencode", None) == ""  # any the gateway has a key for
    assert vendor_of("grok", "grok-4") == "xai"
    assert vendor_of("opencode", "openrouter/x") is None and vendor_of("copilot", None) is None


def test_a_managed_configuration_keeps_codex_and_opencode_off_the_route(tmp_path: Path) -> None:
    """Codex's and OpenCode's managed configuration comes over what a job is told (the `-c`
    overrides, the inline configuration); one naming a provider or a model is their own route.
    The user's own `config.toml` or `opencode.json` is not: the job's pointing comes over it."""
    home = {"HOME": str(tmp_path), "OPENCODE_TEST_MANAGED_CONFIG_DIR": str(tmp_path / "etc")}
    _write(tmp_path / ".codex/config.toml", 'model_provider = "azure"\n')
    _write(tmp_path / ".config/opencode/opencode.json", json.dumps({"model": "x/y"}))
    _write(tmp_path / "etc/opencode.json", json.dumps({"autoupdate": False}))
    assert own_route("codex", home) is None and own_route("opencode", home) is None
    _write(tmp_path / ".codex/managed_config.toml", 'model_provider = "azure"\n')
    _write(tmp_path / "etc/opencode.jsonc", json.dumps({"provider": {"anthropic": {}}}))
    assert "managed_config.toml" in (own_route("codex", home) or "")
    assert "managed configuration" in (own_route("opencode", home) or "")
