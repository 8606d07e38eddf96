"""The one check of an agent's permission request against a remote caller's grant: paths
resolved as the file system would (symlinks, `..`, `~`), a request naming no path refused,
edits only at `edit` and never of an agent's own configuration, fetches only where granted and
only of public addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.calls.permission_check import check_request, named_targets
from llmgw_desktop.engine.providers.acp.turn import PermissionAsk
from llmgw_desktop.engine.providers.base import Held

READ_ONLY, EDIT = Held("read-only"), Held("edit")


def ask(kind: str, raw: Any = None, *locations: str) -> PermissionAsk:
    return PermissionAsk(
        agent="claude-acp",
        session_id="s",
        title=kind,
        kind=kind,
        tool_call_id="t",
        detail="",
        options=(),
        locations=locations,
        raw_input=raw,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    (root / "src").mkdir(parents=True)
    (tmp_path / "secret").write_text("key")
    (root / "escape").symlink_to(tmp_path / "secret")
    return root


@pytest.mark.parametrize(
    "raw,locations",
    [
        ({"file_path": "src/a.py"}, ()),
        ({"path": "./src"}, ()),
        ({"pattern": "**/*.py", "path": "src"}, ()),
        (None, ("{work}/src/a.py",)),
    ],
)
def test_a_read_inside_the_workspace_is_allowed(
    work: Path, raw: Any, locations: tuple[str, ...]
) -> None:
    where = tuple(loc.format(work=work) for loc in locations)
    assert check_request(ask("read", raw, *where), READ_ONLY, work).allowed


@pytest.mark.parametrize(
    "raw,locations,why",
    [
        ({"file_path": "/etc/passwd"}, (), "outside"),
        ({"file_path": "escape"}, (), "outside"),  # a symlink out of the workspace
        ({"path": "src/../../secret"}, (), "outside"),
        ({"file_path": "~/.aws/credentials"}, (), "outside"),
        ({"pattern": "../*"}, (), "outside"),  # a value under any key that climbs out
        ({"path": "src"}, ("/root/.ssh/id_rsa",), "outside"),  # one of several is enough
        ({}, (), "names no path"),
        ({"query": "what is in the vault"}, (), "names no path"),
        ({"url": "file:///etc/passwd"}, (), "outside"),
        ({"url": "https://example.com/x"}, (), "web address"),
    ],
)
def test_a_read_outside_or_of_nothing_is_refused(
    work: Path, raw: Any, locations: tuple[str, ...], why: str
) -> None:
    verdict = check_request(ask("search", raw, *locations), READ_ONLY, work)
    assert not verdict.allowed and why in verdict.why


def test_edits_need_the_edit_level_and_stay_off_agent_and_git_configuration(work: Path) -> None:
    edit = ask("edit", {"file_path": "src/a.py", "content": "/* a comment */"})
    assert not check_request(edit, READ_ONLY, work).allowed
    assert check_request(edit, EDIT, work).allowed  # its content is not a path
    for config in (".claude/settings.json", ".gemini/settings.json", ".git/hooks/pre-commit"):
        verdict = check_request(ask("edit", {"file_path": config}), EDIT, work)
        assert not verdict.allowed and "own configuration" in verdict.why, config
    moved = ask("move", {"source": "src/a.py", "destination": "../a.py"})
    assert not check_request(moved, EDIT, work).allowed


@pytest.mark.parametrize("kind", ["execute", "switch_mode", "other", "delete-all"])
def test_commands_and_unknown_kinds_are_refused_at_every_level(work: Path, kind: str) -> None:
    for held in (READ_ONLY, EDIT, Held("commands")):
        verdict = check_request(ask(kind, {"command": "npm test"}), held, work)
        assert not verdict.allowed and repr(kind) in verdict.why


def test_a_thought_is_allowed(work: Path) -> None:
    assert check_request(ask("think", {}), READ_ONLY, work).allowed


def test_a_fetch_needs_the_operators_grant_and_a_public_address(work: Path) -> None:
    public = ask("fetch", {"url": "https://93.184.216.34/page", "prompt": "/summarize it"})
    refused = check_request(public, READ_ONLY, work)
    assert not refused.allowed and "web_fetch" in refused.why
    fetcher = Held("read-only", may_fetch=True)
    assert check_request(public, fetcher, work).allowed
    for url in (
        "http://127.0.0.1:8080/health",
        "http://localhost/",
        "http://10.0.0.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "ftp://93.184.216.34/",
    ):
        verdict = check_request(ask("fetch", {"url": url}), fetcher, work)
        assert not verdict.allowed, url
    assert not check_request(ask("fetch", {}), fetcher, work).allowed


def test_named_targets_reads_locations_path_keys_and_what_looks_like_a_path() -> None:
    raw = {
        "notebook_path": "n.ipynb",
        "edits": [{"old_string": "/x", "new_string": "../y"}],
        "extra": {"glob": "/var/**"},
        "url": "https://a.example/",
    }
    targets = named_targets(ask("read", raw, "/w/a"))
    assert targets.paths == ("/w/a", "n.ipynb", "/var/**")
    assert targets.urls == ("https://a.example/",)
