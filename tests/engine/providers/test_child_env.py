"""Which of the gateway's variables a child may see (`providers/child_env.py`)."""

from __future__ import annotations

from llmgw_desktop.config.child_env_names import never_passed
from llmgw_desktop.engine.providers.child_env import child_environment

GATEWAY = {
    "PATH": "/usr/bin",
    "HOME": "/home/me",
    "LC_ALL": "C.UTF-8",
    "https_proxy": "http://proxy:3128",
    "XDG_CONFIG_HOME": "/home/me/.config",
    "LLM_GATEWAY_MASTER_KEY": "k" * 64,
    "LLMGW_INSTANCE": "x",
    "PGPASSWORD": "p",
    "ANTHROPIC_API_KEY": "sk-ant",
    "OPENAI_API_KEY": "sk-openai",
    "GROQ_API_KEY": "gsk",
    "AWS_PROFILE": "work",
    "AWS_SECRET_ACCESS_KEY": "s",
}


def test_a_plain_helper_gets_only_what_any_program_needs() -> None:
    assert set(child_environment(environ=GATEWAY)) == {
        "PATH",
        "HOME",
        "LC_ALL",
        "https_proxy",
        "XDG_CONFIG_HOME",
    }


def test_a_cli_gets_its_own_family_and_what_the_operator_added_for_it() -> None:
    claude = child_environment("claude", passed=["AWS_PROFILE"], environ=GATEWAY)
    assert claude["ANTHROPIC_API_KEY"] == "sk-ant" and claude["AWS_PROFILE"] == "work"
    assert not {"OPENAI_API_KEY", "GROQ_API_KEY", "AWS_SECRET_ACCESS_KEY"} & set(claude)
    codex = child_environment("codex", environ=GATEWAY)
    assert "OPENAI_API_KEY" in codex and "ANTHROPIC_API_KEY" not in codex


def test_opencode_gets_the_family_of_the_vendor_its_model_names() -> None:
    assert "GROQ_API_KEY" in child_environment("opencode", model="groq/llama", environ=GATEWAY)
    assert "GROQ_API_KEY" not in child_environment("opencode", model="x/y", environ=GATEWAY)
    assert "ANTHROPIC_API_KEY" not in child_environment("opencode", environ=GATEWAY)


def test_the_gateways_own_variables_never_pass_even_when_asked() -> None:
    asked = ["LLM_GATEWAY_*", "PGPASSWORD", "LLMGW_INSTANCE"]
    child = child_environment("claude", passed=asked, environ=GATEWAY)
    assert not {"LLM_GATEWAY_MASTER_KEY", "PGPASSWORD", "LLMGW_INSTANCE"} & set(child)
    assert never_passed("PGHOST") and not never_passed("PATH")
