"""Neutral (gateway IR) messages for the dialect and translation tests: `user("hi")`, a turn
of parts, where a string is a text part."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.ir import Message, TextPart

__all__ = ["assistant", "user"]


def _parts(parts: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(TextPart(p) if isinstance(p, str) else p for p in parts)


def user(*parts: Any) -> Message:
    return Message("user", _parts(parts))


def assistant(*parts: Any) -> Message:
    return Message("assistant", _parts(parts))
