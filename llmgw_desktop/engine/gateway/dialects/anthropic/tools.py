"""Anthropic tools to and from the neutral form, and tool choice.

Three kinds arrive from clients:
- custom tools (`input_schema`), the common case, carried as they are;
- Anthropic-defined tools the *client* runs (`bash_*`, `text_editor_*`, `memory_*`): they
  have no schema in the request because Anthropic knows it, so another dialect gets the
  documented input schema written out as an ordinary function;
- server tools Anthropic runs itself (`web_search_*`, `web_fetch_*`, `code_execution_*`, ...):
  another provider cannot run them, so they are left out and the notice says so.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_str,
    optional_str,
    typed_field,
)
from llmgw_desktop.engine.gateway.dialects.freeform import (
    custom_tool_description,
    function_parameters,
)
from llmgw_desktop.engine.gateway.ir import (
    ToolDef,
)

__all__ = ["parse_tool_choice", "parse_tools", "render_tool", "render_tool_choice"]


def parse_tool_choice(value: Any) -> str | None:
    if value is None:
        return None
    value = expect_dict(value, "tool_choice")
    kind = value.get("type")
    if kind == "tool":
        return str(typed_field(value, "name", "tool_choice.", str, "a string", required=True))
    choice = (
        {"auto": "auto", "any": "required", "none": "none"}.get(kind)
        if isinstance(kind, str)
        else None
    )
    if choice is None:
        raise InvalidRequest("tool_choice.type: expected 'auto', 'any', 'none' or 'tool'")
    return choice


def render_tool_choice(choice: str) -> dict[str, Any]:
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


_BASH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The bash command to run."},
        "restart": {"type": "boolean", "description": "Restart the shell session instead."},
    },
}


_EDIT_COMMANDS = ["view", "create", "str_replace", "insert", "undo_edit"]


_MEMORY_COMMANDS = ["view", "create", "str_replace", "insert", "delete", "rename"]


def _file_tool_schema(commands: list[str], *, renames: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "command": {"type": "string", "enum": commands},
        "path": {"type": "string", "description": "Absolute path of the file or directory."},
        "file_text": {"type": "string", "description": "Content of the file to create."},
        "old_str": {"type": "string", "description": "Exact text to replace."},
        "new_str": {"type": "string", "description": "Replacement text."},
        "insert_line": {"type": "integer", "description": "Line after which to insert."},
        "insert_text": {"type": "string", "description": "Text to insert."},
        "view_range": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "First and last line to view.",
        },
    }
    if renames:
        properties["old_path"] = {"type": "string"}
        properties["new_path"] = {"type": "string"}
    return {"type": "object", "properties": properties, "required": ["command"]}


# Type prefix -> (description, input schema) of the Anthropic-defined tools a client runs.
_CLIENT_TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "bash_": ("Run a command in a persistent bash shell.", _BASH_SCHEMA),
    "text_editor_": (
        "View, create and edit text files.",
        _file_tool_schema(_EDIT_COMMANDS, renames=False),
    ),
    "memory_": (
        "Read and write files in the memory directory.",
        _file_tool_schema(_MEMORY_COMMANDS, renames=True),
    ),
}


# Tool fields that only steer Anthropic's own handling; named in the notice when present.
_TOOL_HINTS = {
    "cache_control": "cache_control (prompt caching is Anthropic's)",
    "defer_loading": "defer_loading (Anthropic's tool search)",
    "input_examples": "input_examples",
    "allowed_callers": "allowed_callers",
    "eager_input_streaming": "eager_input_streaming",
}


def parse_tools(value: Any, left_out: list[str]) -> tuple[ToolDef, ...]:
    """Client tools in neutral form; what cannot be carried is named in `left_out`.

    Raises:
        InvalidRequest: a tool is malformed (named by index).
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidRequest("tools: expected a list of tools")
    tools = []
    for i, raw in enumerate(value):
        raw = expect_dict(raw, f"tools[{i}]")
        left_out.extend(hint for key, hint in _TOOL_HINTS.items() if raw.get(key))
        tool = _parse_tool(raw, f"tools[{i}]", left_out)
        if tool is not None:
            tools.append(tool)
    return tuple(tools)


def _parse_tool(raw: dict[str, Any], path: str, left_out: list[str]) -> ToolDef | None:
    kind = raw.get("type")
    name = raw.get("name")
    if kind in (None, "custom") or "input_schema" in raw:
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{path}.name: required")
        schema = raw.get("input_schema")
        if schema is None:
            raise InvalidRequest(f"{path}.input_schema: required")
        if not isinstance(schema, dict):
            raise InvalidRequest(f"{path}.input_schema: expected a JSON Schema object")
        description = raw.get("description")
        description = optional_str(description, f"{path}.description")
        return ToolDef(name, description or "", schema)
    kind = expect_str(kind, f"{path}.type")
    for prefix, (description, schema) in _CLIENT_TOOLS.items():
        if kind.startswith(prefix) and isinstance(name, str) and name:
            return ToolDef(name, description, schema)
    # A server tool (or one newer than this table): another provider has nothing to run it.
    left_out.append(f"{kind} tool (run by Anthropic)")
    return None


def render_tool(tool: ToolDef) -> dict[str, Any]:
    """A neutral tool as an Anthropic custom tool."""
    out: dict[str, Any] = {"name": tool.name}
    description = tool.description
    if tool.kind == "custom":
        description = custom_tool_description(tool)
    if description:
        out["description"] = description
    out["input_schema"] = function_parameters(tool)
    return out
