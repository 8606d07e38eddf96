"""What the provider editor's fields hold, read into the engine's draft: pure functions, so the
dialog only shows and the engine decides.

Headers are `Name: value` a line, models one id a line; aliases, routes and prices are table
rows (empty rows are skipped). A field that cannot be read raises `FormProblem` naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmgw_desktop.engine.api import ModelEntries, Price

__all__ = [
    "ALIAS_COLUMNS",
    "PRICE_COLUMNS",
    "ROUTE_COLUMNS",
    "FormProblem",
    "alias_rows",
    "entries_from",
    "headers_text",
    "parse_headers",
    "parse_models",
    "price_rows",
    "route_rows",
]

ALIAS_COLUMNS = ("Alias", "Model")
ROUTE_COLUMNS = (
    "Model or pattern",
    "Strategy",
    "Fallbacks (comma-separated)",
    "Pins (caller=model)",
)
PRICE_COLUMNS = ("Model", "Input", "Output", "Cache read", "Cache write")


class FormProblem(ValueError):
    """A field the dialog cannot read; `field` is the engine's name for it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_headers(text: str) -> dict[str, str]:
    """`Name: value` lines as a mapping (blank lines skipped).

    Raises:
        FormProblem: a line without `:` (the engine checks names and values).
    """
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise FormProblem(
                "headers", f"headers: line {number} {line.strip()!r} is not 'Name: value'"
            )
        headers[name.strip()] = value.strip()
    return headers


def headers_text(headers: dict[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


def parse_models(text: str) -> tuple[str, ...]:
    """One model id a line (commas work too), without repeats."""
    ids = [part.strip() for line in text.splitlines() for part in line.split(",")]
    return tuple(dict.fromkeys(i for i in ids if i))


def _filled(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    return [[cell.strip() for cell in row] for row in rows if any(c.strip() for c in row)]


def entries_from(
    aliases: Sequence[Sequence[str]],
    routes: Sequence[Sequence[str]],
    prices: Sequence[Sequence[str]],
) -> ModelEntries:
    """The three tables' rows as the engine's entries.

    Raises:
        FormProblem: a pin without `=`, or a price that is not a number.
    """
    alias_map = {row[0]: row[1] for row in _filled(aliases)}
    route_map: dict[str, dict[str, Any]] = {}
    for pattern, strategy, fallback, pins in _filled(routes):
        table: dict[str, Any] = {"strategy": strategy or "priority"}
        chain = [m.strip() for m in fallback.split(",") if m.strip()]
        if chain:
            table["fallback"] = chain
        pin_map: dict[str, str] = {}
        for pin in (p.strip() for p in pins.split(",") if p.strip()):
            caller, equals, model = pin.partition("=")
            if not equals or not caller.strip() or not model.strip():
                raise FormProblem(
                    "routes", f"routes: pin {pin!r} of {pattern!r} is not caller=model"
                )
            pin_map[caller.strip()] = model.strip()
        if pin_map:
            table["pin"] = pin_map
        route_map[pattern] = table
    price_map: dict[str, Price] = {}
    for model, *amounts in _filled(prices):
        try:
            numbers = [float(a) if a else None for a in amounts]
        except ValueError:
            raise FormProblem(
                "prices", f"prices: {model!r} needs numbers (USD per million tokens)"
            ) from None
        given_input, output, cache_read, cache_write = numbers
        if given_input is None or output is None or cache_read is None:
            raise FormProblem("prices", f"prices: {model!r} needs input, output and cache read")
        price_map[model] = Price(
            given_input, output, cache_read, given_input if cache_write is None else cache_write
        )
    return ModelEntries(aliases=alias_map, routes=route_map, prices=price_map)


def alias_rows(entries: ModelEntries) -> list[list[str]]:
    return [[alias, target] for alias, target in entries.aliases.items()]


def route_rows(entries: ModelEntries) -> list[list[str]]:
    return [
        [
            pattern,
            str(table.get("strategy", "priority")),
            ", ".join(table.get("fallback", ())),
            ", ".join(f"{c}={m}" for c, m in dict(table.get("pin", {})).items()),
        ]
        for pattern, table in entries.routes.items()
    ]


def price_rows(entries: ModelEntries) -> list[list[str]]:
    return [
        [model, f"{p.input:g}", f"{p.output:g}", f"{p.cache_read:g}", f"{p.cache_write:g}"]
        for model, p in entries.prices.items()
    ]
