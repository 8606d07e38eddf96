"""The workspace tools over MCP on a running gateway with bearer, trusted-header and OAuth
callers: who sees which workspaces, who may make them, and that nothing is made or registered
outside the allowed roots."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.workspaces.registry import ADMIN_OPT_IN
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.mcp.server import build_mcp_server
from tests.gateways import start_runtime
from tests.transports.auth_isolation.test_isolation import TOKEN, USER_HEADER, call, mcp_as

ADMIN_CLIENT = "workspace-admin"
OTHER_ADMIN_CLIENT = "other-workspace-admin"  # a second person granted workspace:admin
PLAIN_CLIENT = "plain-editor"
SECRET = "workspace-tools-client-secret-0123456789"
REDIRECT = "http://127.0.0.1:9/callback"


@dataclass
class Gateway:
    runtime: GatewayRuntime
    roots: Path  # the one allowed root
    shared: Path  # the operator's registered workspace
    outside: Path  # a directory outside every allowed root


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> AsyncIterator[Gateway]:
    roots, shared, outside = tmp_path / "roots", tmp_path / "shared", tmp_path / "outside"
    for folder in (roots, shared, outside):
        folder.mkdir()
    client = {"redirect_uris": [REDIRECT], "client_secret_sha256": _sha256(SECRET)}
    settings = loaded.settings.with_values(
        {
            "http.port": 0,
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "http.oauth.enabled": True,
            "http.oauth.clients": {
                ADMIN_CLIENT: client | {"scopes": "mcp workspace:admin"},
                OTHER_ADMIN_CLIENT: client | {"scopes": "mcp workspace:admin"},
                PLAIN_CLIENT: client | {"scopes": "mcp"},
            },
            "workspaces.registry": {"shared": str(shared)},
            "workspaces.allowed_roots": [str(roots)],
            "workspaces.denied_names": [
                *loaded.settings.workspaces.denied_names,
                "secrets",
                "private",
            ],
        }
    )
    runtime, lock = await start_runtime(loaded, settings)
    yield Gateway(runtime, roots, shared, outside)
    await runtime.stop()
    lock.release()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def oauth_headers(gateway: Gateway, client_id: str, scope: str) -> dict[str, str]:
    """An access token minted through the engine's OAuth server (code flow with PKCE)."""
    oauth = gateway.runtime.engine.auth.oauth
    assert oauth is not None
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    step = await oauth.authorize(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        requester="127.0.0.1",
    )
    assert step.redirect is not None, step
    code = parse_qs(urlsplit(step.redirect).query)["code"][0]
    answer = await oauth.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": client_id,
            "client_secret": SECRET,
        },
        None,
    )
    assert answer["scope"] == scope
    return {"Authorization": f"Bearer {answer['access_token']}"}


def bearer(user: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return headers | ({USER_HEADER: user} if user else {})


def git_repo(path: Path) -> Path:
    (path / ".git").mkdir(parents=True)
    return path


def error_code(outcome: tuple[bool, dict[str, Any]]) -> str:
    failed, body = outcome
    assert failed, body
    return str(body["error"]["code"])


async def test_workspace_list_and_get_show_the_registered_workspaces(gateway: Gateway) -> None:
    for headers in (bearer(), bearer("bob"), await oauth_headers(gateway, PLAIN_CLIENT, "mcp")):
        async with mcp_as(gateway.runtime, headers) as client:
            failed, listed = await call(client, "workspace_list")
            failed_get, shared = await call(client, "workspace_get", name="shared")
            missing = await call(client, "workspace_get", name="nowhere")
        assert not failed and not failed_get
        assert listed["workspaces"] == [
            {"name": "shared", "path": str(gateway.shared), "origin": "config", "owner": "operator"}
        ]
        assert listed["default"] is None
        assert shared["path"] == str(gateway.shared)
        assert error_code(missing) == "unknown_workspace"


async def test_remote_callers_see_only_the_workspaces_they_made(
    gateway: Gateway, workspace_admin_opt_in: None
) -> None:
    admin = await oauth_headers(gateway, ADMIN_CLIENT, "mcp workspace:admin")
    async with mcp_as(gateway.runtime, admin) as maker:
        failed, made = await call(maker, "workspace_create", name="made-by-admin")
        assert not failed, made
        failed, mine = await call(maker, "workspace_list")
        failed_session, session = await call(
            maker, "session_create", provider="claude", workspace="made-by-admin"
        )
    assert not failed and "made-by-admin" in {w["name"] for w in mine["workspaces"]}
    assert not failed_session, session
    others = [bearer(), bearer("bob"), await oauth_headers(gateway, PLAIN_CLIENT, "mcp")]
    for headers in others:
        async with mcp_as(gateway.runtime, headers) as other:
            failed, listed = await call(other, "workspace_list")
            theirs = await call(other, "workspace_get", name="made-by-admin")
            unknown = await call(other, "workspace_get", name="never-made")
            anchored = await call(
                other, "session_create", provider="claude", workspace="made-by-admin"
            )
        assert not failed and "made-by-admin" not in {w["name"] for w in listed["workspaces"]}
        assert error_code(theirs) == error_code(unknown) == "unknown_workspace"
        assert theirs[1]["error"]["message"].replace("made-by-admin", "<name>") == unknown[1][
            "error"
        ]["message"].replace("never-made", "<name>")
        assert error_code(anchored) == "unknown_workspace"


async def test_making_a_workspace_needs_the_operator_opt_in(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_OPT_IN, raising=False)
    repo = git_repo(gateway.roots / "repo")
    admin = await oauth_headers(gateway, ADMIN_CLIENT, "mcp workspace:admin")
    for headers in (admin, bearer()):
        async with mcp_as(gateway.runtime, headers) as client:
            created = await call(client, "workspace_create", name="fresh")
            registered = await call(
                client, "workspace_register_existing_repo", name="repo", path=str(repo)
            )
        assert error_code(created) == error_code(registered) == "forbidden"
        assert ADMIN_OPT_IN in created[1]["error"]["message"]
    assert not (gateway.roots / "fresh").exists()


async def test_making_a_workspace_needs_the_workspace_admin_scope(
    gateway: Gateway, workspace_admin_opt_in: None
) -> None:
    repo = git_repo(gateway.roots / "repo")
    # An OAuth client granted only `mcp`, and the same admin client when it asked for `mcp`
    # only, and a proxy's user (never granted any scope): none may make workspaces.
    callers = [
        await oauth_headers(gateway, PLAIN_CLIENT, "mcp"),
        await oauth_headers(gateway, ADMIN_CLIENT, "mcp"),
        bearer("bob"),
    ]
    for headers in callers:
        async with mcp_as(gateway.runtime, headers) as client:
            created = await call(client, "workspace_create", name="fresh")
            registered = await call(
                client, "workspace_register_existing_repo", name="repo", path=str(repo)
            )
        assert error_code(created) == error_code(registered) == "forbidden"
        assert "workspace:admin" in created[1]["error"]["message"]
    assert not (gateway.roots / "fresh").exists()


async def test_making_a_workspace_with_the_opt_in_and_the_scope_works(
    gateway: Gateway, workspace_admin_opt_in: None
) -> None:
    repo = git_repo(gateway.roots / "repo")
    admin = await oauth_headers(gateway, ADMIN_CLIENT, "mcp workspace:admin")
    async with mcp_as(gateway.runtime, admin) as client:
        failed, created = await call(client, "workspace_create", name="fresh")
        assert not failed, created
        failed, registered = await call(
            client, "workspace_register_existing_repo", name="repo", path=str(repo)
        )
        assert not failed, registered
        again = await call(client, "workspace_create", name="fresh")
    owner = f"oauth:{ADMIN_CLIENT}"
    assert created == {
        "name": "fresh",
        "path": str((gateway.roots / "fresh").resolve()),
        "origin": "created",
        "owner": owner,
    }
    assert (gateway.roots / "fresh").is_dir()
    assert registered["path"] == str(repo.resolve()) and registered["origin"] == "registered"
    assert error_code(again) == "invalid_request"
    # The operator (static bearer, no proxy user) holds every scope.
    async with mcp_as(gateway.runtime, bearer()) as operator:
        failed, made = await call(operator, "workspace_create", name="operators")
    assert not failed and made["owner"] == "gateway-bearer"


async def test_path_escape_from_an_allowed_root_is_refused(
    gateway: Gateway, workspace_admin_opt_in: None
) -> None:
    roots, outside_repo = gateway.roots, git_repo(gateway.outside / "repo")
    (roots / "project").mkdir()
    link = roots / "link"
    link.symlink_to(outside_repo, target_is_directory=True)
    escapes = {
        "dot-dot": str(roots / ".." / "outside" / "repo"),
        "dot-dot-back-in": str(roots / "project" / ".." / "project"),
        "absolute-outside": str(outside_repo),
        "symlink-outside": str(link),
        "denied-name": str(git_repo(roots / ".ssh")),
        "inside-a-denied-name": str(git_repo(roots / "project" / ".ssh" / "keys")),
        "operator-denied-name": str(git_repo(roots / "secrets")),
    }
    admin = await oauth_headers(gateway, ADMIN_CLIENT, "mcp workspace:admin")
    async with mcp_as(gateway.runtime, admin) as client:
        registered = {
            label: await call(
                client, "workspace_register_existing_repo", name=f"ws-{label}", path=path
            )
            for label, path in escapes.items()
        }
        created = {
            "root-outside": await call(
                client, "workspace_create", name="fresh", root=str(gateway.outside)
            ),
            "denied-name": await call(client, "workspace_create", name="private"),
        }
        bad_names = [
            await call(client, "workspace_create", name=name)
            for name in ("..", ".ssh", "../escape", "a/b", "/tmp/x")
        ]
        failed, listed = await call(client, "workspace_list")
    assert {label: error_code(r) for label, r in registered.items()} == dict.fromkeys(
        escapes, "path_not_allowed"
    )
    assert {label: error_code(r) for label, r in created.items()} == dict.fromkeys(
        created, "path_not_allowed"
    )
    assert all(error_code(r) == "invalid_request" for r in bad_names)
    assert not (gateway.outside / "fresh").exists() and not (gateway.outside / "escape").exists()
    assert not (roots / "private").exists()
    assert not failed and [w["name"] for w in listed["workspaces"]] == ["shared"]


async def test_the_local_user_is_the_operator_for_workspace_tools(
    gateway: Gateway, workspace_admin_opt_in: None
) -> None:
    # The MCP server in process, as stdio serves it: the caller is the local user.
    async with Client(build_mcp_server(gateway.runtime.engine)) as local:
        failed, made = await call(local, "workspace_create", name="desk")
    assert not failed and made["owner"] == "local"


async def test_another_admin_cannot_register_a_workspace_made_by_someone_else_or_around_it(
    gateway: Gateway, workspace_admin_opt_in: None
) -> None:
    """Registering a path is how a workspace admin names where its calls run: at, inside or
    around another principal's made workspace, that would be a second door into its files
    (read and, at the global `edit` level, written), past the "not found" every other read
    gives. The owner itself, and the operator, may; a directory apart from it is anyone's."""
    alice = await oauth_headers(gateway, ADMIN_CLIENT, "mcp workspace:admin")
    bob = await oauth_headers(gateway, OTHER_ADMIN_CLIENT, "mcp workspace:admin")
    async with mcp_as(gateway.runtime, alice) as client:
        failed, made = await call(client, "workspace_create", name="alice-ws")
    assert not failed, made
    alices = git_repo(gateway.roots / "alice-ws")  # her editor cloned her project there
    inside = git_repo(alices / "vendor" / "lib")
    apart = git_repo(gateway.roots / "bob-repo")
    async with mcp_as(gateway.runtime, bob) as client:
        at = await call(client, "workspace_register_existing_repo", name="b1", path=str(alices))
        within = await call(client, "workspace_register_existing_repo", name="b2", path=str(inside))
        failed, own = await call(
            client, "workspace_register_existing_repo", name="b3", path=str(apart)
        )
        failed_list, listed = await call(client, "workspace_list")
    assert not failed_list
    assert error_code(at) == error_code(within) == "path_not_allowed"
    assert ADMIN_CLIENT not in at[1]["error"]["message"]  # whose it is stays unsaid
    assert not failed, own
    assert {w["name"] for w in listed["workspaces"]} == {"shared", "b3"}
    # Alice may name her own directory again, and the operator may register anything.
    async with mcp_as(gateway.runtime, alice) as client:
        failed, again = await call(
            client, "workspace_register_existing_repo", name="alice-lib", path=str(inside)
        )
    assert not failed, again
    async with mcp_as(gateway.runtime, bearer()) as client:
        failed, operator = await call(
            client, "workspace_register_existing_repo", name="op", path=str(alices)
        )
    assert not failed, operator
