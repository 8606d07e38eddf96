"""Frozen value classes made on every request, built without `object.__setattr__`. Pure code.

The request path hands small values from part to part (the caller's info, the request's facts,
the outgoing call, the answer, its usage): frozen dataclasses, so that nothing on the way
changes them, which the type says and the runtime enforces. The `__init__` that `dataclasses`
writes for a frozen class sets each field through `object.__setattr__` (on Python 3.11 about
600 instructions a field, where a plain store is under 100): a request makes about fifty such
fields. `stores_directly` gives such a class an `__init__` that writes the new instance's
`__dict__` instead, and keeps all the rest of what `dataclasses` made (the frozen
`__setattr__` and `__delattr__` that refuse any later assignment, `__eq__`, `__hash__`,
`__repr__`, `replace`, `fields`).

The convention: a frozen dataclass made for every request is written

    @stores_directly
    @dataclass(frozen=True)
    class Name: ...

(mypy reads the `dataclass` under it, so its fields stay read-only to the type checker). A class
whose `__init__` this module cannot write the same (`slots`, keyword-only fields, an `InitVar`,
a dataclass base) is refused when it is defined, not mis-built.

A class is called positionally on the request path (any class, not only these): on 3.11 calling
a class with keywords packs them into a dict before its `__init__` runs (about 500 instructions
a keyword, where a function's keywords cost about 70). So the hot constructions (`Usage` of an
OpenAI answer, `UpstreamAnswer`, `RelayedStream`, `Streaming`, `Completed`, `CallAsk`) pass their
arguments in field order, each call saying so in a comment that points here.

For the same reason a bound on the request path is a comparison, not `max()` or `min()`: on
3.11 either builtin takes its arguments as a tuple and parses its keywords, about 1,300
instructions a call where `n if n > 1 else 1` is about 100 (callgrind), and a request took
several. Each such comparison says so in a comment that points here.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

__all__ = ["stores_directly"]

T = TypeVar("T")


class _Factory:
    """The default an `__init__` parameter has when its field has a default factory."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def stores_directly(cls: type[T]) -> type[T]:
    """`cls`, a frozen dataclass, with an `__init__` that writes its instance's `__dict__`.

    Raises:
        TypeError: `cls` is not a frozen dataclass of the plain shape this writes for.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: a frozen dataclass without slots is built directly")
    if any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: a dataclass base's fields are not built directly")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    init = _direct_init(cls, fields)
    if _shape(init) != _shape(cls.__init__):
        raise TypeError(f"{cls.__name__}: its __init__ takes what no direct one can")
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def _shape(function: Any) -> tuple[Any, ...]:
    """Its parameters' names and kinds, and how many may be left out (read from its code, not
    `inspect.signature`: this runs for each class as the gateway starts)."""
    code = function.__code__
    named = code.co_argcount + code.co_kwonlyargcount
    return (
        code.co_varnames[:named],
        code.co_kwonlyargcount,
        code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS),
        len(function.__defaults__ or ()),
        sorted(function.__kwdefaults__ or ()),
    )


def _direct_init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Any:
    """The `__init__` for `fields`, compiled once when the class is defined."""
    names: dict[str, Any] = {"__name__": cls.__module__, "_FACTORY": _FACTORY}
    params = ["self"]
    body = ["d = self.__dict__"]
    for f in fields:
        factory = f.default_factory is not dataclasses.MISSING
        if factory:
            names[f"_make_{f.name}"] = f.default_factory
        if not f.init:
            if factory:  # a field left out of __init__ with a plain default is the class's
                body.append(f"d[{f.name!r}] = _make_{f.name}()")
            continue
        if factory:
            params.append(f"{f.name}=_FACTORY")
            value = f"_make_{f.name}() if {f.name} is _FACTORY else {f.name}"
        elif f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        body.append(f"d[{f.name!r}] = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)
    # Compiled as `dataclasses` compiles its own text, through the start's kept code where it
    # is installed (`shell/code_cache.py`): a start after the first compiles none of it.
    run = vars(dataclasses).get("exec", exec)
    run(source, names)  # the text is made above from the fields' names alone
    return names["__init__"]
