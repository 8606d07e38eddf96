"""How a recorded request reads: its time, duration, cost and state in the table's words, and
the whole request as text for the details pane (timings, tokens and cache, approval, route,
error, then the job's redacted prompt and response, or why there are none).

A request's state reads as a plain word; the list draws it as the window's one status cell
(`badge.py`: a glyph and the word in the kind's tone), so colour is never the only sign. A
request the response cache answered reads "from cache" there, in the tone of "completed": its
$0 cost and zero tokens are in columns a narrow list hides, and without them its row read as
the call it saved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.api import USAGE_AT_HOLD, RecordDetail, format_usd
from llmgw_desktop.ui.pages.guard_text import guard_rows
from llmgw_desktop.ui.pages.savings_text import savings_lines
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.risk_words import DECIDERS, mode_words, risk_line
from llmgw_desktop.ui.terms import who_words

# The route step of a request the response cache answered (`gateway/api_targets.py`'s
# CACHE_HIT_OUTCOME: the engine's wire word, not one the engine's surface exports).
CACHE_HIT_OUTCOME = "cache_hit"
# The state cell of a request the response cache answered, and its tooltip's first line.
FROM_CACHE = "from cache"
FROM_CACHE_TIP = "completed: answered from the response cache, no provider asked ($0)"
# The state cell of an attempt that failed and whose request went on to another target
# (`engine/recorder/attempts.py`): a provider's call that failed, not a request left without an
# answer ("Unanswered only" leaves it out), and its tooltip.
FAILED_OVER = "failed over"
FAILED_OVER_TIP = (
    "failed over: this provider call failed and its request went on to another target,"
    " whose row says how the request ended"
)

__all__ = [
    "CAPTURE_OFF",
    "FAILED_OVER",
    "FAILED_OVER_TIP",
    "FROM_CACHE",
    "FROM_CACHE_TIP",
    "NO_PROMPT_FOR_API",
    "UNANSWERED_STATES",
    "DetailRow",
    "DetailSection",
    "detail_sections",
    "exact_usd",
    "format_clock",
    "format_cost",
    "format_cost_cell",
    "format_duration",
    "format_state",
    "format_time",
    "result_words",
    "short_cost",
]

# The states of a request that ended without an answer ("Unanswered only" lists them, less the
# attempts that failed over: `FAILED_OVER`).
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


NBSP = "\u00a0"  # a space no line breaks at


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


# A list's costs are padded with figure spaces to this many decimals, so that, right-aligned,
# their decimal points line up ($0.0682, $0.000255): three significant figures reach it at a
# ten-thousandth of a cent. A smaller cost keeps its figures and stands out by a digit or two.
COST_DECIMALS = 7
FIGURE_SPACE = "\u2007"  # as wide as a digit
EXACT_DECIMALS = 10  # the tooltip's figure: as stored, but for float noise


def format_cost_cell(usd: float | None) -> str:
    """A request's cost as the list shows it: as every page writes dollars (`format_usd`:
    the detail, Keys, Budgets, Agents and the Playground say the same figure), decimal points
    aligned down the column ("" when not known; the exact figure is in the tooltip)."""
    if usd is None:
        return ""
    text = format_usd(usd)
    decimals = len(text.partition(".")[2])
    return text + FIGURE_SPACE * max(0, COST_DECIMALS - decimals)


def exact_usd(usd: float) -> str:
    """A cost to the last figure stored (`$0.00057636`), for a tooltip beside the rounded one."""
    whole, _, part = f"{usd:,.{EXACT_DECIMALS}f}".partition(".")
    return f"${whole}.{part.rstrip('0').ljust(2, '0')}"


def format_state(state: str, *, from_cache: bool = False, failed_over: bool = False) -> str:
    """The state's word as a cell shows it (its glyph is the cell's icon, `badge.py`); a
    request the response cache answered in full reads `FROM_CACHE` (one cut short reads its
    state: what went wrong comes first), an attempt that failed over `FAILED_OVER`."""
    if failed_over and state == "failed":
        return FAILED_OVER
    return FROM_CACHE if from_cache and state == "completed" else state


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


@dataclass(frozen=True)
class DetailRow:
    """One line of a request's detail: a label and its value (no label: a line of its own;
    `block`: a text kept as written, a prompt or an answer; `whole`: a value never broken,
    an id, on its own line across the form in a fixed-width font)."""

    label: str
    value: str
    tone: str = ""  # a theme tone for the value ("error" ...), "" for the ordinary text
    block: bool = False
    whole: bool = False


@dataclass(frozen=True)
class DetailSection:
    """A titled group of rows (the first one's title is the request's)."""

    title: str
    rows: tuple[DetailRow, ...]


# A request's state -> the tone its Result is said in (the status cell's, badge.STATE_KINDS).
RESULT_TONES = {
    "completed": "ok",
    "failed": "error",
    FAILED_OVER: "warning",
    "refused": "error",
    "denied": "error",
    "interrupted": "warning",
    "canceled": "muted",
}


def first_token_ms(r: dict[str, Any]) -> float | None:
    """How long a streamed answer's first piece took, from the row's start (its route keeps
    it on the clock its duration is read from); None for an answer not streamed."""
    route = r.get("route")
    waited = route.get("firstTokenMs") if isinstance(route, dict) else None
    return float(waited) if isinstance(waited, int | float) else None


def row_timing(r: dict[str, Any]) -> str:
    """`first token 2 ms · total 4 ms` (or `total 4 ms` for an answer not streamed): a row's
    times, both from its own start."""
    total = f"total {format_duration(r.get('duration_ms'))}"
    first = first_token_ms(r)
    return total if first is None else f"first token {format_duration(first)} · {total}"


# How a request cut short ended, in a person's words before its code.
# Codes said in words before the code itself (a review read a bare `upstream_key_refused`
# where every other page said "Key refused").
_CODE_WORDS = {
    "client_disconnected": "the caller stopped it",
    "upstream_key_refused": "the provider refused the key",
    "upstream_401": "the provider refused the key",
    "upstream_403": "the provider refused the key",
    # Said without "route": a model asked by name has none (a review read it as jargon).
    "all_routes_failed": "every provider tried failed (each attempt is under Route)",
}


def result_words(r: dict[str, Any]) -> str:
    """`completed · HTTP 200 · 2 attempt(s)`, `failed · upstream_500 · HTTP 502` or `canceled
    · the caller stopped it (client_disconnected)`: how the request ended, in one line (an
    attempt whose request went on: `failed over · upstream_503 · HTTP 503`)."""
    parts = [_state_word(r)]
    code = r.get("error_code")
    if code in _CODE_WORDS:
        parts.append(f"{_CODE_WORDS[code]} ({code})")
    elif code:
        parts.append(str(code))
    if r.get("http_status"):
        parts.append(f"HTTP {r['http_status']}")
    if r.get("exit_code") not in (None, 0):
        parts.append(f"exit code {r['exit_code']}")
    if r.get("attempts"):
        parts.append(f"{r['attempts']} attempt(s)")
    return " · ".join(parts)


def _state_word(r: dict[str, Any]) -> str:
    """A row's state as its status cell says it (`format_state`)."""
    return format_state(str(r["state"]), failed_over=bool(r.get("failed_over")))


def _unbroken(words: str) -> str:
    """`words` held on one line: "21 ms" never wraps between its figure and its unit."""
    return words.replace(" ", NBSP)


def detail_sections(
    detail: RecordDetail, names: ProviderNames | None = None
) -> list[DetailSection]:
    """The selected request in sections of label and value: its result and who asked, tokens
    and cache, approval, route, an error (only when it failed), then the job's redacted
    prompt and response (or why there are none)."""
    r = detail.record
    provider = (names or ProviderNames()).row_text(r["provider"], r["state"], r.get("model"))
    finished = r.get("finished_at")
    timing = format_time(r["started_at"])
    if finished is not None:
        # The end as the clock says it when it is the same day (the date said once: the line
        # wrapped into three at 1024 px), with the duration.
        end = format_time(finished)
        if end[:10] == timing[:10]:
            end = end[11:]
        first = first_token_ms(r)
        waited = "" if first is None else f", first token {_unbroken(format_duration(first))}"
        # The two times stay on one line ("07:38:18 →" ended one line, the end began the
        # next); the line breaks before the duration instead, never inside it ("(21" / "ms)").
        took = _unbroken(format_duration(r.get("duration_ms")))
        timing += f"{NBSP}→{NBSP}{end} ({took}{waited})"
    asked = r.get("requested_model")
    model = (r.get("model") or "-") + (
        f" (asked for {asked})" if asked and asked != r.get("model") else ""
    )
    caller = f"{r.get('caller') or '-'} via {r.get('transport') or '-'}"
    caller += f" {r['tool']}" if r.get("tool") else ""
    principal = who_words(str(r["owner_principal"]))
    principal += f" · project {r['project']}" if r.get("project") else ""
    result = result_words(r) + (" · answered from the response cache" if _cache_hit(r) else "")
    head = [
        DetailRow("Result", result, RESULT_TONES.get(_state_word(r), "")),
        DetailRow("Request", str(r["id"]), whole=True),
        DetailRow("Time", timing),
        DetailRow("Provider", provider),
        DetailRow("Model", model),
        DetailRow("Caller", caller),
        DetailRow("Runs as", principal),
    ]
    for label, key in (
        ("Job", "job_id"),
        ("Correlation", "correlation_id"),
        ("Session", "session_id"),
        ("CLI session", "provider_session_id"),
        ("Client session", "client_session"),
    ):
        if r.get(key):
            head.append(DetailRow(label, str(r[key])))
    route = r.get("route")
    if isinstance(route, dict) and route.get("traceId"):
        # The OpenTelemetry trace the request ran in (export on): find it in the tracing tool.
        head.append(DetailRow("Trace", str(route["traceId"])))
    if isinstance(route, dict) and route.get("replayOf"):
        head.append(DetailRow("Replay of", str(route["replayOf"]), whole=True))
    # Request ids, whole on a line of their own as the request's own id is (never broken).
    head += [DetailRow("Replayed as", replay, whole=True) for replay in detail.replays]
    # The heading names the request by the start of its id (enough to tell rows apart, and
    # it never widens a narrow pane); the whole id is its first row.
    sections = [
        DetailSection(f"Request {str(r['id'])[:8]}", tuple(head)),
        DetailSection("Tokens and cache", tuple(_tokens(r))),
    ]
    saved = savings_lines(r.get("optimization"), indent="")
    if saved:
        rows = tuple(DetailRow(*line.partition(": ")[::2]) for line in saved)
        sections.append(DetailSection("Optimisation (optimizePrompt)", rows))
    sections.append(DetailSection("Approval", tuple(_approval(r.get("approval")))))
    sections.append(DetailSection("Route", tuple(_route(r))))
    guard = route.get("guard") if isinstance(route, dict) else None
    if isinstance(guard, dict):
        rows = tuple(DetailRow(label, value) for label, value in guard_rows(guard))
        sections.append(DetailSection("Secrets (outbound guard)", rows))
    error = _error(r)
    if error:
        sections.append(DetailSection("Error", tuple(error)))
    sections.extend(_conversation(detail))
    return sections


def _tokens(r: dict[str, Any]) -> list[DetailRow]:
    read, write, fresh = r["cache_read_tokens"], r["cache_write_tokens"], r["input_tokens"]
    prompt = fresh + read + write
    hit = f" · {read / prompt:.0%} of the prompt read from cache" if prompt and read else ""
    rows = [
        DetailRow(
            "Tokens",
            f"input {fresh:,} · output {r['output_tokens']:,} · reasoning "
            f"{r['reasoning_tokens']:,}",
        ),
        DetailRow("Cache", f"read {read:,} · write {write:,}{hit}"),
        DetailRow("Cost", _cost(r)),
    ]
    if r.get("prefix_hash"):
        tokens = r.get("prefix_tokens")
        size = f" ({tokens:,} tokens)" if tokens else ""
        rows.append(DetailRow("Stable prefix", f"{r['prefix_hash'][:16]}{size}"))
    return rows


def _approval(approval: Any) -> list[DetailRow]:
    if not isinstance(approval, dict):
        return [DetailRow("Decision", "no approval step (API requests are not gated)")]
    verdict = "allowed" if approval.get("allowed") else "refused"
    decided_by = str(approval.get("decided_by") or "policy")
    line = f"{verdict} {DECIDERS.get(decided_by, f'by {decided_by}')}"
    if "score" in approval:
        line += f" · {risk_line(approval['score'], approval.get('threshold', '?'))}"
    if approval.get("permission_mode"):
        line += f" · may {mode_words(str(approval['permission_mode']))}"
    tone = "" if approval.get("allowed") else "error"
    notes = [DetailRow("", f"- {text}") for text in approval.get("reasons") or []]
    notes += [DetailRow("", f"! {text}", "warning") for text in approval.get("warnings") or []]
    return [DetailRow("Decision", line, tone), *notes]


def _output_at_hold(r: dict[str, Any]) -> int:
    """The output tokens a row is counted at because its hard budget held them (0: none)."""
    route = r.get("route")
    held = route.get(USAGE_AT_HOLD) if isinstance(route, dict) else None
    return held if isinstance(held, int) and not isinstance(held, bool) else 0


def _cache_hit(r: dict[str, Any]) -> dict[str, Any] | None:
    """What a request answered from the response cache saved (its route's `cache`, written by
    `gateway/recording.finish_cached`), or None for any other request."""
    route = r.get("route")
    hit = route.get("cache") if isinstance(route, dict) else None
    return hit if isinstance(hit, dict) and hit.get("hit") else None


# How a row that ended without an answer says so before "before any tokens were reported".
_ENDED_UNUSED = {
    "failed": "it failed",
    "canceled": "it was canceled",
    "interrupted": "it was interrupted",
    "denied": "it was denied",
    "refused": "it was refused",
}


def _tokens_used(r: dict[str, Any]) -> int:
    names = ("input_tokens", "output_tokens", "cache_read_tokens")
    return sum(int(r.get(name) or 0) for name in names)


def cost_unused(state: str, tokens: int) -> bool:
    """Whether a request ended unanswered before any tokens (`tokens`: in, out and cache
    reads): it cost nothing, which is no gap in the price table."""
    return state in _ENDED_UNUSED and not tokens


# What a request that ended before any tokens cost, in a few words (the detail says why).
NO_TOKENS_COST = "none (no tokens)"


def short_cost(r: dict[str, Any]) -> str:
    """A row's cost in a few words, for a line of figures: its dollars, "none (no tokens)"
    where it ended unanswered before any tokens (the detail's "none: it failed before any
    tokens were reported"), else "not priced"."""
    cost = format_cost(r.get("cost_usd"))
    if cost:
        return cost
    return NO_TOKENS_COST if cost_unused(str(r.get("state")), _tokens_used(r)) else "not priced"


def _cost(r: dict[str, Any]) -> str:
    """The cost and where it came from; a row the price table cannot price says so."""
    hit = _cache_hit(r)
    if hit is not None:
        # A bare "$0.00" read as a free or unpriced call: say why, and what the hit saved.
        tokens = int(hit.get("savedTokens") or 0)
        usd = hit.get("savedUsd")
        saved = f"saved {format_usd(usd)}, " if isinstance(usd, int | float) else "saved "
        return f"$0.00 (answered from the response cache: {saved}{tokens:,} tokens)"
    cost = format_cost(r.get("cost_usd"))
    ended = _ENDED_UNUSED.get(str(r["state"]))
    if not cost and ended and not _tokens_used(r):
        # Not a gap in the price table (the model may well be in it): nothing was used to price.
        return f"none: {ended} before any tokens were reported"
    if not cost:
        return "not priced (no cost reported and the model is not in the price table)"
    if r.get("cost_source") == "cli":
        return f"{cost} (reported by the CLI)"
    if r.get("cost_source") == "table":
        return f"{cost} (estimated from prices of {r.get('cost_prices') or 'unknown date'})"
    if r.get("cost_source") == "estimate" and (held := _output_at_hold(r)):
        return (
            f"{cost} (counted at the most it could cost: the upstream reported no usage, so its "
            f"output is the {held:,} output tokens its hard budget held for it, thinking it "
            "may have billed and not sent included)"
        )
    if r.get("cost_source") == "estimate":
        return f"{cost} (estimated: the upstream reported no usage, tokens are the gateway's guess)"
    if r.get("cost_source") == "config":
        return f"{cost} (estimated from your price in config.toml)"
    return cost


def _route(r: dict[str, Any]) -> list[DetailRow]:
    route = r.get("route")
    if not isinstance(route, dict):
        return [DetailRow("", f"{r['provider']} directly (no gateway fallback route)")]
    rows = []
    if route.get("rule"):
        rows.append(DetailRow("Rule", str(route["rule"])))
    if r.get("chosen_because"):
        rows.append(DetailRow("Chosen", str(r["chosen_because"])))
    rows.append(DetailRow("Fallback", "used" if r.get("fallback_used") else "not used"))
    if r.get("failed_over"):
        # This attempt failed, and its request went on: not a request its client lost.
        rows.append(DetailRow("Failed over", "another attempt took its request"))
    for number, attempt in enumerate(route.get("attempts") or [], start=1):
        if isinstance(attempt, dict):
            key = str(attempt.get("key") or "")
            # Labels that are words already ("key being tried") are not prefixed again.
            key_words = key if key.startswith("key ") else f"key {key}" if key else "no key"
            outcome = str(attempt.get("outcome", "?"))
            if outcome == CACHE_HIT_OUTCOME:
                # No key was used and nothing went wrong: the cache answered for this target.
                target = attempt.get("target", "?")
                rows.append(DetailRow(f"Attempt {number}", f"{target} → the response cache"))
                continue
            tone = "" if outcome == "ok" else "warning"
            rows.append(
                DetailRow(
                    f"Attempt {number}",
                    f"{attempt.get('target', '?')} ({key_words}) → {outcome}",
                    tone,
                )
            )
    return rows


def _error(r: dict[str, Any]) -> list[DetailRow]:
    """Why it failed, only for a request that ended without an answer (a success's HTTP 200
    is in its Result, not under "Error")."""
    if r["state"] == "completed" and not r.get("error_code"):
        return []
    rows = []
    if r.get("error_code"):
        rows.append(DetailRow("Code", str(r["error_code"]), "error"))
    if r.get("http_status"):
        rows.append(DetailRow("HTTP status", str(r["http_status"])))
    if r.get("exit_code") not in (None, 0):
        rows.append(DetailRow("Exit code", str(r["exit_code"])))
    return rows


def _conversation(detail: RecordDetail) -> list[DetailSection]:
    job_id = detail.record.get("job_id")
    if not job_id:
        return [DetailSection("Prompt and response", tuple(_kept_bodies(detail)))]
    if not detail.job_found:
        gone = DetailRow("", f"Job {job_id} is no longer kept (old jobs are pruned).")
        return [DetailSection("Prompt and response", (gone,))]
    sections = [
        DetailSection(
            f"Prompt (job {job_id}, {detail.job_state}, secrets redacted)",
            (DetailRow("", _shortened(detail.prompt) or "(empty)", block=True),),
        ),
        DetailSection(
            "Response",
            (DetailRow("", _shortened(detail.response) or "(no answer yet)", block=True),),
        ),
    ]
    if detail.job_error:
        rows = [DetailRow("Code", str(detail.job_error.get("code", "")), "error")]
        if detail.job_error.get("message"):
            rows.append(DetailRow("", str(detail.job_error["message"]), block=True))
        sections.append(DetailSection("Job error", tuple(rows)))
    return sections


def _kept_bodies(detail: RecordDetail) -> list[DetailRow]:
    """What the detail says of an API request's bodies: below, or why they are not kept."""
    if detail.bodies is not None:
        cut = detail.bodies.request_cut or detail.bodies.response_cut
        note = " (cut to recorder.capture.max_body_bytes)" if cut else ""
        shown = f"Kept, secrets redacted{note}: shown below, the request over its response."
        return [DetailRow("", shown)]
    if detail.capture == "off":
        return [DetailRow("", NO_PROMPT_FOR_API), DetailRow("", CAPTURE_OFF)]
    return [
        DetailRow(
            "",
            f"Not kept for this request. Body capture is {detail.capture}; a request it does "
            "not name, or one older than the retention, has none.",
        )
    ]


def _shortened(text: str | None) -> str | None:
    if text is None or len(text) <= SHOWN_TEXT_MAX:
        return text
    return f"{text[:SHOWN_TEXT_MAX]}\n… ({len(text) - SHOWN_TEXT_MAX:,} more characters not shown)"
