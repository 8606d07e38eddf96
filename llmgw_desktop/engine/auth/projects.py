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

from collections.abc import Callable, Mapping, Sequence

from llmgw_desktop.config.principals import OPERATORS
from llmgw_desktop.config.project_grants import GLOBAL_PROJECT, GRANTS_SETTING
from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = ["ProjectForbidden", "ProjectGrants"]


class ProjectForbidden(EngineError):
    """The principal was not granted the project it named (the details say which setting)."""

    code = ErrorCode.FORBIDDEN
    http_status = 403


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
                "(--project, or the Access keys page), or call without a project.",
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
