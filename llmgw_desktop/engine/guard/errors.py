"""The guard's refusals: a secret found where the operator blocks it, and a request it could
not read whole where the operator blocks those. Neither names a secret's value."""

from __future__ import annotations

from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.guard.request_scan import Inspection

__all__ = ["RequestUnscanned", "SecretDetected"]


class SecretDetected(EngineError):
    """The request holds secrets and `guard.secrets` (or the person at the desk) blocks it for
    this provider or caller; nothing was sent. Its details list each kind and where."""

    code = ErrorCode.SECRET_DETECTED
    http_status = 400

    @classmethod
    def of(cls, inspection: Inspection, provider: str, why: str) -> SecretDetected:
        """The refusal of `inspection`'s findings for `provider` (`why`: the setting or the
        desk's answer that blocked it)."""
        return cls(
            f"the outbound guard found {inspection.summary()} and did not send the request to "
            f"{provider} ({why}); take the secrets out of the request, or ask the gateway's "
            "operator",
            provider=provider,
            found=[{"kind": f.kind, "where": f.where, "line": f.line} for f in inspection.findings],
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
