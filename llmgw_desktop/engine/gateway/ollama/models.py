"""Ollama's model endpoints, answered from the models the caller may use (`/v1/models`'s
rows, with the embedding models): `/api/tags` lists them, `/api/show` describes one, `/api/ps`
says none is loaded in this process (the gateway runs none itself), `/api/version` gives the
version of Ollama's API these routes follow.

`/api/show` says what Ollama 0.12 says of a model, from what the gateway knows of it
(`tokens/model_facts.py`): its capabilities (`embedding` for an embedding model, else
`completion` and `tools`), and in `model_info` its architecture (the provider) and, where
known, `<architecture>.context_length`, the key clients read a model's context window from.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from llmgw_desktop.engine.tokens.model_facts import model_facts

__all__ = ["OLLAMA_API_VERSION", "ollama_show", "ollama_tags"]

# The Ollama release whose API these routes follow (its clients read it to know what to send).
OLLAMA_API_VERSION = "0.12.0"
# The gateway does not know when a model was made; Ollama's shape asks for a time.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def ollama_tags(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`/api/tags`: every model as Ollama lists its local ones."""
    return {"models": [_entry(row) for row in rows]}


def ollama_show(row: dict[str, Any]) -> dict[str, Any]:
    """`/api/show` of one model: what the gateway knows of it (its provider, whether it
    embeds, its context window); the rest of Ollama's fields empty, as for a model with no
    Modelfile."""
    provider = str(row.get("owned_by") or "")
    facts = model_facts(str(row["id"]), provider or None)
    architecture = provider or "unknown"
    info: dict[str, Any] = {"general.architecture": architecture, "general.provider": provider}
    if facts.context_window is not None:
        info[f"{architecture}.context_length"] = facts.context_window
    return {
        "modelfile": "",
        "parameters": "",
        "template": "",
        "details": _details(row),
        "model_info": info,
        "capabilities": ["embedding"] if facts.embeds else ["completion", "tools"],
        "modified_at": _EPOCH,
    }


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    name = str(row["id"])
    return {
        "name": name,
        "model": name,
        "modified_at": _EPOCH,
        "size": 0,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": _details(row),
    }


def _details(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "",
        "family": str(row.get("owned_by") or ""),
        "families": None,
        "parameter_size": "",
        "quantization_level": "",
    }
