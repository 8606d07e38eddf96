"""How a recorded request reads: its time, duration, cost and state in the table's words, and
the whole request as text for the details pane (timings, tokens and cache, approval, route,
error, then the job's redacted prompt and response, or why there are none).

A request's state reads as a plain word; the list draws it as the window's one status cell
(`badge.py`: a glyph and the word in the kind's tone), so colour is never the only sign.
"""

from __future__ import annotations

import time
from typing import Any

from llmgw_desktop.engine.api import RecordDetail, format_usd
from llmgw_desktop.ui.pages.savings_text import savings_lines
from llmgw_desktop.ui.provider_names import ProviderNames

__all__ = [
    "CAPTURE_OFF",
    "NO_PROMPT_FOR_API",
    "UNANSWERED_STATES",
    "describe_detail",
    "format_clock",
    "format_cost",
    "format_duration",
    "format_state",
    "format_time",
]

# The states of a request that ended without an answer ("Failed only" lists them).
UNANSWERED_STATES = ("failed", "interrupted", "canceled", "refused", "denied")


def format_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def format_clock(timestamp: float, now: float | None = None) -> str:
    """`08:17:05` today, `23 Nov 08:17` another day this year, `2025-12-31 23:59` before: a
    list's time, short (the whole date and time are in the cell's tooltip)."""
    moment = time.localtime(timestamp)
    today = time.localtime(time.time() if now is None else now)
    if moment[:3] == today[:3]:
        return time.strftime("%H:%M:%S", moment)
    if moment.tm_year == today.tm_year:
        return time.strftime("%d %b %H:%M", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)


def format_duration(ms: float | None) -> str:
    """`850 ms`, `12.40 s` or `3m 05s`; empty when the request has not finished."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(int(ms / 1000), 60)
    return f"{minutes}m {seconds:02d}s"


def format_cost(usd: float | None) -> str:
    """A request's cost as every page writes dollars (`format_usd`), "" when not known."""
    return "" if usd is None else format_usd(usd)


def format_state(state: str) -> str:
    """The state's word as a cell shows it (its glyph is the cell's icon, `badge.py`)."""
    return state


# A long agent transcript would take the text pane seconds to lay out: show its beginning.
SHOWN_TEXT_MAX = 100_000
NO_PROMPT_FOR_API = (
    "Not kept for API requests: the flight recorder holds numbers, codes and routes, never "
    "prompt or answer text."
)
CAPTURE_OFF = (
    "Body capture is off. To keep request and response bodies (redacted, 24 h), name a "
    "provider, agent or project in recorder.capture (Settings page)."
)


def describe_detail(detail: RecordDetail, names: ProviderNames | None = None) -> str:
    """The selected request as plain text: timings, tokens and cache, approval, route, error,
    then the job's redacted prompt and response (or why there are none)."""
    r = detail.record
    provider = (names or ProviderNames()).row_text(r["provider"], r["state"], r.get("model"))
    lines = [f"Request {r['id']}"]
    finished = r.get("finished_at")
    timing = format_time(r["started_at"])
    if finished is not None:
        timing += f" → {format_time(finished)} ({format_duration(r.get('duration_ms'))})"
    lines += [
        f"  Time        {timing}",
        f"  Provider    {provider} · model {r.get('model') or '-'}"
        + (f" (asked for {r['requested_model']})" if r.get("requested_model") else ""),
        f"  State       {r['state']}"
        + (f" · {r['attempts']} attempt(s)" if r.get("attempts") else ""),
        f"  Caller      {r.get('caller') or '-'} via {r.get('transport') or '-'}"
        + (f" {r['tool']}" if r.get("tool") else ""),
        f"  Principal   {r['owner_principal']}"
        + (f" · project {r['project']}" if r.get("project") else ""),
    ]
    for label, key in (
        ("Job", "job_id"),
        ("Correlation", "correlation_id"),
        ("Session", "session_id"),
        ("CLI session", "provider_session_id"),
    ):
        if r.get(key):
            lines.append(f"  {label:<12}{r[key]}")
    route = r.get("route")
    if isinstance(route, dict) and route.get("traceId"):
        # The OpenTelemetry trace the request ran in (export on): find it in the tracing tool.
        lines.append(f"  {'Trace':<12}{route['traceId']}")
    if isinstance(route, dict) and route.get("replayOf"):
        lines.append(f"  {'Replay of':<12}{route['replayOf']}")
    for replay in detail.replays:
        lines.append(f"  {'Replayed as':<12}{replay}")
    lines += ["", "Tokens and cache", *_tokens(r)]
    saved = savings_lines(r.get("optimization"))
    if saved:
        lines += ["", "Optimisation (optimizePrompt)", *saved]
    lines += ["", "Approval", *_approval(r.get("approval"))]
    lines += ["", "Route", *_route(r)]
    error = _error(r)
    if error:
        lines += ["", "Error", *error]
    lines += ["", *_conversation(detail)]
    return "\n".join(lines)


def _tokens(r: dict[str, Any]) -> list[str]:
    read, write, fresh = r["cache_read_tokens"], r["cache_write_tokens"], r["input_tokens"]
    prompt = fresh + read + write
    hit = f" · {read / prompt:.0%} of the prompt read from cache" if prompt and read else ""
    lines = [
        f"  Input {fresh:,} · output {r['output_tokens']:,} · reasoning {r['reasoning_tokens']:,}",
        f"  Cache read {read:,} · cache write {write:,}{hit}",
        f"  Cost {_cost(r)}",
    ]
    if r.get("prefix_hash"):
        tokens = r.get("prefix_tokens")
        size = f" ({tokens:,} tokens)" if tokens else ""
        lines.append(f"  Stable prefix {r['prefix_hash'][:16]}{size}")
    return lines


def _approval(approval: Any) -> list[str]:
    if not isinstance(approval, dict):
        return ["  No approval step (API requests are not gated)"]
    verdict = "allowed" if approval.get("allowed") else "refused"
    line = f"  {verdict} by {approval.get('decided_by', 'policy')}"
    if "score" in approval:
        line += f" · risk {approval['score']} of {approval.get('threshold', '?')}"
    if approval.get("permission_mode"):
        line += f" · runs as {approval['permission_mode']}"
    notes = [f"  - {text}" for text in approval.get("reasons") or []]
    notes += [f"  ! {text}" for text in approval.get("warnings") or []]
    return [line, *notes]


def _cost(r: dict[str, Any]) -> str:
    """The cost and where it came from; a row the price table cannot price says so."""
    cost = format_cost(r.get("cost_usd"))
    if not cost:
        return "not priced (no cost reported and the model is not in the price table)"
    if r.get("cost_source") == "cli":
        return f"{cost} (reported by the CLI)"
    if r.get("cost_source") == "table":
        return f"{cost} (estimated from prices of {r.get('cost_prices') or 'unknown date'})"
    if r.get("cost_source") == "estimate":
        return f"{cost} (estimated: the upstream reported no usage, tokens are the gateway's guess)"
    if r.get("cost_source") == "config":
        return f"{cost} (estimated from your price in config.toml)"
    return cost


def _route(r: dict[str, Any]) -> list[str]:
    route = r.get("route")
    if not isinstance(route, dict):
        return [f"  {r['provider']} directly (no gateway fallback route)"]
    lines = []
    if route.get("rule"):
        lines.append(f"  Rule: {route['rule']}")
    lines.append(f"  Fallback used: {'yes' if r.get('fallback_used') else 'no'}")
    for number, attempt in enumerate(route.get("attempts") or [], start=1):
        if isinstance(attempt, dict):
            lines.append(
                f"  {number}. {attempt.get('target', '?')} with key {attempt.get('key') or '-'}"
                f" → {attempt.get('outcome', '?')}"
            )
    return lines


def _error(r: dict[str, Any]) -> list[str]:
    parts = []
    if r.get("error_code"):
        parts.append(str(r["error_code"]))
    if r.get("http_status"):
        parts.append(f"HTTP {r['http_status']}")
    if r.get("exit_code") not in (None, 0):
        parts.append(f"exit code {r['exit_code']}")
    return [f"  {' · '.join(parts)}"] if parts else []


def _conversation(detail: RecordDetail) -> list[str]:
    job_id = detail.record.get("job_id")
    if not job_id:
        return ["Prompt and response", *_kept_bodies(detail)]
    if not detail.job_found:
        return ["Prompt and response", f"  Job {job_id} is no longer kept (old jobs are pruned)."]
    lines = [f"Prompt (job {job_id}, {detail.job_state}, secrets redacted)"]
    lines.append(_shortened(detail.prompt) or "  (empty)")
    lines += ["", "Response"]
    lines.append(_shortened(detail.response) or "  (no answer yet)")
    if detail.job_error:
        lines += ["", f"Job error: {detail.job_error.get('code', '')}"]
        if detail.job_error.get("message"):
            lines.append(f"  {detail.job_error['message']}")
    return lines


def _kept_bodies(detail: RecordDetail) -> list[str]:
    """What the detail says of an API request's bodies: below, or why they are not kept."""
    if detail.bodies is not None:
        cut = detail.bodies.request_cut or detail.bodies.response_cut
        note = " (cut to recorder.capture.max_body_bytes)" if cut else ""
        return [f"  Kept, secrets redacted{note}: shown side by side below."]
    if detail.capture == "off":
        return [f"  {NO_PROMPT_FOR_API}", f"  {CAPTURE_OFF}"]
    return [
        f"  Not kept for this request. Body capture is {detail.capture}; a request it does "
        "not name, or one older than the retention, has none."
    ]


def _shortened(text: str | None) -> str | None:
    if text is None or len(text) <= SHOWN_TEXT_MAX:
        return text
    return f"{text[:SHOWN_TEXT_MAX]}\n… ({len(text) - SHOWN_TEXT_MAX:,} more characters not shown)"
