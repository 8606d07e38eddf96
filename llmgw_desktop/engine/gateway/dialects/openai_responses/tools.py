"""Responses tools (function, custom, namespaces; hosted tools left out) and tool choice, to and
from the neutral form.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    optional_str,
    required_str,
)
from llmgw_desktop.engine.gateway.dialects.freeform import (
    custom_tool_description,
    function_parameters,
)
from llmgw_desktop.engine.gateway.ir import (
    ToolDef,
)

__all__ = [
    "NAMESPACE_SEPARATOR",
    "parse_tool_choice",
    "parse_tools",
    "render_tool_choice",
    "render_tools",
]

NAMESPACE_SEPARATOR = "__"


_TOOL_CHOICES = ("auto", "none", "required")


def parse_tools(raw: Any, left_out: list[str]) -> tuple[ToolDef, ...]:
    if raw is None:
        return ()
    raw = expect_list(raw, "tools")
    tools: list[ToolDef] = []
    for i, tool in enumerate(raw):
        path = f"tools[{i}]"
        tool = expect_dict(tool, path)
        kind = tool.get("type")
        if kind in ("function", "custom"):
            tools.append(_parse_tool(tool, path))
        elif kind == "namespace":
            namespace = required_str(tool, "name", path)
            members = tool.get("tools")
            members = expect_list(members, f"{path}.tools")
            for j, member in enumerate(members):
                where = f"{path}.tools[{j}]"
                if not isinstance(member, dict) or member.get("type") not in ("function", "custom"):
                    raise InvalidRequest(f"{where}: expected a function or custom tool")
                inner = _parse_tool(member, where)
                tools.append(
                    ToolDef(
                        f"{namespace}{NAMESPACE_SEPARATOR}{inner.name}",
                        inner.description,
                        inner.parameters,
                        kind=inner.kind,
                        namespace=namespace,
                        local_name=inner.name,
                        format=inner.format,
                    )
                )
        else:
            left_out.append(f"{kind} tool (OpenAI's)")
    return tuple(tools)


def _parse_tool(tool: dict[str, Any], path: str) -> ToolDef:
    if "name" not in tool and isinstance(tool.get("function"), dict):
        raise InvalidRequest(
            f"{path}.name: required (Responses tools are not nested in 'function')"
        )
    name = required_str(tool, "name", path)
    description = tool.get("description")
    description = optional_str(description, f"{path}.description")
    if tool.get("type") == "custom":
        fmt = tool.get("format")
        return ToolDef(
            name, description or "", kind="custom", format=fmt if isinstance(fmt, dict) else None
        )
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidRequest(f"{path}.parameters: expected a JSON Schema object")
    if parameters:
        return ToolDef(name, description or "", parameters)
    return ToolDef(name, description or "")


def parse_tool_choice(raw: Any, left_out: list[str]) -> str | None:
    if raw is None or (isinstance(raw, str) and raw in _TOOL_CHOICES):
        return raw
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind in ("function", "custom"):
            return required_str(raw, "name", "tool_choice")
        if kind == "allowed_tools":
            left_out.append("tool_choice allowed_tools (every tool stays offered)")
            return "required" if raw.get("mode") == "required" else "auto"
        left_out.append(f"tool_choice {kind} (OpenAI's hosted tool)")
        return None
    raise InvalidRequest(
        "tool_choice: expected 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": …}"
    )


def render_tools(tools: tuple[ToolDef, ...]) -> list[dict[str, Any]]:
    # strict defaults to true in Responses; other dialects' schemas are not written for it.
    return [
        {
            "type": "function",
            "name": tool.name,
            "description": custom_tool_description(tool)
            if tool.kind == "custom"
            else tool.description,
            "parameters": function_parameters(tool),
            "strict": False,
        }
        for tool in tools
    ]


def render_tool_choice(choice: str) -> str | dict[str, Any]:
    return choice if choice in _TOOL_CHOICES else {"type": "function", "name": choice}
