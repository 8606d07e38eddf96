"""The built-in OAuth 2.0 authorization server: registration, authorization codes with PKCE,
tokens with refresh rotation and reuse detection, revocation, and verification.

Transport-free: the HTTP routes (`transports/oauth_routes.py`) parse requests and render
answers; everything decided is decided here. Codes are single use and short-lived; tokens are
stored hashed and survive a restart; presenting a refresh token that was already rotated
revokes every token of that grant. Tokens are for this gateway only (RFC 8707 audience,
`oauth_resource.py`), and wrong client and registration secrets are throttled across
requests (`guessing.py`).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from llmgw_desktop.engine.auth import oauth_store as store
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.consent import (
    ConsentQueue,
    ConsentRequest,
    PendingConsent,
    PendingLimits,
)
from llmgw_desktop.engine.auth.consent_web import WebConsent
from llmgw_desktop.engine.auth.guessing import GuessGuard, GuessLimits, address_key
from llmgw_desktop.engine.auth.hashing import constant_time_equal, new_token, token_digest
from llmgw_desktop.engine.auth.oauth_resource import Audience
from llmgw_desktop.engine.auth.oauth_rules import (
    SUPPORTED_SCOPES,
    OAuthError,
    check_pkce_request,
    parse_scopes,
    pkce_matches,
    registration_metadata,
    throttled,
)
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.auth.verify_cache import DEFAULT_MAX_ENTRIES, VerifiedTokens
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.store import Database

__all__ = ["AuthorizationStep", "DeskToken", "OAuthConfig", "OAuthServer", "issuer_url"]

log = logging.getLogger(__name__)

# How long a verified access token is believed without asking the store again. Revocation
# in this process clears the cache at once; on a store other gateway processes share, a
# revocation there is seen here only when the entry runs out, so the belief is kept short.
VERIFY_CACHE_S = 30.0
SHARED_STORE_VERIFY_CACHE_S = 2.0
# The throttle's client key for secrets not tied to a known client.
REGISTRATION_KEY = "(registration)"
UNKNOWN_CLIENT_KEY = "(unknown client)"


def _public_clients_off() -> OAuthError:
    return OAuthError(
        "invalid_client",
        "public clients are not allowed here (http.oauth.allow_public_clients)",
        status=401,
    )


@dataclass(frozen=True)
class OAuthConfig:
    """The OAuth server's settings (from `[http.oauth]`)."""

    require_pkce: bool = True
    allow_plain_pkce: bool = False
    allow_public_clients: bool = False
    registration: str = "static_clients"
    registration_secret: str = ""
    require_consent: bool = False
    code_ttl_s: float = 300.0
    access_token_ttl_s: float = 3600.0
    refresh_token_ttl_s: float = 30 * 86400.0
    static_clients: tuple[store.ClientRecord, ...] = ()
    consent_password_hash: str = ""
    guess_limits: GuessLimits = field(default_factory=GuessLimits)
    pending_limits: PendingLimits = field(default_factory=PendingLimits)
    # Verifications remembered, of valid and of refused tokens each (`VerifiedTokens`).
    verify_cache_entries: int = DEFAULT_MAX_ENTRIES


@dataclass(frozen=True)
class DeskToken:
    """An access token the desk issued for one app: its value (shown once), its client and
    grant (revoked like any other in the Access panel), its scopes and when it ends."""

    access_token: str
    client_id: str
    grant_id: str
    scopes: tuple[str, ...]
    expires_at: float


# Desk-issued clients are named after the app: `desk-` and its name as an id can hold it.
_DESK_CLIENT_PREFIX = "desk-"
_UNSAFE_ID = re.compile(r"[^a-z0-9]+")


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


class OAuthServer:
    """Issues and checks OAuth credentials; one per engine when `[http.oauth]` is enabled."""

    def __init__(
        self,
        db: Database,
        config: OAuthConfig,
        consent: ConsentQueue,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.config = config
        self.consent = consent
        self._clock = clock
        self.issuer = ""
        self._waiting: dict[str, _Waiting] = {}
        self._verified = VerifiedTokens(config.verify_cache_entries)
        # Until the address is known (set_issuer), no resource is ours: fail closed.
        self.audience = Audience()
        self.web_consent = WebConsent(
            consent, config.consent_password_hash, config.guess_limits, clock=clock
        )
        self._secrets_guard = GuessGuard(config.guess_limits)

    def set_issuer(
        self, url: str, *, resource_bases: Iterable[str] = (), mcp_path: str = "/mcp"
    ) -> None:
        """The issuer as OAuth metadata renders it (a root URL gets its trailing slash), and
        the resource identifiers tokens may be for: the issuer, `resource_bases` (other
        addresses of this gateway) and the MCP endpoint under each."""
        self.issuer = issuer_url(url)
        self.audience = Audience([url, *resource_bases], mcp_path)
        self._verified.clear()

    @property
    def consent_required(self) -> bool:
        """Whether every authorization waits for a person's consent."""
        return self.config.require_consent

    @property
    def desk_attached(self) -> bool:
        """Whether a desk (the window) is there to answer consents."""
        return self.consent.desk_attached

    def pending_consent(self, consent_id: str) -> PendingConsent | None:
        """The consent `consent_id` while it waits, else None."""
        return self.consent.get(consent_id)

    async def start(self) -> None:
        """Store the config's static clients; drop config clients no longer listed."""
        clients, now = self.config.static_clients, self._clock()
        dropped = await self._db.run(
            lambda: store.sync_config_clients(self._db.models, clients, now)
        )
        if dropped:
            log.info("oauth: removed %d client(s) no longer in config.toml", dropped)

    # -- registration ------------------------------------------------------------------

    async def register(
        self, body: Mapping[str, Any], presented_secret: str | None, *, remote: str = ""
    ) -> dict[str, Any]:
        """RFC 7591 dynamic registration, as the registration policy allows.

        Raises:
            OAuthError: registration closed (403), missing or wrong secret (401), too many wrong
                secrets (429), bad metadata.
        """
        policy = self.config.registration
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
                and constant_time_equal(presented_secret, self.config.registration_secret)
            ):
                log.warning("oauth: wrong registration secret from %s", address)
                raise OAuthError(
                    "invalid_token",
                    "registration needs the registration secret as a bearer token",
                    status=401,
                )
            self._secrets_guard.succeeded(REGISTRATION_KEY, address)
        accepted = registration_metadata(body, allow_public=self.config.allow_public_clients)
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

    # -- authorization -----------------------------------------------------------------

    async def authorize(self, params: Mapping[str, str], *, requester: str) -> AuthorizationStep:
        """Check an authorization request and issue a code, or open a consent question."""
        client_id = params.get("client_id", "")
        client = await self._client(client_id) if client_id else None
        if client is None:
            return AuthorizationStep(
                error=OAuthError("invalid_client", f"unknown client_id {client_id!r}")
            )
        if client.public and not self.config.allow_public_clients:
            # A public client listed in config.toml must not slip past allow_public_clients
            # (off by default, and refused by start-up policy on a reachable gateway).
            return AuthorizationStep(error=_public_clients_off())
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
                required=self.config.require_pkce or client.public,
                allow_plain=self.config.allow_plain_pkce,
            )
            audience = self.audience.check(params.get("resource"))
        except OAuthError as exc:
            return AuthorizationStep(redirect=self._redirect(redirect_uri, state, exc.to_dict()))
        waiting = _Waiting(
            client, redirect_uri, explicit, scopes, challenge, method, audience, state
        )
        if not self.config.require_consent:
            return AuthorizationStep(redirect=await self._issue_code(waiting))
        try:
            pending = self.consent.ask(
                ConsentRequest(
                    client_id=client.client_id,
                    client_name=client.name or client.client_id,
                    redirect_uri=redirect_uri,
                    scopes=scopes,
                    requester=requester,
                ),
                self.config.pending_limits,
            )
        except OAuthError as exc:
            # A flood, not a client mistake: answered here, without a redirect to follow.
            return AuthorizationStep(error=exc)
        # The queue forgets answered questions after a while (in ask()); drop their parked
        # requests with them, so a long-running gateway does not collect them forever.
        for forgotten in [cid for cid in self._waiting if self.consent.get(cid) is None]:
            del self._waiting[forgotten]
        self._waiting[pending.id] = waiting
        return AuthorizationStep(consent=pending)

    async def consent_outcome(self, consent_id: str) -> str | None:
        """Where the browser goes once consent was given or refused; None while undecided.

        The code is issued once, when first asked for after approval.
        """
        pending = self.consent.get(consent_id)
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
            expires_at=now + self.config.code_ttl_s,
            used_at=None,
        )
        digest = token_digest(code)
        await self._db.run(lambda: store.insert_code(self._db.models, digest, record, now))
        return self._redirect(waiting.redirect_uri, waiting.state, {"code": code})

    def _redirect(self, uri: str, state: str | None, values: dict[str, str]) -> str:
        query = dict(values)
        if state is not None:
            query["state"] = state
        if self.issuer:
            query["iss"] = self.issuer  # RFC 9207: which server answered
        return uri + ("&" if "?" in uri else "?") + urlencode(query)

    # -- tokens --------------------------------------------------------------------------

    async def token(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, *, remote: str = ""
    ) -> dict[str, Any]:
        """The token endpoint: authorization_code and refresh_token grants.

        Raises:
            OAuthError: invalid_client (401), too many wrong secrets (429), invalid_grant,
                invalid_target, unsupported_grant_type, ...
        """
        client = await self._authenticate_client(form, basic, remote)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return await self._exchange_code(client, form)
        if grant == "refresh_token":
            return await self._refresh(client, form)
        raise OAuthError(
            "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"
        )

    async def _exchange_code(
        self, client: store.ClientRecord, form: Mapping[str, str]
    ) -> dict[str, Any]:
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
            await self._db.run(lambda: store.revoke_family(self._db.models, digest, now))
            self._verified.clear()
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
        audience = self.audience.for_tokens(record.resource, form.get("resource"))
        return self._token_rows(client.client_id, record.scopes, family, audience)

    async def _refresh(self, client: store.ClientRecord, form: Mapping[str, str]) -> dict[str, Any]:
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
        audience = self.audience.for_tokens(token.resource, form.get("resource"))
        rows, answer = self._token_rows(client.client_id, scopes, token.family_id, audience)
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

    def _token_rows(
        self, client_id: str, scopes: tuple[str, ...], family: str, resource: str | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
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
                "expires_at": now + self.config.access_token_ttl_s,
            },
            common
            | {
                "token_digest": token_digest(refresh),
                "kind": "refresh",
                "expires_at": now + self.config.refresh_token_ttl_s,
            },
        ]
        answer = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.config.access_token_ttl_s),
            "refresh_token": refresh,
            "scope": " ".join(scopes),
        }
        return rows, answer

    async def issue_for_desk(
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
        rows, answer = self._token_rows(client.client_id, wanted, family, None)
        lifetime = now + self.config.refresh_token_ttl_s
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

    async def revoke(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, *, remote: str = ""
    ) -> None:
        """RFC 7009: revoke the grant a token belongs to (unknown tokens are not an error).

        Raises:
            OAuthError: invalid_client (401), too many wrong secrets (429).
        """
        client = await self._authenticate_client(form, basic, remote)
        digest, now = token_digest(form.get("token", "")), self._clock()
        token = await self._db.run(lambda: store.get_token(self._db.models, digest))
        if token is not None and token.client_id == client.client_id:
            await self._db.run(lambda: store.revoke_family(self._db.models, token.family_id, now))
            self._verified.clear()

    async def revoke_client(self, principal: Principal, client_id: str) -> int:
        """Revoke every token of a client (the dashboard's revoke button).

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.OAUTH_GRANTS)
        now = self._clock()
        count = await self._db.run(
            lambda: store.revoke_client_tokens(self._db.models, client_id, now)
        )
        self._verified.clear()
        return int(count)

    async def revoke_grant(self, principal: Principal, family_id: str) -> int:
        """Revoke one grant: the access and refresh tokens of one authorization.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.OAUTH_GRANTS)
        now = self._clock()
        count = await self._db.run(lambda: store.revoke_family(self._db.models, family_id, now))
        self._verified.clear()
        return int(count)

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
            and self.audience.is_ours(token.resource)
        ):
            principal = Principal(f"oauth:{token.client_id}", "oauth", frozenset(token.scopes))
        believed_for = SHARED_STORE_VERIFY_CACHE_S if self._db.engine.shared else VERIFY_CACHE_S
        until = min(now + believed_for, token.expires_at if token is not None else now)
        self._verified.put(digest, max(until, now + 1.0) if principal is None else until, principal)
        return principal

    async def _client(self, client_id: str) -> store.ClientRecord | None:
        return await self._db.run(lambda: store.get_client(self._db.models, client_id))

    async def _authenticate_client(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, remote: str
    ) -> store.ClientRecord:
        client_id, secret = (
            basic
            if basic is not None
            else (
                form.get("client_id", ""),
                form.get("client_secret"),
            )
        )
        client = await self._client(client_id) if client_id else None
        if client is not None and client.public:
            if not self.config.allow_public_clients:
                raise _public_clients_off()  # as in authorize(): no tokens while they are off
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

    def metadata_scopes(self) -> list[str]:
        return list(SUPPORTED_SCOPES)


# A path (and query) pydantic leaves as it is: unreserved characters, sub-delimiters and
# %-escapes, no empty `?` or `#`; anything else (spaces, dot segments, IDN) goes to pydantic.
_PLAIN_TAIL = re.compile(
    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)?(\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]+)?"
)


def issuer_url(url: str) -> str:
    """`url` as the MCP SDK's metadata renders an issuer (pydantic's `AnyHttpUrl`): scheme and
    host in lower case, the scheme's default port dropped, an empty path made `/`. Done here
    for the plain ASCII http(s) URLs a gateway has, since importing pydantic costs start-up a
    tenth of a second before the door can open; anything else goes to pydantic itself."""
    parts = urlsplit(url)
    host = parts.hostname
    try:
        port = parts.port
    except ValueError:
        port, host = None, None  # not a port: let pydantic say what is wrong
    tail = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    plain = url.isascii() and _PLAIN_TAIL.fullmatch(tail) is not None and "/." not in tail
    if parts.scheme.lower() not in ("http", "https") or not host or not plain:
        from pydantic import AnyHttpUrl

        return str(AnyHttpUrl(url))
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if parts.username is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))
