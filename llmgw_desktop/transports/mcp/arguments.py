"""Arguments checked before the SDK sees them, so a mistake is answered like any other refusal.

Left to the SDK, a tool's bad arguments came back as pydantic's own text, and a prompt's
missing argument as JSON-RPC code 0 with an ERROR traceback in the log. Here a tool's
arguments are validated against its input model first and refused as the usual structured
tool error (`{"error": {"code": "invalid_request", "details": {"param"}}}`); a prompt asked
without a required argument gets JSON-RPC -32602 (invalid params) naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel, ValidationError

from llmgw_desktop.engine.api import InvalidRequest
from llmgw_desktop.transports.mcp.results import tool_error

__all__ = ["arguments_middleware"]

# How many of pydantic's complaints a refusal lists (the rest are counted).
_SHOWN_PROBLEMS = 5


def arguments_middleware(
    tool_inputs: Mapping[str, type[BaseModel]], prompt_arguments: Mapping[str, tuple[str, ...]]
) -> Any:
    """A middleware checking `tools/call` arguments against each tool's input model and
    `prompts/get` arguments against each prompt's required names."""

    async def check(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        name = str(params.get("name", ""))
        arguments = params.get("arguments") or {}
        if ctx.method == "tools/call" and name in tool_inputs:
            problem = _tool_problem(tool_inputs[name], arguments)
            if problem is not None:
                return tool_error(problem)
        elif ctx.method == "prompts/get" and name in prompt_arguments:
            given = arguments if isinstance(arguments, Mapping) else {}
            missing = [a for a in prompt_arguments[name] if not str(given.get(a) or "").strip()]
            if missing:
                error = InvalidRequest(
                    f"prompt {name!r} needs the argument{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)}; give {'them' if len(missing) > 1 else 'it'} in "
                    "prompts/get arguments",
                    param=missing[0],
                )
                raise MCPError(INVALID_PARAMS, error.message, error.to_dict())
        return await call_next(ctx)

    return check


def _tool_problem(model: type[BaseModel], arguments: Any) -> InvalidRequest | None:
    """Why `arguments` do not fit `model`, or None when they do (or when the SDK would accept
    them after reading JSON text given for a list or an object, as it does)."""
    if not isinstance(arguments, Mapping):
        return InvalidRequest("arguments: must be an object", param="arguments")
    try:
        model.model_validate(dict(arguments))
        return None
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    try:
        model.model_validate({k: _json_text(v) for k, v in arguments.items()})
        return None
    except ValidationError:
        pass
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
        for e in errors[:_SHOWN_PROBLEMS]
    ]
    more = len(errors) - len(problems)
    message = "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
    first = errors[0]["loc"][0] if errors and errors[0]["loc"] else "arguments"
    return InvalidRequest(f"invalid arguments: {message}", param=str(first))


def _json_text(value: Any) -> Any:
    """A list or object given as JSON text, read; anything else as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
