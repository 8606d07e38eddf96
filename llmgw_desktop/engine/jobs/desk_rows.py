"""The desk's reads of the jobs table: every principal's jobs summarised, and a job's origin.

The desk (the operator of this machine) lists every principal's jobs, filtered by state,
provider and a text, newest first. A listed job carries no output, request or result text: its
tokens, model and the prompt's head are read from the JSON columns in SQL, and who sent it,
through which front door and with which approval come from its first flight-recorder record
(the job row keeps none of those). The desk's Retry reads a job's origin: what it asked (as
the store keeps it, secrets masked), whose it was, and its caller and project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.engine.jobs.store import row_view
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import contains, is_postgresql, json_number

__all__ = [
    "PROMPT_SUMMARY_CHARS",
    "DeskFilter",
    "DeskJob",
    "DeskRows",
    "JobOrigin",
    "summarize_prompt",
]

# A listed job's prompt, as the desk's table shows it.
PROMPT_SUMMARY_CHARS = 80
# How much of the prompt the listing reads (whitespace collapses, so more than it shows).
_PROMPT_HEAD_CHARS = 400


@dataclass(frozen=True)
class DeskFilter:
    """Which jobs the desk's table shows: some states (None: all), one provider, a text."""

    states: frozenset[JobState] | None = None
    provider: str | None = None
    # Matched, case-insensitively, in the job id, principal, provider, correlation id, the
    # (masked) request and the caller label.
    text: str = ""


@dataclass(frozen=True)
class DeskJob:
    """A job as the desk lists it: its summary (no output or result), whose it is, who sent
    it and through which front door, what it asked, and the tokens its answer reported (zero
    until it has one)."""

    view: JobView
    principal: str
    caller: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # The masked request's prompt, whitespace collapsed, cut to `PROMPT_SUMMARY_CHARS`.
    prompt: str = ""
    # The model asked for, else the one the CLI reported; "" when neither is known.
    model: str = ""
    # The front door ("mcp-http", "http", "desktop", ...) and its tool or endpoint.
    transport: str = ""
    tool: str = ""
    # The approval gate's decision as the flight recorder keeps it (`ApprovalDecision.to_dict`),
    # and when it was made (its record's start); None when the recorder has no record.
    approval: dict[str, Any] | None = None
    decided_at: float | None = None


@dataclass(frozen=True)
class JobOrigin:
    """What a job was asked to do, as the store keeps it (secrets masked): enough to ask again."""

    job_id: str
    principal: str
    provider: str
    state: JobState
    request: dict[str, Any]
    correlation_id: str | None
    caller: str
    # The project the call was for (its first recorder row's): a retry keeps its credential
    # scope and counts against the same project budgets.
    project: str | None = None


class DeskRows:
    """The desk's reads of the jobs table (and of the recorder rows that name each job's caller)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_for_desk(self, filters: DeskFilter, limit: int) -> list[DeskJob]:
        """Every principal's jobs matching `filters`, newest first (the desk's view only)."""
        models = self._db.models
        Job, Request = models.Job, models.RecordedRequest
        query = Job.select(*_summary_columns(Job), *_request_columns(Job, models.database))
        if filters.states is not None:
            query = query.where(Job.state.in_([s.value for s in filters.states]))
        if filters.provider:
            query = query.where(Job.provider == filters.provider)
        needle = filters.text.strip().lower()
        database = self._db.models.database

        def _has(column: Any, needle: str) -> Any:
            return contains(database, column, needle)

        if needle:
            by_caller = Request.select(peewee.SQL("1")).where(
                (Request.job_id == Job.id) & _has(Request.caller, needle)
            )
            query = query.where(
                _has(Job.id, needle)
                | _has(Job.owner_principal, needle)
                | _has(Job.provider, needle)
                | _has(Job.correlation_id, needle)
                | _has(Job.request_json, needle)
                | peewee.fn.EXISTS(by_caller)
            )
        query = query.order_by(Job.created_at.desc()).limit(limit)

        def read() -> list[DeskJob]:
            rows = list(query)
            records = _first_records(Request, [r.id for r in rows])
            return [_desk_job(r, records.get(r.id)) for r in rows]

        # The desk's table: the read lane, beside the jobs' own ordered writes.
        return await self._db.read(read)

    async def origin(self, job_id: str) -> JobOrigin | None:
        """The job's stored request, owner and caller, or None when there is no such job."""
        models = self._db.models
        Job, Request = models.Job, models.RecordedRequest

        def read() -> JobOrigin | None:
            row = Job.get_or_none(Job.id == job_id)
            if row is None:
                return None
            record = _first_records(Request, [row.id]).get(row.id, _NO_RECORD)
            return JobOrigin(
                job_id=row.id,
                principal=row.owner_principal,
                provider=row.provider,
                state=JobState(row.state),
                request=json.loads(row.request_json),
                correlation_id=row.correlation_id,
                caller=record.caller,
                project=record.project,
            )

        return await self._db.run(read)


_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _summary_columns(job: Any) -> tuple[Any, ...]:
    """The job columns a listing needs: everything but the output, request and result text."""
    return (
        job.id,
        job.owner_principal,
        job.provider,
        job.state,
        job.correlation_id,
        job.session_id,
        job.error_json,
        job.created_at,
        job.updated_at,
        job.started_at,
        job.finished_at,
        job.attempts,
        job.progress_json,
    )


def _request_columns(job: Any, database: peewee.Database) -> tuple[Any, ...]:
    """What the listing reads from the request and result JSON, in SQL: the tokens, the model
    and the prompt's head, so listing never loads the answers' or the prompts' whole text."""
    tokens = [
        json_number(database, job.result_json, "usage", name).alias(name) for name in _TOKEN_FIELDS
    ]
    prompt = peewee.fn.COALESCE(
        _json_text(database, job.request_json, "prompt"),
        _json_text(database, job.request_json, "promptParts", "task"),
    )
    model = peewee.fn.COALESCE(
        # The model an agent pointed at the gateway was told (`call_work`): what its calls ask.
        _json_text(database, job.progress_json, "model"),
        _json_text(database, job.request_json, "model"),
        _json_text(database, job.result_json, "model"),
    )
    return (
        *tokens,
        peewee.fn.SUBSTR(prompt, 1, _PROMPT_HEAD_CHARS).alias("prompt_head"),
        model.alias("model_name"),
    )


def _json_text(database: peewee.Database, column: peewee.Field, *path: str) -> peewee.ColumnBase:
    """A peewee expression for the text at `path` in the JSON text of `column` (NULL where it
    is missing or JSON null). `path` names are the store's constants, never a request's."""
    if not is_postgresql(database):
        return peewee.fn.json_extract(column, "$." + ".".join(path))
    steps = peewee.SQL("#>> '{" + ",".join(path) + "}'")
    return peewee.NodeList((peewee.Cast(column, "json"), steps))


def summarize_prompt(head: str | None) -> str:
    """One line of at most `PROMPT_SUMMARY_CHARS`: the prompt's whitespace collapsed."""
    line = " ".join((head or "").split())
    cut = len(line) > PROMPT_SUMMARY_CHARS or len(head or "") >= _PROMPT_HEAD_CHARS
    if len(line) > PROMPT_SUMMARY_CHARS:
        line = line[: PROMPT_SUMMARY_CHARS - 1].rstrip()
    return line + "…" if cut else line


@dataclass(frozen=True)
class _Record:
    """What the flight recorder's first record of a job tells the desk about it."""

    caller: str = ""
    transport: str = ""
    tool: str = ""
    approval_json: str | None = None
    started_at: float | None = None
    project: str | None = None


_NO_RECORD = _Record()


def _first_records(requests: Any, job_ids: list[str]) -> dict[str, _Record]:
    """Each job's first flight-recorder record (the job row keeps no caller, front door or
    approval).

    Runs on the database thread. A deduplicated call's record points at the job it joined; the
    job's own record is the earliest one, so that one names its caller and its approval.
    """
    records: dict[str, _Record] = {}
    if not job_ids:
        return records
    query = (
        requests.select(
            requests.job_id,
            requests.caller,
            requests.transport,
            requests.tool,
            requests.approval_json,
            requests.started_at,
            requests.project,
        )
        .where(requests.job_id.in_(job_ids))
        .order_by(requests.started_at)
        .tuples()
    )
    for job_id, *fields in query:
        records.setdefault(job_id, _Record(*fields))
    return records


def _desk_job(row: Any, record: _Record | None) -> DeskJob:
    record = record or _NO_RECORD
    approval = json.loads(record.approval_json) if record.approval_json else None
    return DeskJob(
        view=row_view(row, with_output=False),
        principal=row.owner_principal,
        caller=record.caller,
        prompt=summarize_prompt(row.prompt_head),
        model=row.model_name or "",
        transport=record.transport,
        tool=record.tool,
        approval=approval if isinstance(approval, dict) else None,
        decided_at=record.started_at if approval is not None else None,
        **{name: int(getattr(row, name) or 0) for name in _TOKEN_FIELDS},
    )
