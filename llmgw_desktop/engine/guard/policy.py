"""Which action the guard takes for a request: by the provider it is sent to and the caller
sending it, for secrets (`guard.secrets`) and for each of the operator's rules (`guard.rules`)
alike.

A provider named in the table of providers takes that action; a caller named in the table of
keys takes its own; named in both, the stricter of the two wins (`STRICTNESS`), so neither a
provider's `warn` loosens a key's `block` nor the other way round; else the default holds. For
secrets, a provider on this machine (its base URL on loopback) is left alone while
`guard.exempt_local` is on, whoever calls, since nothing leaves; a rule holds there too (what
it guards against is what a model is told, wherever it runs) unless its own table of providers
says otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from urllib.parse import urlsplit

from llmgw_desktop.config.guard_rules import GuardRule
from llmgw_desktop.config.settings_fields import is_loopback
from llmgw_desktop.config.settings_guard import GuardSettings

__all__ = ["STRICTNESS", "action_for", "exempt_as_local", "rule_action_for", "stays_local"]

# Mildest first: `ask` may send, so `redact` (never sends a secret) is stricter.
STRICTNESS = ("off", "warn", "ask", "redact", "block")


def action_for(settings: GuardSettings, provider: str, principal: str, *, local: bool) -> str:
    """The action on secrets in a request from `principal` to `provider` (`local`: its base
    URL is on this machine)."""
    if exempt_as_local(settings, provider, local=local):
        return "off"
    return _chosen(settings.secrets, settings.providers, settings.keys, provider, principal)


def exempt_as_local(settings: GuardSettings, provider: str, *, local: bool) -> bool:
    """Whether secrets sent to `provider` go unread because it is on this machine."""
    return local and settings.exempt_local and provider not in settings.providers


def rule_action_for(rule: GuardRule, provider: str, principal: str) -> str:
    """The action on what `rule` matches in a request from `principal` to `provider`."""
    return _chosen(rule.action, rule.providers, rule.keys, provider, principal)


def _chosen(
    default: str,
    providers: Mapping[str, str],
    keys: Mapping[str, str],
    provider: str,
    principal: str,
) -> str:
    by_provider = providers.get(provider)
    by_key = keys.get(principal)
    if by_provider is None:
        return by_key or default
    if by_key is None:
        return by_provider
    return max(by_provider, by_key, key=STRICTNESS.index)


@functools.lru_cache(maxsize=256)
def stays_local(base_url: str) -> bool:
    """Whether a provider at `base_url` is on this machine (its host on loopback). Kept per
    URL: every request asks it of its target's, and the answer is the string's alone."""
    return is_loopback(urlsplit(base_url).hostname or "")
