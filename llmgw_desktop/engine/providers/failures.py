"""Turn what a CLI printed when it failed into one structured `ProviderFailure`.

CLIs report the same upstream problems in different words: an HTTP status in a JSON field,
a sentence on stderr, an exit code. These helpers map them onto the stable codes callers act
on; each adapter feeds them whatever its CLI gives.
"""

from __future__ import annotations

import re

from llmgw_desktop.engine.errors import ErrorCode, ProviderFailure
from llmgw_desktop.engine.providers.process import ProcessOutcome
from llmgw_desktop.engine.redact import redact

__all__ = [
    "failure_from_outcome",
    "failure_from_status",
    "failure_from_text",
    "session_failure",
    "tail",
]

TAIL_CHARS = 2000

_AUTH = re.compile(
    r"(?i)\b(401|unauthori[sz]ed|invalid (x-)?api[ -]?key|authentication|not logged in|"
    r"please (run )?/?login|log in|api key (is )?(missing|required|not (set|found))|"
    r"no api key|forbidden|403)\b"
)
_RATE = re.compile(r"(?i)\b(429|rate[ -]?limit\w*|too many requests|quota|resource[_ ]exhausted)\b")
_TRANSIENT = re.compile(
    r"(?i)\b(5\d\d|overloaded|internal server error|service unavailable|bad gateway|high demand|"
    r"temporar(y|ily)|try again|"
    r"timed? ?out|econnreset|connection (was )?(lost|reset|closed|refused)|stream (was )?"
    r"(cut|closed|ended)|socket hang up|failed to parse|unexpected end|unexpected eof|terminated|"
    r"network)\b"
)
_RETRY_AFTER = re.compile(r"(?i)retry[- ]after[\"':= ]+(\d+(?:\.\d+)?)")


def tail(data: bytes | str, limit: int = TAIL_CHARS) -> str:
    """The last `limit` characters of `data`, decoded and with secrets masked."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return redact(text[-limit:].strip())


def failure_from_status(status: int, message: str, provider: str) -> ProviderFailure:
    """A failure from an upstream HTTP status the CLI reported."""
    text = redact(message.strip()) or f"HTTP {status}"
    if status in (401, 403):
        return ProviderFailure(
            f"{provider}: authentication failed ({text}); log in to the CLI or set its API key",
            code=ErrorCode.AUTH_REQUIRED,
            provider=provider,
            upstream_status=status,
        )
    if status == 429:
        return ProviderFailure(
            f"{provider}: rate limited ({text})",
            code=ErrorCode.RATE_LIMITED,
            retryable=True,
            provider=provider,
            upstream_status=status,
        )
    return ProviderFailure(
        f"{provider}: upstream error {status} ({text})",
        code=ErrorCode.PROVIDER_ERROR,
        retryable=status >= 500 or status == 408,
        provider=provider,
        upstream_status=status,
    )


def failure_from_text(text: str, provider: str, *, said: str = "") -> ProviderFailure:
    """A failure from the words a CLI used (its error message, or its stderr); `said`, where
    given, is what the failure quotes in their place (an agent's own error answer, where its
    stderr is a dump of the protocol's messages: the stderr still decides the kind)."""
    found = redact(text.strip())[:TAIL_CHARS]
    clean = redact(said.strip())[:TAIL_CHARS] or found or "the CLI failed without saying why"
    kind = found or clean  # what decides the kind: the CLI's own words, where it said any
    retry_after = _RETRY_AFTER.search(kind)
    if _AUTH.search(kind):
        return ProviderFailure(
            f"{provider}: authentication failed ({clean}); log in to the CLI or set its API key",
            code=ErrorCode.AUTH_REQUIRED,
            provider=provider,
        )
    if _RATE.search(kind):
        return ProviderFailure(
            f"{provider}: rate limited ({clean})",
            code=ErrorCode.RATE_LIMITED,
            retryable=True,
            provider=provider,
            retry_after_s=float(retry_after.group(1)) if retry_after else None,
        )
    return ProviderFailure(
        f"{provider}: {clean}",
        code=ErrorCode.PROVIDER_ERROR,
        retryable=bool(_TRANSIENT.search(kind)),
        provider=provider,
    )


def failure_from_outcome(outcome: ProcessOutcome, provider: str) -> ProviderFailure:
    """A failure for a run that did not end normally, or exited non-zero with nothing to parse."""
    stderr = tail(outcome.stderr_tail)
    if outcome.ended_by == "timeout":
        return ProviderFailure(
            f"{provider} did not finish within the time limit ({outcome.duration_s:.0f}s)",
            code=ErrorCode.TIMEOUT,
            provider=provider,
            stderr_tail=stderr or None,
        )
    if outcome.ended_by == "idle_timeout":
        return ProviderFailure(
            f"{provider} printed nothing for too long and was stopped",
            code=ErrorCode.IDLE_TIMEOUT,
            provider=provider,
            stderr_tail=stderr or None,
        )
    if outcome.ended_by == "output_overflow":
        return ProviderFailure(
            f"{provider} printed more than the output limit and was stopped",
            code=ErrorCode.OUTPUT_OVERFLOW,
            provider=provider,
        )
    if outcome.ended_by == "lease_lapsed":
        # Not retried inside the job: a peer may be running the call anew by now.
        return ProviderFailure(
            f"{provider} was stopped: this gateway could not prove its lease (jobs.lease_ms) "
            "on the shared store (cut off from it, or stalled), and a peer took its jobs for "
            "dead; the call may have been sent there. Send it again to run it anew",
            code=ErrorCode.INTERRUPTED,
            retryable=False,
            provider=provider,
        )
    if outcome.ended_by == "canceled":
        return ProviderFailure(
            f"{provider} call was canceled", code=ErrorCode.CANCELED, provider=provider
        )
    detail = stderr or tail(outcome.stdout)
    failure = failure_from_text(detail or f"exited with code {outcome.exit_code}", provider)
    failure.details["exit_code"] = outcome.exit_code
    if stderr:
        failure.details["stderr_tail"] = stderr
    return failure


def session_failure(
    text: str, provider: str, *, not_found: tuple[str, ...], in_use: tuple[str, ...] = ()
) -> ProviderFailure | None:
    """The failure a CLI's words name about the conversation it was asked to continue: one it
    has not got (`not_found` phrases), or an id already taken (`in_use`); None for others."""
    if any(phrase in text for phrase in not_found):
        return ProviderFailure(
            f"{provider} has no session to resume: {text}",
            code=ErrorCode.SESSION_NOT_FOUND,
            provider=provider,
        )
    if any(phrase in text for phrase in in_use):
        return ProviderFailure(
            f"{provider}: {text}; resume that session instead of starting it again",
            code=ErrorCode.SESSION_CONFLICT,
            provider=provider,
        )
    return None
