"""Chat Completions tools: definitions and tool choice (with the legacy `functions` form), and tool
calls both ways.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
)
from llmgw_desktop.engine.gateway.dialects.freeform import (
    custom_input,
    custom_tool_description,
    function_parameters,
)
from llmgw_desktop.engine.gateway.ir import (
    ToolCallPart,
    ToolDef,
)

__all__ = [
    "TOOL_CHOICES",
    "legacy_function_call",
    "legacy_functions",
    "parse_tool_choice",
    "parse_tools",
    "render_tool",
    "render_tool_call",
    "tool_arguments",
]

TOOL_CHOICES = ("auto", "none", "required")


def render_tool_call(call: ToolCallPart, tool: ToolDef | None = None) -> dict[str, Any]:
    """One entry of an assistant message's `tool_calls`; a call of the client's freeform
    (custom) tool goes back in that form, with its raw input."""
    if tool is not None and tool.kind == "custom":
        custom = {"name": call.name, "input": custom_input(call.arguments)}
        return {"id": call.id, "type": "custom", "custom": custom}
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def tool_arguments(value: Any) -> str:
    """Tool-call arguments as JSON text (some servers send an object, or nothing)."""
    if isinstance(value, str):
        return value if value.strip() else "{}"
    if value is None:
        return "{}"
    return json.dumps(value, separators=(",", ":"))


def parse_tools(raw: Any, left_out: list[str]) -> tuple[ToolDef, ...]:
    tools = []
    for i, item in enumerate(expect_list(raw, "tools")):
        tool = expect_dict(item, f"tools[{i}]")
        kind = tool.get("type", "function")
        if kind == "custom":
            custom = expect_dict(tool.get("custom"), f"tools[{i}].custom")
            name = expect_str(custom.get("name"), f"tools[{i}].custom.name")
            description = expect_str(
                custom.get("description") or "", f"tools[{i}].custom.description"
            )
            fmt = custom.get("format")
            tools.append(
                ToolDef(
                    name, description, kind="custom", format=fmt if isinstance(fmt, dict) else None
                )
            )
            continue
        if kind != "function":
            left_out.append(f"{kind} tool (OpenAI's)")
            continue
        function = expect_dict(tool.get("function"), f"tools[{i}].function")
        name = expect_str(function.get("name"), f"tools[{i}].function.name")
        description = expect_str(
            function.get("description") or "", f"tools[{i}].function.description"
        )
        # OpenAI allows a tool without parameters; the neutral default is the empty object.
        parameters = function.get("parameters")
        if parameters is None:
            parameters = ToolDef(name).parameters
        parameters = expect_dict(parameters, f"tools[{i}].function.parameters")
        tools.append(ToolDef(name, description, parameters))
    return tuple(tools)


def legacy_functions(raw: Any) -> list[dict[str, Any]]:
    """The deprecated `functions` list as `tools` entries."""
    return [{"type": "function", "function": f} for f in expect_list(raw, "functions")]


def parse_tool_choice(raw: Any, left_out: list[str]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw not in TOOL_CHOICES:
            raise InvalidRequest(f"tool_choice: expected one of {', '.join(TOOL_CHOICES)}")
        return raw
    choice = expect_dict(raw, "tool_choice")
    kind = choice.get("type")
    if kind in ("function", "custom"):
        named = expect_dict(choice.get(kind), f"tool_choice.{kind}")
        return expect_str(named.get("name"), f"tool_choice.{kind}.name")
    if kind == "allowed_tools":
        allowed = expect_dict(choice.get("allowed_tools"), "tool_choice.allowed_tools")
        left_out.append("tool_choice allowed_tools (every tool stays offered)")
        mode = allowed.get("mode")
        return "required" if mode == "required" else "auto"
    raise InvalidRequest("tool_choice.type: expected 'function', 'custom' or 'allowed_tools'")


def legacy_function_call(raw: Any) -> str | None:
    if raw is None or (isinstance(raw, str) and raw in ("auto", "none")):
        return raw
    return expect_str(expect_dict(raw, "function_call").get("name"), "function_call.name")


def render_tool(tool: ToolDef) -> dict[str, Any]:
    # Freeform tools become functions taking one string: compatible servers know no other kind.
    description = custom_tool_description(tool) if tool.kind == "custom" else tool.description
    function = {
        "name": tool.name,
        "description": description,
        "parameters": function_parameters(tool),
    }
    return {"type": "function", "function": function}
