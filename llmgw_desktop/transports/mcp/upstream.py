"""The user's own MCP servers on our endpoint: their tools, prompts and resources listed and
used under each server's name (`NAME__tool`, `NAME__prompt`, `NAME+uri`; `engine/upstream_mcp/
config.py` says why these cannot collide).

A middleware, not registered tools: what a server offers is known only once it runs, and
changes when it says so. Each list gets ours, then what each running server offers that the
caller may use (`engine.upstream_mcp` decides, by the server's policy); a call, prompt or read
in a server's namespace is relayed by the engine, which checks, asks the desk when the server
says so, and records it. The edge's rule still comes first: everything relayed needs
`gateway.use`. Progress the server reports for a call is passed to our client under the
client's own progress token; a client that cancels its call cancels the relayed one (the SDK's
client tells the server). Errors of a tool call are `isError` results, as for our own tools;
of a prompt or a read, JSON-RPC errors carrying our structured error.

When a server says one of its lists changed, every open session hears the matching
`notifications/*/list_changed` on its server-to-client stream (`ListChanges`).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    Prompt,
    Resource,
    ResourceTemplate,
    Tool,
)
from pydantic import BaseModel

from llmgw_desktop.engine.api import (
    Capability,
    Engine,
    EngineError,
    ErrorCode,
    key_tool_refusal,
    refusal,
)
from llmgw_desktop.transports.mcp.access import FORBIDDEN_RPC_CODE
from llmgw_desktop.transports.mcp.caller import Caller, current_caller
from llmgw_desktop.transports.mcp.results import tool_error

__all__ = [
    "ListChanges",
    "advertise_list_changes",
    "progress_token",
    "relay_tool_call",
    "upstream_middleware",
]

log = logging.getLogger(__name__)

# The sessions told of list changes: at most as many as the front door holds open (the oldest
# forgotten first; a session that ended is forgotten when a send to it fails).
REMEMBERED_SESSIONS = 2_000
SESSION_HEADER = "mcp-session-id"

# Each list method: the result's field, its model and the item's model.
_LISTS: dict[str, tuple[str, type[BaseModel], type[BaseModel]]] = {
    "tools/list": ("tools", ListToolsResult, Tool),
    "prompts/list": ("prompts", ListPromptsResult, Prompt),
    "resources/list": ("resources", ListResourcesResult, Resource),
    "resources/templates/list": (
        "resourceTemplates",
        ListResourceTemplatesResult,
        ResourceTemplate,
    ),
}
_NOTIFICATIONS = {
    "tools": "send_tool_list_changed",
    "prompts": "send_prompt_list_changed",
    "resources": "send_resource_list_changed",
}


class ListChanges:
    """The open sessions, and each told when an upstream server's list changes."""

    def __init__(self, engine: Engine) -> None:
        self._tasks = engine.tasks
        self._sessions: collections.OrderedDict[str, Any] = collections.OrderedDict()
        engine.upstream_mcp.on_lists_changed(self._changed)

    def remember(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Keep the session a request came on (a stateful HTTP session, or stdio)."""
        request = ctx.request
        if request is None:
            key = "stdio"
        else:
            headers = getattr(request, "headers", None)
            key = headers.get(SESSION_HEADER, "") if headers is not None else ""
            if not key:  # stateless, or `initialize` itself: no stream to tell anything on
                return
        self._sessions[key] = ctx.session
        self._sessions.move_to_end(key)
        while len(self._sessions) > REMEMBERED_SESSIONS:
            self._sessions.popitem(last=False)

    def _changed(self, server: str, kind: str) -> None:
        method = _NOTIFICATIONS.get(kind)
        if method is not None and self._sessions:
            self._tasks.spawn(self._tell(method), name=f"mcp-list-changed-{server}")

    async def _tell(self, method: str) -> None:
        for key, session in list(self._sessions.items()):
            try:
                await getattr(session, method)()
            except Exception as exc:  # the session ended: forget it
                log.debug("could not tell an MCP session of a list change: %s", exc)
                self._sessions.pop(key, None)


def advertise_list_changes(server: MCPServer) -> None:
    """Say `listChanged` for tools, prompts and resources in the 2025-era `initialize`.

    The SDK takes these flags only as an argument of the low-level server's
    `create_initialization_options`, which its session manager calls with none, and
    `MCPServer` has no setting for them; so the default is bound here, on this instance only.
    """
    from mcp.server.lowlevel.server import NotificationOptions

    low = server._lowlevel_server
    original = low.create_initialization_options
    every = NotificationOptions(prompts_changed=True, resources_changed=True, tools_changed=True)

    def with_list_changes(
        notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(notification_options or every, *args, **kwargs)

    low.create_initialization_options = with_list_changes  # type: ignore[method-assign]


def upstream_middleware(engine: Engine, changes: ListChanges | None = None) -> Any:
    """The middleware that adds the upstream servers' tools, prompts and resources to ours."""
    servers = engine.upstream_mcp

    async def relay(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if not servers.configured:
            return await call_next(ctx)
        if changes is not None:
            changes.remember(ctx)
        params = ctx.params or {}
        if ctx.method in _LISTS:
            return await _listed(engine, ctx.method, await call_next(ctx), params)
        if ctx.method == "resources/read":
            uri = str(params.get("uri", ""))
            if not servers.owns_uri(uri):
                return await call_next(ctx)
            return await _read(engine, uri)
        name = str(params.get("name", ""))
        if ctx.method == "prompts/get" and servers.owns(name):
            return await _prompt(engine, name, params.get("arguments"))
        if ctx.method != "tools/call" or not servers.owns(name):
            return await call_next(ctx)
        return await _tool_call(engine, ctx, name, params)

    return relay


async def _listed(engine: Engine, method: str, ours: Any, params: Mapping[str, Any]) -> Any:
    """Our list result (`ours`), with what the running servers offer that the caller may use
    after it, on the first page (theirs are all on it)."""
    if params.get("cursor"):
        return ours
    principal = current_caller().as_principal
    if refusal(principal, Capability.GATEWAY_USE) is not None:
        return ours
    servers = engine.upstream_mcp
    theirs: list[Any]
    if method == "tools/list":
        relayed = await servers.tools(principal)
        theirs = [t.tool.model_copy(update={"name": t.offered}) for t in relayed]
    elif method == "prompts/list":
        theirs = await servers.prompts(principal)
    elif method == "resources/list":
        theirs = await servers.resources(principal)
    else:
        theirs = await servers.resource_templates(principal)
    return _merged(method, ours, theirs)


async def _read(engine: Engine, uri: str) -> Any:
    """A read of a resource a server owns, relayed for the caller.

    Raises:
        MCPError: the caller may not use what is relayed, or the read was refused or failed.
    """
    caller = current_caller()
    return await _rpc(
        engine.upstream_mcp.read_resource(
            uri,
            principal=_allowed(caller.as_principal),
            client=caller.client,
            transport=caller.transport,
        )
    )


async def _prompt(engine: Engine, name: str, arguments: Any) -> Any:
    """A server's prompt `name`, relayed for the caller.

    Raises:
        MCPError: the caller may not use what is relayed, or the prompt was refused or failed.
    """
    caller = current_caller()
    return await _rpc(
        engine.upstream_mcp.get_prompt(
            name,
            arguments if isinstance(arguments, dict) else None,
            principal=_allowed(caller.as_principal),
            client=caller.client,
            transport=caller.transport,
        )
    )


async def _tool_call(
    engine: Engine, ctx: ServerRequestContext[Any, Any], name: str, params: Mapping[str, Any]
) -> Any:
    """A call of a server's tool `name`, relayed with the server's progress passed to our
    client under the client's own progress token (when it gave one)."""
    token = progress_token(params)

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if token is not None:
            await ctx.session.send_progress_notification(
                token,
                done,
                total,
                message,
                related_request_id=None if ctx.request_id is None else str(ctx.request_id),
            )

    return await relay_tool_call(
        engine,
        current_caller(),
        name,
        params.get("arguments"),
        progress if token is not None else None,
    )


async def relay_tool_call(
    engine: Engine, caller: Caller, name: str, arguments: Any, progress: Any = None
) -> Any:
    """A call of the user's server's tool `name` (one `engine.upstream_mcp` owns) by `caller`:
    the server's `CallToolResult`, or our `isError` result for a refusal or a failure. The
    middleware above and the front door's direct answer (`direct_calls.py`) both call this."""
    principal = caller.as_principal
    # Relayed calls are answered before the access middleware sees them, so a gateway key
    # that names its tools is held to them here too (SECURITY 46).
    denied = refusal(principal, Capability.GATEWAY_USE) or key_tool_refusal(principal, name)
    if denied is not None:
        return tool_error(denied)
    try:
        return await engine.upstream_mcp.call(
            name,
            arguments if isinstance(arguments, dict) else None,
            principal=principal,
            client=caller.client,
            transport=caller.transport,
            progress=progress,
        )
    except EngineError as error:
        return tool_error(error)


def _allowed(principal: Any) -> Any:
    """`principal`, once the edge's rule (`gateway.use`) lets it use anything relayed.

    Raises:
        MCPError: it may not (the structured refusal in the error's data).
    """
    denied = refusal(principal, Capability.GATEWAY_USE)
    if denied is not None:
        raise MCPError(FORBIDDEN_RPC_CODE, denied.message, denied.to_dict())
    return principal


async def _rpc(relayed: Any) -> Any:
    """The relayed prompt or read's result, or its error as a JSON-RPC error.

    Raises:
        MCPError: the engine refused or the server failed; our structured error is its data.
    """
    try:
        return await relayed
    except EngineError as error:
        code = {
            ErrorCode.UPSTREAM_TOOL_REFUSED: FORBIDDEN_RPC_CODE,
            ErrorCode.NOT_FOUND: INVALID_PARAMS,
        }.get(ErrorCode(error.code), INTERNAL_ERROR)
        upstream = error.details.get("upstreamCode")
        if error.code == ErrorCode.UPSTREAM_SERVER_ERROR and isinstance(upstream, int):
            code = upstream  # the server's own "not found" or "invalid params" stays that
        raise MCPError(code, error.message, error.to_dict()) from None


def _merged(method: str, result: Any, theirs: list[Any]) -> Any:
    """Our list result with the servers' items after ours (as a dict or as the SDK's model)."""
    field, result_type, item_type = _LISTS[method]
    if not theirs:
        return result
    if isinstance(result, Mapping) and isinstance(result.get(field), list):
        dumped = [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in theirs]
        return {**result, field: [*result[field], *dumped]}
    if isinstance(result, result_type):
        attribute = next(
            name for name, f in result_type.model_fields.items() if (f.alias or name) == field
        )
        items = [*getattr(result, attribute), *(item_type.model_validate(i) for i in theirs)]
        return result.model_copy(update={attribute: items})
    return result


def progress_token(params: Any) -> str | int | None:
    """The progress token a request's `_meta` carries, if any."""
    meta = params.get("_meta")
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    return token if isinstance(token, str | int) and not isinstance(token, bool) else None
