"""How an upstream call failed (`UpstreamFailure`): whether another key or route may serve, the
upstream's status and its error body; shared by the client that sends (`upstream.py`) and the
answer it hands back (`answer.py`)."""

from __future__ import annotations

import hashlib

from llmgw_desktop.engine.gateway.outcomes import Outcome

__all__ = ["UpstreamFailure", "body_digest", "malformed_answer"]


class UpstreamFailure(Exception):
    """An upstream did not answer usefully.

    `fallback` says another provider may be tried; `next_key` that another key of the same
    provider may be; `status` is the upstream's HTTP status (None when no answer came back).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        fallback: bool,
        next_key: bool | None = None,
        retry_after_s: float | None = None,
        kind: Outcome = Outcome.HTTP,
        raw_body: bytes | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # The code a cloud's error answer maps to (`content_filtered`, `quota_exceeded` ...);
        # None: the gateway's usual code for the status.
        self.code = code
        # The upstream's error body (without the key it was sent), for a client of its dialect.
        self.raw_body = raw_body
        # The request went to the upstream as the client sent it (its own dialect): its error
        # body may be relayed as it came (`errors.AllRoutesFailed`).
        self.relayable = False
        self.status = status
        self.fallback = fallback
        self.next_key = fallback if next_key is None else next_key
        self.retry_after_s = retry_after_s
        self.kind = kind
        # The upstream had answered 2xx before this: it took the call, and bills it.
        self.billed = False
        # The digest of the body that was sent (`body_digest`; "" where it is not known): the
        # balancer tells a body failing again apart from another (`balancing/health.py`).
        self.body_digest = ""

    @property
    def outcome(self) -> str:
        """Short code for the recorder's route log: the status (`429`), else its kind
        (`connect`, `timeout`, ...: an `Outcome`)."""
        return str(self.status) if self.status is not None else self.kind


def body_digest(data: bytes) -> str:
    """What the balancer knows a request's body by (`UpstreamFailure.body_digest`): short, and
    the same for the same bytes whoever sends them."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def malformed_answer(provider: str, exc: Exception, what: str = "an answer") -> UpstreamFailure:
    """The failure of a 2xx whose body is not `what` its wire says (another route may serve)."""
    return UpstreamFailure(
        f"{provider} sent {what} that is not valid: {exc}",
        status=502,
        fallback=True,
        kind=Outcome.MALFORMED,
    )
