"""Which action the guard takes for a request: by the provider it is sent to and the caller
sending it (`[guard]`).

A provider named in `guard.providers` takes that action; else a provider on this machine (its
base URL on loopback) is left alone while `guard.exempt_local` is on, whoever calls, since
nothing leaves. A caller named in `guard.keys` takes its action; named in both, the stricter
of the two wins (`STRICTNESS`), so neither a provider's `warn` loosens a key's `block` nor the
other way round. Otherwise `guard.secrets` holds.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from llmgw_desktop.config.settings_fields import is_loopback
from llmgw_desktop.config.settings_guard import GuardSettings

__all__ = ["STRICTNESS", "action_for", "stays_local"]

# Mildest first: `ask` may send, so `redact` (never sends a secret) is stricter.
STRICTNESS = ("off", "warn", "ask", "redact", "block")


def action_for(settings: GuardSettings, provider: str, principal: str, *, local: bool) -> str:
    """The action for a request from `principal` to `provider` (`local`: its base URL is on
    this machine)."""
    by_provider: str | None = settings.providers.get(provider)
    if by_provider is None and local and settings.exempt_local:
        return "off"
    by_key: str | None = settings.keys.get(principal)
    if by_provider is None:
        return by_key or settings.secrets
    if by_key is None:
        return by_provider
    return max(by_provider, by_key, key=STRICTNESS.index)


def stays_local(base_url: str) -> bool:
    """Whether a provider at `base_url` is on this machine (its host on loopback)."""
    return is_loopback(urlsplit(base_url).hostname or "")
