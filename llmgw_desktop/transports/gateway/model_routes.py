"""The model lists and single-model lookups, in the shape each dialect's SDK parses.

`/v1/models` is shared (`fronts.request_dialect` tells the clients apart): OpenAI's get
`{"object": "list", "data": [...]}`; Anthropic's get Anthropic's page (`type: "model"`,
`display_name`, `created_at`; `has_more`, `first_id`, `last_id`, paged by `limit`, `before_id`,
`after_id`); google-genai's (`api_version="v1"`, and everyone under `/v1beta/models`) get
Gemini's `models/...` entries. Every shape lists the one set of models the gateway answers for
(`ProvidersService.models`), less what a gateway key's scope leaves out. A list for a project
(`X-Project`) reads that project's key pool, so it needs the project's grant, as a call under it
does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    Engine,
    EngineError,
    ErrorCode,
    InvalidRequest,
    NotFound,
    jsonio,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.auth_edge import principal_of
from llmgw_desktop.transports.gateway.callers import PROJECT_HEADER, checked_project
from llmgw_desktop.transports.gateway.dialect_errors import dialect_error
from llmgw_desktop.transports.gateway.fronts import request_dialect
from llmgw_desktop.transports.path_aliases import add_route

__all__ = ["GEMINI_ACTIONS", "add_model_routes", "get_model", "list_models"]

GEMINI_ACTIONS = ("generateContent", "streamGenerateContent", "countTokens")
# Anthropic's list: 20 a page unless asked, at most 1000 (as its API documents).
ANTHROPIC_PAGE_DEFAULT = 20
ANTHROPIC_PAGE_MAX = 1000
# The gateway does not know when a model was released; Anthropic's shape requires a time.
_EPOCH = "1970-01-01T00:00:00Z"


def add_model_routes(app: web.Application, engine: Engine) -> None:
    """Mount `GET /v1/models[/{id}]` (OpenAI's or Anthropic's shape) and
    `GET /v1beta/models[/{model}]` (Gemini's)."""
    app[ENGINE] = engine  # the handlers below read it from their request's app
    add_route(app, "GET", "/v1/models", list_models)
    add_route(app, "GET", "/v1beta/models", list_models)
    # A Gemini method (`model:generateContent`) is a POST; a GET names the model alone.
    add_route(app, "GET", "/v1beta/models/{model:[^:]+}", get_model)
    add_route(app, "GET", "/v1/models/{model:.+}", get_model)


async def _rows(request: web.Request) -> list[dict[str, Any]]:
    """The models served to this caller, under the project it names.

    Raises:
        InvalidRequest: the project name is not a plain identifier.
        ProjectForbidden: the caller was not granted the project.
    """
    engine = request.app[ENGINE]
    project = checked_project(request.headers.get(PROJECT_HEADER), PROJECT_HEADER)
    principal = principal_of(request).id
    engine.project_grants.require(principal, project)
    return await engine.providers.models(project, principal)


async def list_models(request: web.Request) -> web.Response:
    """The models this caller may use, in the shape of the dialect it speaks."""
    front = request_dialect(request)
    try:
        models = await _rows(request)
    except EngineError as exc:
        return dialect_error(front or DIALECT_OPENAI_CHAT, exc)
    if front == DIALECT_GEMINI:
        return _json({"models": [_gemini_model(r) for r in models]})
    if front != DIALECT_ANTHROPIC:
        return _json({"object": "list", "data": models})
    try:
        return _json(anthropic_page(models, request.query))
    except InvalidRequest as exc:
        return dialect_error(DIALECT_ANTHROPIC, exc)


async def get_model(request: web.Request) -> web.Response:
    """One model this caller may use, in the shape of the dialect it speaks."""
    front = request_dialect(request) or DIALECT_OPENAI_CHAT
    shape = {DIALECT_ANTHROPIC: _anthropic_model, DIALECT_GEMINI: _gemini_model}.get(front)
    wanted = request.match_info["model"]
    if front == DIALECT_GEMINI:
        wanted = wanted.removeprefix("models/")
    try:
        models = await _rows(request)
    except EngineError as exc:
        return dialect_error(front, exc)
    for row in models:
        if row["id"] == wanted:
            return _json(shape(row) if shape is not None else row)
    collection = request.path.rpartition("/models/")[0] + "/models"
    return dialect_error(
        front,
        NotFound(
            f"no available model {wanted!r}; see GET {collection}",
            code=ErrorCode.MODEL_NOT_FOUND,
        ),
    )


def anthropic_page(models: list[dict[str, Any]], query: Any) -> dict[str, Any]:
    """One page of Anthropic's model list: `limit` models after `after_id`, or the `limit`
    models just before `before_id`, else the first `limit`.

    Raises:
        InvalidRequest: `limit` is not a whole number from 1 to 1000, both ids are given, or
            an id is not in the list.
    """
    raw_limit = query.get("limit", str(ANTHROPIC_PAGE_DEFAULT))
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= ANTHROPIC_PAGE_MAX:
        raise InvalidRequest(
            f"limit: must be a whole number from 1 to {ANTHROPIC_PAGE_MAX}, not {raw_limit!r}",
            param="limit",
        )
    after, before = query.get("after_id"), query.get("before_id")
    if after and before:
        raise InvalidRequest("give after_id or before_id, not both", param="before_id")
    ids = [m["id"] for m in models]
    if after or before:
        name, cursor = ("after_id", after) if after else ("before_id", before)
        if cursor not in ids:
            raise InvalidRequest(
                f"{name}: no available model {cursor!r}; see GET /v1/models", param=name
            )
        index = ids.index(cursor)
    if before:
        start = max(0, index - limit)
        page, has_more = models[start:index], start > 0
    else:
        start = index + 1 if after else 0
        page, has_more = models[start : start + limit], start + limit < len(models)
    data = [_anthropic_model(m) for m in page]
    return {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _anthropic_model(row: dict[str, Any]) -> dict[str, Any]:
    name = row.get("name") or row["id"]
    return {"type": "model", "id": row["id"], "display_name": name, "created_at": _EPOCH}


def _gemini_model(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"models/{row['id']}",
        "baseModelId": row["id"],
        "version": "gateway",
        "displayName": row.get("name") or row["id"],
        "description": f"served by {row['provider']} through llmgw-desktop",
        "supportedGenerationMethods": list(GEMINI_ACTIONS),
    }


def _json(data: Any) -> web.Response:
    return web.Response(body=jsonio.dumps(data), content_type="application/json")
