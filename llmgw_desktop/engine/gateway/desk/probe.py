"""A provider check a person can run: one tiny request to exactly one provider, and what came
back (ok or the error, how long it took, the start of the answer).

The request takes the normal path (keys, dialect translation, the CLI bridge, the recorder), so
a passing check means real requests to that provider work too. It never falls back to another
provider: a check that another provider answered would say nothing about this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.errors import EngineError, ErrorCode, NotFound
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.gateway.router import Target
from llmgw_desktop.engine.gateway.service import GatewayService

__all__ = [
    "KEY_CHECK_CALLER",
    "PROBE_MAX_TOKENS",
    "PROBE_PROMPT",
    "ProbeResult",
    "ProbeVerdict",
    "probe_provider",
    "probe_target",
]

PROBE_PROMPT = "Reply with the single word: ok"
# Room for a short answer from a model that thinks first, yet cheap on any price list.
PROBE_MAX_TOKENS = 64
ANSWER_PREVIEW_CHARS = 120
# Upstream answers that mean "this key is not accepted" (401 unknown key, 403 key not allowed).
_AUTH_OUTCOMES = frozenset({"401", "403"})
# No answer came back at all: the provider (or the network to it) is the problem, not the key.
_UNREACHABLE_OUTCOMES = frozenset({"connect", "connection", "timeout"})
PROBE_CALLER = CallerInfo(
    principal=LOCAL, caller="dashboard", endpoint="dashboard: test", transport="desktop"
)
# A check of a key that is not the provider's (yet): recorded under its own caller, so the
# provider's lasting trouble (`providers/trouble.py`) neither takes its failure nor lets its
# success clear a real one.
KEY_CHECK_CALLER = "dashboard: key check"
_KEY_CHECK = CallerInfo(
    principal=LOCAL, caller=KEY_CHECK_CALLER, endpoint="dashboard: test", transport="desktop"
)


class ProbeVerdict(StrEnum):
    """A check's outcome in one word, for a person deciding whether a key is worth keeping."""

    OK = "ok"
    AUTH_FAILED = "auth_failed"  # the key or login was refused
    UNREACHABLE = "unreachable"  # nothing answered: the provider or the network, not the key
    FAILED = "failed"  # anything else: the message says what


@dataclass(frozen=True)
class ProbeResult:
    """How one check went."""

    provider: str
    model: str
    ok: bool
    latency_ms: float
    answer: str = ""  # the first characters of the answer, when ok
    error: str = ""  # what went wrong, when not
    error_code: str = ""
    # What each upstream attempt came to ("401", "connect", ...), to tell a refused key from
    # an upstream that never answered.
    outcomes: tuple[str, ...] = ()

    @property
    def verdict(self) -> ProbeVerdict:
        """How the check went, in one word (see `ProbeVerdict`)."""
        if self.ok:
            return ProbeVerdict.OK
        if self.error_code == ErrorCode.AUTH_REQUIRED or _AUTH_OUTCOMES & set(self.outcomes):
            return ProbeVerdict.AUTH_FAILED
        if self.error_code == ErrorCode.UPSTREAM_TIMEOUT or (
            self.outcomes and set(self.outcomes) <= _UNREACHABLE_OUTCOMES
        ):
            return ProbeVerdict.UNREACHABLE
        return ProbeVerdict.FAILED

    def summary(self) -> str:
        """One line for a status label."""
        took = f"{self.latency_ms:.0f} ms"
        if self.ok:
            return f"OK in {took}: {self.answer or '(empty answer)'}"
        return f"Failed after {took}: {self.error}"


def probe_target(gateway: GatewayService, provider: str, model: str = "") -> Target:
    """The target a check of `provider` asks, by gateway provider id (`openai`, `claude-cli`;
    not a CLI's engine id, which may name an API provider too: `mistral`). An empty `model`
    means the first catalogue model the API still lists (else its first listed model), the
    CLI's own default for a CLI.

    Raises:
        NotFound: no such provider, or an API provider that lists no model and none was named.
    """
    if gateway.registry.config.catalog.bridge(provider) is not None:
        return Target(provider, model, "cli")
    if gateway.registry.provider(provider) is None:
        raise NotFound(f"unknown provider {provider!r}", code=ErrorCode.UNKNOWN_PROVIDER)
    if not model:
        default = gateway.registry.default_model_of(provider)
        if default is None:
            raise NotFound(
                f"{provider} lists no models yet; name the model to test",
                code=ErrorCode.MODEL_NOT_FOUND,
            )
        model = default
    return Target(provider, model)


async def probe_provider(
    gateway: GatewayService,
    provider: str,
    model: str = "",
    *,
    key: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ProbeResult:
    """Send `PROBE_PROMPT` to exactly `provider` and report; never raises for a failed check.
    With `key`, an API provider is asked with that key alone (a key not stored yet), never
    its pool: another working key must not make a bad one look good."""
    started = clock()
    label = model
    try:
        target = probe_target(gateway, provider, model)
        label = target.model
        # The body goes to the provider as is: in its own name for the output limit.
        spec = gateway.registry.provider(target.provider)
        limit = "max_tokens" if spec is None else spec.chat_output_limit
        body = {
            "model": target.label,
            "messages": [{"role": "user", "content": PROBE_PROMPT}],
            limit: PROBE_MAX_TOKENS,
        }
        caller = PROBE_CALLER if key is None else _KEY_CHECK
        answer = await gateway.serve_exactly(target, body, caller, key=key)
    except EngineError as exc:
        elapsed = (clock() - started) * 1000
        attempts = exc.details.get("attempts") or ()
        outcomes = tuple(str(a.get("outcome", "")) for a in attempts if isinstance(a, dict))
        return ProbeResult(
            provider,
            label,
            False,
            elapsed,
            error=exc.message,
            error_code=exc.code,
            outcomes=outcomes,
        )
    elapsed = (clock() - started) * 1000
    return ProbeResult(provider, label, True, elapsed, answer=_answer_text(answer.json()))


def _answer_text(body: dict[str, object]) -> str:
    """The start of an OpenAI chat answer's text, on one line."""
    choices = body.get("choices")
    text = ""
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            text = message["content"]
    text = " ".join(text.split())
    if len(text) > ANSWER_PREVIEW_CHARS:
        text = text[: ANSWER_PREVIEW_CHARS - 1] + "…"
    return text
