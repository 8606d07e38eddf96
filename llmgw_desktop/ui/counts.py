"""The window's counts, each from one function: how many providers fail, answer or cannot
answer, and how many jobs run, wait or are stuck. No Qt.

Every place that says a count reads it here, never counting for itself: the header's chips,
the Overview's cards and lines, the Providers page, the first-run guide, the Jobs and Agents
pages and the tray. Counted apart, they disagreed (issue 64): the Overview's "running" read
the live figures' job events, the Jobs page counted the rows of its own list, the tray its own
events and the quit question the job manager, so one moment had three numbers; the guide's
"cannot answer" counted another list than the Providers page's.

- `job_counts(engine)`: the job manager's live jobs, by state, and its stuck ones;
- `waiting_words(engine)`: the API calls waiting for their answer to begin, once the longest
  has waited `WAITING_LONG_S` (the balancer's head waits: a coding tool's job, an approval or
  an MCP tool may run for minutes, and the Jobs chip says those);
- `provider_counts(verdicts, rows)`: the verdicts (`attention.provider_verdicts`) for what
  fails, the Providers page's rows (`provider_rows.load_provider_rows`) for what answers and
  what cannot; the words of each (`jobs_words`, `running_words`, `fold_words`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from llmgw_desktop.engine.api import Engine, StuckJob
from llmgw_desktop.ui.attention import ProviderVerdict
from llmgw_desktop.ui.pages.provider_rows import ProviderRow, cannot_answer, usable_row

__all__ = [
    "WAITING_LONG_S",
    "JobCounts",
    "ProviderCounts",
    "answering_rows",
    "fold_words",
    "job_counts",
    "jobs_words",
    "provider_counts",
    "providers_words",
    "running_words",
    "waiting_words",
]

# A request open this long is said beside "Working"/"Running", which then is not green: a
# thinking model may take this long, an upstream that hangs does too, and the gateway cannot
# tell them apart while the host answers its probes.
WAITING_LONG_S = 10.0


@dataclass(frozen=True)
class JobCounts:
    """This gateway's jobs now: queued, running, and the running ones stuck (each named)."""

    queued: int = 0
    running: int = 0
    stuck: tuple[StuckJob, ...] = ()

    @property
    def active(self) -> int:
        """Queued or running: what the header calls running and quitting would interrupt."""
        return self.queued + self.running


def job_counts(engine: Engine) -> JobCounts:
    """The job manager's live jobs by state and its stuck ones, read at one moment."""
    by_state = engine.jobs.health()["byState"]
    return JobCounts(
        queued=int(by_state.get("queued", 0)),
        running=int(by_state.get("running", 0)),
        stuck=tuple(engine.jobs.stuck_jobs()),
    )


def waiting_words(engine: Engine) -> str | None:
    """`2 calls waiting for an answer, the longest 14 s`, once the longest has waited
    `WAITING_LONG_S`; None before."""
    count, longest_s = engine.providers.waiting_for_answers()
    if longest_s < WAITING_LONG_S:
        return None
    noun = "call" if count == 1 else "calls"
    return f"{count} {noun} waiting for an answer, the longest {longest_s:.0f} s"


def running_words(counts: JobCounts) -> str:
    """`3 running` (queued jobs are about to: counted with them), or `none running`."""
    return f"{counts.active:,} running" if counts.active else "none running"


def jobs_words(counts: JobCounts) -> tuple[str, str, str]:
    """The header's Jobs chip: its words, its short words and its tone."""
    stuck, active = len(counts.stuck), counts.active
    if stuck:
        words = f"{stuck} stuck" + (f" · {active} running" if active > stuck else "")
        return words, f"{stuck} stuck", "warning"
    # "No jobs" whole at every width ("No jobs …" left nothing out).
    words = f"{active} running" if active else "No jobs"
    return words, words, ""


@dataclass(frozen=True)
class ProviderCounts:
    """The providers now: failing and where some calls fail (the verdicts), those that could
    answer a call, and those that cannot whatever their switch says (by status)."""

    failing: int = 0
    some_calls_fail: int = 0
    answering: int = 0
    # The Providers page's folded list: (status, how many), in the rows' order.
    cannot: tuple[tuple[str, int], ...] = ()
    # Those a switch, a resume or a new Test would bring back: (status, how many).
    held: tuple[tuple[str, int], ...] = ()

    @property
    def cannot_answer(self) -> int:
        return sum(count for _status, count in self.cannot)


def provider_counts(
    verdicts: Sequence[ProviderVerdict],
    rows: Sequence[ProviderRow] = (),
    answering: Collection[str] | None = None,
) -> ProviderCounts:
    """The counts of `verdicts` and `rows`, read at one moment: each provider once (one held
    back by its status, "not logged in" or "test failed", is counted there, not as failing
    too). `answering`: the switch ids the engine's one fact says answer (`answering_switches`);
    a row counts as able to answer only when it is among them and is not failing (a key the
    provider refused is failing, and answers nothing: "1 can answer · 1 failing" counted it
    twice beside "No provider can answer"; so did a provider whose every call fails)."""
    folded = cannot_answer(rows)
    held = [row for row in rows if not usable_row(row) and row not in folded]
    held_ids = {row.switch_id for row in held}
    counted = [verdict for verdict in verdicts if verdict.provider not in held_ids]
    failing_ids = {verdict.provider for verdict in counted if verdict.failing}
    return ProviderCounts(
        failing=len(failing_ids),
        some_calls_fail=len(counted) - len(failing_ids),
        answering=len(answering_rows(rows, verdicts, answering)),
        cannot=_by_status(folded),
        held=_by_status(held),
    )


def answering_rows(
    rows: Sequence[ProviderRow],
    verdicts: Sequence[ProviderVerdict],
    answering: Collection[str] | None = None,
) -> list[ProviderRow]:
    """The rows that can answer a call now, as `provider_counts` counts them (usable by their
    status, not failing, and among `answering` when given): the first-run guide's "Can answer
    now" named a provider whose key was refused while every other place said nothing could."""
    failing_ids = {verdict.provider for verdict in verdicts if verdict.failing}
    return [
        row
        for row in rows
        if usable_row(row)
        and row.switch_id not in failing_ids
        and (answering is None or row.switch_id in answering)
    ]


def _by_status(rows: Sequence[ProviderRow]) -> tuple[tuple[str, int], ...]:
    """How many rows have each status (its first letter in lower case: "no API key"), in
    the rows' order."""
    counts: dict[str, int] = {}
    for row in rows:
        status = row.status[:1].lower() + row.status[1:]
        counts[status] = counts.get(status, 0) + 1
    return tuple(counts.items())


def providers_words(counts: ProviderCounts) -> str:
    """`4 can answer (1 where some calls fail) · 1 failing · 1 switched off · 22 cannot
    answer`: the Providers page's line, in the header's and the Overview's counts. Each
    provider once: one where some calls fail answers, so it is counted among those that can
    ("1 can answer · 1 where some calls fail · 25 cannot answer" added up to 27 of 26)."""
    answer = f"{counts.answering} can answer"
    if counts.some_calls_fail:
        answer += f" ({counts.some_calls_fail} where some calls fail)"
    parts = [answer]
    if counts.failing:
        parts.append(f"{counts.failing} failing")
    parts += [f"{count} {status}" for status, count in counts.held]
    if counts.cannot_answer:
        parts.append(f"{counts.cannot_answer} cannot answer")
    return " · ".join(parts)


def fold_words(count: int, unfolded: bool = False) -> str:
    """`Show 25 more that cannot answer (not installed, no key, not running)`: the fold's
    button on the Providers page and the Overview's health table (`count` is
    `ProviderCounts.cannot_answer`); what it says once unfolded."""
    if unfolded:
        return "Hide the providers that cannot answer"
    return f"Show {count} more that cannot answer (not installed, no key, not running)"
