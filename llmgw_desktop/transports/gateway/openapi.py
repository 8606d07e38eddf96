"""The OpenAPI description of the native and admin endpoints, served at /openapi.json.

The four vendor dialects are described by their vendors; this covers what is ours.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop import __version__
from llmgw_desktop.engine.api import TARGET_STATES

__all__ = ["openapi_document"]


def _error() -> dict[str, Any]:
    return {
        "description": "An error: `{error: {message, type, param, code}}`",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _list(field: str, item: str) -> dict[str, Any]:
    """A 200 answer holding `{field: [item, ...]}`."""
    return _json({"type": "object", "properties": {field: {"type": "array", "items": _ref(item)}}})


_PROJECT_PARAM = {
    "name": "project",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "Only this project's records and the global ones.",
}
_ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_OK = _json({"type": "object", "properties": {"ok": {"type": "boolean"}}})

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": "string"},
                },
            }
        },
    },
    "GenerateRequest": {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string"},
            "system": {"type": "string"},
            "provider": {"type": "string", "description": "Preferred provider id."},
            "model": {"type": "string", "description": "Model id, alias or provider/model."},
            "maxTokens": {"type": "integer", "minimum": 1, "default": 4096},
            "temperature": {"type": "number"},
            "project": {"type": "string", "description": "Credential scope."},
        },
    },
    "GenerateResponse": {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "provider": {"type": "string"},
            "model": {"type": "string"},
            "tokensUsed": {"type": "integer"},
            "usage": {"type": "object"},
            "requestedProvider": {"type": ["string", "null"]},
            "requestedModel": {"type": ["string", "null"]},
            "resolvedProvider": {"type": "string"},
            "resolvedModel": {"type": "string"},
            "fallbackUsed": {"type": "boolean"},
            "requestId": {"type": "string"},
        },
    },
    "Provider": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "type": {"type": "string", "enum": ["api", "local", "cli"]},
            "available": {
                "type": "boolean",
                "description": "Whether its models answer now (those `/v1/models` lists).",
            },
            "reason": {"type": ["string", "null"], "description": "Why not available."},
            "pausedOnly": {
                "type": "boolean",
                "description": (
                    "Not available only because every provider is paused: it answers once they "
                    "are resumed (it has its key, it is on in config.toml)."
                ),
            },
            "heldBack": {
                "type": "boolean",
                "description": (
                    "Set up and switched on, but its key or login was refused: its models "
                    "are not offered until that is put right (`reason` says what happened)."
                ),
            },
            "models": {"type": "array", "items": {"type": "string"}},
            "modelsSource": {
                "type": "string",
                "enum": ["upstream", "server", "catalogue"],
                "description": "Whether the models were read from the provider or built in.",
            },
            "modelsFetchedAt": {
                "type": ["integer", "null"],
                "description": "When the provider's model list was last read (epoch seconds).",
            },
            "modelsError": {
                "type": ["string", "null"],
                "description": "Why the latest read failed (the last good list is kept).",
            },
            "staleReferences": {"type": "array", "items": _ref("StaleReference")},
        },
    },
    "StaleReference": {
        "type": "object",
        "description": (
            "A config entry naming a model its provider's list does not name, for which no"
            " call has answered since the list was read: calls for it may fail."
        ),
        "properties": {
            "kind": {
                "type": "string",
                "enum": [
                    "alias",
                    "route_target",
                    "route_small_request",
                    "route_fallback",
                    "route_pin",
                    "fallback",
                    "default_model",
                    "small_request_model",
                ],
            },
            "name": {"type": "string"},
            "model": {"type": "string"},
            "provider": {"type": "string"},
            "providerModel": {"type": "string"},
        },
    },
    "RouteTarget": {
        "type": "object",
        "description": "One target of a route now (this gateway process's figures).",
        "properties": {
            "target": {"type": "string", "description": "provider/model"},
            "provider": {"type": "string"},
            "model": {"type": "string"},
            "weight": {"type": ["number", "null"]},
            "share": {
                "type": ["number", "null"],
                "description": "Its fraction of the route's recent answers, a stream's "
                "counted when it ends whole (null: none yet).",
            },
            "latencyMs": {
                "type": ["number", "null"],
                "description": "Recent time to first token, fading when not renewed.",
            },
            "inFlight": {"type": "integer"},
            "state": {"type": "string", "enum": list(TARGET_STATES)},
            "coolingSeconds": {
                "type": ["number", "null"],
                "description": "How long yet it goes behind the other targets.",
            },
            "failuresInARow": {"type": "integer"},
            "lastError": {"type": ["string", "null"], "description": "`429`, `503`, `timeout`"},
            "quotaLeft": {
                "type": ["number", "null"],
                "description": "The smallest fraction left of its rate limits, per its headers.",
            },
            "trialInFlight": {
                "type": "boolean",
                "description": "Half open: a call trying it again is on its way (false: the "
                "next call to it tries it).",
            },
        },
    },
    "Route": {
        "type": "object",
        "description": "A route that spreads one model over several targets.",
        "properties": {
            "route": {"type": "string"},
            "strategy": {"type": "string"},
            "targets": {"type": "array", "items": _ref("RouteTarget")},
        },
    },
    "CredentialIn": {
        "type": "object",
        "required": ["provider", "apiKey"],
        "properties": {
            "provider": {"type": "string"},
            "apiKey": {"type": "string", "writeOnly": True},
            "keyName": {"type": "string", "default": "default"},
            "project": {"type": "string", "default": "_global"},
        },
    },
    "Credential": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "provider": {"type": "string"},
            "keyName": {"type": "string"},
            "project": {"type": "string"},
            "maskedValue": {"type": "string"},
            "createdAt": {"type": "string"},
            "updatedAt": {"type": "string"},
        },
    },
    "FileIn": {
        "type": "object",
        "required": ["provider", "fileName", "content"],
        "properties": {
            "provider": {"type": "string"},
            "fileName": {"type": "string"},
            "content": {"type": "string", "writeOnly": True},
            "encoding": {"type": "string", "enum": ["utf-8", "base64"], "default": "utf-8"},
            "project": {"type": "string", "default": "_global"},
        },
    },
    "File": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "provider": {"type": "string"},
            "fileName": {"type": "string"},
            "project": {"type": "string"},
            "size": {"type": "integer"},
            "createdAt": {"type": "string"},
        },
    },
}


# The health endpoints: the facts, and an orchestrator's two probes.
_HEALTH_PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "The gateway's state, store, vault, lease and providers",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/health/live": {
        "get": {
            "summary": "Liveness: the process answers",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/health/ready": {
        "get": {
            "summary": "Readiness: serving and not draining (503 while starting, draining or "
            "stopping)",
            "responses": {"200": _json({"type": "object"}), "503": _json({"type": "object"})},
        }
    },
}


def openapi_document(server_url: str = "http://127.0.0.1:3333") -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    errors = {"400": _error(), "404": _error(), "503": _error()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "llmgw-desktop gateway",
            "version": __version__,
            "description": "Native and admin endpoints. The OpenAI (/v1/chat/completions, "
            "/v1/responses, /v1/embeddings, /v1/completions, /v1/models), Anthropic "
            "(/v1/messages), Gemini (/v1beta/models/{model}:generateContent, :embedContent) "
            "and Ollama (/api/chat, /api/generate, /api/embed, /api/tags) endpoints follow "
            "their vendors' APIs.",
        },
        "servers": [{"url": server_url}],
        "paths": {
            **_HEALTH_PATHS,
            "/v1/generate": {
                "post": {
                    "summary": "Generate text with provider/model selection and project scope",
                    "requestBody": _body("GenerateRequest"),
                    "responses": {"200": _json(_ref("GenerateResponse"))} | errors,
                }
            },
            "/v1/providers": {
                "get": {
                    "summary": "Every provider with its availability and why not",
                    "parameters": [_PROJECT_PARAM],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "providers": {"type": "array", "items": _ref("Provider")},
                                    "staleReferences": {
                                        "type": "array",
                                        "items": _ref("StaleReference"),
                                    },
                                    "routes": {"type": "array", "items": _ref("Route")},
                                    "cooling": {"type": "array", "items": _ref("RouteTarget")},
                                },
                            }
                        )
                    },
                }
            },
            "/v1/credentials": {
                "post": {
                    "summary": "Store an API key (upsert by provider, keyName, project)",
                    "requestBody": _body("CredentialIn"),
                    "responses": {"201": _json(_ref("Credential"), "Stored")} | errors,
                },
                "get": {
                    "summary": "List API keys, masked",
                    "parameters": [_PROJECT_PARAM],
                    "responses": {"200": _list("credentials", "Credential")},
                },
            },
            "/v1/credentials/{id}": {
                "delete": {
                    "summary": "Remove an API key",
                    "parameters": [_ID_PARAM],
                    "responses": {"200": _OK} | errors,
                }
            },
            "/v1/files": {
                "post": {
                    "summary": "Store a CLI auth file (upsert by provider, fileName, project)",
                    "requestBody": _body("FileIn"),
                    "responses": {"201": _json(_ref("File"), "Stored")} | errors,
                },
                "get": {
                    "summary": "List auth files (metadata only, never content)",
                    "parameters": [_PROJECT_PARAM],
                    "responses": {"200": _list("files", "File")},
                },
            },
            "/v1/files/{id}": {
                "delete": {
                    "summary": "Remove an auth file",
                    "parameters": [_ID_PARAM],
                    "responses": {"200": _OK} | errors,
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
