"""The OAuth server's clients: who may register one (RFC 7591, as `http.oauth.registration`
allows), and who a request at the token and revocation endpoints comes from.

Wrong registration and client secrets are throttled across requests (`guessing.py`); a public
client (no secret) is refused everywhere while `http.oauth.allow_public_clients` is off.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from llmgw_desktop.engine.auth import oauth_store as store
from llmgw_desktop.engine.auth.client_address import address_key
from llmgw_desktop.engine.auth.guessing import GuessGuard
from llmgw_desktop.engine.auth.hashing import constant_time_equal, new_token, token_digest
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.oauth_rules import OAuthError, registration_metadata, throttled
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.store import Database

__all__ = ["REGISTRATION_KEY", "UNKNOWN_CLIENT_KEY", "OAuthClients", "public_clients_off"]

log = logging.getLogger(__name__)

# The throttle's client key for secrets not tied to a known client.
REGISTRATION_KEY = "(registration)"
UNKNOWN_CLIENT_KEY = "(unknown client)"


def public_clients_off() -> OAuthError:
    """The refusal of a public client while `http.oauth.allow_public_clients` is off."""
    return OAuthError(
        "invalid_client",
        "public clients are not allowed here (http.oauth.allow_public_clients)",
        status=401,
    )


class OAuthClients:
    """Registers clients and tells who a request comes from."""

    def __init__(
        self, db: Database, config: OAuthConfig, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._config = config
        self._clock = clock
        self._secrets_guard = GuessGuard(config.guess_limits)

    async def get(self, client_id: str) -> store.ClientRecord | None:
        """The client `client_id`, or None when there is none."""
        return await self._db.run(lambda: store.get_client(self._db.models, client_id))

    async def register(
        self, body: Mapping[str, Any], presented_secret: str | None, *, remote: str = ""
    ) -> dict[str, Any]:
        """RFC 7591 dynamic registration, as the registration policy allows.

        Raises:
            OAuthError: registration closed (403), missing or wrong secret (401), too many wrong
                secrets (429), bad metadata.
        """
        policy = self._config.registration
        if policy == "static_clients":
            raise OAuthError(
                "access_denied",
                "client registration is closed; the operator lists clients under "
                "[http.oauth.clients] in config.toml",
                status=403,
            )
        if policy == "shared_secret":
            address = address_key(remote)
            wait = self._secrets_guard.begin(REGISTRATION_KEY, address)
            if wait is not None:
                raise throttled("too many wrong registration secrets", wait)
            if not (
                presented_secret
                and constant_time_equal(presented_secret, self._config.registration_secret)
            ):
                log.warning("oauth: wrong registration secret from %s", address)
                raise OAuthError(
                    "invalid_token",
                    "registration needs the registration secret as a bearer token",
                    status=401,
                )
            self._secrets_guard.succeeded(REGISTRATION_KEY, address)
        accepted = registration_metadata(body, allow_public=self._config.allow_public_clients)
        public = accepted["token_endpoint_auth_method"] == "none"  # noqa: S105 - a method name
        client_id = "llmgw-" + secrets.token_urlsafe(12)
        secret = None if public else new_token()
        now = self._clock()
        record = store.ClientRecord(
            client_id=client_id,
            secret_digest=None if secret is None else token_digest(secret),
            name=redact(accepted["client_name"]),  # the registrant's text, kept redacted
            redirect_uris=tuple(accepted["redirect_uris"]),
            scopes=frozenset(accepted["scope"].split()),
            public=public,
            registered_by=f"registration:{policy}",
            created_at=now,
            metadata={k: accepted[k] for k in ("grant_types", "response_types")},
        )
        await self._db.run(lambda: store.upsert_client(self._db.models, record))
        log.info("oauth: registered client %s (%s)", client_id, record.name or "unnamed")
        answer = dict(accepted) | {
            "client_id": client_id,
            "client_id_issued_at": int(now),
        }
        if secret is not None:
            answer |= {"client_secret": secret, "client_secret_expires_at": 0}
        return answer

    async def authenticate(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, remote: str
    ) -> store.ClientRecord:
        """The client a token or revocation request comes from: its id and secret from HTTP
        Basic (`basic`), else from the form.

        Raises:
            OAuthError: invalid_client (401: unknown, wrong secret, public clients off, a
                public client sending a secret), too many failed authentications (429).
        """
        client_id, secret = (
            basic
            if basic is not None
            else (
                form.get("client_id", ""),
                form.get("client_secret"),
            )
        )
        client = await self.get(client_id) if client_id else None
        if client is not None and client.public:
            if not self._config.allow_public_clients:
                raise public_clients_off()  # as in authorize(): no tokens while they are off
            if secret:
                raise OAuthError("invalid_client", "a public client has no secret", status=401)
            return client
        # From here to the verdict nothing awaits: the reservation and the check are one step,
        # so concurrent guesses are counted before any of them is looked at.
        key, address = client.client_id if client else UNKNOWN_CLIENT_KEY, address_key(remote)
        wait = self._secrets_guard.begin(key, address)
        if wait is not None:
            raise throttled("too many failed client authentications", wait)
        if client is None:
            raise OAuthError("invalid_client", "unknown client", status=401)
        if (
            not secret
            or client.secret_digest is None
            or not constant_time_equal(token_digest(secret), client.secret_digest)
        ):
            log.warning("oauth: wrong secret for client %s from %s", client.client_id, address)
            raise OAuthError("invalid_client", "client authentication failed", status=401)
        self._secrets_guard.succeeded(key, address)
        return client
