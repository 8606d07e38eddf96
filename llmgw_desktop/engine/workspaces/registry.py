"""Workspaces: named directories provider calls run in, and the rule for remote callers.

The operator's registry lives in config.toml (`[workspaces.registry]`); more can be minted by
the workspace tools, inside `workspaces.allowed_roots` only, when the operator opted in
(`LLM_GATEWAY_WORKSPACE_ADMIN=1`) and the caller holds the `workspace:admin` scope. Those are
stored with the principal that made them.

The rule: a local caller may run anywhere it names. A remote caller's work is anchored to a
workspace: one it names, its session's, or `workspaces.default`; naming a raw `workingDir` is
refused. Directories named in `workspaces.denied_names` (such as `.ssh`) are never workspaces,
and symlinks cannot lead out of an allowed root. What a remote caller may make a CLI do in a
workspace is its `Grant` (`remote_power.py`): the entry's own `remote_level`,
`remote_allowed_tools` and `remote_mcp_servers`, else the global `workspaces.remote_level`,
`workspaces.remote_allowed_tools` and `workspaces.remote_mcp_servers`.

A `commands` workspace and one that lets remote callers edit never overlap (`remote_power.py`):
a call in the `commands` one is refused while such a workspace lies inside it or around it
(`overlapping_edits`), and a new workspace that would be one is not made or registered at all,
so a long `commands` run that passed the check cannot have one appear beside it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import LOCAL, Principal
from llmgw_desktop.engine.errors import (
    ApprovalDenied,
    EngineError,
    ErrorCode,
    InvalidRequest,
    NotFound,
)
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.workspaces.remote_power import Grant, allows_edits

__all__ = ["ADMIN_OPT_IN", "Workspace", "WorkspaceRegistry"]

log = logging.getLogger(__name__)

ADMIN_OPT_IN = "LLM_GATEWAY_WORKSPACE_ADMIN"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Workspace:
    name: str
    path: str
    origin: str  # "config", "created" or "registered"
    owner: str  # the principal that made it ("operator" for config entries)
    # What remote callers may do here, when the operator's table says (else the global default).
    remote_level: str | None = None
    remote_allowed_tools: tuple[str, ...] | None = None
    remote_mcp_servers: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "origin": self.origin, "owner": self.owner}


class WorkspaceRegistry:
    """The config registry plus tool-made workspaces, with the remote-call rule."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._db = db
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._denied = frozenset(settings.workspaces.denied_names)
        self._roots = tuple(Path(r).expanduser() for r in settings.workspaces.allowed_roots)
        self._configured = [
            _configured(name, entry) for name, entry in sorted(settings.workspaces.registry.items())
        ]

    # -- reading -----------------------------------------------------------------------

    async def visible(self, principal: str) -> list[Workspace]:
        """The config's workspaces and those `principal` made (others' are not listed)."""
        model = self._db.models.Workspace

        def made() -> list[Workspace]:
            query = model.select().where(model.owner_principal == principal).order_by(model.name)
            return [Workspace(r.name, r.path, r.origin, r.owner_principal) for r in query]

        return self._configured + await self._db.run(made)

    async def get(self, principal: str, name: str) -> Workspace:
        """Raises: NotFound: no such workspace for this principal (code `unknown_workspace`)."""
        for workspace in await self.visible(principal):
            if workspace.name == name:
                return workspace
        raise NotFound(
            f"unknown workspace {name!r}; see workspace_list (or register it under "
            "[workspaces.registry] in config.toml)",
            code=ErrorCode.UNKNOWN_WORKSPACE,
            param="workspace",
        )

    async def at_directory(self, principal: str, directory: str | Path) -> Workspace | None:
        """The workspace (visible to `principal`) whose directory `directory` is, if any."""
        visible = await self.visible(principal)

        def find() -> Workspace | None:
            # resolve() reads symlinks from disk: off the loop.
            target = Path(directory).expanduser().resolve()
            for workspace in visible:
                if Path(workspace.path).expanduser().resolve() == target:
                    return workspace
            return None

        return await asyncio.to_thread(find)

    async def overlapping_edits(self, workspace: Workspace) -> list[str]:
        """The workspaces, anyone's, that let remote callers edit files inside `workspace` or
        around it. Where a `commands` workspace has one, an allowed command could run what a
        remote caller wrote there (`remote_power.py`)."""
        others = [
            w
            for w in await self._everyone()
            if w != workspace and allows_edits(self.grant(w).level)
        ]
        return await asyncio.to_thread(_overlapping, Path(workspace.path), others)

    async def _everyone(self) -> list[Workspace]:
        """Every workspace: the config's and all that were made, whoever made them."""
        model = self._db.models.Workspace

        def made() -> list[Workspace]:
            return [Workspace(r.name, r.path, r.origin, r.owner_principal) for r in model.select()]

        return self._configured + await self._db.run(made)

    async def _not_anothers(self, principal: Principal, path: Path, param: str) -> None:
        """Refuse a remote principal a workspace at, inside or around one another principal
        made: its calls would run in the other's files, which every read otherwise hides
        ("not found"). The config's workspaces are everyone's; the operator may do anything.

        Raises:
            InvalidRequest: code `path_not_allowed` (the other workspace is not named).
        """
        if principal.operator:
            return
        others = [
            w for w in await self._everyone() if w.origin != "config" and w.owner != principal.id
        ]
        if await asyncio.to_thread(_overlapping, path, others):
            raise InvalidRequest(
                f"{path} lies at, inside or around a workspace another caller made; choose a "
                "directory apart from it",
                code=ErrorCode.PATH_NOT_ALLOWED,
                param=param,
            )

    async def _no_commands_around(self, path: Path, param: str) -> None:
        """Refuse a new workspace at `path` that would let remote callers edit inside or around
        a `commands` workspace (what they wrote there, its allowed commands could run).

        Raises:
            ApprovalDenied: code `remote_power_refused`, naming the `commands` workspaces.
        """
        level = self.grant(None).level  # a made workspace has the global level
        if not allows_edits(level):
            return
        commands = [w for w in await self._everyone() if self.grant(w).level == "commands"]
        overlapping = await asyncio.to_thread(_overlapping, path, commands)
        if overlapping:
            raise ApprovalDenied(
                f"{path} lies inside, around or at {', '.join(repr(n) for n in overlapping)}, "
                "which lets remote callers run commands, and a workspace made here would let "
                f"them edit files there ({level!r}, workspaces.remote_level), which those "
                "commands could run; choose a directory apart from it, or the operator sets "
                'workspaces.remote_level = "read-only" or "commands"',
                code=ErrorCode.REMOTE_POWER_REFUSED,
                param=param,
                value=overlapping,
                level=level,
                setting="workspaces.remote_level",
            )

    def grant(self, workspace: Workspace | None) -> Grant:
        """What remote callers may make a CLI do in `workspace` (None: outside every one)."""
        s = self._settings
        level, tools = s.workspaces.remote_level, tuple(s.workspaces.remote_allowed_tools)
        if workspace is not None and workspace.remote_level is not None:
            level = workspace.remote_level
        if workspace is not None and workspace.remote_allowed_tools is not None:
            tools = workspace.remote_allowed_tools
        servers = tuple(s.workspaces.remote_mcp_servers)
        if workspace is not None and workspace.remote_mcp_servers is not None:
            servers = workspace.remote_mcp_servers
        return Grant(
            level=level,
            allowed_tools=frozenset(tools),
            workspace=workspace.name if workspace else None,
            configured=workspace is not None and workspace.origin == "config",
            mcp_servers=frozenset(servers),
        )

    async def anchor(
        self,
        principal: str,
        *,
        workspace: str | None,
        working_dir: str | None,
        has_session: bool = False,
    ) -> str | None:
        """The directory a call runs in, by the rule for local and remote callers.

        Raises:
            InvalidRequest: both given; or a remote caller named a raw directory, or gave no
                workspace where one is needed (code `workspace_required`).
            NotFound: the workspace does not exist for this principal.
        """
        if workspace is not None and working_dir is not None:
            raise InvalidRequest("give workspace or workingDir, not both", param="workspace")
        if workspace is not None:
            return (await self.get(principal, workspace)).path
        if principal == LOCAL:
            return working_dir
        if working_dir is not None:
            raise InvalidRequest(
                "workingDir is only for local callers; a remote call names a registered "
                "workspace (see workspace_list)",
                code=ErrorCode.WORKSPACE_REQUIRED,
                param="workingDir",
            )
        if has_session:
            return None  # the session's own directory, fixed when it was made
        if self._settings.workspaces.default:
            return (await self.get(principal, self._settings.workspaces.default)).path
        raise InvalidRequest(
            "a remote call must run in a registered workspace: name one (workspace), use a "
            "session made in one, or have the operator set workspaces.default",
            code=ErrorCode.WORKSPACE_REQUIRED,
            param="workspace",
        )

    # -- minting -----------------------------------------------------------------------

    async def create(self, principal: Principal, name: str, root: str | None = None) -> Workspace:
        """A new empty directory under an allowed root, registered as `name`.

        Raises:
            EngineError: not switched on, or no allowed roots (code `forbidden`).
            AccessDenied: `principal` may not administer workspaces (code `forbidden`).
            InvalidRequest: a bad name, a root not allowed, the directory exists, or it lies
                inside or around a workspace another principal made (`path_not_allowed`).
            ApprovalDenied: it would let remote callers edit inside or around a `commands`
                workspace (code `remote_power_refused`).
        """
        self._may_administer(principal)
        self._check_name(name)
        await self._check_free(name)
        base = self._root_for(root)
        target = base / name
        await self._not_anothers(principal, target, "root" if root is not None else "name")
        await self._no_commands_around(target, "root" if root is not None else "name")
        await asyncio.to_thread(self._make_dir, target, base)
        return await self._store(principal, name, target, "created")

    async def register_existing_repo(self, principal: Principal, name: str, path: str) -> Workspace:
        """Register an existing git repository inside an allowed root as `name`.

        Raises:
            EngineError: not switched on, or no allowed roots (code `forbidden`).
            AccessDenied: `principal` may not administer workspaces (code `forbidden`).
            InvalidRequest: a bad name, a path that is not a repository inside a root, or one
                at, inside or around a workspace another principal made (`path_not_allowed`).
            ApprovalDenied: it would let remote callers edit inside or around a `commands`
                workspace (code `remote_power_refused`).
        """
        self._may_administer(principal)
        self._check_name(name)
        await self._check_free(name)
        resolved = await asyncio.to_thread(self._checked_repo, path)
        await self._not_anothers(principal, resolved, "path")
        await self._no_commands_around(resolved, "path")
        return await self._store(principal, name, resolved, "registered")

    def _may_administer(self, principal: Principal) -> None:
        if self._environ.get(ADMIN_OPT_IN, "") not in ("1", "true", "yes", "on"):
            raise EngineError(
                f"making workspaces is off: the operator enables it with {ADMIN_OPT_IN}=1",
                code=ErrorCode.FORBIDDEN,
            )
        # Who may: the operator, or a caller granted workspace:admin (the access table).
        require(principal, Capability.WORKSPACE_ADMIN)
        if not self._roots:
            raise EngineError(
                "no workspaces.allowed_roots are configured, so there is nowhere to make one",
                code=ErrorCode.FORBIDDEN,
            )

    def _check_name(self, name: str) -> None:
        if not _NAME.fullmatch(name):
            raise InvalidRequest(
                "name: letters, digits, '.', '_' or '-' (at most 64), not starting with '.'",
                param="name",
            )
        if name in self._settings.workspaces.registry:
            raise InvalidRequest(f"workspace {name!r} already exists", param="name")

    async def _check_free(self, name: str) -> None:
        model = self._db.models.Workspace
        if await self._db.run(lambda: model.get_or_none(model.name == name)) is not None:
            raise InvalidRequest(f"workspace {name!r} already exists", param="name")

    def _root_for(self, root: str | None) -> Path:
        if root is None:
            return self._roots[0]
        for candidate in self._roots:
            if Path(root).expanduser() == candidate:
                return candidate
        # path_not_allowed like every other way out of the allowed roots.
        raise InvalidRequest(
            f"root {root!r} is not one of workspaces.allowed_roots",
            code=ErrorCode.PATH_NOT_ALLOWED,
            param="root",
        )

    def _inside_a_root(self, path: Path) -> bool:
        """`path` (already resolved, symlinks followed) lies inside an allowed root."""
        for root in self._roots:
            real_root = root.resolve()
            if path == real_root or real_root in path.parents:
                return not self._denied.intersection(path.relative_to(real_root).parts)
        return False

    def _make_dir(self, target: Path, base: Path) -> None:
        resolved_base = base.resolve()
        if not resolved_base.is_dir():
            raise InvalidRequest(f"the root {base} does not exist", param="root")
        # is_symlink too: a dangling link reads as absent, and mkdir would then fail with an
        # OSError (an internal error to the caller) instead of this answer.
        if target.exists() or target.is_symlink():
            raise InvalidRequest(f"{target} already exists", param="name")
        target.mkdir(mode=0o750)
        if not self._inside_a_root(target.resolve()):
            target.rmdir()
            raise InvalidRequest(
                "the new directory would lie outside the allowed roots (or be a denied "
                "directory such as .ssh)",
                code=ErrorCode.PATH_NOT_ALLOWED,  # as for register_existing_repo's escapes
                param="name",
            )

    def _checked_repo(self, path: str) -> Path:
        given = Path(path).expanduser()
        if not given.is_absolute():
            raise InvalidRequest("path must be absolute", param="path")
        if ".." in given.parts:
            # A '..' is an attempt to leave the root: the same code as every other escape.
            raise InvalidRequest(
                "path must not contain '..'", code=ErrorCode.PATH_NOT_ALLOWED, param="path"
            )
        resolved = given.resolve()  # follows symlinks: a link cannot lead out of a root
        if not self._inside_a_root(resolved):
            raise InvalidRequest(
                f"{path!r} is not inside workspaces.allowed_roots (or lies in a denied "
                "directory such as .ssh)",
                code=ErrorCode.PATH_NOT_ALLOWED,
                param="path",
            )
        if not (resolved / ".git").exists():
            raise InvalidRequest(f"{path!r} is not a git repository", param="path")
        return resolved

    async def _store(self, principal: Principal, name: str, path: Path, origin: str) -> Workspace:
        model, now = self._db.models.Workspace, self._clock()

        def insert() -> bool:
            if model.get_or_none(model.name == name) is not None:
                return False
            model.insert(
                name=name,
                path=str(path),
                owner_principal=principal.id,
                origin=origin,
                created_at=now,
            ).execute()
            return True

        if not await self._db.run(insert):
            raise InvalidRequest(f"workspace {name!r} already exists", param="name")
        log.info("workspace %s %s at %s by %s", name, origin, path, principal.id)
        return Workspace(name, str(path), origin, principal.id)


def _overlapping(path: Path, workspaces: list[Workspace]) -> list[str]:
    """The names of `workspaces` inside `path`, around it or at it (reads symlinks from disk:
    call it off the loop)."""
    here = path.expanduser().resolve()
    found = []
    for other in workspaces:
        there = Path(other.path).expanduser().resolve()
        if here == there or here in there.parents or there in here.parents:
            found.append(other.name)
    return sorted(set(found))


def _configured(name: str, entry: str | dict[str, Any]) -> Workspace:
    """A `[workspaces.registry]` entry: a path, or a table with the remote grant as well."""
    if isinstance(entry, str):
        return Workspace(name, str(Path(entry).expanduser()), "config", "operator")
    tools = entry.get("remote_allowed_tools")
    servers = entry.get("remote_mcp_servers")
    return Workspace(
        name,
        str(Path(entry["path"]).expanduser()),
        "config",
        "operator",
        remote_level=entry.get("remote_level"),
        remote_allowed_tools=None if tools is None else tuple(tools),
        remote_mcp_servers=None if servers is None else tuple(servers),
    )
