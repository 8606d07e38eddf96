"""WorkspaceRegistry: the anchor rule for local and remote callers, making and registering
workspaces inside the allowed roots only, and tool-made workspaces kept across a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings, Settings
from llmgw_desktop.engine.auth.principals import (
    LOCAL,
    LOCAL_CALLER,
    SCOPE_ADMIN,
    SCOPE_MCP,
    Principal,
)
from llmgw_desktop.engine.errors import EngineError, InvalidRequest, NotFound
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.workspaces.registry import ADMIN_OPT_IN, WorkspaceRegistry

ADMIN = Principal("oauth:admin", "oauth", frozenset({SCOPE_MCP, SCOPE_ADMIN}))
PLAIN = Principal("oauth:plain", "oauth", frozenset({SCOPE_MCP}))
BEARER = Principal("gateway-bearer", "bearer")
PROXY_USER = Principal("user:bob", "trusted-header")
OPTED_IN = {ADMIN_OPT_IN: "1"}


@dataclass
class Place:
    settings: Settings
    db: Database
    root: Path  # the one allowed root
    shared: Path  # the operator's registered workspace
    outside: Path  # a directory outside the root

    def registry(
        self, changes: Mapping[str, Any] | None = None, environ: dict[str, str] | None = None
    ) -> WorkspaceRegistry:
        settings = self.settings.with_values(changes or {})
        return WorkspaceRegistry(
            settings, self.db, environ=OPTED_IN if environ is None else environ, clock=lambda: 1.0
        )


@pytest.fixture
async def place(
    loaded: LoadedSettings, tmp_path: Path, new_database: Callable[[str], Database]
) -> AsyncIterator[Place]:
    root, shared, outside = tmp_path / "root", tmp_path / "shared", tmp_path / "outside"
    for folder in (root, shared, outside):
        folder.mkdir()
    settings = loaded.settings.with_values(
        {
            "workspaces.registry": {"shared": str(shared), "other": str(outside)},
            "workspaces.allowed_roots": [str(root)],
            "workspaces.denied_names": [*loaded.settings.workspaces.denied_names, "private"],
        }
    )
    db = new_database("workspaces.db")
    await db.open()
    made = Place(settings, db, root, shared, outside)
    yield made
    await made.db.close()


def git_repo(path: Path) -> Path:
    (path / ".git").mkdir(parents=True)
    return path


# -- the anchor rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "workspace", "working_dir", "has_session", "expected"),
    [
        # local: anywhere it names, a workspace by name, or the CLI's own choice
        (LOCAL, "shared", None, False, "<shared>"),
        (LOCAL, None, "/any/dir", False, "/any/dir"),
        (LOCAL, None, None, False, None),
        (LOCAL, None, None, True, None),
        # remote: a named workspace, its session's directory, or refused
        ("user:bob", "shared", None, False, "<shared>"),
        ("user:bob", "shared", None, True, "<shared>"),
        ("user:bob", None, None, True, None),
        ("gateway-bearer", None, None, True, None),
        ("oauth:editor", "other", None, False, "<outside>"),
    ],
)
async def test_anchor_resolves_by_the_rule_for_local_and_remote_callers(
    place: Place,
    principal: str,
    workspace: str | None,
    working_dir: str | None,
    has_session: bool,
    expected: str | None,
) -> None:
    anchored = await place.registry().anchor(
        principal, workspace=workspace, working_dir=working_dir, has_session=has_session
    )
    named = {"<shared>": str(place.shared), "<outside>": str(place.outside)}
    assert anchored == named.get(str(expected), expected)


@pytest.mark.parametrize(
    ("principal", "working_dir", "has_session"),
    [
        ("user:bob", "/any/dir", False),
        ("user:bob", "/any/dir", True),  # a session does not make a raw directory acceptable
        ("user:bob", None, False),
        ("gateway-bearer", None, False),
        ("oauth:editor", "/any/dir", False),
    ],
)
async def test_a_remote_call_without_a_workspace_is_refused(
    place: Place, principal: str, working_dir: str | None, has_session: bool
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await place.registry().anchor(
            principal, workspace=None, working_dir=working_dir, has_session=has_session
        )
    assert refused.value.code == "workspace_required"


async def test_a_remote_call_without_a_workspace_uses_the_default(place: Place) -> None:
    registry = place.registry({"workspaces.default": "shared"})
    anchored = await registry.anchor("user:bob", workspace=None, working_dir=None)
    assert anchored == str(place.shared)
    with pytest.raises(InvalidRequest) as refused:
        await registry.anchor("user:bob", workspace=None, working_dir="/any/dir")
    assert refused.value.code == "workspace_required"


async def test_a_workspace_and_a_working_dir_together_are_refused(place: Place) -> None:
    for principal in (LOCAL, "user:bob"):
        with pytest.raises(InvalidRequest) as refused:
            await place.registry().anchor(principal, workspace="shared", working_dir="/any/dir")
        assert refused.value.code == "invalid_request"


async def test_an_unknown_workspace_is_not_found(place: Place) -> None:
    for principal in (LOCAL, "user:bob"):
        with pytest.raises(NotFound) as missing:
            await place.registry().anchor(principal, workspace="nowhere", working_dir=None)
        assert missing.value.code == "unknown_workspace"


async def test_another_principals_workspace_is_not_found(place: Place) -> None:
    registry = place.registry()
    await registry.create(ADMIN, "admins")
    assert await registry.anchor(ADMIN.id, workspace="admins", working_dir=None) == str(
        (place.root / "admins").resolve()
    )
    for other in ("user:bob", PLAIN.id, LOCAL):
        with pytest.raises(NotFound) as theirs:
            await registry.anchor(other, workspace="admins", working_dir=None)
        with pytest.raises(NotFound) as unknown:
            await registry.anchor(other, workspace="never-made", working_dir=None)
        assert theirs.value.code == unknown.value.code == "unknown_workspace"
        assert theirs.value.message.replace("admins", "<n>") == unknown.value.message.replace(
            "never-made", "<n>"
        )
        assert "admins" not in {w.name for w in await registry.visible(other)}


# -- making and registering ------------------------------------------------------------------


async def test_create_makes_a_directory_inside_the_root(place: Place) -> None:
    made = await place.registry().create(ADMIN, "fresh")
    target = place.root / "fresh"
    assert made.path == str(target.resolve()) and target.is_dir()
    assert (made.origin, made.owner) == ("created", ADMIN.id)
    assert target.stat().st_mode & 0o027 == 0  # no one else may write, others may not look
    assert [w.name for w in await place.registry().visible(ADMIN.id)] == [
        "other",
        "shared",
        "fresh",
    ]


async def test_create_names_a_root_or_takes_the_first(place: Place) -> None:
    second = place.root.parent / "second"
    second.mkdir()
    registry = place.registry({"workspaces.allowed_roots": [str(place.root), str(second)]})
    made = await registry.create(ADMIN, "in-second", root=str(second))
    assert Path(made.path).parent == second.resolve()
    with pytest.raises(InvalidRequest) as refused:
        await registry.create(ADMIN, "elsewhere", root=str(place.outside))
    assert refused.value.code == "path_not_allowed"
    assert not (place.outside / "elsewhere").exists()


@pytest.mark.parametrize("name", ["..", ".ssh", ".hidden", "a/b", "../up", "/abs", "", "x" * 65])
async def test_create_refuses_names_that_are_not_plain_names(place: Place, name: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await place.registry().create(ADMIN, name)
    assert refused.value.details.get("param") == "name"
    assert sorted(p.name for p in place.root.iterdir()) == []


async def test_create_refuses_a_name_already_taken(place: Place) -> None:
    registry = place.registry()
    await registry.create(ADMIN, "taken")
    for name in ("taken", "shared"):  # made by a tool, or in config.toml
        with pytest.raises(InvalidRequest, match="already exists"):
            await registry.create(ADMIN, name)
    (place.root / "on-disk").mkdir()
    with pytest.raises(InvalidRequest, match="already exists"):
        await registry.create(ADMIN, "on-disk")


async def test_create_refuses_a_denied_name(place: Place) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await place.registry().create(ADMIN, "private")
    assert refused.value.code == "path_not_allowed"
    assert not (place.root / "private").exists()


async def test_create_does_not_follow_a_dangling_symlink_out_of_the_root(place: Place) -> None:
    (place.root / "trap").symlink_to(place.outside / "made-through-the-link")
    with pytest.raises(InvalidRequest, match="already exists"):
        await place.registry().create(ADMIN, "trap")
    assert not (place.outside / "made-through-the-link").exists()


@pytest.mark.parametrize(
    ("environ", "principal", "roots_set"),
    [
        ({}, ADMIN, True),  # the operator did not opt in
        ({ADMIN_OPT_IN: "0"}, ADMIN, True),
        (OPTED_IN, PLAIN, True),  # no workspace:admin scope
        (OPTED_IN, PROXY_USER, True),  # a proxy's user was granted no scope
        (OPTED_IN, ADMIN, False),  # nowhere to make one
    ],
)
async def test_making_a_workspace_is_forbidden_without_opt_in_scope_and_roots(
    place: Place, environ: dict[str, str], principal: Principal, roots_set: bool
) -> None:
    registry = place.registry(
        {"workspaces.allowed_roots": [str(place.root)] if roots_set else []}, environ
    )
    repo = git_repo(place.root / "repo")
    with pytest.raises(EngineError) as refused:
        await registry.create(principal, "fresh")
    assert refused.value.code == "forbidden"
    with pytest.raises(EngineError) as refused:
        await registry.register_existing_repo(principal, "repo", str(repo))
    assert refused.value.code == "forbidden"
    assert not (place.root / "fresh").exists()


@pytest.mark.parametrize("principal", [LOCAL_CALLER, BEARER, ADMIN])
async def test_the_operator_and_admin_clients_may_make_workspaces(
    place: Place, principal: Principal
) -> None:
    made = await place.registry().create(principal, "fresh")
    assert made.owner == principal.id


async def test_register_existing_repo_inside_the_root(place: Place) -> None:
    repo = git_repo(place.root / "team" / "repo")
    made = await place.registry().register_existing_repo(ADMIN, "repo", str(repo))
    assert (made.path, made.origin, made.owner) == (str(repo.resolve()), "registered", ADMIN.id)
    with pytest.raises(InvalidRequest, match="not a git repository"):
        await place.registry().register_existing_repo(ADMIN, "team", str(place.root / "team"))
    with pytest.raises(InvalidRequest, match="absolute"):
        await place.registry().register_existing_repo(ADMIN, "rel", "team/repo")


async def test_register_follows_a_symlink_inside_the_root(place: Place) -> None:
    repo = git_repo(place.root / "repo")
    (place.root / "alias").symlink_to(repo, target_is_directory=True)
    made = await place.registry().register_existing_repo(ADMIN, "alias", str(place.root / "alias"))
    assert made.path == str(repo.resolve())


async def test_a_symlinked_root_still_holds_what_lies_inside_it(place: Place) -> None:
    linked_root = place.root.parent / "linked-root"
    linked_root.symlink_to(place.root, target_is_directory=True)
    registry = place.registry({"workspaces.allowed_roots": [str(linked_root)]})
    repo = git_repo(place.root / "repo")
    made = await registry.register_existing_repo(ADMIN, "repo", str(linked_root / "repo"))
    assert made.path == str(repo.resolve())


@pytest.mark.parametrize(
    "escape",
    [
        "dot-dot",
        "dot-dot-back-inside",
        "absolute-outside",
        "symlink-outside",
        "symlink-in-the-middle",
        "denied-name",
        "inside-a-denied-name",
        "operator-denied-name",
    ],
)
async def test_path_escape_from_an_allowed_root_is_refused(place: Place, escape: str) -> None:
    root = place.root
    outside_repo = git_repo(place.outside / "repo")
    (root / "link").symlink_to(place.outside, target_is_directory=True)
    git_repo(root / "inner")
    paths = {
        "dot-dot": root / ".." / "outside" / "repo",
        "dot-dot-back-inside": root / "inner" / ".." / "inner",
        "absolute-outside": outside_repo,
        "symlink-outside": _link(root / "escape", outside_repo),
        "symlink-in-the-middle": root / "link" / "repo",
        "denied-name": git_repo(root / ".ssh"),
        "inside-a-denied-name": git_repo(root / "project" / ".aws" / "repo"),
        "operator-denied-name": git_repo(root / "private"),
    }
    with pytest.raises(InvalidRequest) as refused:
        await place.registry().register_existing_repo(ADMIN, "ws", str(paths[escape]))
    assert refused.value.code == "path_not_allowed"
    assert await place.registry().visible(ADMIN.id) == await place.registry().visible("nobody")


def _link(link: Path, target: Path) -> Path:
    link.symlink_to(target, target_is_directory=True)
    return link


# -- persistence -----------------------------------------------------------------------------


async def test_made_workspaces_survive_a_new_registry_on_the_same_store(
    place: Place, new_database: Callable[[str], Database]
) -> None:
    repo = git_repo(place.root / "repo")
    first = place.registry()
    await first.create(ADMIN, "fresh")
    await first.register_existing_repo(BEARER, "repo", str(repo))
    await place.db.close()

    reopened = new_database("workspaces.db")
    await reopened.open()
    place.db = reopened  # closed by the fixture
    again = place.registry()
    assert [w.to_dict() for w in await again.visible(ADMIN.id)][-1] == {
        "name": "fresh",
        "path": str((place.root / "fresh").resolve()),
        "origin": "created",
        "owner": ADMIN.id,
    }
    assert (await again.get(BEARER.id, "repo")).path == str(repo.resolve())
    with pytest.raises(NotFound):
        await again.get(ADMIN.id, "repo")
    with pytest.raises(InvalidRequest, match="already exists"):
        await again.create(BEARER, "fresh")
