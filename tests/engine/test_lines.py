"""One capped line reader (`engine/lines.py`) splits every line-delimited stream the engine
reads: an upstream's server-sent events and newline-delimited JSON, a CLI's JSON lines and an
ACP agent's JSON-RPC lines. Each refuses a line longer than its cap the same way: `LineTooLong`
(an upstream's `SseTooLarge` is one) at the chunk that passes the cap, before the line is held
whole, its message saying how large the cap is. The readers are enumerated from the one
splitter's subclasses, so a reader added later is held to it too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from llmgw_desktop.engine.gateway.http_client.sse import NdjsonParser, SseParser
from llmgw_desktop.engine.lines import CappedLines, LineTooLong
from llmgw_desktop.engine.providers.acp import framing
from llmgw_desktop.engine.providers.base import NdjsonBuffer

CAP = 64
# What each reader reads one line as (an SSE line is an event's data line).
LINES: dict[str, Callable[[bytes], bytes]] = {
    "SseParser": lambda text: b"data: " + text + b"\n\n",
    "NdjsonParser": lambda text: b'{"t":"' + text + b'"}\n',
    "NdjsonBuffer": lambda text: b'{"t":"' + text + b'"}\n',
    "_PeerLines": lambda text: b'{"jsonrpc":"2.0","method":"' + text + b'"}\n',
}


def _readers() -> dict[str, type[CappedLines[object]]]:
    found: dict[str, type[CappedLines[object]]] = {}
    todo: list[type[CappedLines[object]]] = list(CappedLines.__subclasses__())
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


READERS = _readers()


def test_every_line_reader_is_the_one_capped_splitter() -> None:
    assert set(READERS) == set(LINES)


@pytest.mark.parametrize("name", sorted(LINES))
def test_a_line_under_the_cap_is_read_whole_across_pieces(name: str) -> None:
    reader = READERS[name](CAP)  # type: ignore[call-arg]
    data = LINES[name](b"x" * 20)
    items: list[object] = []
    for start in range(0, len(data), 7):
        items += reader.feed(data[start : start + 7])  # type: ignore[attr-defined]
    assert len(items) == 1


@pytest.mark.parametrize("name", sorted(LINES))
def test_a_line_over_the_cap_is_refused_alike_before_it_is_held(name: str) -> None:
    reader = READERS[name](CAP)  # type: ignore[call-arg]
    data = LINES[name](b"x" * (4 * CAP))
    fed = 0
    with pytest.raises(LineTooLong, match=f"larger than {CAP} bytes"):
        for start in range(0, len(data), 10):
            fed += 10
            reader.feed(data[start : start + 10])  # type: ignore[attr-defined]
    assert fed <= CAP + 10  # refused at the piece that passed the cap, not at the line's end


def test_many_lines_in_one_piece_are_each_held_to_the_cap_alone() -> None:
    for name, line in LINES.items():
        reader = READERS[name](CAP)  # type: ignore[call-arg]
        items = reader.feed(line(b"y" * 30) * 10)  # type: ignore[attr-defined]
        assert len(items) == 10, name


async def test_an_acp_peers_long_line_ends_its_pipe_with_line_too_long() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b'{"jsonrpc":"2.0","method":"' + b"z" * (4 * CAP))
    pipe = framing.NdjsonPipe(reader, None, max_line_bytes=CAP)  # type: ignore[arg-type]
    with pytest.raises(LineTooLong, match=f"larger than {CAP} bytes"):
        await asyncio.wait_for(pipe.receive(), 5)


def test_a_cli_line_over_its_runs_cap_fails_the_run_as_an_overflow() -> None:
    from llmgw_desktop.engine.errors import ProviderFailure
    from llmgw_desktop.engine.providers.cli.claude import ClaudeParser

    parser = ClaudeParser()
    parser.cap_lines(CAP)
    with pytest.raises(ProviderFailure) as raised:
        parser.feed(b'{"type":"assistant","x":"' + b"q" * (2 * CAP))
    assert raised.value.code == "output_overflow"
    assert isinstance(NdjsonBuffer(CAP), CappedLines)
    assert issubclass(SseParser, CappedLines) and issubclass(NdjsonParser, SseParser)
