"""Every API key the gateway would use now, masked, with where it comes from: for the desk.

The Provider keys page listed only the vault, so a gateway running on `OPENAI_API_KEY` from the
environment said "(nothing stored)" while it used that key for every request. This reads each
API provider's global key pool exactly as a request would (`KeyChain.pool`: the vault, then
config.toml, then the environment, in the order they are tried) and says, for each key, its
source in words and a masked form of the value (`vault.records.mask`: a short prefix of a long
key, nothing of a short one). Operator only: even a masked key is the operator's to see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llmgw_desktop.config.api_catalog import ApiProviderSpec
from llmgw_desktop.engine.gateway.keys import KeyChain, PoolKey
from llmgw_desktop.engine.vault.records import mask

__all__ = ["LiveKey", "environment_keys", "keys_in_use"]


@dataclass(frozen=True)
class LiveKey:
    """One key of one provider's pool: its place in the order keys are tried, where it comes
    from (`kind` is vault, config or environment; `where` says it in words) and its value
    masked."""

    provider: str
    order: int
    kind: str
    where: str
    masked_value: str
    # The pool's label of it (`env:OPENAI_API_KEY`): what a refusal of it names (`Trouble.key`).
    label: str = ""


def describe(label: str, provider: str) -> tuple[str, str]:
    """(kind, words) for a pool key's label (`vault:openai#1`, `config#2`, `env:OPENAI_API_KEY`)."""
    if label.startswith("vault:"):
        name, _, number = label.removeprefix("vault:").partition("#")
        return "vault", f"vault, global key {number} of {name}"
    if label.startswith("config#"):
        number = label.removeprefix("config#")
        return "config", f"config.toml [gateway.providers.{provider}], key {number}"
    if label.startswith("env:"):
        return "environment", f"environment variable {label.removeprefix('env:')}"
    return "other", label


async def keys_in_use(keys: KeyChain, specs: Iterable[ApiProviderSpec]) -> list[LiveKey]:
    """The keys each enabled provider that takes a key would use for a request with no
    project, in the order it would try them."""
    found: list[LiveKey] = []
    for spec in specs:
        if not spec.enabled or not spec.needs_key:
            continue
        pool: list[PoolKey] = await keys.pool(spec, None)
        for order, key in enumerate((k for k in pool if k.value), start=1):
            assert key.value is not None
            kind, where = describe(key.label, spec.id)
            found.append(LiveKey(spec.id, order, kind, where, mask(key.value), key.label))
    return found


async def environment_keys(keys: KeyChain, specs: Iterable[ApiProviderSpec]) -> dict[str, str]:
    """The first key each enabled provider reads from an environment variable, by provider:
    what the desk keeps in the vault when the person asks (its empty vault's next step)."""
    found: dict[str, str] = {}
    for spec in specs:
        if not spec.enabled or not spec.needs_key:
            continue
        for key in await keys.pool(spec, None):
            if key.value and key.label.startswith("env:"):
                found.setdefault(spec.id, key.value)
    return found
