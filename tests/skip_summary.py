"""At the end of a run, say how many tests were skipped because a vendor CLI is missing, which
CLIs, and the one command that installs the pinned versions. `-ra` lists each reason; this line
is the answer to "what did I not test, and how do I test it"."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from tests.contract.offline import MISSING_CLI_REASON

_MISSING = re.compile(
    re.escape(MISSING_CLI_REASON)
    .replace(re.escape("{binary}"), r"(?P<binary>\S+)")
    .replace(re.escape("{where}"), ".*")
)
INSTALL_COMMAND = (
    "mapfile -t clis < <(grep -v '^\\s*#' .ci/clis | grep -v '^\\s*$'); "
    'npm install --prefix .clis --no-fund --no-audit "${clis[@]}"'
)


def missing_cli_counts(skip_reasons: list[str]) -> Counter[str]:
    """How many of the skips were for each missing CLI."""
    counts: Counter[str] = Counter()
    for reason in skip_reasons:
        found = _MISSING.search(reason)
        if found:
            counts[found["binary"]] += 1
    return counts


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            reasons.append(str(longrepr[2]))
    counts = missing_cli_counts(reasons)
    if not counts:
        return
    by_cli = ", ".join(f"{binary} {count}" for binary, count in counts.most_common())
    terminalreporter.write_sep("-", "vendor CLIs not installed", yellow=True)
    terminalreporter.write_line(
        f"{sum(counts.values())} tests were skipped because they run a real vendor CLI that is "
        f"not installed ({by_cli})."
    )
    terminalreporter.write_line("Install the pinned versions (needs npm) with:")
    terminalreporter.write_line(f"  {INSTALL_COMMAND}")
