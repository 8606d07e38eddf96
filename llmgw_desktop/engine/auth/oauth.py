"""The built-in OAuth 2.0 authorization server: registration, authorization codes with PKCE,
tokens with refresh rotation and reuse detection, revocation, and verification.

Transport-free: the HTTP routes (`transports/oauth_routes.py`) parse requests and render
answers; everything decided is decided here. `OAuthServer` is the one face the front doors and
the desk use; the work is done by its parts, one concept each: the clients (`oauth_clients.py`:
registration, client authentication), the authorization_code grant (`oauth_code_grant.py`),
the tokens (`oauth_tokens.py`: minted, the refresh_token grant, revoked, verified) and the
operator's desk (`oauth_desk.py`). Tokens are for this gateway only (RFC 8707 audience,
`oauth_resource.py`), and wrong client and registration secrets are throttled across
requests (`guessing.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from llmgw_desktop.engine.auth import oauth_store as store
from llmgw_desktop.engine.auth.consent import ConsentQueue, PendingConsent
from llmgw_desktop.engine.auth.consent_web import WebConsent
from llmgw_desktop.engine.auth.oauth_clients import OAuthClients
from llmgw_desktop.engine.auth.oauth_code_grant import CodeGrant
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.oauth_desk import OAuthDesk
from llmgw_desktop.engine.auth.oauth_resource import Audience, GatewayAddress
from llmgw_desktop.engine.auth.oauth_rules import OAuthError
from llmgw_desktop.engine.auth.oauth_tokens import OAuthTokens
from llmgw_desktop.engine.store import Database

__all__ = ["OAuthServer"]

log = logging.getLogger(__name__)


class OAuthServer:
    """Issues and checks OAuth credentials; one per engine when `[http.oauth]` is enabled.

    Its endpoints: `register` (`OAuthClients.register`), `authorize` and `consent_outcome`
    (`CodeGrant`), `token` and `revoke` (below), `verify` (`OAuthTokens.verify`), and the
    desk's `issue_for_desk`, `grants`, `clients`, `revoke_grant` and `revoke_client`
    (`OAuthDesk`).
    """

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
        self._address = GatewayAddress()
        self._clients = OAuthClients(db, config, clock=clock)
        self._tokens = OAuthTokens(db, config, self._address, clock=clock)
        self._codes = CodeGrant(
            db,
            config,
            consent,
            clients=self._clients,
            tokens=self._tokens,
            address=self._address,
            clock=clock,
        )
        self._desk = OAuthDesk(db, config, self._tokens, clock=clock)
        self.web_consent = WebConsent(
            consent, config.consent_password_hash, config.guess_limits, clock=clock
        )
        # The endpoints one part answers alone are that part's own methods (their docstrings
        # say what each raises): registration, the browser's authorization and its consent,
        # the desk's tokens, grants and clients, and verification.
        self.register = self._clients.register
        self.authorize = self._codes.authorize
        self.consent_outcome = self._codes.consent_outcome
        self.issue_for_desk = self._desk.issue
        self.revoke_client = self._desk.revoke_client
        self.revoke_grant = self._desk.revoke_grant
        self.grants = self._desk.grants
        self.clients = self._desk.clients
        self.verify = self._tokens.verify

    @property
    def issuer(self) -> str:
        """The issuer as OAuth metadata renders it; empty until `set_issuer`."""
        return self._address.issuer

    @property
    def audience(self) -> Audience:
        """The resource identifiers tokens may be for (none until `set_issuer`)."""
        return self._address.audience

    def set_issuer(
        self, url: str, *, resource_bases: Iterable[str] = (), mcp_path: str = "/mcp"
    ) -> None:
        """The issuer as OAuth metadata renders it (a root URL gets its trailing slash), and
        the resource identifiers tokens may be for: the issuer, `resource_bases` (other
        addresses of this gateway) and the MCP endpoint under each."""
        self._address.set(url, resource_bases, mcp_path)
        self._tokens.forget_verifications()

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

    async def token(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, *, remote: str = ""
    ) -> dict[str, Any]:
        """The token endpoint: authorization_code and refresh_token grants.

        Raises:
            OAuthError: invalid_client (401), too many wrong secrets (429), invalid_grant,
                invalid_target, unsupported_grant_type, ...
        """
        client = await self._clients.authenticate(form, basic, remote)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return await self._codes.exchange(client, form)
        if grant == "refresh_token":
            return await self._tokens.refresh(client, form)
        raise OAuthError(
            "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"
        )

    async def revoke(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, *, remote: str = ""
    ) -> None:
        """RFC 7009: revoke the grant a token belongs to (unknown tokens are not an error).

        Raises:
            OAuthError: invalid_client (401), too many wrong secrets (429).
        """
        client = await self._clients.authenticate(form, basic, remote)
        await self._tokens.revoke_presented(client, form.get("token", ""))
