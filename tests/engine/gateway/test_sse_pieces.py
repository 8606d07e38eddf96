"""An SSE stream reads the same however it is cut: a piece of whole events (read in a few
passes, `sse._whole_events`) gives the frames the line-at-a-time reading gives, with comments,
`event:` lines, fields without a space, multi-line data, stray blank lines, unknown fields and
UTF-8 split or broken across pieces."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmgw_desktop.engine.gateway.http_client import sse

LINES = [
    b'data: {"a":1}',
    b"data: x",
    b"data:y",
    b"data",
    b"data:  two spaces",
    b"data: a:b",
    b"event: e",
    b"event:f",
    b"event",
    b": a comment",
    b":",
    b"id: 3",
    b"retry: 5",
    b"weird",
    b"",
    b"data: \xc3\xa9t\xc3",  # a character cut by the line's end: replaced
    b"\xa9",
    b"\xff\xfe",
]


def _frames(pieces: list[bytes]) -> list[sse.SseFrame]:
    parser = sse.SseParser()
    frames = [frame for piece in pieces for frame in parser.feed(piece)]
    return frames + parser.close()


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=12),
    end=st.sampled_from([b"", b"\n", b"\n\n", b"\n\n\n"]),
    cuts=st.lists(st.integers(min_value=1, max_value=400), max_size=4),
)
def test_a_stream_reads_the_same_however_it_is_cut(
    lines: list[bytes], end: bytes, cuts: list[int]
) -> None:
    text = b"\n".join(lines) + end
    at = sorted({c for c in cuts if c < len(text)})
    pieces = [text[i:j] for i, j in zip([0, *at], [*at, len(text)], strict=True)]
    one_byte_at_a_time = _frames([text[i : i + 1] for i in range(len(text))])
    assert _frames(pieces) == one_byte_at_a_time


def test_pieces_of_whole_events_take_the_quick_reading() -> None:
    parser = sse.SseParser()
    assert parser.feed(b'data: {"a":1}\n\nevent: e\ndata: x\ndata: y\n\n') == [
        (None, '{"a":1}'),
        ("e", "x\ny"),
    ]
    assert parser.unfinished_bytes == 0
    # Not for a piece with carriage returns, or after an unfinished event: line at a time.
    assert parser.feed(b"data: z\r\n\r\n") == [(None, "z")]
    assert parser.feed(b"data: par") == []
    assert parser.feed(b"t\n\n") == [(None, "part")]


def test_a_piece_over_the_cap_is_still_refused() -> None:
    parser = sse.SseParser(max_event_bytes=16)
    with pytest.raises(sse.SseTooLarge):
        parser.feed(b"data: " + b"x" * 40 + b"\n\n")


def test_a_piece_of_one_line_events_reads_as_line_at_a_time() -> None:
    piece = b'data: {"a": 1}\n\ndata: b: c\n\ndata: \n\ndata: \xc3\xa9\n\n'
    assert sse.SseParser().feed(piece) == _frames([piece[i : i + 1] for i in range(len(piece))])
    # A blank line too many, or an event of another field, is read a line at a time.
    for other in (b"data: a\n\n\n\ndata: b\n\n", b"data: a\n\nid: 1\n\n", b"data:a\n\ndata: b\n\n"):
        assert sse.SseParser().feed(other) == _frames([other[i : i + 1] for i in range(len(other))])


def test_frames_written_together_are_each_frame_written() -> None:
    items: list[sse.SseFrame] = [(None, '{"a": "\u00e9"}'), ("error", "x"), (None, ""), ("", "y")]
    assert sse.joined_frames(items) == b"".join(sse.frame(data, event) for event, data in items)
