"""The guard's refusals: a secret found where the operator blocks it, a match of one of the
operator's rules where it blocks it, and a request it could not read whole where the operator
blocks those. None names a secret's value."""

from __future__ import annotations

from collections.abc import Sequence

from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.guard.request_scan import Finding, Inspection, summary

__all__ = ["GuardRuleMatched", "RequestUnscanned", "SecretDetected"]


def _found(findings: Sequence[Finding]) -> list[dict[str, object]]:
    return [{"kind": f.kind, "where": f.where, "line": f.line} for f in findings]


class SecretDetected(EngineError):
    """The request holds secrets and `guard.secrets` (or the person at the desk) blocks it for
    this provider or caller; nothing was sent. Its details list each kind and where."""

    code = ErrorCode.SECRET_DETECTED
    http_status = 400

    @classmethod
    def of(cls, findings: Sequence[Finding], provider: str, why: str) -> SecretDetected:
        """The refusal of `findings` for `provider` (`why`: the setting or the desk's answer
        that blocked it)."""
        return cls(
            f"the outbound guard found {summary(findings)} and did not send the request to "
            f"{provider} ({why}); take the secrets out of the request, or ask the gateway's "
            "operator",
            provider=provider,
            found=_found(findings),
        )


class GuardRuleMatched(EngineError):
    """One of the operator's rules (`guard.rules`) matched the request, and it (or the person at
    the desk) blocks it for this provider or caller; nothing was sent. Its details name each
    rule and where it matched."""

    code = ErrorCode.GUARD_RULE_MATCHED
    http_status = 400

    @classmethod
    def of(
        cls, findings: Sequence[Finding], rules: Sequence[str], provider: str, why: str
    ) -> GuardRuleMatched:
        """The refusal of `findings` (matches of `rules`, each as a person reads it) for
        `provider` (`why`: the setting or the desk's answer that blocked it)."""
        named = "; ".join(rules)
        return cls(
            f"the request matched the gateway's guard rule{'s' * (len(rules) != 1)} {named} "
            f"({summary(findings, noun='match')}) and was not sent to {provider} ({why}); ask "
            "the gateway's operator",
            provider=provider,
            found=_found(findings),
        )


class RequestUnscanned(EngineError):
    """The guard could not read the whole request and `guard.unscanned` is block."""

    code = ErrorCode.REQUEST_UNSCANNED
    http_status = 413

    @classmethod
    def of(cls, inspection: Inspection, provider: str) -> RequestUnscanned:
        limit = (
            f"its text ({inspection.chars:,} characters) is over guard.max_scan_kb"
            if inspection.reason == "too_large"
            else "its scan ran past guard.budget_ms"
        )
        return cls(
            f"the outbound guard could not read the whole request ({limit}) and did not send "
            f"it to {provider} (guard.unscanned = block)",
            provider=provider,
            reason=inspection.reason,
        )
