"""An agent fronted for an editor: its model endpoint and key become the gateway's, and what
would send it elsewhere is taken out."""

from __future__ import annotations

from llmgw_desktop.engine.providers.acp.gateway_env import routed_environment

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
