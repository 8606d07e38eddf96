"""Errors of the gateway path, with the HTTP status each front door answers with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from llmgw_desktop.engine.errors import PAUSED_RETRY_AFTER_S, Cure, EngineError, ErrorCode
from llmgw_desktop.engine.gateway.http_client.upstream import (
    NOT_CONFIGURED_OUTCOME,
    SHARE_OUTCOME,
)
from llmgw_desktop.engine.gateway.key_refusal import (
    KEY_REFUSED_OUTCOMES,
    VAULT_PLACES,
    refused_keys_message,
)
from llmgw_desktop.engine.gateway.outcomes import NOT_ASKED, Outcome
from llmgw_desktop.engine.gateway.records.report import Attempt

__all__ = [
    "CONNECTED_TOOLS",
    "OVERLOADED",
    "RETRY_AFTER_STATUSES",
    "AllRoutesFailed",
    "UpstreamRejected",
    "VendorFeatureRefused",
    "unanswered",
]

# Anthropic's "overloaded" status; other dialects say it with a 503.
OVERLOADED = 529
# Upstream statuses whose Retry-After is relayed to the client.
RETRY_AFTER_STATUSES = frozenset({429, 503, OVERLOADED})

# Attempt outcomes that mean "not set up", as opposed to "tried and failed".
_NOT_SET_UP: dict[str, str] = {
    Outcome.NO_KEY: "has no API key",
    Outcome.DISABLED: "is switched off",
    Outcome.PAUSED: "is paused (all providers are)",
    Outcome.STORE_UNAVAILABLE: "has no key readable now (the vault's database cannot be reached)",
    Outcome.OWN_ADDRESS: "is this gateway itself (it serves Ollama's port: http.ollama_port)",
}
# What the client is told would fix each of those (a missing key: per provider, `_no_key_fix`).
_FIXES: dict[str, str] = {
    Outcome.DISABLED: "Switch it on from the tray or the dashboard (or remove it from "
    "providers.disabled or set enabled = true under [gateway.providers] in config.toml)",
    Outcome.PAUSED: "Resume the providers from the tray or the dashboard",
    Outcome.OWN_ADDRESS: "Run Ollama on another port and set its base_url under "
    "[gateway.providers.ollama], or turn http.ollama_port off",
}

# A cloud's meanings that the client is answered with the status of (a cloud's refused
# credential stays a 502; another provider's refused key is `upstream_key_refused`).
_CLOUD_STATUS_CODES = frozenset(
    {ErrorCode.QUOTA_EXCEEDED, ErrorCode.MODEL_NOT_ENABLED, ErrorCode.CONTENT_FILTERED}
)
# The callers (`transports/gateway/callers.py`'s names) that `llmgw-desktop run` starts and
# `llmgw-desktop connect` sets up on a model that answers here, as each is named and run: the
# tools that ask for one vendor's models by default (`ui/connect_setups.py`'s `_TOOLS`).
CONNECTED_TOOLS = {
    "claude-code": ("Claude Code", "claude"),
    "codex": ("Codex", "codex"),
    "gemini-cli": ("Gemini CLI", "gemini"),
}
# When every target was refused for the same reason, the code names it (a switched-off
# provider and a missing key are different fixes); mixed reasons stay `no_provider_available`.
_ONE_REASON = {
    "no_key": ErrorCode.NO_API_KEY,
    "disabled": ErrorCode.PROVIDER_DISABLED,
    "paused": ErrorCode.GATEWAY_PAUSED,
}


class UpstreamRejected(EngineError):
    """The upstream refused the request itself (400, 404, 413, 422 ...): another route would too.

    The status is the upstream's, so the client sees what it would have seen calling it directly.
    """

    code = ErrorCode.UPSTREAM_REJECTED

    def __init__(
        self,
        status: int,
        message: str,
        *,
        raw_body: bytes | None = None,
        retry_after_s: float | None = None,
        code: str | None = None,
    ) -> None:
        """`code`: what a cloud's error answer means (`content_filtered` ...), else the
        class's `upstream_rejected`."""
        super().__init__(message, code=code, upstream_status=status, retry_after_s=retry_after_s)
        self.http_status = status if 400 <= status < 600 else 502
        # The upstream's own error body, relayed as it came to a client of its dialect.
        self.raw_body = raw_body


class VendorFeatureRefused(EngineError):
    """A remote caller asked the vendor for something on the operator's account that the
    operator has not allowed it (`remote_passthrough.py`); nothing was sent upstream."""

    code = ErrorCode.VENDOR_FEATURE_REFUSED
    http_status = 403


class RepeatedKey(EngineError):
    """A body to be sent upstream as it came gives one key two values: the gateway reads the
    last and the upstream may read the first (`remote_passthrough.py`)."""

    code = ErrorCode.INVALID_REQUEST
    http_status = 400


# The route log's outcomes of targets passed over for the caller's budget, key scope or the
# outbound guard (`outcomes.py`): a request all of whose targets were is refused as they were.
_PASSED_OVER = (
    Outcome.UNPRICED,
    Outcome.UNMETERED,
    Outcome.OUTSIDE_KEY_SCOPE,
    Outcome.GUARD_BLOCKED,
)


def unanswered(
    model: str,
    attempts: Sequence[Attempt],
    last: Exception | None,
    hints: Mapping[str, str],
    *,
    refusals: Sequence[EngineError],
    over_budget: Sequence[EngineError],
    key_env: Callable[[str], Sequence[str]],
    caller: str,
) -> EngineError:
    """The error a request for `model` none of whose targets answered ends in: the caller's
    own refusal where no target was asked for it (`over_budget`: budget, scope, guard), the
    request's own where none could take it (`refusals`, a 400), else every route failed (the
    `attempts` said; `hints`, `key_env`, `caller` as `AllRoutesFailed.from_attempts` takes)."""
    skipped = (*NOT_ASKED, *_PASSED_OVER)  # named: mypyc cannot compile it inline
    if over_budget and all(a.outcome in skipped for a in attempts):
        return over_budget[0]
    if refusals and all(a.outcome in NOT_ASKED for a in attempts):
        return refusals[0]
    return AllRoutesFailed.from_attempts(
        model, attempts, last, hints, key_env=key_env, caller=caller
    )


class AllRoutesFailed(EngineError):
    """Every target of the plan failed or could not be used."""

    code = ErrorCode.ALL_ROUTES_FAILED
    http_status = 502
    retryable = True
    # The last upstream's own error body, when it speaks the client's dialect and every target
    # met the same status: relayed as it came (`_relay_as_written`).
    raw_body: bytes | None = None

    @classmethod
    def from_attempts(
        cls,
        model: str,
        attempts: Sequence[Attempt],
        last: Exception | None,
        hints: Mapping[str, str] | None = None,
        key_env: Callable[[str], Sequence[str]] | None = None,
        caller: str = "",
    ) -> AllRoutesFailed:
        """The error for a plan whose every target failed; `hints` (target label -> text, see
        `Plan.hints`) say where else a target that is not set up is listed; `key_env` names
        the variables a provider's key is read from (for the fix of a missing key); `caller`
        the tool that asked (`connect` sets up some on a model that answers)."""
        hints = hints or {}
        tried = [a for a in attempts if a.outcome not in _NOT_SET_UP]
        if not tried:
            return cls._none_set_up(model, attempts, hints, key_env, caller)
        return cls._tried_and_failed(model, attempts, tried, last, hints)

    @classmethod
    def _none_set_up(
        cls,
        model: str,
        attempts: Sequence[Attempt],
        hints: Mapping[str, str],
        key_env: Callable[[str], Sequence[str]] | None,
        caller: str,
    ) -> AllRoutesFailed:
        """No target could be asked (no key, switched off, paused ...): refused saying why of
        each and what would fix it, with the status of its cure (`Cure`: a 400 to set up, a
        503 to wait out); retryable only when waiting may be all it takes."""
        reasons = "; ".join(
            f"{a.target} {_NOT_SET_UP.get(a.outcome, a.outcome)}{_hint(a, hints)}" for a in attempts
        )
        outcomes = {a.outcome for a in attempts} or {Outcome.NO_KEY}
        fixes = " ".join(f"{text}." for why, text in _FIXES.items() if why in outcomes)
        if "no_key" in outcomes:
            fixes = f"{_no_key_fix(attempts, key_env, caller)}. {fixes}".strip()
        if "store_unavailable" in outcomes:
            # Imported here: the store package brings peewee, which the stdio relay (it
            # imports these errors) must not load.
            from llmgw_desktop.engine.store.errors import STORE_RETRY_AFTER_S

            # The keys are unknown rather than absent: the same request may succeed soon.
            error = cls(
                f"no provider can serve {model!r} right now: {reasons}. Try again shortly.",
                code=ErrorCode.STORE_UNAVAILABLE,
                retryable=True,
                attempts=[a.to_dict() for a in attempts],
                retry_after_s=STORE_RETRY_AFTER_S,
            )
            error.http_status = 503
            return error
        code = _code_of(outcomes) if attempts else ErrorCode.NO_PROVIDER_AVAILABLE
        error = cls(
            f"no provider can serve {model!r} right now: {reasons or 'no route'}. "
            + fixes.removesuffix("."),
            code=code,
            retryable=code.cure is Cure.WAIT,
            attempts=[a.to_dict() for a in attempts],
            retry_after_s=PAUSED_RETRY_AFTER_S if code is ErrorCode.GATEWAY_PAUSED else None,
        )
        # Someone must set it up (a 400 no client retries), or a person resumes the providers
        # (a 503 whose `Retry-After` clients wait out).
        error.http_status = code.http_status
        return error

    @classmethod
    def _tried_and_failed(
        cls,
        model: str,
        attempts: Sequence[Attempt],
        tried: Sequence[Attempt],
        last: Exception | None,
        hints: Mapping[str, str],
    ) -> AllRoutesFailed:
        """Targets were asked (`tried`) and none answered: the error named for what they all
        met, where that tells the client more than a 502 (its share in use, the operator's key
        refused, a cloud not set up, a cloud's own meaning), with the last error's detail."""
        summary = ", ".join(f"{a.target}: {a.outcome}{_hint(a, hints)}" for a in attempts)
        detail = getattr(last, "message", None) or (str(last) if last else "")
        if all(a.outcome == SHARE_OUTCOME for a in tried):
            # The caller's own calls hold its share of every host it could use: it waits for
            # them, not for an upstream (SECURITY.md 29).
            error = cls(
                detail,
                code=ErrorCode.SATURATED,
                attempts=[a.to_dict() for a in attempts],
                retry_after_s=getattr(last, "retry_after_s", None) or 1,
            )
            error.http_status = 429
            return error
        error = cls(
            f"every route for {model!r} failed ({summary}). Last error: {detail}",
            attempts=[a.to_dict() for a in attempts],
        )
        # When the upstream said how long to wait, the client is told the same (Retry-After).
        wait = getattr(last, "retry_after_s", None)
        if wait is not None and getattr(last, "status", None) in RETRY_AFTER_STATUSES:
            error.details["retry_after_s"] = wait
        code = getattr(last, "code", None)
        if code is None and all(a.outcome in KEY_REFUSED_OUTCOMES for a in tried):
            # The operator's key, refused: the same request would be refused again. (A
            # cloud's refusal carries its own meaning, below: a credential, or model access.)
            error = cls(
                refused_keys_message(model, tried, detail),
                code=ErrorCode.UPSTREAM_KEY_REFUSED,
                retryable=False,
                attempts=[a.to_dict() for a in attempts],
            )
            error.http_status = 401 if any(a.outcome == "401" for a in tried) else 403
            return error
        if all(a.outcome == NOT_CONFIGURED_OUTCOME for a in tried):
            # A cloud that lacks its library, credential, region or project: what to set.
            error = cls(
                f"no provider can serve {model!r} right now: {detail}",
                code=ErrorCode.CLOUD_NOT_CONFIGURED,
                retryable=False,
                attempts=[a.to_dict() for a in attempts],
            )
            return error
        if code is not None and all(a.outcome == tried[-1].outcome for a in tried):
            # Every attempt met the same answer, which a cloud says means more than its status
            # (a used-up quota, a model the account has no access to, a refused credential), or
            # a CLI's that someone must set up (not installed, switched off).
            error.code = code
            error.retryable = code in (ErrorCode.QUOTA_EXCEEDED, ErrorCode.RATE_LIMITED)
            _name_by_cure(error, last)
            if code in _CLOUD_STATUS_CODES:
                error.http_status = ErrorCode(code).http_status
            return error
        _name_by_common_status(error, tried)
        _relay_as_written(error, tried, last)
        return error


def _relay_as_written(
    error: AllRoutesFailed, tried: Sequence[Attempt], last: Exception | None
) -> None:
    """Give `error` the last upstream's own error body when that upstream speaks the client's
    dialect (`relayable`: the request went to it as sent) and every target met its status:
    the client reads the status, type and message the vendor wrote, as its recovery expects
    (Claude Code's matches on an overload's, a prompt too long's, a rate limit's wording)."""
    raw = getattr(last, "raw_body", None)
    status = getattr(last, "status", None)
    if not raw or not getattr(last, "relayable", False) or status != error.http_status:
        return
    if all(a.outcome == str(status) for a in tried):
        error.raw_body = raw


def _name_by_cure(error: AllRoutesFailed, last: Exception | None) -> None:
    """Give `error`, named for what every target met, the status of that refusal's cure where
    it has one (a CLI not installed, switched off, paused, resting): a 400 someone must set
    up, or a 503 with the wait the refusal named (`Cure`)."""
    known = ErrorCode.parse(error.code)
    if not isinstance(known, ErrorCode) or known.cure is None:
        return
    error.http_status = known.http_status
    error.retryable = known.cure is Cure.WAIT
    wait = getattr(last, "details", {}).get("retry_after_s")
    if error.retryable and wait is not None:
        error.details["retry_after_s"] = wait


def _name_by_common_status(error: AllRoutesFailed, tried: Sequence[Attempt]) -> None:
    """Give `error` the status and code of what every tried target met, where the client
    should hear it as that rather than as a bad gateway: rate limited, overloaded, timed out."""
    if all(a.outcome == "429" for a in tried):
        error.http_status = 429
        error.code = ErrorCode.RATE_LIMITED
    elif all(a.outcome == str(OVERLOADED) for a in tried):
        # Every upstream was overloaded: the client's dialect says so in its own way
        # (`tracing.client_status`: Anthropic's 529, a 503 for the others), not as a 502.
        error.http_status = OVERLOADED
        error.code = ErrorCode.OVERLOADED
        error.retryable = True
    elif all(a.outcome in (Outcome.TIMEOUT, Outcome.HUNG) for a in tried):
        # No upstream answered in time (or at all): a gateway timeout, not a bad gateway.
        error.http_status = 504
        error.code = ErrorCode.UPSTREAM_TIMEOUT


def _no_key_fix(
    attempts: Sequence[Attempt], key_env: Callable[[str], Sequence[str]] | None, caller: str
) -> str:
    """Where each provider without a key takes one: its own variable, the vault, config.toml;
    and what answers meanwhile (for a tool `connect` sets up, the command that names it)."""
    providers = dict.fromkeys(
        a.target.partition("/")[0] for a in attempts if a.outcome == Outcome.NO_KEY
    )
    fixes = []
    for provider in providers:
        names = " or ".join(key_env(provider)) if key_env is not None else ""
        variable = f"set {names} where the gateway runs (and restart it), " if names else ""
        fixes.append(
            f"For {provider}: {variable}store a key in the vault ({VAULT_PLACES}), or set "
            f"api_key under [gateway.providers.{provider}] in config.toml"
        )
    answers = "Or ask for a model that GET /v1/models lists: those answer now"
    if caller in CONNECTED_TOOLS:
        name, command = CONNECTED_TOOLS[caller]
        answers = (
            f"Or start {name} with `llmgw-desktop run {command}`, on a model that answers with "
            f"this machine's keys (`llmgw-desktop connect {caller}` prints that set-up; GET "
            "/v1/models lists every model that answers)"
        )
    return ". ".join(fixes) + ". " + answers


def _code_of(outcomes: set[str]) -> ErrorCode:
    """The code of a plan no target of which was asked: one reason's own, else the mixed one;
    paused among others is paused (every provider is: resuming them may be all it takes)."""
    if len(outcomes) == 1:
        return _ONE_REASON.get(next(iter(outcomes)), ErrorCode.NO_PROVIDER_AVAILABLE)
    if "paused" in outcomes:
        return ErrorCode.GATEWAY_PAUSED
    return ErrorCode.NO_PROVIDER_AVAILABLE


def _hint(attempt: Attempt, hints: Mapping[str, str]) -> str:
    """ " (openrouter lists this id: use ...)" for a target that is not set up, when another
    provider lists its whole id; else nothing."""
    hint = hints.get(attempt.target) if attempt.outcome in _NOT_SET_UP else None
    return f" ({hint})" if hint else ""
