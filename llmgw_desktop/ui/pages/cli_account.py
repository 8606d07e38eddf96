"""A vendor CLI's login in words (logged in as, API key, not logged in, or cannot tell and
why) and its plan where the CLI keeps one: the Providers page's Login line for each CLI.

Read through `engine.cli_accounts` from the CLIs' own files: read-only and offline (no login
is started from here; the CLI's own `login` command does that). Never a token or key.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import SHIPPED_CATALOG, CliAccount, ProviderCatalog

__all__ = ["account_cells"]


def account_cells(
    account: CliAccount, catalog: ProviderCatalog = SHIPPED_CATALOG
) -> tuple[str, ...]:
    """The row shown for one CLI (named as the engine's `catalog` names it: an ACP agent the
    config adds is in no shipped table)."""
    login = account.state if not account.method else f"{account.state} ({account.method})"
    known = account.provider in catalog.ids
    return (
        catalog.info(account.provider).display_name if known else account.provider,
        login,
        account.account or "",
        account.plan or "",
        account.detail,
    )
