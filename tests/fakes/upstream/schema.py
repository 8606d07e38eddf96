"""Answers for JSON-mode requests: a value that satisfies the schema the caller sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# Gemini CLI side queries (router, next-speaker check) read these fields; when their schema
# has no enum, these are the values that let the CLI carry on normally.
_KNOWN_FIELDS: Final[Mapping[str, str]] = {"next_speaker": "user", "model_choice": "flash"}


def fill_schema(schema: Any, field_name: str = "") -> Any:
    """A value that satisfies a simple JSON Schema or Gemini (OpenAPI-style) schema."""
    if not isinstance(schema, dict):
        return "fake"
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return fill_schema(schema[combinator][0], field_name)
    # Gemini spells types in capitals ("OBJECT"); JSON Schema allows a list with "null".
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    kind = str(kind).lower() if kind else ("object" if "properties" in schema else "string")
    if kind == "object":
        props = schema.get("properties") or {}
        return {key: fill_schema(sub, key) for key, sub in props.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [fill_schema(schema.get("items") or {}) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _KNOWN_FIELDS.get(field_name, "fake")
