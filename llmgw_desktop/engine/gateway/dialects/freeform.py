"""Freeform (`custom`) tools for the dialects that have only function tools: offered as a
function taking one string, described with their input format, and unwrapped on the way back.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.gateway.ir import CUSTOM_INPUT, ToolDef

__all__ = ["custom_input", "custom_tool_description", "function_parameters"]


def function_parameters(tool: ToolDef) -> dict[str, Any]:
    """The JSON Schema a dialect with only function tools gives `tool`."""
    if tool.kind != "custom":
        return tool.parameters
    return {
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": "The raw input text."}},
        "required": [CUSTOM_INPUT],
    }


def custom_tool_description(tool: ToolDef) -> str:
    """A freeform tool's description for a dialect without freeform tools: its input format
    (a grammar, when the client gave one) is written out so the model can follow it."""
    text = tool.description
    fmt = tool.format or {}
    definition = fmt.get("definition")
    if isinstance(definition, str) and definition:
        syntax = fmt.get("syntax") or "grammar"
        text += (
            f"\n\nPut the raw input in `{CUSTOM_INPUT}`; it must follow this {syntax} "
            f"grammar:\n{definition}"
        )
    else:
        text += f"\n\nPut the raw input text in `{CUSTOM_INPUT}`."
    return text.strip()


def custom_input(arguments: str) -> str:
    """A freeform tool's raw input, back from the one-string function it was offered as
    (a model that answered with bare text instead of the JSON object keeps its text)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get(CUSTOM_INPUT), str):
        return str(value[CUSTOM_INPUT])
    return arguments if not isinstance(value, dict) else json.dumps(value)
