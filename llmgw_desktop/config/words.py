"""How a refusal lists words: the values a setting takes, or the names it did not know, as a
person writes them ("DEBUG, INFO, WARNING or ERROR"), never as Python prints a tuple or a
list ("('DEBUG', 'INFO', 'WARNING', 'ERROR')"). Every check of a setting or a table that names
its choices says them through here, so they all read alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["listed", "not_all", "one_of", "unknown_names"]


def listed(words: Iterable[object], last: str = "or") -> str:
    """`words` as a sentence lists them: "a, b or c" ("a" alone, "a or b"); `last` joins the
    last two ("and" for a list of names rather than a choice)."""
    items = [str(word) for word in words]
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def one_of(value: object, choices: Iterable[str]) -> str:
    """The refusal of `value`, which is none of `choices`: "'LOUD' must be one of DEBUG, INFO,
    WARNING or ERROR" (the value as given, quoted, so a space or an empty one shows)."""
    return f"{value!r} must be one of {listed(choices)}"


def unknown_names(what: str, names: Sequence[str], known: Iterable[str]) -> str:
    """The refusal of `names` no `what` has: "unknown field 'colour'; known: args, command
    and env" (`what` in the singular; several are "fields")."""
    kind = what if len(names) == 1 else f"{what}s"
    return f"unknown {kind} {listed(map(repr, names), 'and')}; known: {listed(known, 'and')}"


def not_all(bad: Sequence[str], one: str, several: str) -> str:
    """The refusal of the values of a list that are not what it holds, each quoted (so a
    space or an empty one shows): "'http://a' is not a host name", "'a b' and 'c/d' are
    not host names" (`one`, `several`: what follows one value, and several)."""
    return f"{listed(map(repr, bad), 'and')} {one if len(bad) == 1 else several}"
