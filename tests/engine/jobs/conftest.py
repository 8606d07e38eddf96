"""The job manager the jobs tests drive, on the store of tests/engine/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmgw_desktop.engine.jobs.manager import JobLimits
from llmgw_desktop.engine.store import Database
from tests.clock import Clock
from tests.engine.jobs.test_manager import Harness


@pytest.fixture
async def h(db: Database) -> AsyncIterator[Harness]:
    """A started job manager on a clock that moves only when the test says so."""
    harness = Harness(db, JobLimits(flush_interval_s=0.05), Clock(1_000_000.0))
    await harness.manager.start()
    yield harness
    await harness.stop()
