"""What the gateway refused at its door: counted per minute, written in batches, never lost.

The edge refuses some requests before any route runs: a missing or wrong credential (401),
a rate limit (429), a route the principal may not use (403), a wrong Host or Origin, a body
that is too big, not JSON or not typed as JSON, an address that holds too many connections, a
client too slow to send its request. None of those reach the flight recorder, which holds one
row per provider request. Recording each as a row would let a flood of bad tokens write a row
per request (and push real rows out under the row cap), so they are counted instead: one
counter per (minute, who, path group, status, code), kept in memory and added to the
`refusals` table (schema 11) every few seconds in one transaction.

`who` is the principal when the edge knew it (a rate-limited or forbidden caller), else the
client's address. The credential presented is never kept, nor anything else the request said.
Memory is bounded: past `MAX_PENDING_KEYS` distinct counters in one flush period, new ones
are folded into one `(other)` counter per status and code, so the total stays exact.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.engine.outage import Outage
from llmgw_desktop.engine.recorder.refusal_rows import (
    add_counts,
    counts_since,
    delete_before,
    recorded_since,
)
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.store import Database

__all__ = ["RefusalCounter", "RefusalSummary", "path_group", "reason_words"]

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 2.0
# While the store refuses writes, the interval doubles up to a minute.
FAILED_FLUSH = Backoff(first_s=FLUSH_EVERY_S, longest_s=60.0)
MAX_PENDING_KEYS = 1000
MAX_WHO_CHARS = 80
OTHER = "(other)"
_Key = tuple[int, str, str, int, str]  # minute, who, path group, status, code
# Recorder states of a request the gateway said no to before any provider was asked.
_RECORDED_REFUSALS = frozenset({RecordState.REFUSED, RecordState.DENIED})
_RECORDED_STATES = tuple(sorted(state.value for state in _RECORDED_REFUSALS))

# Path prefixes and the group each is counted under: a fixed set, so a scan of random paths
# cannot make counters without end.
_GROUPS = (
    ("/v1/chat/completions", "openai-chat"),
    ("/v1/responses", "openai-responses"),
    ("/v1/messages", "anthropic"),
    ("/v1beta/", "gemini"),
    ("/v1/generate", "native"),
    ("/v1/credentials", "native"),
    ("/v1/files", "native"),
    ("/v1/providers", "native"),
    ("/v1/models", "models"),
    ("/oauth/", "oauth"),
    ("/.well-known/", "oauth"),
)


def path_group(path: str, mcp_path: str = "/mcp") -> str:
    """The group a refused request's path is counted under."""
    if path == mcp_path or path.startswith(mcp_path + "/"):
        return "mcp"
    if path.startswith("/v1/models/") and ":" in path:
        return "gemini"
    for prefix, group in _GROUPS:
        if path.startswith(prefix):
            return group
    return "other"


@dataclass(frozen=True)
class RefusalSummary:
    """Refusals over a window, as the dashboard shows them: at the door (counted, no row) and
    by the gateway after it (a budget, a switch, no key, the approval gate: each a recorder
    row in state `refused` or `denied`)."""

    since: float
    total: int
    recorded: int = 0  # of `total`, the ones with a recorder row
    by_code: dict[str, int] = field(default_factory=dict)  # "401 unauthorized" -> count
    by_who: dict[str, int] = field(default_factory=dict)  # the 10 most refused
    per_minute: list[tuple[int, int]] = field(default_factory=list)  # (minute start, count)

    def describe(self) -> str:
        """One line for the dashboard: the total and the three commonest reasons."""
        if not self.total:
            return "Refused by the gateway: none"
        shown = list(self.by_code.items())[:3]
        reasons = ", ".join(f"{n:,} × {reason_words(what)}" for what, n in shown)
        rest = sum(list(self.by_code.values())[3:])
        if rest:
            reasons += f", {rest:,} other"  # so the parts add up to the total shown
        at_door = self.total - self.recorded
        rows = f"; {at_door:,} at the door have no row" if self.recorded and at_door else ""
        return f"Refused by the gateway: {self.total:,} ({reasons}){rows}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "total": self.total,
            "recorded": self.recorded,
            "byCode": self.by_code,
            "byWho": self.by_who,
            "perMinute": [{"minute": m, "count": c} for m, c in self.per_minute],
        }


class RefusalCounter:
    """Counts the edge's refusals in memory and adds them to the store in batches."""

    def __init__(
        self,
        db: Database,
        *,
        retention_days: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._clock = clock
        self.retention_days = retention_days
        self._pending: Counter[_Key] = Counter()
        self._flush_lock = asyncio.Lock()
        # Since this run started: what /health shows without touching the store. Both kinds
        # of refusal are counted here, the one place the desk reads "refused" from: the edge's
        # (no recorder row) and the gateway's own (a `refused` or `denied` row: a budget, a
        # switch, no key, the approval gate), each by status and code.
        self.total = 0
        self.by_code: Counter[str] = Counter()
        self.edge_total = 0

    def count(self, who: str, group: str, status: int, code: str) -> None:
        """Note one refusal. Never blocks, never fails, costs a dict update."""
        minute = int(self._clock() // 60) * 60
        key = (minute, who[:MAX_WHO_CHARS], group, status, code)
        if key not in self._pending and len(self._pending) >= MAX_PENDING_KEYS:
            key = (minute, OTHER, OTHER, status, code)
        self._pending[key] += 1
        self.total += 1
        self.edge_total += 1
        self.by_code[f"{status} {code}"] += 1

    def note_recorded(self, event: RequestFinished) -> None:
        """Count a request the gateway refused after the edge let it in (its row is in the
        recorder already, so only the since-start figures move)."""
        if event.state not in _RECORDED_REFUSALS:
            return
        self.total += 1
        self.by_code[_status_and_code(event.error_code)] += 1

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Add every pending counter to the store in one transaction (kept on failure)."""
        async with self._flush_lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, Counter()
            rows = [(*key, n) for key, n in batch.items()]

            try:
                await self._db.run(lambda: add_counts(self._db.models.database, rows))
            except Exception:
                self._pending.update(batch)  # put them back: counted once, written later
                raise

    async def run_forever(self) -> None:
        """Flush on an interval until cancelled; `close()` does the last one. While the store
        refuses writes (a full disk, a damaged file) the interval doubles up to a minute and
        an outage is logged when it starts and when it ends, not every two seconds nor at each
        new wording: the counts wait in memory."""
        delay, outage = FLUSH_EVERY_S, Outage()
        while True:
            await asyncio.sleep(delay)
            try:
                await self.flush()
            except Exception as error:
                if outage.failed(str(error)):
                    log.warning("could not write the refusal counts (%s); will retry", error)
                delay = FAILED_FLUSH.after(delay)
            else:
                end = outage.recovered()
                if end is not None:
                    log.warning("the refusal counts are written again (%s)", end.describe())
                delay = FLUSH_EVERY_S

    async def close(self) -> None:
        await self.flush()

    async def prune(self) -> int:
        """Drop counters older than the retention period; how many rows went."""
        cutoff = self._clock() - self.retention_days * 86400
        return await self._db.run(lambda: delete_before(self._db.models.database, cutoff))

    async def summary(self, window_s: float = 86400.0) -> RefusalSummary:
        """Refusals of the last `window_s` seconds: the edge's (stored and still pending) and
        the recorder's refused and denied rows (as far as the recorder has written them)."""
        since = self._clock() - window_s
        floor = int(since // 60) * 60
        database = self._db.models.database
        rows = await self._db.read(lambda: counts_since(database, floor))
        rows += [(*key, n) for key, n in self._pending.items() if key[0] >= floor]
        recorded = await self._db.read(lambda: recorded_since(database, _RECORDED_STATES, since))
        by_code: Counter[str] = Counter()
        by_who: Counter[str] = Counter()
        per_minute: Counter[int] = Counter()
        for minute, who, _group, status, code, n in rows:
            by_code[f"{status} {code}"] += n
            by_who[who] += n
            per_minute[minute] += n
        for principal, row_code, n in recorded:
            by_code[_status_and_code(row_code)] += n
            by_who[f"principal:{principal}"] += n
        in_rows = sum(n for _, _, n in recorded)
        return RefusalSummary(
            since=since,
            total=sum(per_minute.values()) + in_rows,
            recorded=in_rows,
            by_code=dict(by_code.most_common()),
            by_who=dict(by_who.most_common(10)),
            per_minute=sorted(per_minute.items()),
        )

    def health(self) -> dict[str, Any]:
        """Since this run started: the total (at the edge and after it) and the count per
        status and code."""
        return {
            "total": self.total,
            "edge": self.edge_total,
            "gateway": self.total - self.edge_total,
            "byCode": dict(self.by_code.most_common(10)),
        }


# A refusal's reason in a person's words, by its code; the status and code follow in brackets
# ("no API key (503 no_api_key)"), so the line still names what to search the log and docs for.
_REASONS = {
    "no_api_key": "no API key",
    "budget_exceeded": "over a budget",
    "over_budget": "over a budget",
    "provider_disabled": "provider switched off",
    "gateway_paused": "providers paused",
    "unauthorized": "no or wrong gateway key",
    "key_expired": "expired gateway key",
    "rate_limited": "over a rate limit",
    "forbidden": "not allowed to that key",
    "approval_denied": "denied at the desk",
    "secret_detected": "held a secret",
    "guard_rule_matched": "matched a guard rule",
    "body_too_large": "body too large",
    "circuit_open": "provider resting after failures",
}


def reason_words(status_and_code: str) -> str:
    """`503 no_api_key` as `no API key (503 no_api_key)`; an unknown code as it is."""
    _status, _, code = status_and_code.partition(" ")
    words = _REASONS.get(code)
    return status_and_code if words is None else f"{words} ({status_and_code})"


def _status_and_code(code: str | None) -> str:
    """`402 over_budget`: a recorded refusal's code with the status the gateway answers it
    with (500 for a code it does not know)."""
    code = code or ErrorCode.GATEWAY_ERROR.value
    parsed = ErrorCode.parse(code)
    status = parsed.http_status if isinstance(parsed, ErrorCode) else 500
    return f"{status} {code}"
