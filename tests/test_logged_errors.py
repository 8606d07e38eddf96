"""`errors_logged` leaves out exactly the record an earlier test's dropped SDK client makes."""

from __future__ import annotations

import asyncio
import gc
import logging

import anthropic
import pytest

from tests.logged_errors import errors_logged


async def _client_with_a_connection() -> anthropic.AsyncAnthropic:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = anthropic.AsyncAnthropic(
        base_url=f"http://127.0.0.1:{port}", api_key="unused", max_retries=0
    )
    with pytest.raises(anthropic.NotFoundError):
        await client.models.list()
    return client


def test_a_dropped_client_closing_on_a_later_loop_is_left_out_and_other_errors_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    earlier = asyncio.new_event_loop()
    client = earlier.run_until_complete(_client_with_a_connection())
    earlier.close()  # the earlier test ends without closing its client

    async def later_test() -> None:
        nonlocal client
        del client
        gc.collect()  # its __del__ schedules aclose() on this loop
        await asyncio.sleep(0.05)
        logging.getLogger("llmgw_desktop.test").error("a real error")

    with caplog.at_level(logging.ERROR):
        later = asyncio.new_event_loop()
        later.run_until_complete(later_test())
        later.close()
        gc.collect()  # the failed task is reported when it is collected
    left_behind = [r for r in caplog.records if r.name == "asyncio"]
    assert left_behind, "the dropped client's late close was not logged: nothing to leave out"
    assert [r.getMessage() for r in errors_logged(caplog.records)] == ["a real error"]
