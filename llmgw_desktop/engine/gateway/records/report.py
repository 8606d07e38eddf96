"""What a gateway request reports about itself: the route taken, for headers, body and recorder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.engine.values import stores_directly

__all__ = ["Attempt", "RouteReport", "header_value"]


@stores_directly
@dataclass(frozen=True)
class Attempt:
    """One try on the way to an answer: which target, with which key, and what happened."""

    target: str
    key: str
    outcome: str  # an `Outcome` ("ok", "connect", "no_key", ...), or an HTTP status ("429")

    def to_dict(self) -> dict[str, str]:
        return {"target": self.target, "key": self.key, "outcome": self.outcome}


@dataclass
class RouteReport:
    """The route of one request, filled in as it is served.

    Made with what is known as the request comes in (its four `__init__` fields, passed
    positionally as the request path calls classes: `engine/values.py`). The rest are set as
    it is served and start as their class's defaults (`init=False`): a dataclass's `__init__`
    writes each field it takes, about 100 instructions a field, and most stay as they began.
    """

    request_id: str
    requested_model: str
    requested_provider: str | None = field(default=None, init=False)
    provider: str = field(default="", init=False)
    model: str = field(default="", init=False)
    # The model the answer is priced as, when not `model` (a cloud's deployment or model id).
    price_model: str = field(default="", init=False)
    kind: str = field(default="api", init=False)
    fallback_used: bool = field(default=False, init=False)
    rule: str | None = field(default=None, init=False)
    # Why the target being tried is where it is in the route (the strategy's choice, a pin, a
    # fallback, a cool-down): each attempt's row keeps it (`chosen_because`).
    chosen_because: str | None = field(default=None, init=False)
    project: str | None = None
    attempts: list[Attempt] = field(default_factory=list, init=False)
    notices: list[str] = field(default_factory=list, init=False)
    # Whether a flight-recorder row exists for this request yet.
    recorded: bool = field(default=False, init=False)
    # The OpenTelemetry trace this request is part of (None while export is off).
    trace_id: str | None = field(default=None, init=False)
    # The recorder row this request re-sends to another model (the playground's "Compare").
    replay_of: str | None = None
    # The output limit per answer the gateway sent upstream because a hard budget covered the
    # call and the client named none, or named more than the budget had room for (None: the
    # client's own limit, or no budget); said in `x-gateway-max-tokens`.
    max_tokens: int | None = field(default=None, init=False)
    # The output tokens a hard budget held for the answering attempt (0: no hold): what a call
    # that ends without the vendor's usage is counted at, at least (`recording.py`).
    held_output: int = field(default=0, init=False)
    # The input tokens it held (the most the request can be billed as, `tokens_at_most`, with
    # any `carried_input`): what such a call's input is counted at, at least (0: no hold).
    held_input: int = field(default=0, init=False)
    # The input tokens the vendor reads again from a stored response the call continues, beyond
    # its own body (`RemotePassthrough.carried_input`): held, and counted if the call is cut.
    carried_input: int = field(default=0, init=False)
    # `hit`, `semantic-hit` or `miss` while the response cache is on (the `x-gateway-cache`
    # header), else None.
    cache: str | None = field(default=None, init=False)
    # How similar the request answered by the semantic cache was to the one whose answer it
    # got (cosine of their embeddings); None: not a semantic hit.
    cache_similarity: float | None = field(default=None, init=False)
    # Why the response cache did not read this request (`response_cache.stats`), set when it
    # is counted: once a request, however many targets its route tries.
    cache_passed_over: str | None = field(default=None, init=False)
    # Whether the response cache counted this request as a lookup: once a request too, though
    # each target a fallback tries is looked up under its own key.
    cache_looked_up: bool = field(default=False, init=False)
    # What the outbound guard found and did per target (`engine/guard/service.py`): kinds
    # counted, where, never a value; None when it found nothing (or was off).
    guard: dict[str, Any] | None = field(default=None, init=False)
    # What the row adds to the route at its end (the cost's note, server tools, a cache hit),
    # kept so a row written again later (`RequestRecords.route_changed`) keeps them.
    row_facts: dict[str, Any] = field(default_factory=dict, init=False)

    def headers(self) -> dict[str, str]:
        """`x-gateway-*` response headers (every dialect gets them)."""
        headers = {
            "x-gateway-request-id": self.request_id,
            "x-gateway-requested-model": header_value(self.requested_model),
            "x-gateway-provider": self.provider,
            "x-gateway-model": header_value(self.model),
            "x-gateway-fallback": "true" if self.fallback_used else "false",
            "x-gateway-attempts": str(len(self.attempts)),
        }
        if self.rule:
            headers["x-gateway-rule"] = self.rule
        if self.notices:
            headers["x-gateway-notice"] = header_value("; ".join(self.notices))
        if self.trace_id:
            headers["x-gateway-trace-id"] = self.trace_id
        if self.max_tokens is not None:
            headers["x-gateway-max-tokens"] = str(self.max_tokens)
        if self.guard is not None:
            headers["x-gateway-guard"] = self.guard_words()
        if self.cache:
            headers["x-gateway-cache"] = self.cache
            if self.cache_passed_over is not None:
                # A `miss` the cache did not even look up: why, in `/health`'s words.
                headers["x-gateway-cache-passed-over"] = self.cache_passed_over
        return headers

    def x_gateway(self, usage: Usage | None) -> dict[str, Any]:
        """The `x_gateway` object added to OpenAI-dialect response bodies."""
        body: dict[str, Any] = {
            "requestId": self.request_id,
            "requestedProvider": self.requested_provider,
            "requestedModel": self.requested_model,
            "resolvedProvider": self.provider,
            "resolvedModel": self.model,
            "fallbackUsed": self.fallback_used,
            "rule": self.rule,
            "attempts": [a.to_dict() for a in self.attempts],
        }
        if usage is not None:
            body["tokensUsed"] = usage.total_tokens
            body["tokens"] = {
                "input": usage.input_tokens,
                "output": usage.output_tokens,
                "cacheRead": usage.cache_read_tokens,
                "cacheWrite": usage.cache_write_tokens,
                "reasoning": usage.reasoning_tokens,
            }
        if self.notices:
            body["notices"] = list(self.notices)
        return body

    def to_record(self) -> dict[str, Any]:
        """The route as the flight recorder keeps it (with what a translation left out, so the
        recorder shows it as the client's `x-gateway-notice` did)."""
        record: dict[str, Any] = {
            "requestedProvider": self.requested_provider,
            "requestedModel": self.requested_model,
            "project": self.project,
            "rule": self.rule,
            "attempts": [a.to_dict() for a in self.attempts],
        }
        if self.notices:
            record["notices"] = list(self.notices)
        if self.replay_of:
            record["replayOf"] = self.replay_of
        if self.max_tokens is not None:
            record["maxTokens"] = self.max_tokens
        if self.guard is not None:
            record["guard"] = self.guard
        record.update(self.row_facts)
        return record

    def guard_words(self) -> str:
        """`redacted: aws_access_key x1, jwt x2` (what the guard did for the provider that
        answered, else for the last it decided on; and the operator's keys masked in a whole
        answer), for `x-gateway-guard`."""
        guard = self.guard or {}
        targets: dict[str, str] = guard.get("targets", {})
        did = targets.get(self.provider) or next(reversed(targets.values()), "")
        found = ", ".join(f"{kind} x{n}" for kind, n in sorted(guard.get("found", {}).items()))
        if guard.get("unscanned"):
            found = f"{found}; not read whole ({guard['unscanned']})".lstrip("; ")
        words = f"{did}: {found}" if found else did
        if guard.get("answer_masked"):
            masked = ", ".join(guard["answer_masked"])
            words = f"{words}; answer masked: {masked}" if words else f"answer masked: {masked}"
        return header_value(words)


def header_value(value: str) -> str:
    # Header values must be one line of visible ASCII (the common case is checked in C).
    if value.isascii() and value.isprintable():
        return value[:500]
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in value)[:500]
