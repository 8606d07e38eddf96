"""The OAuth server's settings, as `[http.oauth]` gives them (`auth/service.py`'s
`oauth_config` reads them); every part of the server reads its own fields from this one value."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmgw_desktop.engine.auth.consent import PendingLimits
from llmgw_desktop.engine.auth.guessing import GuessLimits
from llmgw_desktop.engine.auth.oauth_store import ClientRecord
from llmgw_desktop.engine.auth.verify_cache import DEFAULT_MAX_ENTRIES

__all__ = ["OAuthConfig"]


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
    static_clients: tuple[ClientRecord, ...] = ()
    consent_password_hash: str = ""
    guess_limits: GuessLimits = field(default_factory=GuessLimits)
    pending_limits: PendingLimits = field(default_factory=PendingLimits)
    # Verifications remembered, of valid and of refused tokens each (`VerifiedTokens`).
    verify_cache_entries: int = DEFAULT_MAX_ENTRIES
