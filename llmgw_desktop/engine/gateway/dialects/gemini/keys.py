"""Gemini keys in either spelling: the REST API writes camelCase, the google-genai SDK a few keys in
snake_case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["field"]

_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


def field(obj: Mapping[str, Any], camel: str) -> Any:
    """`obj[camel]`, else its snake_case spelling: the genai SDK sends some keys each way."""
    if camel in obj:
        return obj[camel]
    return obj.get(_HUMP.sub("_", camel).lower())
