"""How many xdist workers `-n auto` starts: one more than the cores this process may run on
(`--maxprocesses` in pyproject.toml caps it at four).

With one worker a core the cores sat idle a third of the run: many tests wait on purpose (an
outage held for 30 s, a lease that must lapse, a CLI that answers when a file appears) or on a
gateway process of their own. A third worker on two cores fills most of that: the whole suite
took 20 min 39 s against 26 min 24 s with two, the cores 80 % busy against 67 %, on the same
machine, code and day (docs/PERFORMANCE.md, "The suite on one worker more than the cores").
"""

from __future__ import annotations

import os

import pytest

__all__ = ["pytest_xdist_auto_num_workers"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1
