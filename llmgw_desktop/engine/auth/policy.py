"""Start-up refuses configurations that would open the gateway to the network by accident.

The decision looks at what the server binds to and the public URL configured, never at a
request's `Host` header (which the caller chooses). Each problem is one message saying what is
wrong and what would fix it; any problem stops start-up. Guessable static secrets are
problems too (`token_strength.py`). Plain HTTP reachable from the network is a warning, not a
problem: TLS may be terminated by something the gateway cannot see.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.config.settings_fields import MIN_TOKEN_CHARS, is_loopback
from llmgw_desktop.engine.auth.token_strength import GOOD_SECRET_RECIPE, weakness

__all__ = ["OPEN_REGISTRATION_OPT_IN", "plain_http_exposed", "startup_problems", "startup_warnings"]

OPEN_REGISTRATION_OPT_IN = "LLM_GATEWAY_OAUTH_ALLOW_OPEN_REGISTRATION"
_TRUE = {"1", "true", "yes", "on"}


def startup_problems(settings: Settings, environ: Mapping[str, str], *, desktop: bool) -> list[str]:
    """What is unsafe about these settings (empty: safe to start)."""
    problems: list[str] = []
    loopback_only = is_loopback(settings.http.host) and not settings.http.public_url
    has_auth = bool(settings.http.auth_token) or settings.http.oauth.enabled
    if not is_loopback(settings.http.host) and not has_auth:
        problems.append(
            f"http.host is {settings.http.host!r}, which other machines can reach, and no "
            "authentication is configured: set LLM_GATEWAY_AUTH_TOKEN (32+ characters) or "
            "enable [http.oauth], or bind to 127.0.0.1"
        )
    if settings.http.auth_token and (why := weakness(settings.http.auth_token)):
        problems.append(
            f"http.auth_token (LLM_GATEWAY_AUTH_TOKEN) is guessable: {why}; make a random "
            f"one with: {GOOD_SECRET_RECIPE}"
        )
    if settings.http.oauth.enabled:
        registration = settings.http.oauth.registration
        if registration == "open_dev" and environ.get(OPEN_REGISTRATION_OPT_IN, "") not in _TRUE:
            problems.append(
                "http.oauth.registration = open_dev lets anyone register a client; it also "
                f"needs {OPEN_REGISTRATION_OPT_IN}=1 in the environment (development only)"
            )
        if registration == "shared_secret" and len(settings.http.oauth.registration_secret) < (
            MIN_TOKEN_CHARS
        ):
            problems.append(
                "http.oauth.registration = shared_secret needs http.oauth.registration_secret "
                f"(LLM_GATEWAY_OAUTH_REGISTRATION_SECRET, {MIN_TOKEN_CHARS}+ characters)"
            )
        elif registration == "shared_secret" and (
            why := weakness(settings.http.oauth.registration_secret)
        ):
            problems.append(
                "http.oauth.registration_secret (LLM_GATEWAY_OAUTH_REGISTRATION_SECRET) is "
                f"guessable: {why}; make a random one with: {GOOD_SECRET_RECIPE}"
            )
        risky = [
            name
            for name, on in (
                (
                    "public clients (http.oauth.allow_public_clients)",
                    settings.http.oauth.allow_public_clients,
                ),
                (
                    "open registration (http.oauth.registration = open_dev)",
                    registration == "open_dev",
                ),
            )
            if on
        ]
        if risky and not loopback_only and not settings.http.allow_dangerous_config:
            public = settings.http.public_url or "-"
            problems.append(
                f"{' and '.join(risky)} on a gateway reachable from the network "
                f"(http.host {settings.http.host!r}, public URL {public}): "
                "refused; turn them off, bind to 127.0.0.1, or set "
                "LLM_GATEWAY_ALLOW_DANGEROUS_CONFIG=1 if you really mean it"
            )
        if (
            settings.http.oauth.require_consent
            and not desktop
            and not settings.http.oauth.consent_password_hash
        ):
            problems.append(
                "http.oauth.require_consent is on, but headless there is no desk to approve at "
                "and no consent password: set http.oauth.consent_password_hash (make one with "
                "`llmgw-desktop hash-password`)"
            )
    if settings.http.trusted_principal_header and not settings.http.auth_token:
        problems.append(
            "http.trusted_principal_header is only honoured on requests that also present the "
            "static bearer token; set LLM_GATEWAY_AUTH_TOKEN as well"
        )
    return problems


def plain_http_exposed(settings: Settings) -> bool:
    """Whether callers on the network reach the gateway without TLS: it binds beyond loopback
    or is published at a URL, and that URL is not https (no TLS proxy in front)."""
    reachable = not is_loopback(settings.http.host) or bool(settings.http.public_url)
    return reachable and not settings.http.public_url.startswith("https://")


def startup_warnings(settings: Settings) -> list[str]:
    """What is risky but allowed about these settings, to log at start-up."""
    if not plain_http_exposed(settings):
        return []
    public = settings.http.public_url or "not set"
    return [
        f"the gateway is reachable from the network (http.host {settings.http.host!r}, "
        f"http.public_url {public}) over plain HTTP: tokens and prompts cross the network "
        "readable by anyone on the path. Put a TLS-terminating proxy in front and set "
        "http.public_url to its https:// address"
    ]
