"""What OpenAI Responses and Chat Completions share: the error envelope and the model list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from .sse import JsonObject

# (type, code) per status, as api.openai.com labels them.
ERROR_LABELS: Final[Mapping[int, tuple[str, str | None]]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_exceeded", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "overloaded"),
}


def error(status: int, message: str) -> tuple[JsonObject, dict[str, str]]:
    """The OpenAI error envelope {"error": {message, type, param, code}}."""
    default = ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    error_type, code = ERROR_LABELS.get(status, default)
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return body, {"x-request-id": "req_fake"}


def key_refused(key: str) -> tuple[int, JsonObject]:
    """What api.openai.com answers a key it does not know: 401 `invalid_api_key`, naming the
    key by its first and last characters."""
    shown = f"{key[:3]}****{key[-4:]}"
    message = (
        f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    error = {"message": message, "type": "invalid_request_error", "param": None}
    return 401, {"error": error | {"code": "invalid_api_key"}}


DEFAULT_MODEL_IDS = ("gpt-5-fake", "grok-fake", "fake-model")


def models_list(ids: Sequence[str] | None = None) -> JsonObject:
    """GET /v1/models (and /models) in OpenAI's list shape: one page, as OpenAI sends it."""
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
            for m in (DEFAULT_MODEL_IDS if ids is None else ids)
        ],
    }
