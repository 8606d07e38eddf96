"""The end-of-run summary of tests skipped for a missing vendor CLI counts exactly those."""

from __future__ import annotations

from pathlib import Path

from tests.contract.offline import MISSING_CLI_REASON
from tests.skip_summary import missing_cli_counts


def test_counts_only_missing_cli_skips_per_cli() -> None:
    reasons = [
        MISSING_CLI_REASON.format(binary="claude", where=Path("/x/.clis/node_modules/.bin")),
        MISSING_CLI_REASON.format(binary="claude", where="/y"),
        MISSING_CLI_REASON.format(binary="codex", where="/y"),
        "Skipped: no IPv6 loopback here",
        "Skipped: PostgreSQL is not installed",
    ]
    assert missing_cli_counts(reasons) == {"claude": 2, "codex": 1}
