"""Replay a captured CLI run (tests/fixtures/cli/<cli>/<case>.*) through an adapter's parser."""

from __future__ import annotations

from pathlib import Path

from llmgw_desktop.engine.providers.base import OutputParser, ProviderResult
from llmgw_desktop.engine.providers.process import ProcessOutcome

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cli"


def captured(cli: str, case: str) -> ProcessOutcome:
    """A ProcessOutcome carrying what the real CLI printed in that captured run."""
    base = FIXTURES / cli / case

    def read(ext: str) -> bytes:
        path = base.with_suffix(base.suffix + f".{ext}") if base.suffix else Path(f"{base}.{ext}")
        return path.read_bytes() if path.exists() else b""

    exit_text = read("exit").decode().strip()
    return ProcessOutcome(
        exit_code=int(exit_text) if exit_text else 0,
        stdout=read("stdout"),
        stderr_tail=read("stderr"),
        duration_s=0.5,
        ended_by="exit",
        pid=1,
    )


def replay(parser: OutputParser, outcome: ProcessOutcome, chunk: int = 7) -> ProviderResult:
    """Feed stdout in small pieces (as a pipe would deliver it), then finish."""
    data = outcome.stdout
    for start in range(0, len(data), chunk):
        parser.feed(data[start : start + chunk])
    return parser.finish(outcome)
