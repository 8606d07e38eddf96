"""A stream's holds (its budget hold, then its call in flight) are released once, in the order
taken, when its chunks end, fail or are closed unread, also when they ride one wrapper and an
earlier hold's release fails."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from llmgw_desktop.engine.gateway.held_answers import held_until_ended, releasing
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.relay import StreamOutcome
from llmgw_desktop.engine.gateway.results import Streaming


class Hold:
    def __init__(self, name: str, released: list[str], *, fails: bool = False) -> None:
        self.name, self.released, self.fails = name, released, fails

    def release(self) -> None:
        self.released.append(self.name)
        if self.fails:
            raise RuntimeError(f"{self.name} failed to release")


async def pieces(*, broken: bool = False) -> AsyncIterator[bytes]:
    yield b"a"
    if broken:
        raise OSError("the upstream broke off")
    yield b"b"


async def test_holds_taken_one_after_the_other_are_released_in_that_order_at_the_end() -> None:
    released: list[str] = []
    chunks = held_until_ended(
        held_until_ended(pieces(), Hold("budget", released)), Hold("flight", released)
    )
    assert [piece async for piece in chunks] == [b"a", b"b"]
    assert released == ["budget", "flight"]


async def test_a_stream_that_breaks_releases_every_hold() -> None:
    released: list[str] = []
    chunks = held_until_ended(
        held_until_ended(pieces(broken=True), Hold("budget", released)), Hold("flight", released)
    )
    with pytest.raises(OSError, match="broke off"):
        _ = [piece async for piece in chunks]
    assert released == ["budget", "flight"]


async def test_chunks_closed_unread_release_every_hold() -> None:
    released: list[str] = []
    chunks = held_until_ended(
        held_until_ended(pieces(), Hold("budget", released)), Hold("flight", released)
    )
    await chunks.aclose()  # type: ignore[attr-defined]
    assert released == ["budget", "flight"]


async def test_a_hold_that_fails_to_release_does_not_keep_the_next() -> None:
    released: list[str] = []
    chunks = held_until_ended(
        held_until_ended(pieces(), Hold("budget", released, fails=True)),
        Hold("flight", released),
    )
    with pytest.raises(RuntimeError, match="budget failed"):
        await chunks.aclose()  # type: ignore[attr-defined]
    assert released == ["budget", "flight"]


def test_a_held_streams_answer_keeps_every_field_but_its_chunks() -> None:
    """`Streaming.with_chunks` (what `releasing` and every other wrapper makes) carries each
    field over by name: a field added to `Streaming` and forgotten there fails here."""
    answer = Streaming(
        RouteReport(request_id="r1", requested_model="m"),
        pieces(),
        headers={"x-request-id": "up-1"},
        outcome=StreamOutcome(model="m"),
    )
    held = releasing(answer, Hold("budget", []))
    assert held.chunks is not answer.chunks
    for each in dataclasses.fields(Streaming):
        if each.name != "chunks":
            assert getattr(held, each.name) is getattr(answer, each.name), each.name
