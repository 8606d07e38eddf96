"""What the operator does with OAuth at the desk (the Access panel): a token issued by hand for
an app that has no browser to sign in with, and the clients and grants listed and revoked.

Every call here is the operator's alone (`Capability.OAUTH_GRANTS`); no listing shows a secret
or a token value.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.auth import oauth_store as store
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.oauth_rules import SUPPORTED_SCOPES, OAuthError
from llmgw_desktop.engine.auth.oauth_tokens import OAuthTokens
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.store import Database

__all__ = ["DeskToken", "OAuthDesk"]

log = logging.getLogger(__name__)

# Desk-issued clients are named after the app: `desk-` and its name as an id can hold it.
_DESK_CLIENT_PREFIX = "desk-"
_UNSAFE_ID = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class DeskToken:
    """An access token the desk issued for one app: its value (shown once), its client and
    grant (revoked like any other in the Access panel), its scopes and when it ends."""

    access_token: str
    client_id: str
    grant_id: str
    scopes: tuple[str, ...]
    expires_at: float


class OAuthDesk:
    """The operator's OAuth: tokens issued by hand, clients and grants listed and revoked."""

    def __init__(
        self,
        db: Database,
        config: OAuthConfig,
        tokens: OAuthTokens,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._config = config
        self._tokens = tokens
        self._clock = clock

    async def issue(
        self, principal: Principal, app_name: str, scopes: Iterable[str] = ("mcp",)
    ) -> DeskToken:
        """An access token for an app the operator sets up by hand (an SDK snippet has no
        browser to sign in with): a client of its own, `desk-<name>`, with no secret and no
        redirect URI, so it can never run a flow itself; and one grant, listed and revoked in
        the Access panel like any other. It lives as long as a refresh token would
        (`http.oauth.refresh_token_ttl_s`); the value is returned once and stored hashed.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            OAuthError: invalid_scope (a scope this server does not know), invalid_request
                (no usable name).
        """
        require(principal, Capability.OAUTH_GRANTS)
        wanted = tuple(dict.fromkeys(scopes))
        unknown = [s for s in wanted if s not in SUPPORTED_SCOPES]
        if unknown or not wanted:
            raise OAuthError(
                "invalid_scope", f"scopes must be among {', '.join(SUPPORTED_SCOPES)}: {unknown}"
            )
        slug = _UNSAFE_ID.sub("-", app_name.strip().lower()).strip("-")[:40]
        if not slug:
            raise OAuthError("invalid_request", "name the app the token is for (letters, digits)")
        now = self._clock()
        client = store.ClientRecord(
            client_id=_DESK_CLIENT_PREFIX + slug,
            secret_digest=None,
            name=app_name.strip()[:80],
            redirect_uris=(),
            scopes=frozenset(wanted),
            public=False,
            registered_by=principal.id,
            created_at=now,
            metadata={"issued_at_desk": True},
        )
        family = secrets.token_urlsafe(16)
        rows, answer = self._tokens.mint(client.client_id, wanted, family, None)
        lifetime = now + self._config.refresh_token_ttl_s
        # The refresh row is the grant's entry (what the Access panel lists and revokes); its
        # value is never handed out, so the grant cannot be refreshed, only revoked.
        rows = [row | {"expires_at": lifetime} for row in rows]

        def write() -> bool:
            with self._db.models.database.atomic():
                existing = store.get_client(self._db.models, client.client_id)
                if existing is not None and not existing.metadata.get("issued_at_desk"):
                    return False  # a client of the config's or a registered one: not ours
                store.upsert_client(self._db.models, client)
                store.insert_tokens(self._db.models, rows)
                return True

        if not await self._db.run(write):
            raise OAuthError(
                "invalid_request",
                f"a client {client.client_id!r} exists and was not made at the desk; "
                "name the app differently",
            )
        log.info(
            "oauth: issued a token at the desk for %s (%s)", client.client_id, " ".join(wanted)
        )
        return DeskToken(answer["access_token"], client.client_id, family, wanted, lifetime)

    async def revoke_client(self, principal: Principal, client_id: str) -> int:
        """Revoke every token of a client (the dashboard's revoke button).

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.OAUTH_GRANTS)
        return await self._tokens.revoke_client(client_id)

    async def revoke_grant(self, principal: Principal, family_id: str) -> int:
        """Revoke one grant: the access and refresh tokens of one authorization.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.OAUTH_GRANTS)
        return await self._tokens.revoke_grant(family_id)

    async def grants(self, principal: Principal) -> list[dict[str, Any]]:
        """Live grants (one per authorization, newest first), for the dashboard: who holds
        access, with which scopes, until when. No token values.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.OAUTH_GRANTS)
        now = self._clock()
        rows = await self._db.run(lambda: store.active_grants(self._db.models, now))
        return sorted(
            (
                {
                    "grantId": r["family_id"],
                    "clientId": r["client_id"],
                    "principal": f"oauth:{r['client_id']}",
                    "scopes": str(r["scopes"]).split(),
                    "issuedAt": float(r["created_at"]),  # the current refresh token
                    "refreshExpiresAt": float(r["expires_at"]),
                }
                for r in rows
            ),
            key=lambda g: -g["issuedAt"],
        )

    async def clients(self, principal: Principal) -> list[dict[str, Any]]:
        """Clients and their live grants, for the dashboard (no secrets, no tokens).

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.OAUTH_GRANTS)
        now = self._clock()
        records = await self._db.run(lambda: store.list_clients(self._db.models))
        grants = await self._db.run(lambda: store.active_grants(self._db.models, now))
        return [
            {
                "clientId": r.client_id,
                "name": r.name,
                "public": r.public,
                "registeredBy": r.registered_by,
                "redirectUris": list(r.redirect_uris),
                "grants": sum(1 for g in grants if g["client_id"] == r.client_id),
            }
            for r in records
        ]
