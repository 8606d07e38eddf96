"""The Jobs page's table model: the desk's job rows in, the cells the person reads out.

The rows come from `JobManager.list_for_desk` (every principal's jobs, summaries only). The
model keeps the selection steady across refreshes: when the same jobs come back in the same
order it only repaints their cells; only a different set of rows resets the view. Elapsed
time is computed at paint time, so a one-second tick repaints that one column without asking
the engine anything.

The State column is the window's one status cell (`badge.py`): the kind's glyph and the word
in its tone, as the Flight recorder shows a request's. A running job the engine marks stuck
(no output for `jobs.stuck_after_ms`) reads "stuck", amber, and its Progress says how long it
has been silent against the limit; any running job silent for a while says so too, before it
is stuck.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmgw_desktop.engine.api import RETRYABLE, DeskJob, JobState, JobView
from llmgw_desktop.ui.badge import state_kind, status_data
from llmgw_desktop.ui.pages.recorder_words import format_clock, format_state
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import QAbstractTableModel, QColor, QModelIndex, QPersistentModelIndex, Qt
from llmgw_desktop.ui.terms import caller_words
from llmgw_desktop.ui.theme import warning_colour

__all__ = [
    "COLUMNS",
    "ELAPSED_COLUMN",
    "OUTPUT_AWAITED",
    "OUTPUT_NONE",
    "PROGRESS_COLUMN",
    "PROMPT_COLUMN",
    "JobsModel",
    "can_cancel",
    "can_retry",
    "describe_progress",
    "elapsed_seconds",
    "format_bytes",
    "format_count",
    "format_elapsed",
    "format_tokens",
    "front_door",
    "idle_seconds",
    "job_tag",
    "output_awaited",
    "short_id",
    "who",
]

COLUMNS = (
    "Started",
    "Prompt",
    "Provider",
    "Model",
    "Tool",
    "State",
    "Progress",
    "Elapsed",
    "Tokens",
    "Who",
)
ELAPSED_COLUMN = COLUMNS.index("Elapsed")
PROGRESS_COLUMN = COLUMNS.index("Progress")
# Cells that change with the clock while a job is live: repainted by each tick.
_TICKING = (COLUMNS.index("State"), PROGRESS_COLUMN, ELAPSED_COLUMN)
# A running job silent this long says so in Progress, before it is stuck.
QUIET_AFTER_S = 10.0
PROMPT_COLUMN = COLUMNS.index("Prompt")
STATE_COLUMN = COLUMNS.index("State")
_NUMERIC = frozenset({ELAPSED_COLUMN, COLUMNS.index("Tokens")})
_ROOT = QModelIndex()
_ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})
Index = QModelIndex | QPersistentModelIndex


def job_tag(job_id: str) -> str:
    """`24faa54b`: a job's id as a title names it (without the `job_` every id starts with)."""
    return job_id.removeprefix("job_")[:8]


def short_id(job_id: str) -> str:
    """`job_3f2a9c1d`: enough of a job id to tell jobs apart on screen."""
    return job_id[:12]


def can_cancel(view: JobView) -> bool:
    return view.state in _ACTIVE


def can_retry(view: JobView) -> bool:
    return view.state in RETRYABLE


def elapsed_seconds(view: JobView, now: float) -> float:
    """How long the job has run (or, while queued, waited); fixed once it has finished."""
    start = view.started_at if view.started_at is not None else view.created_at
    end = view.finished_at if view.finished and view.finished_at is not None else now
    return max(0.0, end - start)


def idle_seconds(view: JobView, now: float) -> float | None:
    """How long a running job has been silent (no output, no new attempt); None otherwise."""
    if view.state is not JobState.RUNNING or view.last_activity_at is None:
        return None
    return max(0.0, now - view.last_activity_at)


def format_elapsed(seconds: float) -> str:
    """`42s`, `3m 05s` or `1h 02m`."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def format_count(count: int) -> str:
    """`512`, `12.3k` or `1.2M`: a token count at a glance."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def format_tokens(row: DeskJob) -> str:
    """`12.3k in (10.1k cached) / 512 out`: all input, cache reads and writes included (the
    share read from the cache in brackets; the tooltip splits it further); nothing before
    the answer reported its usage."""
    total_in = row.input_tokens + row.cache_read_tokens + row.cache_write_tokens
    if not (total_in or row.output_tokens):
        return ""
    cached = f" ({format_count(row.cache_read_tokens)} cached)" if row.cache_read_tokens else ""
    return f"{format_count(total_in)} in{cached} / {format_count(row.output_tokens)} out"


def who(row: DeskJob) -> str:
    """`editor/1.0 (run by you)`: the client that sent the job (a user agent's first word: its
    whole is in the cell's tooltip and the details), and whom it runs as."""
    caller = row.caller.split(" ")[0] if row.caller else ""
    return caller_words(caller, row.principal)


def front_door(row: DeskJob) -> str:
    """`mcp-http · claude_request`: how the call came in, and through which tool or endpoint."""
    return " · ".join(part for part in (row.transport, row.tool) if part)


def describe_progress(
    view: JobView, now: float | None = None, stuck_after_s: float | None = None
) -> str:
    """One short phrase: what a live job is doing, or how a finished one ended. Short enough
    to be read whole in its column: the retry's reason is in the cell's tooltip."""
    if view.state is JobState.QUEUED:
        return "waiting for a slot"
    if view.state is JobState.RUNNING:
        progress = view.progress
        idle = idle_seconds(view, time.time() if now is None else now)
        # Its model calls failing at the gateway come first: a narrow column cuts the end.
        parts = _failing(progress)
        if view.stuck and idle is not None:
            limit = f" · limit {format_elapsed(stuck_after_s)}" if stuck_after_s else ""
            return " · ".join([*parts, f"no output for {format_elapsed(idle)}{limit}"])
        if view.attempts > 1:
            parts.insert(0, f"attempt {view.attempts}")
        if "retryInSeconds" in progress:  # waiting to try again: the failed try's counts are old
            parts.append(f"retry in {format_elapsed(float(progress['retryInSeconds']))}")
            return " · ".join(parts)
        if idle is not None and idle >= QUIET_AFTER_S and not parts:
            # Not beside its model calls failing: the agent is retrying them, not stalled (a
            # review read "quiet 41 s" beside a call failing every 2 s).
            parts.append(f"quiet {format_elapsed(idle)}")
        events = progress.get("events")
        if isinstance(events, int) and events:
            parts.append(f"{events} event{'s' if events != 1 else ''}")
        size = progress.get("outputBytes")
        if isinstance(size, int) and size:
            parts.append(format_bytes(size))
        return " · ".join(parts) or "started"
    if view.state is JobState.COMPLETED:
        return "done"
    return str((view.error or {}).get("code") or view.state.value)


# The Output pane's words while it is empty, and once the job ended with none.
OUTPUT_AWAITED = "The job's output appears here as it streams."
OUTPUT_NONE = "This job wrote no answer text: the Result says how it ended."


def output_awaited(view: JobView, name: str) -> str:
    """The empty Output pane's words. While a running job has sent no answer text yet but
    its agent has spoken (the Progress column's events and bytes, a helper's review read
    "552.2 KB" beside an empty pane), they say what those were: its messages to the
    gateway, plans and tool calls, not its answer."""
    if view.finished:  # it will never stream: the Result says how it ended
        return OUTPUT_NONE
    progress = view.progress
    size, events = progress.get("outputBytes"), progress.get("events")
    if view.state is not JobState.RUNNING or not isinstance(size, int) or size <= 0:
        return OUTPUT_AWAITED
    sent = format_bytes(size)
    if isinstance(events, int) and events > 0:  # an ACP agent's turn counts none until it ends
        sent = f"{events} event{'s' if events != 1 else ''} ({sent})"
    return (
        f"No answer text yet. {name} has sent {sent}: its protocol messages, plans and tool "
        "calls. Its answer appears here as it streams."
    )


def _failing(progress: Mapping[str, Any]) -> list[str]:
    """`["1 model call waits for budget room", "3 model calls failed"]`: the job's routed
    model calls waiting now for room in a hard budget, and those that failed at the gateway."""
    said = []
    waiting = progress.get("modelCallsWaiting")
    if isinstance(waiting, int) and waiting > 0:
        said.append(f"{waiting} model call{' waits' if waiting == 1 else 's wait'} for budget room")
    failed = progress.get("modelCallsFailed")
    if isinstance(failed, int) and failed:
        said.append(f"{failed} model call{'s' if failed != 1 else ''} failed")
    return said


class JobsModel(QAbstractTableModel):
    """Desk job rows as a read-only table."""

    def __init__(
        self, clock: Callable[[], float] = time.time, *, stuck_after_s: float | None = None
    ) -> None:
        super().__init__()
        self._rows: list[DeskJob] = []
        self._clock = clock
        self.stuck_after_s = stuck_after_s
        self.names = ProviderNames()  # providers as every page names them (the page sets it)

    # -- what the page calls ------------------------------------------------------------

    def set_rows(self, rows: Sequence[DeskJob]) -> None:
        """Show `rows`; the same jobs in the same order only repaint (the selection stays)."""
        if [r.view.id for r in rows] == [r.view.id for r in self._rows]:
            self._rows = list(rows)
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def tick(self) -> None:
        """Repaint the cells that move with the clock (elapsed, idle) of the live jobs."""
        first, last = min(_TICKING), max(_TICKING)
        for number, row in enumerate(self._rows):
            if not row.view.finished:
                self.dataChanged.emit(
                    self.index(number, first),
                    self.index(number, last),
                    [Qt.ItemDataRole.DisplayRole],
                )

    def job_at(self, row: int) -> DeskJob | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, job_id: str) -> int | None:
        return next((n for n, r in enumerate(self._rows) if r.view.id == job_id), None)

    @property
    def jobs(self) -> list[DeskJob]:
        return list(self._rows)

    def has_unfinished(self) -> bool:
        return any(not r.view.finished for r in self._rows)

    def shape(self) -> tuple[tuple[str, str, int], ...]:
        """What decides the columns' widths: each job, its state and its progress's length."""
        return tuple(
            (r.view.id, self._text(r, STATE_COLUMN), len(self._text(r, PROGRESS_COLUMN)))
            for r in self._rows
        )

    # -- QAbstractTableModel ------------------------------------------------------------

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.TextAlignmentRole
            and section in _NUMERIC
        ):
            # The heading over its right-aligned figures, not left above their gap.
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.job_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.UserRole:
            return row.view.id
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if column == STATE_COLUMN and role in (
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.DecorationRole,
        ):
            return status_data(state_kind(self._text(row, STATE_COLUMN)), int(role))
        if role == Qt.ItemDataRole.ForegroundRole and column == PROGRESS_COLUMN:
            # A stuck job's silence, in the colour of its "stuck".
            if row.view.stuck and not row.view.finished:
                return QColor(warning_colour())
            return None
        return None

    def _text(self, row: DeskJob, column: int) -> str:
        view = row.view
        match COLUMNS[column]:
            case "Started":
                return format_clock(view.created_at, self._clock())
            case "Prompt":
                return row.prompt
            case "Provider":
                return self.names.name(view.provider)
            case "Model":
                return row.model
            case "Tool":
                return front_door(row)
            case "State":
                if view.stuck and not view.finished:
                    return "stuck"
                return format_state(view.state.value)
            case "Progress":
                return describe_progress(view, self._clock(), self.stuck_after_s)
            case "Elapsed":
                return format_elapsed(elapsed_seconds(view, self._clock()))
            case "Tokens":
                return format_tokens(row)
            case _:
                return who(row)

    def _tooltip(self, row: DeskJob, column: int) -> str | None:
        view = row.view
        match COLUMNS[column]:
            case "Started":
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(view.created_at))
                return f"{view.id}\ncreated {when}"
            case "Prompt" if row.prompt:
                return row.prompt
            case "Who":
                return caller_words(row.caller, row.principal)
            case "Provider" | "Model" | "Tool":
                return self._text(row, column) or None
            case "Progress" if view.error:
                return str(view.error.get("message", ""))
            case "State" | "Progress" if view.stuck and not view.finished:
                idle = idle_seconds(view, self._clock()) or 0.0
                limit = format_elapsed(self.stuck_after_s) if self.stuck_after_s else "the limit"
                return (
                    f"Running, but no output for {format_elapsed(idle)} (stuck after {limit}, "
                    "jobs.stuck_after_ms). Cancel it, or wait: the CLI's idle timeout "
                    "(providers.idle_timeout_ms) stops it."
                )
            case "Progress" if (view.progress.get("modelCallsWaiting") or 0) > 0 and (
                not view.finished
            ):
                return (
                    "Its model calls wait for room in a hard budget that running calls hold "
                    "(its own others, or another caller's), each at most a minute; then they "
                    "go, or are refused if the budget has no room left."
                )
            case "Progress" if "lastModelCallError" in view.progress and not view.finished:
                return (
                    f"{view.progress.get('modelCallsFailed')} of its model calls failed at the "
                    f"gateway; the last: {view.progress['lastModelCallError']}"
                )
            case "Progress" if "lastError" in view.progress and not view.finished:
                return f"attempt {view.attempts}; the last one failed: {view.progress['lastError']}"
            case "Tokens" if row.input_tokens or row.output_tokens or row.cache_read_tokens:
                return (
                    f"input {row.input_tokens:,} uncached · cache read "
                    f"{row.cache_read_tokens:,} · cache write {row.cache_write_tokens:,}"
                    f"\noutput {row.output_tokens:,}"
                )
            case _:
                return None
