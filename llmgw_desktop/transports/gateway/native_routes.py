"""The gateway's own endpoints: /v1/generate, /v1/providers, and the vault's keys and files.

The vault's routes are the operator's alone; the vault itself refuses anyone else (403
`operator_only`), and the edge's door table says so first (`transports/doors.py`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from llmgw_desktop.config.words import unknown_names
from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    CallerInfo,
    Completed,
    Engine,
    InvalidRequest,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.auth_edge import principal_of
from llmgw_desktop.transports.gateway.callers import (
    cache_control,
    caller_name,
    project_scope,
    session_named,
)
from llmgw_desktop.transports.gateway.exchange import json_body, read_json

__all__ = [
    "add_native_routes",
    "delete_credential",
    "delete_file",
    "generate",
    "list_credentials",
    "list_files",
    "providers",
    "store_credential",
    "store_file",
]

DEFAULT_MAX_TOKENS = 4096
GENERATE_FIELDS = {"prompt", "system", "provider", "model", "maxTokens", "temperature", "project"}


def add_native_routes(app: web.Application, engine: Engine) -> None:
    """Mount /v1/generate, /v1/providers, /v1/credentials and /v1/files."""
    app[ENGINE] = engine  # the handlers below read it from their request's app
    app.router.add_post("/v1/generate", generate)
    app.router.add_get("/v1/providers", providers)
    app.router.add_post("/v1/credentials", store_credential)
    app.router.add_get("/v1/credentials", list_credentials)
    app.router.add_delete("/v1/credentials/{id}", delete_credential)
    app.router.add_post("/v1/files", store_file)
    app.router.add_get("/v1/files", list_files)
    app.router.add_delete("/v1/files/{id}", delete_file)


async def generate(request: web.Request) -> web.Response:
    """A prompt answered whole, with the route it took (the gateway's own simple form)."""
    engine = request.app[ENGINE]
    body = await read_json(request)
    chat = generate_as_chat(body)
    principal = principal_of(request)
    caller = CallerInfo(
        principal=principal.id,
        caller=principal.lane(caller_name(request.headers)),
        project=project_scope(request.headers, body, principal),
        endpoint="/v1/generate",
        session_id=session_named(request.headers),
        cache_control=cache_control(request.headers),
        proven=principal,
    )
    if not body.get("model"):
        # No model named: gateway.default_model, else the first that answers (of the named
        # provider), for this caller under its project.
        chat["model"] = await engine.providers.model_to_ask(
            caller.project, principal.id, body.get("provider")
        )
    answer = await engine.gateway.chat(DIALECT_OPENAI_CHAT, chat, caller)
    assert isinstance(answer, Completed)  # streaming is not offered here
    route, usage = answer.route, answer.usage
    data = answer.json()
    message = data["choices"][0]["message"] if data.get("choices") else {}
    return json_body(
        {
            "text": message.get("content") or "",
            "provider": route.provider,
            "model": route.model,
            "tokensUsed": usage.total_tokens,
            "usage": {
                "inputTokens": usage.input_tokens,
                "outputTokens": usage.output_tokens,
                "cacheReadTokens": usage.cache_read_tokens,
                "cacheWriteTokens": usage.cache_write_tokens,
            },
            "requestedProvider": body.get("provider"),
            "requestedModel": body.get("model"),
            "resolvedProvider": route.provider,
            "resolvedModel": route.model,
            "fallbackUsed": route.fallback_used,
            "requestId": route.request_id,
        },
        headers=route.headers(),
    )


async def providers(request: web.Request) -> web.Response:
    """Every provider with its state and models, and the config's stale references."""
    engine = request.app[ENGINE]
    project = project_scope(request.headers, _query_project(request))
    # A project's listing reads its vault key pool: granted as a call under it would be.
    principal = principal_of(request).id
    engine.project_grants.require(principal, project)
    return json_body(
        {
            "providers": await engine.providers.listing(project, principal),
            "staleReferences": [r.to_dict() for r in engine.providers.stale_references()],
            # Routes over several targets: each target's share, latency and cool-down; and
            # every target cooling down now (a key sees the targets in its scope).
            "routes": [view.to_dict() for view in engine.providers.routes(principal)],
            "cooling": [view.to_dict() for view in engine.providers.cooling(principal)],
        }
    )


async def store_credential(request: web.Request) -> web.Response:
    """Seal an API key in the vault (operator only)."""
    engine = request.app[ENGINE]
    body = await read_json(request)
    _require_strings(body, ("provider", "apiKey"), ("keyName", "project"))
    stored = await engine.vault.store_key(
        principal_of(request),
        body["provider"],
        body["apiKey"],
        key_name=body.get("keyName") or "default",
        project=body.get("project") or "_global",
    )
    return json_body(stored, status=201)


async def list_credentials(request: web.Request) -> web.Response:
    """The vault's keys, masked (operator only)."""
    engine = request.app[ENGINE]
    project = request.query.get("project") or None
    keys = await engine.vault.list_keys(principal_of(request), project)
    return json_body({"credentials": keys})


async def delete_credential(request: web.Request) -> web.Response:
    """Delete a vault key by id (operator only)."""
    engine = request.app[ENGINE]
    # NotFound if absent
    await engine.vault.delete_key(principal_of(request), request.match_info["id"])
    return json_body({"ok": True})


async def store_file(request: web.Request) -> web.Response:
    """Seal an auth file in the vault, UTF-8 or base64 (operator only)."""
    engine = request.app[ENGINE]
    body = await read_json(request)
    _require_strings(body, ("provider", "fileName", "content"), ("project", "encoding"))
    content: str | bytes = body["content"]
    if body.get("encoding") == "base64":
        try:
            content = base64.b64decode(body["content"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("content: not valid base64", param="content") from None
    elif body.get("encoding") not in (None, "utf-8"):
        raise InvalidRequest("encoding: use utf-8 (default) or base64", param="encoding")
    stored = await engine.vault.store_file(
        principal_of(request),
        body["provider"],
        body["fileName"],
        content,
        project=body.get("project") or "_global",
    )
    return json_body(stored, status=201)


async def list_files(request: web.Request) -> web.Response:
    """The vault's files, without their content (operator only)."""
    engine = request.app[ENGINE]
    project = request.query.get("project") or None
    return json_body({"files": await engine.vault.list_files(principal_of(request), project)})


async def delete_file(request: web.Request) -> web.Response:
    """Delete a vault file by id (operator only)."""
    engine = request.app[ENGINE]
    # NotFound if absent
    await engine.vault.delete_file(principal_of(request), request.match_info["id"])
    return json_body({"ok": True})


def generate_as_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A /v1/generate body as an OpenAI chat request.

    Raises:
        InvalidRequest: a field is missing, unknown or of the wrong type.
    """
    unknown = sorted(set(body) - GENERATE_FIELDS)
    if unknown:
        raise InvalidRequest(
            f"/v1/generate: {unknown_names('field', unknown, sorted(GENERATE_FIELDS))}",
            param=unknown[0],
        )
    _require_strings(body, ("prompt",), ("system", "provider", "model", "project"))
    if not body["prompt"].strip():
        raise InvalidRequest("prompt: must not be empty", param="prompt")
    max_tokens = body.get("maxTokens", DEFAULT_MAX_TOKENS)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequest("maxTokens: must be a positive whole number", param="maxTokens")
    provider, model = body.get("provider"), body.get("model")
    if provider and model:
        model = model if model.startswith(f"{provider}/") else f"{provider}/{model}"
    messages = [{"role": "user", "content": body["prompt"]}]
    if body.get("system"):
        messages.insert(0, {"role": "system", "content": body["system"]})
    chat: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens}
    if model:
        chat["model"] = model
    if "temperature" in body:
        chat["temperature"] = body["temperature"]
    if "project" in body:
        chat["project"] = body["project"]
    return chat


def _require_strings(
    body: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> None:
    for name in required:
        if not isinstance(body.get(name), str) or not body[name]:
            raise InvalidRequest(f"{name}: required (a non-empty string)", param=name)
    for name in optional:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise InvalidRequest(f"{name}: must be a string", param=name)


def _query_project(request: web.Request) -> dict[str, Any] | None:
    project = request.query.get("project")
    return {"project": project} if project else None
