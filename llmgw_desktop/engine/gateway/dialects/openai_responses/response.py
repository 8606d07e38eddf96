"""A finished `response` object: parsed from an upstream, rendered for a client, with its status and
stop reasons both ways.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.openai_responses.items import (
    dicts,
    function_call_item,
    message_item,
    new_id,
    output_parts,
    reasoning_item,
    response_object,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
)

__all__ = ["parse_response", "render_response", "response_id", "status_of", "stop_reason_of"]


def parse_response(body: Any) -> ChatResponse:
    """A complete `response` object in neutral form.

    Raises:
        UpstreamMalformed: the body is not a Responses answer.
    """
    if not isinstance(body, dict) or body.get("object", "response") != "response":
        raise UpstreamMalformed('not an OpenAI Responses answer: expected "object": "response"')
    output = body.get("output")
    if not isinstance(output, list):
        raise UpstreamMalformed("not an OpenAI Responses answer: no output list")
    return ChatResponse(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        parts=tuple(part for item in output for _, part in output_parts(item)),
        stop_reason=stop_reason_of(body),
        usage=parse_usage(body.get("usage")),
    )


def render_response(response: ChatResponse, request: ChatRequest | None = None) -> dict[str, Any]:
    """The `response` object a Responses client expects; calls of the client's namespaced
    or freeform tools go back in the form the client declared them."""
    status, incomplete, error = status_of(response.stop_reason)
    item_status = "completed" if status == "completed" else "incomplete"
    output: list[dict[str, Any]] = []
    for part in response.parts:
        if isinstance(part, TextPart):
            output.append(message_item(new_id("msg"), [part.text], item_status))
        elif isinstance(part, ThinkingPart):
            output.append(reasoning_item(new_id("rs"), [part.text]))
        elif isinstance(part, ToolCallPart):
            tool = request.tool_named(part.name) if request else None
            item_id = new_id("ctc" if tool and tool.kind == "custom" else "fc")
            output.append(function_call_item(item_id, part, "completed", tool))
    return response_object(
        response_id(response.id),
        response.model,
        status,
        output,
        response.usage,
        incomplete=incomplete,
        error=error,
    )


def response_id(given: str) -> str:
    return given if given.startswith("resp_") else new_id("resp")


def status_of(stop: StopReason) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """(status, incomplete_details, error) of a response that stopped for `stop`."""
    if stop == "max_tokens":
        return "incomplete", {"reason": "max_output_tokens"}, None
    if stop == "refusal":
        return "incomplete", {"reason": "content_filter"}, None
    if stop == "error":
        error = {"code": "server_error", "message": "The model failed to complete the response."}
        return "failed", None, error
    return "completed", None, None


def stop_reason_of(response: dict[str, Any], *, tool_called: bool = False) -> StopReason:
    """The neutral stop reason of a final response object."""
    status = response.get("status")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return "refusal" if reason == "content_filter" else "max_tokens"
    if status == "failed":
        return "error"
    items = dicts(response.get("output"))
    if tool_called or any(item.get("type") == "function_call" for item in items):
        return "tool_use"
    contents = [c for i in items if i.get("type") == "message" for c in dicts(i.get("content"))]
    return "refusal" if any(c.get("type") == "refusal" for c in contents) else "end_turn"
