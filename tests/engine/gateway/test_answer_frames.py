"""An answer's frames as a wire reads them (`http_client/answer.py`): masked of the key the
upstream was sent and the gateway's own secrets, and relayed as the upstream wrote them only
where nothing in those bytes was masked (a comment line carrying a secret included).

The response is a stand-in with `readany` alone: these tests are about what the reader makes
of bytes, which the gateway tests (`tests/transports/gateway/test_every_kind.py`) check end to
end through a real upstream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmgw_desktop.engine.gateway.http_client.answer import AnswerFrames
from llmgw_desktop.engine.gateway.http_client.sse import SseParser
from llmgw_desktop.engine.redact import known_secrets

KEY = "sk-sent-key-0123456789"
MASTER = "master-key-abcdefghijklmnop"


class _Pieces:
    """Stands in for an open response: hands out `pieces`, then the end."""

    def __init__(self, *pieces: bytes) -> None:
        self._pieces = list(pieces)

    async def readany(self, timeout_s: float | None = None) -> bytes:
        return self._pieces.pop(0) if self._pieces else b""

    def release(self) -> None:
        pass


@pytest.fixture(autouse=True)
def master_key() -> Iterator[None]:
    known_secrets.add(MASTER)
    yield
    known_secrets.clear()


def _frames(*pieces: bytes) -> AnswerFrames:
    return AnswerFrames(_Pieces(*pieces), (KEY,), 1.0, SseParser(), verbatim=True)  # type: ignore[arg-type]


async def test_a_plain_event_is_relayed_as_it_came() -> None:
    frames = _frames(b"data: hello\n\n")
    assert await frames.read() == [(None, "hello")]
    assert frames.verbatim == b"data: hello\n\n"


@pytest.mark.parametrize("secret", [KEY, MASTER])
async def test_an_event_repeating_a_secret_is_masked_and_written_again(secret: str) -> None:
    frames = _frames(f"data: it is {secret}\n\n".encode())
    assert await frames.read() == [(None, "it is [REDACTED]")]
    assert frames.verbatim is None


async def test_a_comment_carrying_a_secret_is_not_relayed_as_it_came() -> None:
    frames = _frames(f": {MASTER}\ndata: hi\n\n".encode())
    assert await frames.read() == [(None, "hi")]
    assert frames.verbatim is None


async def test_an_event_over_pieces_is_relayed_once_it_ends() -> None:
    frames = _frames(b"data: hel", b"lo\n\ndata: ne", b"xt\n\n")
    assert await frames.read() == []
    assert frames.verbatim == b""
    assert await frames.read() == [(None, "hello")]
    assert frames.verbatim == b"data: hello\n\n"
    assert await frames.read() == [(None, "next")]
    assert frames.verbatim == b"data: next\n\n"
    assert await frames.read() is None
    assert frames.close() == []


@pytest.mark.parametrize("secret", [KEY, MASTER])
async def test_an_event_name_repeating_a_secret_is_masked(secret: str) -> None:
    # The name is written again with the frame when its bytes cannot be relayed as they came.
    frames = _frames(f"event: {secret}\ndata: hi\n\n".encode())
    assert await frames.read() == [("[REDACTED]", "hi")]
    assert frames.verbatim is None


async def test_an_error_frame_is_scrubbed_though_nothing_masked_by_value_is_in_it() -> None:
    # The fast path (bytes holding no secret) still reads an error's frame for what looks
    # secret: a vendor key of another shape echoed in the message.
    echoed = "sk-proj-" + "A" * 24
    frames = _frames(f'data: {{"error": {{"message": "bad key {echoed}"}}}}\n\n'.encode())
    ((_event, data),) = await frames.read()  # type: ignore[misc]
    assert echoed not in data and frames.verbatim is None


@pytest.mark.parametrize("secret", [KEY, MASTER])
async def test_an_event_spelling_a_secret_in_json_escapes_is_masked(secret: str) -> None:
    # The client's JSON decoder reads `\u0065` as `e`: the secret, where the bytes hold none.
    escaped = secret.replace("e", "\\u0065", 1)
    frames = _frames(f'data: {{"text": "it is {escaped}"}}\n\n'.encode())
    assert await frames.read() == [(None, '{"text": "it is [REDACTED]"}')]
    assert frames.verbatim is None


async def test_an_event_escaping_other_text_is_relayed_as_it_came() -> None:
    raw = f'data: {{"text": "caf\\u00e9 \\"{MASTER[:12]}\\" a\\/b\\n"}}\n\n'.encode()
    frames = _frames(raw)
    assert await frames.read() == [(None, raw.decode()[6:-2])]
    assert frames.verbatim == raw
