"""Consent: an OAuth authorization waits here until a person approves or denies it.

Two ways to answer: the desk dialog (the desktop app attaches a listener) and the web consent
page (password-protected, for headless installs and remote approvers). Whichever answers first
decides; a request nobody answers is denied when it expires.

Open questions are capped (in all, per client and per requesting address) so that a flood of
authorization requests can neither fill memory nor bury the desk in dialogs; the per-address
cap is the smallest, so one address cannot use up a client's share.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from llmgw_desktop.engine.auth.client_address import address_key
from llmgw_desktop.engine.auth.hashing import new_token
from llmgw_desktop.engine.auth.oauth_rules import throttled

__all__ = ["ConsentQueue", "ConsentRequest", "PendingConsent", "PendingLimits"]

log = logging.getLogger(__name__)

# Decided requests are kept a little while so the browser's next poll still finds the answer.
KEEP_DECIDED_S = 120.0


@dataclass(frozen=True)
class PendingLimits:
    """How many consent questions may be open at once (`http.oauth.max_pending_consents*`)."""

    total: int = 200
    per_client: int = 30
    per_address: int = 10


@dataclass(frozen=True)
class ConsentRequest:
    """What the person is asked to approve."""

    client_id: str
    client_name: str
    redirect_uri: str
    scopes: tuple[str, ...]
    requester: str  # the address the authorization request came from


@dataclass
class PendingConsent:
    """One open question; `decision` resolves to True (approved) or False (denied)."""

    id: str
    request: ConsentRequest
    created_at: float
    expires_at: float
    decision: asyncio.Future[bool]
    decided_by: str = ""
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def decided(self) -> bool:
        return self.decision.done()


class ConsentQueue:
    """Open consent questions, with a desk listener and a timeout that denies."""

    def __init__(self, *, timeout_s: float, clock: Callable[[], float] = time.time) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._pending: dict[str, PendingConsent] = {}
        self._desk: Callable[[PendingConsent], None] | None = None

    def attach_desk(self, listener: Callable[[PendingConsent], None] | None) -> None:
        """The desktop app's dialog shows each new question (None detaches)."""
        self._desk = listener

    @property
    def desk_attached(self) -> bool:
        return self._desk is not None

    def ask(self, request: ConsentRequest, limits: PendingLimits | None = None) -> PendingConsent:
        """Open a question; the desk (if attached) is told at once.

        Raises:
            OAuthError: temporarily_unavailable (429, with Retry-After) when `limits` are full.
        """
        self._forget_old()
        now = self._clock()
        if limits is not None:
            self._check_limits(request, limits, now)
        loop = asyncio.get_running_loop()
        pending = PendingConsent(
            id=new_token(),
            request=request,
            created_at=now,
            expires_at=now + self.timeout_s,
            decision=loop.create_future(),
        )
        pending._timer = loop.call_later(self.timeout_s, self._expire, pending.id)
        self._pending[pending.id] = pending
        log.info(
            "consent asked for client %s (%s) from %s",
            request.client_id,
            " ".join(request.scopes),
            request.requester,
        )
        if self._desk is not None:
            try:
                self._desk(pending)
            except Exception:
                log.exception("the desk could not show a consent request")
        return pending

    def _check_limits(self, request: ConsentRequest, limits: PendingLimits, now: float) -> None:
        open_now = self.open_requests()
        address = address_key(request.requester)  # an IPv6 host counts as its /64
        for scope, cap, same in (
            (
                "from this address",
                limits.per_address,
                lambda r: address_key(r.requester) == address,
            ),
            ("for this client", limits.per_client, lambda r: r.client_id == request.client_id),
            ("in all", limits.total, lambda r: True),
        ):
            mine = [p for p in open_now if same(p.request)]
            if len(mine) >= cap:
                # The earliest of them is answered or expires by then, freeing a place.
                wait = min(p.expires_at for p in mine) - now
                # Debug only: a flood must not become a flood of log lines.
                log.debug(
                    "consent refused for client %s from %s: %d requests already open %s",
                    request.client_id,
                    request.requester,
                    len(mine),
                    scope,
                )
                raise throttled(
                    f"too many authorization requests are waiting for consent {scope} "
                    f"({cap}); answer or let them expire",
                    wait,
                )

    def get(self, consent_id: str) -> PendingConsent | None:
        return self._pending.get(consent_id)

    def answer(self, consent_id: str, approved: bool, *, by: str) -> bool:
        """Record the answer; False when the question is unknown, expired or already answered."""
        pending = self._pending.get(consent_id)
        if pending is None or pending.decided:
            return False
        pending.decided_by = by
        pending.decision.set_result(approved)
        if pending._timer is not None:
            pending._timer.cancel()
        log.info(
            "consent for client %s %s by %s",
            pending.request.client_id,
            "approved" if approved else "denied",
            by,
        )
        return True

    def open_requests(self) -> list[PendingConsent]:
        return [p for p in self._pending.values() if not p.decided]

    def _expire(self, consent_id: str) -> None:
        pending = self._pending.get(consent_id)
        if pending is not None and not pending.decided:
            pending.decided_by = "timeout"
            pending.decision.set_result(False)
            log.info("consent for client %s expired unanswered", pending.request.client_id)

    def _forget_old(self) -> None:
        cutoff = self._clock() - KEEP_DECIDED_S
        for consent_id, pending in list(self._pending.items()):
            if pending.decided and pending.expires_at < cutoff:
                del self._pending[consent_id]
