"""Gemini function declarations and `toolConfig` to and from neutral tools and tool choice."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
)
from llmgw_desktop.engine.gateway.dialects.freeform import (
    custom_tool_description,
    function_parameters,
)
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.dialects.gemini.schema import json_schema
from llmgw_desktop.engine.gateway.ir import (
    ToolDef,
)

__all__ = ["parse_tool_choice", "parse_tools", "render_tool", "render_tool_choice"]

_MODES = {"AUTO": "auto", "VALIDATED": "auto", "ANY": "required", "NONE": "none"}


def parse_tools(raw: Any, left_out: list[str]) -> tuple[ToolDef, ...]:
    """`tools[].functionDeclarations` as neutral tools; Gemini's built-in tools (Google Search,
    code execution, URL context, ...) are named in `left_out`: another provider cannot run them.
    """
    tools: list[ToolDef] = []
    for i, tool in enumerate(expect_list(raw or [], "tools")):
        tool = expect_dict(tool, f"tools[{i}]")
        for key in tool:
            if (
                key not in ("functionDeclarations", "function_declarations")
                and left_out is not None
            ):
                left_out.append(f"{key} tool (Gemini's)")
        path = f"tools[{i}].functionDeclarations"
        for j, decl in enumerate(expect_list(field(tool, "functionDeclarations") or [], path)):
            decl = expect_dict(decl, f"{path}[{j}]")
            name = expect_str(field(decl, "name"), f"{path}[{j}].name")
            description = expect_str(field(decl, "description") or "", f"{path}[{j}].description")
            if (schema := field(decl, "parametersJsonSchema")) is not None:
                schema = expect_dict(schema, f"{path}[{j}].parametersJsonSchema")
            elif (schema := field(decl, "parameters")) is not None:
                schema = json_schema(expect_dict(schema, f"{path}[{j}].parameters"))
            else:
                tools.append(ToolDef(name, description))
                continue
            tools.append(ToolDef(name, description, schema))
    return tuple(tools)


def parse_tool_choice(raw: Any) -> str | None:
    """`toolConfig.functionCallingConfig` as a neutral tool choice."""
    if raw is None:
        return None
    calling = field(expect_dict(raw, "toolConfig"), "functionCallingConfig")
    if calling is None:
        return None
    path = "toolConfig.functionCallingConfig"
    calling = expect_dict(calling, path)
    mode = field(calling, "mode")
    if mode is None or mode == "MODE_UNSPECIFIED":
        return None
    if not isinstance(mode, str) or mode.upper() not in _MODES:
        raise InvalidRequest(f"{path}.mode: expected AUTO, ANY, NONE or VALIDATED, got {mode!r}")
    allowed = expect_list(
        field(calling, "allowedFunctionNames") or [], f"{path}.allowedFunctionNames"
    )
    if mode.upper() == "ANY" and len(allowed) == 1:
        return expect_str(allowed[0], f"{path}.allowedFunctionNames[0]")
    return _MODES[mode.upper()]


def render_tool(tool: ToolDef) -> dict[str, Any]:
    """A neutral tool as a function declaration."""
    # parametersJsonSchema takes full JSON Schema; `parameters` is an OpenAPI subset that
    # rejects common keywords such as additionalProperties.
    decl: dict[str, Any] = {"name": tool.name, "parametersJsonSchema": function_parameters(tool)}
    description = custom_tool_description(tool) if tool.kind == "custom" else tool.description
    if description:
        decl["description"] = description
    return decl


def render_tool_choice(choice: str) -> dict[str, Any]:
    """A neutral tool choice as `functionCallingConfig`."""
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if choice in modes:
        return {"mode": modes[choice]}
    return {"mode": "ANY", "allowedFunctionNames": [choice]}
