"""A streamed answer whose budget hold (or call in flight) ends with it.

A whole answer's hold is released as soon as its row is counted (`api_targets.py`); a streamed
one is counted only when its chunks end, so its hold travels with the chunks and is released
when they end, fail or are closed by the reader. A target's count of calls in flight
(`balancing/balancer.InFlight`) ends the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Generic, Protocol, TypeVar

from llmgw_desktop.engine.gateway.results import Streaming, close_chunks

__all__ = ["Releasable", "held_until_ended", "releasing"]

T = TypeVar("T")


class Releasable(Protocol):
    """What an answer holds until it ends: a budget `Hold`, a call in flight."""

    def release(self) -> None: ...


def releasing(answer: Streaming, hold: Releasable) -> Streaming:
    """`answer` whose budget hold (or other `Releasable`) is released once its chunks end (its
    row counted first) or the reader closes them."""
    return answer.with_chunks(held_until_ended(answer.chunks, hold))


def held_until_ended(chunks: AsyncIterator[T], hold: Releasable) -> AsyncIterator[T]:
    """A stream's `chunks` (its bytes, or a kind's pieces) that release `hold` once they end
    (the stream's row counted first) or the reader closes them. Chunks that hold already (a
    budget hold, then the call in flight) take the new hold beside theirs, released after
    them: one step a chunk instead of one for each hold."""
    if isinstance(chunks, _HeldChunks):
        return _HeldChunks(chunks._chunks, *chunks._holds, hold)
    return _HeldChunks(chunks, hold)


class _HeldChunks(Generic[T]):
    """A stream's chunks that release a budget hold when they end or are closed, even when
    closed before the first chunk was asked for (an async generator's `finally` would not
    run then)."""

    __slots__ = ("_chunks", "_holds")

    def __init__(self, chunks: AsyncIterator[T], *holds: Releasable) -> None:
        self._chunks = chunks
        self._holds = holds  # released in this order

    def __aiter__(self) -> _HeldChunks[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self._chunks.__anext__()
        except BaseException:
            self._release()
            raise

    async def aclose(self) -> None:
        try:
            await close_chunks(self._chunks)
        finally:
            self._release()

    def _release(self, first: int = 0) -> None:
        """Release each hold from `first` on, the later ones even when an earlier one fails."""
        try:
            self._holds[first].release()
        finally:
            if first + 1 < len(self._holds):
                self._release(first + 1)
