"""What the web consent page may accept: a signed CSRF token, and the consent password behind a
throttle that decides before the slow hash runs.

The page (`transports/consent_page.py`) renders and parses; the decisions are here.

- CSRF: the page sets a token in a strict same-site cookie and repeats it in the form. The
  token is `nonce.mac`, the MAC an HMAC-SHA256 under a key made for this process (open
  questions do not outlive it) over the consent id and its expiry, so a token is good for one
  question only, dies with it, and cannot be made up by whoever can plant a cookie.
- Password: wrong guesses are counted across questions per (client, address), per address and
  per client (`guessing.GuessGuard`); a refused guess costs no hash. The scrypt hash runs in a
  worker thread, two at once, with a short line per address (`guessing.SlowCheck`), so a flood
  can neither block the event loop nor crowd out the person at the keyboard. Five wrong
  passwords on one question also deny that question.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from functools import partial

from llmgw_desktop.engine.auth.client_address import address_key
from llmgw_desktop.engine.auth.consent import ConsentQueue, PendingConsent
from llmgw_desktop.engine.auth.guessing import GuessGuard, GuessLimits, SlowCheck
from llmgw_desktop.engine.auth.hashing import constant_time_equal, verify_password
from llmgw_desktop.engine.auth.oauth_rules import OAuthError, throttled

__all__ = ["MAX_PASSWORD_TRIES", "WebConsent"]

log = logging.getLogger(__name__)

MAX_PASSWORD_TRIES = 5  # wrong passwords on one question before it is denied
_CSRF_PURPOSE = b"llmgw consent csrf v1\n"


class WebConsent:
    """Answers consent questions from the web page, for whoever knows the consent password."""

    def __init__(
        self,
        queue: ConsentQueue,
        password_hash: str,
        limits: GuessLimits,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._password_hash = password_hash
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self.guard = GuessGuard(limits)
        self.hashing = SlowCheck()
        self._tries: dict[str, int] = {}

    @property
    def password_set(self) -> bool:
        """Whether anyone can approve on the page (a consent password is configured)."""
        return bool(self._password_hash)

    def csrf_token(self, pending: PendingConsent) -> str:
        """A fresh token for this question's form and cookie."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._mac(pending, nonce)}"

    def csrf_valid(self, consent_id: str, cookie: str, sent: str) -> bool:
        """Whether the form's token repeats the cookie's and was signed here for this open
        question (constant-time comparisons)."""
        pending = self._queue.get(consent_id)
        if pending is None or pending.decided or pending.expires_at <= self._clock():
            return False
        if not cookie or not sent or not constant_time_equal(cookie, sent):
            return False
        nonce, _, mac = sent.partition(".")
        return bool(nonce and mac) and constant_time_equal(mac, self._mac(pending, nonce))

    def _mac(self, pending: PendingConsent, nonce: str) -> str:
        message = f"{pending.id}\n{pending.expires_at!r}\n{nonce}".encode()
        digest = hmac.new(self._key, _CSRF_PURPOSE + message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    async def answer(self, consent_id: str, *, password: str, approve: bool, remote: str) -> None:
        """Approve or deny an open question with the consent password.

        Raises:
            OAuthError: unknown question (404), already answered (409), no password configured
                or a wrong one (403), too many wrong passwords or a busy hasher (429, with
                `retry_after`).
        """
        pending = self._open(consent_id)
        if not self._password_hash:
            raise OAuthError("access_denied", "no consent password is configured", status=403)
        client, address = pending.request.client_id, address_key(remote)
        if not self.hashing.admits(address):
            raise throttled("other consent passwords are being checked", 1.0)
        wait = self.guard.begin(client, address)
        if wait is not None:
            # Debug only: the wrong guesses that were checked are logged, bounded by the throttle.
            log.debug("consent %s: guess from %s refused (throttled)", consent_id[:8], address)
            raise throttled("too many wrong consent passwords", wait)
        check = partial(verify_password, password, self._password_hash)
        if not await self.hashing.run(address, check):
            self._wrong(consent_id, address)
            raise OAuthError("access_denied", "wrong consent password", status=403)
        self.guard.succeeded(client, address)
        self._tries.pop(consent_id, None)
        if not self._queue.answer(consent_id, approve, by="web"):
            raise OAuthError("invalid_request", "this request was already answered", status=409)

    def _open(self, consent_id: str) -> PendingConsent:
        pending = self._queue.get(consent_id)
        if pending is None:
            raise OAuthError("invalid_request", "this request is unknown or has expired", 404)
        if pending.decided:
            raise OAuthError("invalid_request", "this request was already answered", 409)
        return pending

    def _wrong(self, consent_id: str, address: str) -> None:
        log.warning("consent %s: wrong password from %s", consent_id[:8], address)
        for forgotten in [c for c in self._tries if self._queue.get(c) is None]:
            del self._tries[forgotten]
        self._tries[consent_id] = self._tries.get(consent_id, 0) + 1
        if self._tries[consent_id] >= MAX_PASSWORD_TRIES:
            self._queue.answer(consent_id, False, by="web:too-many-wrong-passwords")
