"""The front door's gatekeeper: which principal a request's credentials stand for.

Credentials, in the order they are tried:
1. the instance token (from the 0600 `instance.json`): the local user, even with auth on;
2. the static bearer token: `gateway-bearer`, or the trusted proxy header's user;
3. a gateway key (`llmgw-...`, `gateway_keys.py`): `key:<name>`, read from the store each time;
4. an OAuth access token: `oauth:<client_id>` with its scopes.
With no credentials, a loopback-only gateway with no authentication configured serves the
local user, who is the account running the gateway: the connection's owner is asked of the OS
(`peer_owner.py`), and another account, or one the OS cannot name, is refused. Anything else
is refused (401) with a pointer to the OAuth metadata.

Wrong credentials are counted after they are checked, never before: a valid credential always
gets in, whoever else is guessing from the same address. Failures are keyed both by what was
presented and by the client's address (through trusted proxies), and only further failures
are throttled.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from multidict import MultiMapping, istr

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.config.settings_fields import is_loopback
from llmgw_desktop.engine.auth.client_address import TrustedProxies, address_key, client_address
from llmgw_desktop.engine.auth.connection_keys import ConnectionKeys
from llmgw_desktop.engine.auth.consent import ConsentQueue, PendingLimits
from llmgw_desktop.engine.auth.gateway_keys import GatewayKeys, KeyVerdict
from llmgw_desktop.engine.auth.guessing import GuessLimits
from llmgw_desktop.engine.auth.hashing import constant_time_equal, token_digest
from llmgw_desktop.engine.auth.peer_owner import OWNER_KNOWABLE, Peer, PeerOwner
from llmgw_desktop.engine.auth.policy import OPEN_REGISTRATION_OPT_IN
from llmgw_desktop.engine.auth.presented import (
    BEARER_ONLY,
    describe_places,
    is_gateway_key,
    presented_credential,
)
from llmgw_desktop.engine.auth.principals import (
    BEARER,
    INSTANCE_TOKEN_HEADER,
    LOCAL_CALLER,
    Principal,
    trusted_name,
)
from llmgw_desktop.engine.auth.rate_limit import RateLimiter
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.store import Database

if TYPE_CHECKING:
    from llmgw_desktop.engine.auth.oauth import OAuthServer
    from llmgw_desktop.engine.auth.oauth_config import OAuthConfig

__all__ = ["AuthService", "Verdict", "oauth_config"]

log = logging.getLogger(__name__)

# Looked up in every request's headers: an `istr`'s case is folded once (`presented.py`).
_INSTANCE_TOKEN = istr(INSTANCE_TOKEN_HEADER)
FAILED_PER_MINUTE = 30
FAILED_BURST = 20
OTHER_ACCOUNT = (
    "this connection comes from another account on this machine; with no authentication "
    "configured the gateway serves only the account that runs it. Connect as that account, "
    "or configure a bearer token (LLM_GATEWAY_AUTH_TOKEN) and present it"
)
# The instance token proves the local user on a connection of unknown owner only where the
# OS can never tell owners (`instance_verdict`): there, the stdio relay is a way in.
_RELAY_WAY_IN = (
    ""
    if OWNER_KNOWABLE
    else "Connect through the stdio relay (`llmgw-desktop mcp`, which presents the instance "
    "token), "
)
OWNER_UNKNOWN = (
    "the gateway cannot tell which account on this machine opened this connection, and with "
    "no authentication configured it serves only the account that runs it. "
    f"{_RELAY_WAY_IN}Configure a bearer token (LLM_GATEWAY_AUTH_TOKEN) and present it, or set "
    "http.open_to_all_local_accounts = true to let every account on this machine in"
)


@dataclass(frozen=True)
class Verdict:
    """Who the request is, or why it is refused."""

    principal: Principal | None
    problem: str = ""  # for the 401 body when principal is None
    # "invalid_token" when a credential was presented but is not good (RFC 6750).
    error: str = ""
    # The refusal's code (a revoked or expired gateway key has its own).
    code: ErrorCode = ErrorCode.UNAUTHORIZED


class AuthService:
    """Decides the principal of each request; holds the OAuth server and the consent queue."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        environ: Mapping[str, str] | None = None,
        instance_token: str = "",
        keys: GatewayKeys | None = None,
        connection_keys: ConnectionKeys | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`instance_token` is the one in this instance's 0600 `instance.json`: it proves the
        local user to the HTTP door even when authentication is on (the stdio relay and a
        second launch use it); empty, no request can present it. `connection_keys`: the keys
        of the agents the gateway runs (shared with `AgentCallbacks`, which issues them).
        `monotonic`: the rate limits' clock."""
        environ = os.environ if environ is None else environ
        self.keys = keys
        # The last key verdict granted, and its Verdict (`authenticate`).
        self._key_granted: tuple[KeyVerdict, Verdict] | None = None
        self._token = settings.http.auth_token
        self._trusted_header = settings.http.trusted_principal_header
        self.instance_token = instance_token
        # Keys of the agents the gateway runs, to call back as their caller.
        self.connection_keys = ConnectionKeys() if connection_keys is None else connection_keys
        self._all_local_accounts = settings.http.open_to_all_local_accounts
        self._told_owner_unknown = False
        self.trusted_proxies = TrustedProxies(settings.http.trusted_proxies)
        # Open to the local user without credentials only when nothing else could reach it.
        self.open_locally = (
            not settings.http.auth_token
            and not settings.http.oauth.enabled
            and is_loopback(settings.http.host)
            and not settings.http.public_url
        )
        self.consent = ConsentQueue(
            timeout_s=settings.http.oauth.consent_timeout_ms / 1000, clock=clock
        )
        # Off by default: its modules (the server, its store, the consent page's logic) load
        # only when it is on (what a start does not need, it does not import).
        self.oauth: OAuthServer | None = None
        if settings.http.oauth.enabled:
            from llmgw_desktop.engine.auth.oauth import OAuthServer

            self.oauth = OAuthServer(db, oauth_config(settings, environ), self.consent, clock=clock)
        self.rate_limits = RateLimiter(
            per_minute=settings.http.rate_limit_per_minute,
            burst=settings.http.rate_limit_burst,
            clock=monotonic,
        )
        # Wrong credentials, per client address and per credential presented: a few mistakes
        # pass, guessing does not. Two maps, so a flood of fresh guesses in one cannot push
        # the other's entries out.
        self.failed_by_address = RateLimiter(
            per_minute=FAILED_PER_MINUTE, burst=FAILED_BURST, clock=monotonic
        )
        self.failed_by_credential = RateLimiter(
            per_minute=FAILED_PER_MINUTE, burst=FAILED_BURST, clock=monotonic
        )

    def check_rate(self, principal_id: str) -> float | None:
        """Count one request of a remote principal: None, or the seconds to wait (over limit).
        A gateway key with its own rate limit is held to that one instead."""
        own = self.keys.limiter_for(principal_id) if self.keys is not None else None
        return (own or self.rate_limits).check(principal_id)

    def rate_limit_words(self, principal_id: str) -> str:
        """Which limit `check_rate` holds the principal to, in words a refusal names: "key
        ci-bot's limit of 3 requests a minute", or the gateway's `http.rate_limit_per_minute`."""
        own = self.keys.limiter_for(principal_id) if self.keys is not None else None
        if own is not None:
            who = principal_id.removeprefix("key:")
            return f"key {who}'s limit of {round(own.per_second * 60)} requests a minute"
        per_minute = round(self.rate_limits.per_second * 60)
        return f"the gateway's limit of {per_minute} requests a minute (http.rate_limit_per_minute)"

    def is_trusted_proxy(self, address: str) -> bool:
        """Whether `address` is one of `http.trusted_proxies` (False for anything unparsable)."""
        return self.trusted_proxies.trusts(address)

    def set_issuer(
        self, url: str, *, resource_bases: Iterable[str] = (), mcp_path: str = "/mcp"
    ) -> None:
        """Tell the OAuth server (when on) where it is reachable, once the port is bound."""
        if self.oauth is not None:
            self.oauth.set_issuer(url, resource_bases=resource_bases, mcp_path=mcp_path)

    def issue_connection_key(self, principal: Principal, caller: str) -> str:
        """A key proving `principal` on the lane `caller`, for an agent the gateway runs for an
        editor to call back with; revoke it when the editor's connection ends.

        Raises:
            RuntimeError: too many are live (`connection_keys.MAX_LIVE_KEYS`).
        """
        return self.connection_keys.issue(principal, caller)

    def revoke_connection_key(self, key: str) -> None:
        """The connection ended: its key proves nothing from now on."""
        self.connection_keys.revoke(key)

    def is_instance_token(self, presented: str) -> bool:
        """Whether `presented` is this instance's local-user token (constant time)."""
        return bool(presented and self.instance_token) and constant_time_equal(
            presented, self.instance_token
        )

    @property
    def bearer_configured(self) -> bool:
        """Whether a static bearer token is set (the dashboard shows it, never its value)."""
        return bool(self._token)

    @property
    def trusted_header(self) -> str:
        """The trusted-principal header's name, or "" when the seam is off."""
        return self._trusted_header

    @property
    def configured(self) -> bool:
        """Whether any authentication method is on (then every request must authenticate)."""
        return not self.open_locally

    async def start(self) -> None:
        if self.oauth is not None:
            await self.oauth.start()

    async def authenticate(
        self,
        headers: MultiMapping[str],
        peer: Peer | None = None,
        *,
        query: Mapping[str, str] | None = None,
        places: tuple[str, ...] = BEARER_ONLY,
    ) -> Verdict:
        """The principal of a request with these headers (and query), over a connection from
        `peer` (None: a caller the edge could not place, which is never the local user by
        default). Besides `Authorization: Bearer`, the credential is read from `places`
        (`presented.py`: where the route's dialect puts its clients' key)."""
        presented_instance = headers.get(_INSTANCE_TOKEN, "")
        if presented_instance and self.instance_token:
            if constant_time_equal(presented_instance, self.instance_token):
                return await self.instance_verdict(peer)
            return Verdict(None, "the instance token is wrong", "invalid_token")
        presented = presented_credential(headers, query, places)
        if presented is None:
            if self.open_locally:
                return await self._local_verdict(peer)
            return Verdict(
                None,
                f"this gateway needs a key ({describe_places(places)}): a gateway key "
                "(llmgw-desktop keys create NAME), the LLM_GATEWAY_AUTH_TOKEN value, or an "
                "access token from its OAuth server",
            )
        key = presented.value
        if ConnectionKeys.is_connection_key(key):
            return await self._connection_verdict(key, peer)
        if self._token and constant_time_equal(key, self._token):
            return self._bearer_verdict(headers)
        if self.keys is not None and is_gateway_key(key):
            # Refused even on a gateway open to the local user: a revoked or expired key
            # must never fall back to the local user's full access.
            checked = await self.keys.verify(key)
            if checked.principal is not None:
                # `verify` gives a key's remembered verdict again while nothing changed: its
                # Verdict here is made once, not at each request.
                granted = self._key_granted
                if granted is None or granted[0] is not checked:
                    granted = self._key_granted = (checked, Verdict(checked.principal))
                return granted[1]
            return Verdict(
                None, f"{checked.problem} (in {presented.place})", "invalid_token", checked.code
            )
        if self.oauth is not None and (principal := await self.oauth.verify(key)):
            return Verdict(principal)
        if self.open_locally:
            # No authentication configured: a client that sends some key anyway (SDKs insist
            # on one) is still the local user, if it is.
            return await self._local_verdict(peer)
        return Verdict(
            None, f"the key in {presented.place} is not valid (or has expired)", "invalid_token"
        )

    async def instance_verdict(self, peer: Peer | None) -> Verdict:
        """The local user, for the right instance token over a connection of the gateway's own
        account. The token is a file the same account can read, so a CLI run for a remote
        caller that reads outside its workspace could hand it over: from any other account or
        machine it proves nothing. Where this OS cannot tell a connection's owner (macOS), the
        token alone still counts."""
        owner = PeerOwner.UNKNOWN if peer is None else await peer.owner()
        if owner is PeerOwner.OWNER or (owner is PeerOwner.UNKNOWN and not OWNER_KNOWABLE):
            return Verdict(LOCAL_CALLER)
        return Verdict(
            None,
            "the instance token is accepted only from the account that runs the gateway, on "
            "this machine",
            "invalid_token",
        )

    async def _connection_verdict(self, key: str, peer: Peer | None) -> Verdict:
        """The caller an agent's connection key stands for; the local user's only from the
        gateway's own account, as the instance token (a model could make the agent read its
        environment out to someone elsewhere)."""
        principal = self.connection_keys.verify(key)
        if principal is None:
            return Verdict(None, "the agent's connection key has ended", "invalid_token")
        if principal.remote:
            return Verdict(principal)
        verdict = await self.instance_verdict(peer)
        return Verdict(principal) if verdict.principal is not None else verdict

    async def _local_verdict(self, peer: Peer | None) -> Verdict:
        """The local user if the connection is the gateway's own account's, else refused."""
        if self._all_local_accounts:
            return Verdict(LOCAL_CALLER)
        owner = PeerOwner.UNKNOWN if peer is None else await peer.owner()
        if owner is PeerOwner.OWNER:
            return Verdict(LOCAL_CALLER)
        if owner is PeerOwner.OTHER:
            return Verdict(None, OTHER_ACCOUNT)
        if not self._told_owner_unknown:
            self._told_owner_unknown = True
            log.warning(
                "cannot tell which account opened a loopback connection; such requests need "
                "a bearer token (said once)"
            )
        return Verdict(None, OWNER_UNKNOWN)

    def client_address(self, peer: str, headers: MultiMapping[str]) -> str:
        """The client's address: the peer, or what a trusted proxy says it forwarded."""
        return client_address(peer, headers, self.trusted_proxies)

    def wrong_credential(
        self,
        headers: MultiMapping[str],
        client: str,
        *,
        query: Mapping[str, str] | None = None,
        places: tuple[str, ...] = BEARER_ONLY,
    ) -> float | None:
        """Count a wrong credential against what was presented (wherever it was: the same
        reading as `authenticate`) and against the client's address; None while both are
        within their allowance, else seconds to wait."""
        instance = headers.get(INSTANCE_TOKEN_HEADER)
        if instance:
            presented = instance
        else:
            found = presented_credential(headers, query, places)
            presented = found.value if found is not None else ""
        waits = [
            wait
            for wait in (
                self.failed_by_credential.check(token_digest(presented)),
                self.failed_by_address.check(address_key(client)),
            )
            if wait is not None
        ]
        return max(waits) if waits else None

    def _bearer_verdict(self, headers: MultiMapping[str]) -> Verdict:
        """The bearer holder, or the user the trusted proxy names. A malformed name is refused
        rather than ignored: falling back to the shared bearer principal would show one user
        another's sessions. So is a second copy of the header: the proxy sets it once, so one
        of the two came from the client, and which one the proxy wrote cannot be told."""
        if self._trusted_header:
            values = headers.getall(self._trusted_header, [])
            if len(values) > 1:
                return Verdict(
                    None,
                    f"the {self._trusted_header} header appears {len(values)} times; the "
                    "trusted proxy sets it once, so the request is refused",
                    "invalid_request",
                )
            if values:
                name = trusted_name(values[0])
                if name is None:
                    return Verdict(
                        None,
                        f"the {self._trusted_header} header is not an acceptable user name "
                        "(letters, digits and . _ @ + -, at most 64)",
                        "invalid_request",
                    )
                return Verdict(Principal(name, "trusted-header"))
        return Verdict(Principal(BEARER, "bearer"))


def oauth_config(settings: Settings, environ: Mapping[str, str]) -> OAuthConfig:
    """The OAuth server's configuration, with the static clients from config.toml."""
    from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
    from llmgw_desktop.engine.auth.oauth_store import ClientRecord

    clients = []
    for client_id, table in settings.http.oauth.clients.items():
        secret_env = table.get("client_secret_env", "")
        digest = table.get("client_secret_sha256") or (
            token_digest(environ[secret_env]) if secret_env and environ.get(secret_env) else None
        )
        clients.append(
            ClientRecord(
                client_id=client_id,
                secret_digest=digest,
                name=table.get("name", client_id),
                redirect_uris=tuple(table["redirect_uris"]),
                scopes=frozenset((table.get("scopes") or "mcp").split()),
                public=bool(table.get("public", False)),
                registered_by="config",
                created_at=0.0,
                metadata={},
            )
        )
    return OAuthConfig(
        require_pkce=settings.http.oauth.require_pkce,
        allow_plain_pkce=settings.http.oauth.allow_plain_pkce,
        allow_public_clients=settings.http.oauth.allow_public_clients,
        registration=_registration_policy(settings.http.oauth.registration, environ),
        registration_secret=settings.http.oauth.registration_secret,
        verify_cache_entries=settings.http.oauth.verify_cache_entries,
        require_consent=settings.http.oauth.require_consent,
        code_ttl_s=settings.http.oauth.code_ttl_s,
        access_token_ttl_s=settings.http.oauth.access_token_ttl_s,
        refresh_token_ttl_s=settings.http.oauth.refresh_token_ttl_s,
        static_clients=tuple(clients),
        consent_password_hash=settings.http.oauth.consent_password_hash,
        guess_limits=GuessLimits(
            settings.http.oauth.wrong_secret_burst, settings.http.oauth.wrong_secret_per_minute
        ),
        pending_limits=PendingLimits(
            settings.http.oauth.max_pending_consents,
            settings.http.oauth.max_pending_consents_per_client,
            settings.http.oauth.max_pending_consents_per_address,
        ),
    )


def _registration_policy(configured: str, environ: Mapping[str, str]) -> str:
    """open_dev only with its environment opt-in; without it registration stays closed. Start-up
    refuses that combination anyway; this keeps the server closed for any caller that builds
    the engine without going through the start-up checks."""
    if configured == "open_dev" and environ.get(OPEN_REGISTRATION_OPT_IN, "").lower() not in (
        "1",
        "true",
        "yes",
        "on",
    ):
        return "static_clients"
    return configured
