"""Windows' tree stop, read from the calls it makes: Windows cannot run here, so `taskkill` and
the leader are stand-ins that record what was done to them, in order. The rule under test:
`taskkill /F /T` reaches the tree from its leader, so the leader must still live when it runs
(the stop used to terminate the leader first, hiding the children it had started)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from llmgw_desktop.engine.providers import process_tree


class _Leader:
    def __init__(self, done: list[str]) -> None:
        self.pid = 4242
        self.returncode: int | None = None
        self._done = done

    def terminate(self) -> None:
        self._done.append("terminate leader")
        self.returncode = 1

    async def wait(self) -> int:
        self._done.append("wait leader")
        self.returncode = 1
        return 1


async def test_windows_ends_the_tree_from_its_living_leader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done: list[str] = []
    leader = _Leader(done)

    async def taskkill(*argv: str, **_: Any) -> Any:
        done.append(" ".join(argv) + (" (leader alive)" if leader.returncode is None else ""))
        killer = asyncio.Future[int]()
        killer.set_result(0)

        class _Killer:
            async def wait(self) -> int:
                return await killer

        return _Killer()

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(asyncio, "create_subprocess_exec", taskkill)
    await process_tree.stop_tree(leader, grace_s=2.0)  # type: ignore[arg-type]
    assert done == ["taskkill /F /T /PID 4242 (leader alive)", "wait leader"]
