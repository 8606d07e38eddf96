"""The Jobs page's detail pane in words: a job's result, error and approval as a person reads
them (plain text, numbers rounded, usage as a small table). The raw JSON stays one toggle
away (`raw_result`), never the default.

Pure functions of the engine's views, so the page only places their text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.api import PRICES_REVISED, DeskJob, ErrorCode, JobView, format_usd
from llmgw_desktop.ui.pages.savings_text import savings_lines
from llmgw_desktop.ui.risk_words import DECIDERS, mode_words, risk_line

__all__ = [
    "FailureWords",
    "approval_text",
    "failure_words",
    "format_number",
    "raw_result",
    "result_text",
    "when",
]

TRACEBACK_HEAD = "Traceback (most recent call last)"
# A Python exception's dotted module path before its name ("urllib.error.URLError: ..."):
# the name alone reads better in a sentence.
_DOTTED_EXCEPTION = re.compile(r"^(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*):")

# Result fields shown in their own lines or sections; the rest go under "Also".
_SHOWN = frozenset(
    {
        "text",
        "provider",
        "model",
        "stop_reason",
        "usage",
        "cost_usd",
        "cost_source",
        "duration_s",
        "exit_code",
        "session_id",
        "gateway_session_id",
        "working_dir",
        "warnings",
        "usage_is_cumulative",
        "optimization",
    }
)
# Kept for debugging only (the CLI's whole stdout, the engine's own copy): raw JSON shows them.
_HIDDEN = frozenset({"raw_output", "_optimization"})
_USAGE_ROWS = (
    ("input (uncached)", "input_tokens"),
    ("cache read", "cache_read_tokens"),
    ("cache write", "cache_write_tokens"),
    ("output", "output_tokens"),
    ("reasoning", "reasoning_tokens"),
)
_INPUT_ROWS = frozenset({"input (uncached)", "cache read", "cache write"})
# Jobs stored before the sources were renamed say "reported" / "price_table".
_COST_SOURCES = {
    "cli": "reported by the CLI",
    "table": f"estimated from prices of {PRICES_REVISED}",
    "config": "estimated from your price in config.toml",
    "reported": "reported by the CLI",
    "price_table": "estimated from the prices",
    "estimate": "estimated: the upstream reported no usage",
}


def when(timestamp: float, now: float | None = None) -> str:
    """`today 21:09:38`, or with its date when it was another day."""
    moment = time.localtime(timestamp)
    today = time.localtime(time.time() if now is None else now)
    if moment[:3] == today[:3]:
        return time.strftime("today %H:%M:%S", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)


def format_number(value: Any) -> str:
    """Whole numbers with thousands separators, others to four significant figures."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


@dataclass(frozen=True)
class FailureWords:
    """Why a job failed, for a person: one plain line first, the code beside it, the rest (a
    traceback, the error's details) folded away."""

    cause: str
    code: str
    details: str  # "" when the cause says it all


def failure_words(error: Mapping[str, Any], provider: str = "") -> FailureWords:
    """The cause of a job's failure in one line ("Mistral Vibe failed: URLError: <urlopen
    error [Errno 111] Connection refused>"), its code, and everything else for "Show details"
    (a CLI's traceback's last line is its cause; the traceback itself is a detail)."""
    code = str(error.get("code") or "error")
    message = str(error.get("message") or "").strip()
    lines = [line for line in message.splitlines() if line.strip()]
    if any(TRACEBACK_HEAD in line for line in lines):
        # The exception a traceback ends on: its last unindented line.
        ends = [line for line in lines if not line[:1].isspace() and TRACEBACK_HEAD not in line]
        said = ends[-1] if ends else lines[-1]
    else:
        said = lines[0] if lines else code
    said = _DOTTED_EXCEPTION.sub(r"\1:", said.strip())
    # A job stopped (cancelled, or the gateway stopping) did not fail: "Qwen Code failed: the
    # job was canceled" read as the agent's fault for a cancel the person made.
    stopped = code in (ErrorCode.CANCELED, ErrorCode.INTERRUPTED)
    cause = f"{provider}{'' if stopped else ' failed'}: {said}" if provider else said
    rest = message if len(lines) > 1 or said != message else ""
    notes = []
    if error.get("retryable"):
        notes.append("Sending it again may work (Retry).")
    details = error.get("details")
    if isinstance(details, Mapping) and details:
        notes += ["Details", *_pairs(_flatten(details), indent="  ")]
    return FailureWords(cause, code, "\n".join(filter(None, [rest, "\n".join(notes)])).strip())


def result_text(view: JobView, output: str = "") -> str:
    """The job's error or result for people; "" while it has neither. `output` is what the
    pane beside it shows: the answer's text is repeated only when it differs from that."""
    if view.error:
        return _error_text(view.error)
    if view.result is None:
        return ""
    result = view.result
    lines: list[str] = []
    head = f"{view.state.value.capitalize()}"
    if isinstance(result.get("duration_s"), int | float):
        head += f" in {result['duration_s']:.2f} s"
    if result.get("exit_code") is not None:
        head += f" · exit code {result['exit_code']}"
    lines += [head, ""]
    facts = [
        ("Model", result.get("model")),
        ("Stop reason", result.get("stop_reason")),
        ("Cost", _cost(result)),
        ("CLI session", result.get("session_id")),
        ("Gateway session", result.get("gateway_session_id")),
        ("Directory", result.get("working_dir")),
    ]
    lines += _pairs((k, v) for k, v in facts if v not in (None, ""))
    usage = result.get("usage")
    if isinstance(usage, Mapping):
        lines += ["", *_usage_table(usage)]
    notices = [_notice(w) for w in result.get("warnings") or []]
    if notices:
        lines += ["", "Notices", *(f"  • {n}" for n in notices)]
    optimization = result.get("optimization")
    if isinstance(optimization, Mapping) and (saved := savings_lines(optimization)):
        lines += ["", "Optimisation", *saved]
    rest = {k: v for k, v in result.items() if k not in _SHOWN and k not in _HIDDEN}
    if rest:
        lines += ["", "Also", *_pairs(_flatten(rest), indent="  ")]
    text = result.get("text")
    if isinstance(text, str) and text and text.strip() != output.strip():
        lines += ["", "Answer as the caller got it", text]
    return "\n".join(lines).rstrip() + "\n"


def raw_result(view: JobView) -> str:
    """Everything the store kept of the job's end, as JSON (the debugging view)."""
    if view.error:
        return json.dumps({"error": view.error}, indent=2, ensure_ascii=False, default=str)
    if view.result is None:
        return ""
    return json.dumps(view.result, indent=2, ensure_ascii=False, default=str)


def approval_text(job: DeskJob, now: float | None = None) -> str:
    """`Approved by the policy today 21:09:38 · risk 0 (you are asked from 60) · may only plan,
    changing nothing`, the reasons after a denial; "" when the flight recorder has no
    decision for the job. Plain words only: the policy's strategy and the CLI's mode names
    (`mcp_managed`, `plan`) are the engine's."""
    decision = job.approval
    if not decision:
        return ""
    allowed = bool(decision.get("allowed"))
    decided_by = str(decision.get("decided_by") or "policy")
    who = DECIDERS.get(decided_by, f"by {decided_by}")
    if decided_by == "desk-timeout":
        verdict = f"Denied: {who}"
    else:
        verdict = f"{'Approved' if allowed else 'Denied'} {who}"
    if job.decided_at is not None:
        verdict += f" {when(job.decided_at, now)}"
    parts = [verdict]
    # Under `legacy` the score is informational: only a refused full bypass denies.
    scored = decision.get("strategy") != "legacy" or not allowed
    if scored and "score" in decision and "threshold" in decision:
        parts.append(risk_line(decision["score"], decision["threshold"]))
    if decision.get("permission_mode") and allowed:
        parts.append(f"may {mode_words(str(decision['permission_mode']))}")
    reasons = [str(r) for r in decision.get("reasons") or []]
    if reasons:
        parts.append("; ".join(reasons))
    return "Approval: " + " · ".join(parts)


def _error_text(error: Mapping[str, Any]) -> str:
    lines = [f"Failed: {error.get('code', 'error')}", str(error.get("message", ""))]
    if error.get("retryable"):
        lines.append("Sending it again may work (Retry).")
    details = error.get("details")
    if isinstance(details, Mapping) and details:
        lines += ["", "Details", *_pairs(_flatten(details), indent="  ")]
    return "\n".join(lines).rstrip() + "\n"


def _cost(result: Mapping[str, Any]) -> str | None:
    cost = result.get("cost_usd")
    if not isinstance(cost, int | float):
        return None
    source = _COST_SOURCES.get(str(result.get("cost_source")), "")
    return format_usd(cost) + (f" ({source})" if source else "")


def _usage_table(usage: Mapping[str, Any]) -> list[str]:
    rows = [(label, usage.get(key, 0)) for label, key in _USAGE_ROWS]
    rows = [(label, n) for label, n in rows if isinstance(n, int) and not isinstance(n, bool)]
    total_in = sum(n for label, n in rows if label in _INPUT_ROWS)
    rows.append(("total input", total_in))
    width = max(len(f"{n:,}") for _label, n in rows)
    lines = ["Usage (tokens)"]
    lines += [f"  {label:<17}{n:>{width},}" for label, n in rows]
    return lines


def _notice(notice: Any) -> str:
    if isinstance(notice, Mapping):
        return f"{notice.get('code', 'notice')}: {notice.get('message', '')}"
    return str(notice)


def _key_words(key: str) -> str:
    """A stored key in words: `modelCallsFailed` and `model_calls_failed` both read "Model
    calls failed" (the Raw view keeps the keys as stored)."""
    words = _KEY_BREAK.sub(" ", key.replace("_", " ")).split()
    return " ".join(words).lower().capitalize() if words else key


# Where a stored key's words break: before a capital that follows a small letter or a digit.
_KEY_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        words = _key_words(str(key))
        name = f"{prefix}{words.lower()}" if prefix else words
        if isinstance(value, Mapping):
            pairs += _flatten(value, f"{name} › ")
        elif isinstance(value, list):
            pairs.append((name, ", ".join(format_number(v) for v in value) or "(none)"))
        else:
            pairs.append((name, value))
    return pairs


def _pairs(pairs: Iterable[tuple[str, Any]], indent: str = "") -> list[str]:
    listed = list(pairs)
    if not listed:
        return []
    width = max(len(k) for k, _v in listed) + 2
    return [f"{indent}{k:<{width}}{format_number(v)}" for k, v in listed]
