"""The SDK's OpenAPI-flavoured schemas (uppercase types, `nullable`) as plain JSON Schema for other
dialects' upstreams.
"""

from __future__ import annotations

from typing import Any

__all__ = ["json_schema"]

_SCHEMA_SUBSCHEMAS = frozenset({"items", "anyOf", "oneOf", "allOf", "not", "additionalProperties"})


_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions"})


_SCHEMA_DROPPED = frozenset({"propertyOrdering", "example"})  # no JSON Schema meaning


def json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI-style `parameters` Schema as JSON Schema.

    The SDK sends uppercase types ("OBJECT"), `nullable`, and sometimes snake_case keywords;
    other dialects' upstreams want plain JSON Schema. Property names are left alone.
    """
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for raw_key, value in schema.items():
        head, *rest = raw_key.split("_")
        key = head + "".join(word.title() for word in rest) if raw_key[:1] != "$" else raw_key
        if key in _SCHEMA_DROPPED:
            continue
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_SUBSCHEMAS:
            out[key] = json_schema(value)
        else:
            out[key] = value
    if out.pop("nullable", None) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out
