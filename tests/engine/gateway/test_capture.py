"""The stream tee of body capture, driven as the front door drives a stream (sans-io)."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.records.capture import _Teed, request_path


class Chunks:
    """A stream's chunks that say whether they were closed (its close releases a budget hold
    in the gateway)."""

    def __init__(self, *pieces: bytes) -> None:
        self._pieces = list(pieces)
        self.closed = False

    def __aiter__(self) -> Chunks:
        return self

    async def __anext__(self) -> bytes:
        if not self._pieces:
            raise StopAsyncIteration
        return self._pieces.pop(0)

    async def aclose(self) -> None:
        self.closed = True


class Kept:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, text: str, **fields: Any) -> None:
        self.calls.append((text, fields))


async def test_a_stream_passes_whole_and_its_first_bytes_are_kept_once() -> None:
    chunks, kept = Chunks(b"abcd", b"efgh", b"ijkl"), Kept()
    teed = _Teed(chunks, kept, limit=5)
    assert [piece async for piece in teed] == [b"abcd", b"efgh", b"ijkl"]
    await teed.aclose()
    assert kept.calls == [("abcde", {"stream": True, "response_cut": 7})]
    assert chunks.closed


async def test_a_stream_closed_before_its_first_chunk_still_closes_what_is_under_it() -> None:
    chunks, kept = Chunks(b"never read"), Kept()
    teed = _Teed(chunks, kept, limit=100)
    await teed.aclose()  # the client left before the answer began
    assert chunks.closed and kept.calls == [("", {"stream": True, "response_cut": 0})]


async def test_a_stream_cut_midway_keeps_what_was_sent() -> None:
    chunks, kept = Chunks(b"data: one\n\n", b"data: two\n\n"), Kept()
    teed = _Teed(chunks, kept, limit=100)
    assert await teed.__anext__() == b"data: one\n\n"
    await teed.aclose()
    assert kept.calls == [("data: one\n\n", {"stream": True, "response_cut": 0})]


def test_a_gemini_request_is_kept_with_the_path_it_came_to() -> None:
    path = request_path("gemini", "gemini:streamGenerateContent", "gemini-2.5-pro", True)
    assert path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    assert request_path("anthropic", "/v1/messages", None, True) == "/v1/messages"
