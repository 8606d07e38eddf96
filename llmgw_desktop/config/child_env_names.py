"""The environment variable names a child process may be handed, and those it never is.

`engine/providers/child_env.py` builds a child's environment from these; the settings check of
`providers.pass_env` reads them here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping

__all__ = ["FAMILIES", "NEVER_PREFIXES", "env_key", "never_passed"]

# Each vendor CLI's own variables (and the package managers that upgrade them).
FAMILIES: Mapping[str, tuple[str, ...]] = {
    "claude": ("ANTHROPIC_", "CLAUDE_", "CLAUDECODE", "DISABLE_", "MCP_TIMEOUT"),
    "codex": ("OPENAI_", "CODEX_"),
    "gemini": ("GEMINI_", "GOOGLE_"),
    "grok": ("GROK_", "XAI_"),
    "mistral": ("MISTRAL_", "VIBE_"),
    "copilot": ("COPILOT_", "GH_", "GITHUB_"),
    "opencode": ("OPENCODE_",),
    # The ACP agents: each its vendor's variables (Qwen Code speaks OpenAI's API by default).
    "qwen": ("OPENAI_", "QWEN_", "DASHSCOPE_"),
    "gemini-acp": ("GEMINI_", "GOOGLE_"),
    "opencode-acp": ("OPENCODE_",),
    "claude-acp": ("ANTHROPIC_", "CLAUDE_", "CLAUDECODE", "DISABLE_", "MCP_TIMEOUT"),
    "codex-acp": ("OPENAI_", "CODEX_"),
    "npm": ("NPM_CONFIG_", "NVM_"),
    "pip": ("PIP_", "VIRTUAL_ENV"),
}
# The gateway's own secrets and the store's: no child ever gets them.
NEVER_PREFIXES = ("LLM_GATEWAY_", "LLMGW_", "PG")
_WINDOWS = sys.platform == "win32"


def never_passed(name: str) -> bool:
    """Whether `name` is one of the gateway's own variables, which no child may get."""
    return env_key(name).startswith(NEVER_PREFIXES)


def env_key(name: str) -> str:
    """`name` as the environment compares it (Windows ignores case)."""
    # Windows names are case-insensitive; elsewhere only the proxy names come in lower case.
    if _WINDOWS or re.fullmatch(r"(http|https|no|all)_proxy", name):
        return name.upper()
    return name
