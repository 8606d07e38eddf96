"""At the end of a run, the tests that cost the most CPU: the suite's own, and the programs it
started and waited for (gateways, vendor CLIs, PostgreSQL). `--durations` names the slowest by
the clock, many of which wait on purpose (an outage held for 30 s); on two cores the CI's
30 minutes are spent by CPU, and this says where.

Each test's setup, call and teardown are counted by `getrusage` in the process that runs it
(an xdist worker), and the figure travels to the controller in the report's
`user_properties`. A child reaped by a later test is counted there, as the kernel counts it.
"""

from __future__ import annotations

import resource
from collections.abc import Generator
from typing import Any

import pytest

__all__ = ["CPU_PROPERTY", "SHOWN"]

CPU_PROPERTY = "cpu_s"
SHOWN = 30


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    item.stash[_STARTED] = _cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    yield
    # Before the teardown's report is made, which copies `user_properties` into it.
    started = item.stash.get(_STARTED, None)
    if started is not None:
        item.user_properties.append((CPU_PROPERTY, round(_cpu_seconds() - started, 3)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    costs: list[tuple[float, str]] = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == CPU_PROPERTY:
                    costs.append((float(value), report.nodeid))
    if not costs:
        return
    costs.sort(reverse=True)
    total = sum(cost for cost, _ in costs)
    terminalreporter.write_sep("=", f"CPU of the {min(SHOWN, len(costs))} costliest tests")
    terminalreporter.write_line(
        f"{total / 60:.1f} CPU minutes in {len(costs)} tests (with the programs they ran); "
        f"these {min(SHOWN, len(costs))} took {sum(c for c, _ in costs[:SHOWN]) / total:.0%}:"
    )
    for cost, nodeid in costs[:SHOWN]:
        terminalreporter.write_line(f"{cost:7.2f}s cpu  {nodeid}")
    by_file: dict[str, float] = {}
    for cost, nodeid in costs:
        path = nodeid.split("::", 1)[0]
        by_file[path] = by_file.get(path, 0.0) + cost
    terminalreporter.write_line(f"and the {min(SHOWN, len(by_file))} costliest files:")
    for path, cost in sorted(by_file.items(), key=lambda kv: -kv[1])[:SHOWN]:
        terminalreporter.write_line(f"{cost:7.1f}s cpu  {path}")


_STARTED = pytest.StashKey[float]()
