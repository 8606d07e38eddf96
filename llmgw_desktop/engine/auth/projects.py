"""Who may call under a project: the operator grants each project to principals.

A project is a credential and budget scope: a call naming one uses that project's vault API
keys and CLI login files, and counts against its `project=` budgets. So naming a project is a
capability the operator hands out, in `config.toml`:

    [projects.grants]
    shop = ["oauth:ci-bot", "user:alice"]

The local user and the operator by token (`gateway-bearer`) may use every project; any other
principal only the projects that list it. A gateway key may also carry projects in its own
scope (`key_scope.py`), granted its `key:<name>` principal as if listed here. A call naming no
project (or `_global`, the vault's shared scope) needs no grant. The check runs where the
engine takes a call's project, once per call (`GatewayService.chat`,
`ProviderCalls.submit`), so every front door is covered, and before a listing reads a
project's key pool (`/v1/providers?project=`, the model lists under `X-Project`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmgw_desktop.engine.auth.principals import BEARER, LOCAL
from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = [
    "GRANTS_SETTING",
    "ProjectForbidden",
    "ProjectGrants",
    "check_project_grants",
    "is_principal_id",
]

# The setting's key, named in every refusal.
GRANTS_SETTING = "projects.grants"
# The vault's shared scope: naming it is naming no project.
GLOBAL_PROJECT = "_global"
# Always granted every project: the operator (at the desk, or holding the static token).
OPERATORS = frozenset({LOCAL, BEARER})
# A project name as the doors accept it (`transports/gateway/callers.checked_project`).
_PROJECT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}")
# A principal a grant may name: an OAuth client id, or a name a trusted proxy sends.
_GRANTEE = re.compile(
    r"oauth:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|(?:user|key):[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}"
)
# A table read on every call's check: a screenful, not thousands.
MAX_GRANTS = 1000


def is_principal_id(value: str) -> bool:
    """Whether a setting may name `value` as a principal (grants, budgets)."""
    return value in OPERATORS or _GRANTEE.fullmatch(value) is not None


class ProjectForbidden(EngineError):
    """The principal was not granted the project it named (the details say which setting)."""

    code = ErrorCode.FORBIDDEN
    http_status = 403


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


class ProjectGrants:
    """The operator's grants, checked before a call uses a project's credentials or budget."""

    def __init__(
        self,
        grants: Mapping[str, Sequence[str]],
        *,
        key_projects: Callable[[str], frozenset[str]] | None = None,
    ) -> None:
        """`grants` as `projects.grants` holds it (the settings check already accepted it);
        `key_projects` names the projects a gateway key's own scope grants its principal."""
        self._grants = {project: frozenset(who) for project, who in grants.items()}
        self._key_projects = key_projects or (lambda _principal: frozenset())

    def allows(self, principal: str, project: str | None) -> bool:
        """Whether `principal` may make calls under `project`."""
        if project is None or project == GLOBAL_PROJECT or principal in OPERATORS:
            return True
        if principal in self._grants.get(project, frozenset()):
            return True
        return project in self._key_projects(principal)

    def require(self, principal: str, project: str | None) -> None:
        """Refuse a call under a project its principal was not granted.

        Raises:
            ProjectForbidden: code `forbidden` (`outside_key_scope` for a gateway key), naming
                the project, the principal and the setting that would allow it.
        """
        if self.allows(principal, project):
            return
        if principal.startswith("key:"):
            raise ProjectForbidden(
                f"project {project!r} is outside the scope of gateway key {principal}: a "
                "project's vault keys, CLI logins and budgets are the operator's to hand out. "
                "To allow it, have the operator make the key with that project in its scope "
                "(--project, or the Keys page), or call without a project.",
                code=ErrorCode.OUTSIDE_KEY_SCOPE,
                project=project,
                principal=principal,
            )
        # Who else holds the project is not the refused caller's business: not named.
        raise ProjectForbidden(
            f"project {project!r} is not granted to {principal}: a project's vault keys, CLI "
            f"logins and budgets are the operator's to hand out. To allow it, add "
            f'"{principal}" to {project} in [{GRANTS_SETTING}] in config.toml '
            f'({project} = ["{principal}"]), or call without a project.',
            project=project,
            principal=principal,
            setting=f"{GRANTS_SETTING}.{project}",
        )
