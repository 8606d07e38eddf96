"""The OAuth server's tokens once a grant is made: minted in pairs, a refresh token rotated on
every use (the refresh_token grant), revoked a grant or a client at a time, and verified.

Tokens are stored hashed and survive a restart. Presenting a refresh token that was already
rotated revokes every token of its grant (reuse detection). A verification is remembered for a
short while (`VerifiedTokens`), and every revocation here forgets them all at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from llmgw_desktop.engine.auth import oauth_store as store
from llmgw_desktop.engine.auth.hashing import new_token, token_digest
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.oauth_resource import GatewayAddress
from llmgw_desktop.engine.auth.oauth_rules import OAuthError, parse_scopes
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.auth.verify_cache import VerifiedTokens
from llmgw_desktop.engine.store import Database

__all__ = ["SHARED_STORE_VERIFY_CACHE_S", "VERIFY_CACHE_S", "OAuthTokens"]

log = logging.getLogger(__name__)

# How long a verified access token is believed without asking the store again. Revocation
# in this process clears the cache at once; on a store other gateway processes share, a
# revocation there is seen here only when the entry runs out, so the belief is kept short.
VERIFY_CACHE_S = 30.0
SHARED_STORE_VERIFY_CACHE_S = 2.0


class OAuthTokens:
    """Mints, rotates, revokes and verifies the server's access and refresh tokens."""

    def __init__(
        self,
        db: Database,
        config: OAuthConfig,
        address: GatewayAddress,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._config = config
        self._address = address
        self._clock = clock
        self._verified = VerifiedTokens(config.verify_cache_entries)

    def forget_verifications(self) -> None:
        """Ask the store again for every token (a revocation, or a new audience)."""
        self._verified.clear()

    def mint(
        self, client_id: str, scopes: tuple[str, ...], family: str, resource: str | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """A new access and refresh token for one grant: the rows to store (hashed) and the
        token endpoint's answer (the values, shown once)."""
        now = self._clock()
        access, refresh = new_token("llmgw_at_"), new_token("llmgw_rt_")
        common = {
            "client_id": client_id,
            "scopes": " ".join(scopes),
            "family_id": family,
            "resource": resource,
            "created_at": now,
        }
        rows = [
            common
            | {
                "token_digest": token_digest(access),
                "kind": "access",
                "expires_at": now + self._config.access_token_ttl_s,
            },
            common
            | {
                "token_digest": token_digest(refresh),
                "kind": "refresh",
                "expires_at": now + self._config.refresh_token_ttl_s,
            },
        ]
        answer = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self._config.access_token_ttl_s),
            "refresh_token": refresh,
            "scope": " ".join(scopes),
        }
        return rows, answer

    async def refresh(self, client: store.ClientRecord, form: Mapping[str, str]) -> dict[str, Any]:
        """The refresh_token grant: a new pair for the grant, the presented token rotated out.

        Raises:
            OAuthError: invalid_grant (unknown, revoked, expired or reused: a reuse revokes the
                whole grant), invalid_scope, invalid_target.
        """
        digest, now = token_digest(form.get("refresh_token", "")), self._clock()
        token = await self._db.run(lambda: store.get_token(self._db.models, digest))
        if token is None or token.kind != "refresh" or token.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown refresh token")
        if token.revoked_at is not None:
            raise OAuthError("invalid_grant", "refresh token was revoked")
        if token.rotated_at is not None:
            await self._reuse_detected(token)
        if token.expires_at <= now:
            raise OAuthError("invalid_grant", "refresh token expired")
        scopes = token.scopes
        if form.get("scope"):
            narrowed = parse_scopes(form["scope"], token.scopes)
            scopes = narrowed
        audience = self._address.audience.for_tokens(token.resource, form.get("resource"))
        rows, answer = self.mint(client.client_id, scopes, token.family_id, audience)
        rotated = await self._db.run(
            lambda: store.rotate_refresh(self._db.models, digest, now, rows)
        )
        if not rotated:
            await self._reuse_detected(token)
        return answer

    async def _reuse_detected(self, token: store.TokenRecord) -> None:
        now = self._clock()
        revoked = await self._db.run(
            lambda: store.revoke_family(self._db.models, token.family_id, now)
        )
        self._verified.clear()
        log.warning(
            "oauth: refresh token reuse for client %s; revoked %d token(s) of that grant",
            token.client_id,
            revoked,
        )
        raise OAuthError(
            "invalid_grant",
            "refresh token was already used; every token of this grant is now revoked",
        )

    async def revoke_presented(self, client: store.ClientRecord, presented: str) -> None:
        """Revoke the grant of a token its own client presents (RFC 7009); another client's
        token, or an unknown one, is left alone without a word."""
        digest, now = token_digest(presented), self._clock()
        token = await self._db.run(lambda: store.get_token(self._db.models, digest))
        if token is not None and token.client_id == client.client_id:
            await self._db.run(lambda: store.revoke_family(self._db.models, token.family_id, now))
            self._verified.clear()

    async def revoke_grant(self, family_id: str, *, at: float | None = None) -> int:
        """Revoke every token of one grant (as of `at`, else now); how many were live."""
        now = self._clock() if at is None else at
        count = await self._db.run(lambda: store.revoke_family(self._db.models, family_id, now))
        self._verified.clear()
        return int(count)

    async def revoke_client(self, client_id: str) -> int:
        """Revoke every token of one client; how many were live."""
        now = self._clock()
        count = await self._db.run(
            lambda: store.revoke_client_tokens(self._db.models, client_id, now)
        )
        self._verified.clear()
        return int(count)

    async def verify(self, access_token: str) -> Principal | None:
        """The principal an access token stands for, or None (unknown, expired, revoked, or
        issued for another resource)."""
        digest, now = token_digest(access_token), self._clock()
        known, cached = self._verified.get(digest, now)
        if known:
            return cached
        token = await self._db.run(lambda: store.get_token(self._db.models, digest))
        principal = None
        if (
            token is not None
            and token.kind == "access"
            and token.revoked_at is None
            and token.expires_at > now
            and self._address.audience.is_ours(token.resource)
        ):
            principal = Principal(f"oauth:{token.client_id}", "oauth", frozenset(token.scopes))
        believed_for = SHARED_STORE_VERIFY_CACHE_S if self._db.engine.shared else VERIFY_CACHE_S
        until = min(now + believed_for, token.expires_at if token is not None else now)
        self._verified.put(digest, max(until, now + 1.0) if principal is None else until, principal)
        return principal
