"""How many of a vendor's server tools an answer used: billed per call, beside the tokens.

Anthropic reports them in `usage.server_tool_use` (`web_search_requests`, ...); an OpenAI
Responses answer lists each as an output item (`web_search_call`, `file_search_call`, ...).
Names follow `vendor_features.py` (`code_interpreter` is `code_execution`), so a count lines up
with the feature an operator allowed. Read leniently: an answer we cannot read counts nothing.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_ANTHROPIC, DIALECT_OPENAI_RESPONSES

__all__ = ["anthropic_server_tools", "responses_server_tools", "server_tools_of_answer"]

_SUFFIX = "_requests"
# Output items that are client tool calls or the answer itself, not a vendor's server tool.
_NOT_SERVER = frozenset(
    {
        "function_call",
        "custom_tool_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
        "computer_call",
    }
)
_NAMES = {"code_interpreter": "code_execution", "mcp": "mcp_servers"}
# A believable count of one answer's tool calls.
_MAX_CALLS = 1_000_000


def anthropic_server_tools(usage: Any) -> dict[str, int]:
    """Counts from an Anthropic `usage` object (`server_tool_use.web_search_requests`...)."""
    used = usage.get("server_tool_use") if isinstance(usage, dict) else None
    if not isinstance(used, dict):
        return {}
    out = {}
    for key, value in used.items():
        believable = isinstance(value, int) and not isinstance(value, bool)
        if key.endswith(_SUFFIX) and believable and 0 < value <= _MAX_CALLS:
            out[key.removesuffix(_SUFFIX)] = value
    return out


def responses_server_tools(response: Any) -> dict[str, int]:
    """Counts of the server-tool items in an OpenAI Responses `response` object."""
    output = response.get("output") if isinstance(response, dict) else None
    out: dict[str, int] = {}
    for item in output if isinstance(output, list) else ():
        kind = item.get("type") if isinstance(item, dict) else None
        if isinstance(kind, str) and kind.endswith("_call") and kind not in _NOT_SERVER:
            base = kind.removesuffix("_call")
            name = _NAMES.get(base, base)
            out[name] = out.get(name, 0) + 1
    return out


def server_tools_of_answer(dialect: str, answer: Any) -> dict[str, int]:
    """The server tools a whole same-dialect answer used (empty where the dialect says none)."""
    if not isinstance(answer, dict):
        return {}
    if dialect == DIALECT_ANTHROPIC:
        return anthropic_server_tools(answer.get("usage"))
    if dialect == DIALECT_OPENAI_RESPONSES:
        return responses_server_tools(answer)
    return {}
