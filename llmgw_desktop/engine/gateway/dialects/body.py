"""Checks on a client's request body that every dialect makes: each returns the value in the
type asked for, or raises `InvalidRequest` naming the field's path (`messages[2].content`) and
what was expected, so a client learns exactly which field to fix.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest

__all__ = [
    "expect_dict",
    "expect_list",
    "expect_str",
    "optional_flag",
    "optional_int",
    "optional_number",
    "optional_positive_int",
    "optional_str",
    "required_str",
    "typed_field",
]

# A tuple, not `X | Y`: a union written in the call is built again at each call, and
# isinstance reads a tuple faster (this runs for each value of each request).
_NUMBERS = (int, float)


def expect_dict(value: Any, path: str) -> dict[str, Any]:
    """`value` as a JSON object.

    Raises:
        InvalidRequest: `<path>: expected an object`.
    """
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}: expected an object")
    return value


def expect_list(value: Any, path: str) -> list[Any]:
    """`value` as a JSON array.

    Raises:
        InvalidRequest: `<path>: expected a list`.
    """
    if not isinstance(value, list):
        raise InvalidRequest(f"{path}: expected a list")
    return value


def expect_str(value: Any, path: str) -> str:
    """`value` as a string.

    Raises:
        InvalidRequest: `<path>: expected a string`.
    """
    if not isinstance(value, str):
        raise InvalidRequest(f"{path}: expected a string")
    return value


def optional_str(value: Any, path: str) -> str | None:
    """`value` as a string, or None when absent.

    Raises:
        InvalidRequest: `<path>: expected a string`.
    """
    return None if value is None else expect_str(value, path)


def required_str(obj: dict[str, Any], key: str, path: str) -> str:
    """`obj[key]`, which must be a string.

    Raises:
        InvalidRequest: `<path>.<key>: required string`.
    """
    value = obj.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"{path}.{key}: required string")
    return value


def optional_number(value: Any, path: str) -> float | None:
    """`value` as a float, or None when absent (a bool is not a number).

    Raises:
        InvalidRequest: `<path>: expected a number`.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _NUMBERS):
        raise InvalidRequest(f"{path}: expected a number")
    return float(value)


def optional_int(value: Any, path: str) -> int | None:
    """`value` as an int, or None when absent (a bool is not an integer).

    Raises:
        InvalidRequest: `<path>: expected an integer`.
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidRequest(f"{path}: expected an integer")
    return value


def optional_positive_int(value: Any, path: str) -> int | None:
    """`value` as an int of at least 1, or None when absent.

    Raises:
        InvalidRequest: `<path>: expected a positive integer`.
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidRequest(f"{path}: expected a positive integer")
    return value


def optional_flag(value: Any, path: str) -> bool:
    """`value` as a bool, False when absent.

    Raises:
        InvalidRequest: `<path>: expected true or false`.
    """
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"{path}: expected true or false")
    return value


def typed_field(
    obj: dict[str, Any], key: str, path: str, kinds: Any, what: str, *, required: bool = False
) -> Any:
    """`obj[key]` checked against `kinds` (bools are not numbers); None when absent. `path` is
    the prefix of `key` in the error (`"system[0]."`), `what` names the expected kind.

    Raises:
        InvalidRequest: `<path><key>: required` or `<path><key>: expected <what>`.
    """
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"{path}{key}: required")
        return None
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
        raise InvalidRequest(f"{path}{key}: expected {what}")
    return value
