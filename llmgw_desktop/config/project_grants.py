"""`[projects.grants]` in config.toml: which principals may name which project, checked.

    [projects.grants]
    shop = ["oauth:ci-bot", "user:alice"]

The engine enforces the grants (`engine/auth/projects.py`); this is what a good table is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmgw_desktop.config.principals import is_principal_id

__all__ = ["GLOBAL_PROJECT", "GRANTS_SETTING", "MAX_GRANTS", "check_project_grants"]

# The setting's key, named in every refusal.
GRANTS_SETTING = "projects.grants"
# The vault's shared scope: naming it is naming no project.
GLOBAL_PROJECT = "_global"
# A project name as the doors accept it (`transports/gateway/callers.checked_project`).
_PROJECT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}")
# A table read on every call's check: a screenful, not thousands.
MAX_GRANTS = 1000


def check_project_grants(value: Any) -> str | None:
    """The settings check of `projects.grants`: None when every entry is a good grant."""
    if not isinstance(value, Mapping):
        return "is not a table ([projects.grants] with project = [principals])"
    if sum(len(v) for v in value.values() if isinstance(v, list)) > MAX_GRANTS:
        return f"at most {MAX_GRANTS} grants in all"
    for project, grantees in value.items():
        if not isinstance(project, str) or not _PROJECT.fullmatch(project):
            return (
                f"project {project!r}: a project name is 1 to 64 letters, digits, '_', '.' or "
                "'-', not starting with '.' or '-'"
            )
        if project == GLOBAL_PROJECT:
            return f"project {project!r}: the shared scope needs no grant (every principal has it)"
        if not isinstance(grantees, list) or not all(isinstance(g, str) for g in grantees):
            return f'project {project!r}: must be a list of principals such as ["oauth:ci-bot"]'
        for grantee in grantees:
            if not is_principal_id(grantee):
                return (
                    f"project {project!r}: {grantee!r} is not a principal; name an OAuth client "
                    "as oauth:<client id> or a proxy-named user as user:<name> (local and "
                    "gateway-bearer have every project already)"
                )
    return None
