"""The authorization_code grant with PKCE: the browser's authorization request (a code at
once, or a consent question a person answers first), and the code exchanged for tokens.

Codes are single use and short-lived (`http.oauth.code_ttl_s`); a code presented a second time
was stolen or replayed, and what it bought is revoked (RFC 6749 4.1.2). The redirect carries
the issuer (RFC 9207), and the audience asked for is checked here and kept with the code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from llmgw_desktop.engine.auth import oauth_store as store
from llmgw_desktop.engine.auth.consent import ConsentQueue, ConsentRequest, PendingConsent
from llmgw_desktop.engine.auth.hashing import new_token, token_digest
from llmgw_desktop.engine.auth.oauth_clients import OAuthClients, public_clients_off
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.oauth_resource import GatewayAddress
from llmgw_desktop.engine.auth.oauth_rules import (
    OAuthError,
    check_pkce_request,
    parse_scopes,
    pkce_matches,
)
from llmgw_desktop.engine.auth.oauth_tokens import OAuthTokens
from llmgw_desktop.engine.store import Database

__all__ = ["AuthorizationStep", "CodeGrant"]


@dataclass
class AuthorizationStep:
    """What the browser gets: a redirect to the client, a consent to wait for, or an error page
    (when the client or its redirect URI cannot be trusted with a redirect)."""

    redirect: str | None = None
    consent: PendingConsent | None = None
    error: OAuthError | None = None


@dataclass
class _Waiting:
    client: store.ClientRecord
    redirect_uri: str
    explicit: bool
    scopes: tuple[str, ...]
    challenge: str | None
    method: str | None
    resource: str | None
    state: str | None
    result: str | None = field(default=None)


class CodeGrant:
    """Authorization requests answered with a code (after consent where it is required), and
    codes exchanged for tokens."""

    def __init__(
        self,
        db: Database,
        config: OAuthConfig,
        consent: ConsentQueue,
        *,
        clients: OAuthClients,
        tokens: OAuthTokens,
        address: GatewayAddress,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._config = config
        self._consent = consent
        self._clients = clients
        self._tokens = tokens
        self._address = address
        self._clock = clock
        self._waiting: dict[str, _Waiting] = {}

    async def authorize(self, params: Mapping[str, str], *, requester: str) -> AuthorizationStep:
        """Check an authorization request and issue a code, or open a consent question."""
        client_id = params.get("client_id", "")
        client = await self._clients.get(client_id) if client_id else None
        if client is None:
            return AuthorizationStep(
                error=OAuthError("invalid_client", f"unknown client_id {client_id!r}")
            )
        if client.public and not self._config.allow_public_clients:
            # A public client listed in config.toml must not slip past allow_public_clients
            # (off by default, and refused by start-up policy on a reachable gateway).
            return AuthorizationStep(error=public_clients_off())
        asked = params.get("redirect_uri")
        if asked is None:
            if len(client.redirect_uris) != 1:
                return AuthorizationStep(
                    error=OAuthError("invalid_request", "redirect_uri is required for this client")
                )
            redirect_uri, explicit = client.redirect_uris[0], False
        elif asked in client.redirect_uris:  # exact match only, no prefixes or patterns
            redirect_uri, explicit = asked, True
        else:
            return AuthorizationStep(
                error=OAuthError(
                    "invalid_request", "redirect_uri does not match any registered for this client"
                )
            )
        state = params.get("state")
        try:
            if params.get("response_type") != "code":
                raise OAuthError("unsupported_response_type", "response_type must be code")
            scopes = parse_scopes(params.get("scope"), client.scopes)
            challenge, method = check_pkce_request(
                params.get("code_challenge"),
                params.get("code_challenge_method"),
                required=self._config.require_pkce or client.public,
                allow_plain=self._config.allow_plain_pkce,
            )
            audience = self._address.audience.check(params.get("resource"))
        except OAuthError as exc:
            return AuthorizationStep(redirect=self._redirect(redirect_uri, state, exc.to_dict()))
        waiting = _Waiting(
            client, redirect_uri, explicit, scopes, challenge, method, audience, state
        )
        if not self._config.require_consent:
            return AuthorizationStep(redirect=await self._issue_code(waiting))
        try:
            pending = self._consent.ask(
                ConsentRequest(
                    client_id=client.client_id,
                    client_name=client.name or client.client_id,
                    redirect_uri=redirect_uri,
                    scopes=scopes,
                    requester=requester,
                ),
                self._config.pending_limits,
            )
        except OAuthError as exc:
            # A flood, not a client mistake: answered here, without a redirect to follow.
            return AuthorizationStep(error=exc)
        # The queue forgets answered questions after a while (in ask()); drop their parked
        # requests with them, so a long-running gateway does not collect them forever.
        for forgotten in [cid for cid in self._waiting if self._consent.get(cid) is None]:
            del self._waiting[forgotten]
        self._waiting[pending.id] = waiting
        return AuthorizationStep(consent=pending)

    async def consent_outcome(self, consent_id: str) -> str | None:
        """Where the browser goes once consent was given or refused; None while undecided.

        The code is issued once, when first asked for after approval.
        """
        pending = self._consent.get(consent_id)
        waiting = self._waiting.get(consent_id)
        if pending is None or waiting is None or not pending.decided:
            return None
        if waiting.result is None:
            if pending.decision.result():
                waiting.result = await self._issue_code(waiting)
            else:
                why = "the person at the gateway did not approve this request"
                if pending.decided_by == "timeout":
                    why = "nobody approved this request in time"
                waiting.result = self._redirect(
                    waiting.redirect_uri,
                    waiting.state,
                    {"error": "access_denied", "error_description": why},
                )
        return waiting.result

    async def _issue_code(self, waiting: _Waiting) -> str:
        code = new_token()
        now = self._clock()
        record = store.CodeRecord(
            client_id=waiting.client.client_id,
            redirect_uri=waiting.redirect_uri,
            redirect_uri_explicit=waiting.explicit,
            scopes=waiting.scopes,
            code_challenge=waiting.challenge,
            code_challenge_method=waiting.method,
            resource=waiting.resource,
            expires_at=now + self._config.code_ttl_s,
            used_at=None,
        )
        digest = token_digest(code)
        await self._db.run(lambda: store.insert_code(self._db.models, digest, record, now))
        return self._redirect(waiting.redirect_uri, waiting.state, {"code": code})

    def _redirect(self, uri: str, state: str | None, values: dict[str, str]) -> str:
        query = dict(values)
        if state is not None:
            query["state"] = state
        if self._address.issuer:
            query["iss"] = self._address.issuer  # RFC 9207: which server answered
        return uri + ("&" if "?" in uri else "?") + urlencode(query)

    async def exchange(self, client: store.ClientRecord, form: Mapping[str, str]) -> dict[str, Any]:
        """The token endpoint's authorization_code grant: the code redeemed for tokens.

        Raises:
            OAuthError: invalid_grant (unknown, expired, already used, redirect URI or PKCE
                mismatch), invalid_target.
        """
        digest, now = token_digest(form.get("code", "")), self._clock()
        outcome: list[dict[str, Any] | OAuthError] = []

        def issue(record: store.CodeRecord) -> list[dict[str, Any]] | None:
            # Runs inside the redeeming transaction, so the tokens are stored with the mark.
            try:
                rows, answer = self._code_tokens(client, form, record, digest, now)
            except OAuthError as refusal:
                outcome.append(refusal)
                return None
            outcome.append(answer)
            return rows

        record = await self._db.run(lambda: store.redeem_code(self._db.models, digest, now, issue))
        if record is None or record.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if record.used_at is not None:
            # RFC 6749 4.1.2: a code used twice is stolen or replayed; what it bought is revoked.
            await self._tokens.revoke_grant(digest, at=now)
            raise OAuthError("invalid_grant", "authorization code was already used")
        if isinstance(outcome[0], OAuthError):
            raise outcome[0]
        return outcome[0]

    def _code_tokens(
        self,
        client: store.ClientRecord,
        form: Mapping[str, str],
        record: store.CodeRecord,
        family: str,
        now: float,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The tokens a code just marked used buys, if the exchange matches its authorization.

        Raises:
            OAuthError: invalid_grant (other client, expired, redirect URI or PKCE mismatch),
                invalid_target.
        """
        if record.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if record.expires_at <= now:
            raise OAuthError("invalid_grant", "authorization code expired")
        given = form.get("redirect_uri")
        if (record.redirect_uri_explicit or given is not None) and given != record.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization")
        if record.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier or not pkce_matches(
                verifier, record.code_challenge, record.code_challenge_method or "plain"
            ):
                raise OAuthError("invalid_grant", "code_verifier does not match the challenge")
        audience = self._address.audience.for_tokens(record.resource, form.get("resource"))
        return self._tokens.mint(client.client_id, record.scopes, family, audience)
