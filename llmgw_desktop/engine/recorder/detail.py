"""One recorder row in full, as the desk's detail shows it and an export writes it.

Every column, its JSON fields parsed. Rows hold no prompt text: a row made by a job points at
it, and the detail reads the job's prompt and answer, which the job store keeps redacted. The
rows that replayed this one (the playground's "Compare with…") are found by their route.
Runs on the database thread, through the `execute` the caller hands in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.recorder.bodies import KeptBodies

__all__ = ["EXPORT_COLUMNS", "RecordDetail", "public_row", "read_detail"]

# Runs one statement of `?` placeholders on the store's connection (`RecorderQuery._execute`).
Execute = Callable[[str, list[Any]], Any]

# Every column, in schema order: what an export writes.
EXPORT_COLUMNS = (
    "id",
    "started_at",
    "finished_at",
    "duration_ms",
    "owner_principal",
    "caller",
    "transport",
    "tool",
    "provider",
    "model",
    "requested_model",
    "project",
    "state",
    "job_id",
    "correlation_id",
    "session_id",
    "provider_session_id",
    "error_code",
    "exit_code",
    "http_status",
    "attempts",
    "fallback_used",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "prefix_hash",
    "prefix_tokens",
    "approval_json",
    "optimization_json",
    "route_json",
    "chosen_because",
    "client_session",
    "failed_over",
)
_JSON_COLUMNS = {
    "approval_json": "approval",
    "optimization_json": "optimization",
    "route_json": "route",
}


@dataclass(frozen=True)
class RecordDetail:
    """One row in full, with its job's redacted prompt and answer when a job made it, its
    kept bodies when `recorder.capture` kept them, and the rows that replayed it."""

    record: dict[str, Any]
    job_found: bool = False
    job_state: str | None = None
    prompt: str | None = None
    response: str | None = None
    job_error: dict[str, Any] | None = None
    bodies: KeptBodies | None = None
    # The body capture policy now, in words ("off", "on for providers ..."), for the detail.
    capture: str = "off"
    # Rows whose route says `replayOf` this one (the playground's "Compare with…").
    replays: tuple[str, ...] = ()


def read_detail(execute: Execute, record_id: str) -> RecordDetail | None:
    """The row `record_id` in full with its job's prompt and answer, or None."""
    sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM requests WHERE id = ?"  # noqa: S608
    row = execute(sql, [record_id]).fetchone()
    if row is None:
        return None
    record = public_row(row)
    replays = _replays_of(execute, record_id, record["started_at"])
    detail = _read_job(execute, record)
    return replace(detail, replays=replays) if replays else detail


def _replays_of(execute: Execute, record_id: str, since: float) -> tuple[str, ...]:
    """Rows started since `since` whose route names `record_id` as what they replay (a
    text match: record ids are hex, and the time index bounds the rows read)."""
    rows = execute(
        "SELECT id FROM requests WHERE started_at >= ? AND route_json LIKE ? "
        "ORDER BY started_at LIMIT 20",
        [since, f'%"replayOf":"{record_id}"%'],
    ).fetchall()
    return tuple(str(row[0]) for row in rows)


def _read_job(execute: Execute, record: dict[str, Any]) -> RecordDetail:
    job_id = record.get("job_id")
    if not job_id:
        return RecordDetail(record)
    job = execute(
        "SELECT state, request_json, output, result_json, error_json FROM jobs WHERE id = ?",
        [job_id],
    ).fetchone()
    if job is None:
        return RecordDetail(record)
    state, request_json, output, result_json, error_json = job
    request = _loads(request_json) or {}
    result = _loads(result_json) or {}
    response = result.get("text") if isinstance(result.get("text"), str) else None
    return RecordDetail(
        record,
        job_found=True,
        job_state=state,
        prompt=_prompt_text(request),
        response=response if response is not None else (output or None),
        job_error=_loads(error_json),
    )


def public_row(row: Any) -> dict[str, Any]:
    """A row of `EXPORT_COLUMNS` as a dict with its JSON columns parsed (`approval`,
    `optimization`, `route`)."""
    out: dict[str, Any] = {}
    for column, value in zip(EXPORT_COLUMNS, row, strict=True):
        if column in _JSON_COLUMNS:
            out[_JSON_COLUMNS[column]] = _loads(value)
        elif column in ("fallback_used", "failed_over"):
            out[column] = bool(value)
        else:
            out[column] = value
    # How the cost was found rides in the route's JSON (no column for it in this schema):
    # lifted out as `cost_source` ("cli" or "table") and `cost_prices` (the table's date).
    route = out.get("route")
    cost = route.pop("cost", None) if isinstance(route, dict) else None
    if isinstance(route, dict) and not route:
        out["route"] = None  # a CLI row whose route held only its cost note
    out["cost_source"] = cost.get("source") if isinstance(cost, dict) else None
    out["cost_prices"] = cost.get("prices") if isinstance(cost, dict) else None
    return out


def _loads(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return jsonio.loads(raw)
    except ValueError:
        return None


def _prompt_text(request: dict[str, Any]) -> str | None:
    """The prompt as the job was asked it: the parts (system, context, task) when given."""
    parts = request.get("promptParts")
    if isinstance(parts, dict):
        sections = [
            f"[{name}]\n{parts[name]}"
            for name in ("system", "tools", "context", "task")
            if isinstance(parts.get(name), str) and parts[name]
        ]
        if sections:
            return "\n\n".join(sections)
    prompt = request.get("prompt")
    return prompt if isinstance(prompt, str) else None
