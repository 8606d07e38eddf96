"""An echo over a socket pair, timed on the desktop loop and on plain asyncio in one run.

`ui/event_loop.py` runs a socket's reader straight from its Qt notifier's signal, where qasync
switched the notifier off, queued the reader with `call_soon` and switched it on again: about
12 us of the loop's time per read. This bench says what that is worth as a ratio of asyncio's
own round trip, measured side by side (the CPU time of the loop thread, `time.process_time`,
best of `--runs`). `tests/ui/test_event_loop.py` checks the shape (no queue turn and no
notifier change per read); the time is measured here, where a noisy machine cannot fail a
test with it.

    QT_QPA_PLATFORM=offscreen python bench/loop_roundtrip.py [--rounds 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import socket
import sys
import time


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _Ping(_Echo):
    def __init__(self, rounds: int, done: asyncio.Future[None]) -> None:
        self.rounds, self.done = rounds, done

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport.write(b"x" * 100)

    def data_received(self, data: bytes) -> None:
        self.rounds -= 1
        if self.rounds:
            self.transport.write(data)
        else:
            self.done.set_result(None)


async def per_round(rounds: int) -> float:
    """Seconds of this process's CPU per echo round trip on the running loop."""
    running = asyncio.get_running_loop()
    a, b = socket.socketpair()
    echo, _ = await running.connect_accepted_socket(_Echo, a)
    done = running.create_future()
    ping, _ = await running.connect_accepted_socket(lambda: _Ping(rounds, done), b)
    started = time.process_time()
    await done
    took = (time.process_time() - started) / rounds
    echo.close()
    ping.close()
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from llmgw_desktop.ui.event_loop import GatewayEventLoop
    from llmgw_desktop.ui.qt import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    desktop_loop = GatewayEventLoop(app)
    plain_loop = asyncio.new_event_loop()
    try:
        desktop, plain = [], []
        for _ in range(args.runs):  # interleaved: a noisy spell hits both alike
            desktop.append(desktop_loop.run_until_complete(per_round(args.rounds)))
            plain.append(plain_loop.run_until_complete(per_round(args.rounds)))
    finally:
        desktop_loop.close()
        plain_loop.close()
    best_desktop, best_plain = min(desktop), min(plain)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    print(f"{stamp}, load {load:.2f}, {args.rounds} round trips, best of {args.runs}")
    print(f"  desktop loop  {best_desktop * 1e6:6.1f} us of CPU a round trip")
    print(f"  asyncio       {best_plain * 1e6:6.1f} us")
    print(f"  ratio         {best_desktop / best_plain:6.2f}x asyncio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
