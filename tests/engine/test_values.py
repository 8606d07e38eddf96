"""A frozen value class built directly is the same value `dataclasses` would build, and still
refuses any assignment after it is made."""

from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass, field

import pytest

from llmgw_desktop.engine.gateway.facts import RequestFacts
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.engine.values import stores_directly


def _value_class() -> type:
    """The same frozen dataclass each call: one left as `dataclasses` built it, one direct."""

    @dataclass(frozen=True)
    class Value:
        name: str
        count: int = 2
        tags: dict[str, str] = field(default_factory=dict)
        made: list[str] = field(default_factory=list, init=False, compare=False, hash=False)
        kind: str = field(default="value", init=False)

    return Value


_Plain = _value_class()
_Direct: type = stores_directly(_value_class())


def _fields(value: object) -> dict[str, object]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a",), {}), (("a", 5), {}), (("a",), {"tags": {"k": "v"}}), ((), {"name": "b", "count": 0})],
)
def test_built_directly_holds_what_dataclasses_would(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    assert _fields(_Direct(*args, **kwargs)) == _fields(_Plain(*args, **kwargs))


def test_a_default_factory_makes_a_new_value_for_each_instance() -> None:
    first, second = _Direct("a"), _Direct("a")
    assert first.tags == {} and first.tags is not second.tags
    assert first.made == [] and first.made is not second.made


def test_a_value_built_directly_refuses_assignment_and_deletion() -> None:
    value = CallerInfo("p")
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.caller = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del value.caller
    assert value.caller == ""


def test_equality_hash_and_replace_are_the_dataclass_ones() -> None:
    usage = Usage(1, 2, 3, 4, 5)
    assert usage == Usage(1, 2, 3, 4, 5) and hash(usage) == hash(Usage(1, 2, 3, 4, 5))
    assert usage != Usage(1, 2, 3, 4, 6)
    assert dataclasses.replace(usage, output_tokens=9) == Usage(1, 9, 3, 4, 5)
    assert usage + usage == Usage(2, 4, 6, 8, 10)
    facts = RequestFacts("m", False, False, False, 10)
    assert (facts.answers, facts.max_output) == (1, None)


def test_post_init_runs_after_the_fields_are_set() -> None:
    seen: list[int] = []

    @stores_directly
    @dataclass(frozen=True)
    class Checked:
        size: int

        def __post_init__(self) -> None:
            seen.append(self.size)

    Checked(3)
    assert seen == [3]


def test_a_call_that_dataclasses_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        _Direct()
    with pytest.raises(TypeError):
        _Direct("a", 1, {}, "extra")


def test_a_class_it_cannot_build_the_same_is_refused_when_defined() -> None:
    @dataclass
    class Mutable:
        size: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        size: int

    @dataclass(frozen=True)
    class KeywordOnly:
        size: int = field(kw_only=True, default=1)

    @dataclass(frozen=True)
    class WithInitVar:
        size: int
        scale: InitVar[int] = 1

    @dataclass(frozen=True)
    class Base:
        size: int

    @dataclass(frozen=True)
    class Derived(Base):
        more: int = 0

    for cls in (Mutable, Slotted, KeywordOnly, WithInitVar, Derived):
        with pytest.raises(TypeError):
            stores_directly(cls)
