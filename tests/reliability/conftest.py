"""What the reliability tests share as fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability._crash_support import kill_quietly


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Pids a test saw; whatever still runs of them is killed after it, pass or fail."""
    pids: list[int] = []
    yield pids
    kill_quietly(pids)
