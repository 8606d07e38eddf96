"""What a tool is (`ToolSpec`), and how one is offered on an MCP server (`bind`).

A tool is a plain async function `(engine, caller, inputs) -> CallToolResult` over a typed
pydantic input model; it knows nothing of the MCP request. `bind` gives the SDK a handler whose
signature is the input model's fields (with their `Annotated` descriptions and defaults, in
declaration order), so the SDK derives the same input schema it derived when each field was a
parameter of the tool function. The handler reads the caller of the message being handled,
validates the arguments into the model, and turns engine errors into structured tool errors.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel

from llmgw_desktop.engine.api import Engine
from llmgw_desktop.transports.mcp.caller import Caller, current_caller
from llmgw_desktop.transports.mcp.results import guarded

__all__ = ["NoInput", "ToolFn", "ToolSpec", "bind", "handler"]

InputT = TypeVar("InputT", bound=BaseModel)
ToolFn = Callable[[Engine, Caller, InputT], Awaitable[CallToolResult]]


class NoInput(BaseModel):
    """The input of a tool that takes no arguments."""


@dataclass(frozen=True)
class ToolSpec(Generic[InputT]):
    """One tool as the server lists it, and the function that runs it."""

    name: str
    run: ToolFn[InputT]
    inputs: type[InputT]
    annotations: ToolAnnotations | None = None
    title: str | None = None
    # Default: the function's docstring.
    description: str | None = None
    # The SDK titles the input schema "<schema_name>Arguments"; default: the tool's name.
    schema_name: str | None = None
    # Other names the same tool is offered under, each listed after it (the names a gateway
    # the project was specified from gives it: mcp-llm-bridge's `llm_generate`).
    aliases: tuple[str, ...] = ()


def handler(spec: ToolSpec[Any], engine: Engine) -> Callable[..., Awaitable[CallToolResult]]:
    """The function the SDK registers for `spec`: its schema is `spec.inputs`' fields."""

    # The caller comes from the context variable the caller middleware sets for this message,
    # so the handler needs no SDK context argument.
    async def handle(**arguments: Any) -> CallToolResult:
        inputs = spec.inputs.model_validate(arguments)
        return await spec.run(engine, current_caller(), inputs)

    hints = typing.get_type_hints(spec.inputs, include_extras=True)
    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=hints[name],
            default=inspect.Parameter.empty if field.is_required() else field.default,
        )
        for name, field in spec.inputs.model_fields.items()
    ]
    handle.__name__ = handle.__qualname__ = spec.schema_name or spec.name
    handle.__doc__ = spec.description or spec.run.__doc__
    handle.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=CallToolResult
    )
    handle.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": CallToolResult}
    return guarded(handle)


def bind(server: MCPServer, engine: Engine, spec: ToolSpec[Any]) -> None:
    """Offer `spec` on `server`, run against `engine`."""
    server.add_tool(
        handler(spec, engine),
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=spec.annotations,
    )
