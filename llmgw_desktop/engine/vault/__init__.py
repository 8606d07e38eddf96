"""The encrypted credential vault: API keys and auth files sealed with AES-256-GCM.

`Vault` is the API; `default_key_sources(data_dir)` gives the usual master key sources (the
`LLM_GATEWAY_MASTER_KEY` environment variable, the OS keyring, `<data_dir>/vault.key`).
"""

from llmgw_desktop.engine.vault.errors import VaultCorrupt, VaultError, VaultLocked
from llmgw_desktop.engine.vault.master_key import (
    ENV_VAR,
    EnvKeySource,
    FileKeySource,
    KeyringSource,
    KeySource,
    default_key_sources,
)
from llmgw_desktop.engine.vault.records import DEFAULT_KEY_NAME, GLOBAL_PROJECT
from llmgw_desktop.engine.vault.service import Vault

__all__ = [
    "DEFAULT_KEY_NAME",
    "ENV_VAR",
    "GLOBAL_PROJECT",
    "EnvKeySource",
    "FileKeySource",
    "KeySource",
    "KeyringSource",
    "Vault",
    "VaultCorrupt",
    "VaultError",
    "VaultLocked",
    "default_key_sources",
]
