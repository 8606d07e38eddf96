"""Red team of the one check of an agent's permission requests (SECURITY finding 93): what the
check reads must be what the agent will touch.

An agent reads a path the way its own code does: Claude Code trims it first (`" /etc/passwd"` is
`/etc/passwd` to it), and every Node agent parses a web address as WHATWG does
(`http://127.0.0.1\\@8.8.8.8/` is loopback to it, `http:/127.0.0.1/` too), where Python's
`Path` and `urlsplit` read a name inside the workspace and a public host. Each attack beside
the request it must not break; cheap (no agent runs): the real agents are in
`test_redteam_agent_paths.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.calls.permission_check import check_request
from llmgw_desktop.engine.providers.acp.turn import PermissionAsk
from llmgw_desktop.engine.providers.base import Held

READ_ONLY, EDIT = Held("read-only"), Held("edit")
FETCHER = Held("read-only", may_fetch=True)


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
    (root / "src" / "a.py").write_text("a")
    return root


@pytest.mark.parametrize("pad", [" ", "\t", "\n", "\r\n", "\u00a0", "\u2028", "\ufeff"])
def test_a_padded_absolute_path_is_read_as_the_agent_trims_it(work: Path, pad: str) -> None:
    outside = str(work.parent / "vault.key")
    for raw, locations in (({"file_path": pad + outside}, ()), ({}, (pad + outside,))):
        verdict = check_request(ask("read", raw, *locations), READ_ONLY, work)
        assert not verdict.allowed and "outside" in verdict.why, (pad, raw, locations)
    # Padding a name inside the workspace keeps it inside.
    assert check_request(ask("read", {"file_path": pad + "src/a.py"}), READ_ONLY, work).allowed


def test_a_padded_path_cannot_edit_an_agents_configuration(work: Path) -> None:
    verdict = check_request(ask("edit", {"file_path": " .claude/settings.json"}), EDIT, work)
    assert not verdict.allowed and "own configuration" in verdict.why
    assert check_request(ask("edit", {"file_path": " src/a.py"}), EDIT, work).allowed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1\\@8.8.8.8/",  # a backslash ends the authority for the agent
        "http://127.0.0.1:8080\\@8.8.8.8/x",
        "http:/127.0.0.1:8080/",  # one slash, or none: still loopback to a WHATWG parser
        "HTTP:127.0.0.1/",
        "http:\\\\127.0.0.1\\",
        " http://127.0.0.1/",  # spaces at its ends are stripped by the agent's parser
        "http://127.0.0.%31/",  # percent escapes in a host are decoded by the agent
        "http://0x7f.1/",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_a_fetch_of_loopback_in_a_spelling_python_reads_otherwise_is_refused(
    work: Path, url: str
) -> None:
    # The model's prompt is a public address, so the check saw one address it would allow.
    raw = {"url": url, "prompt": "https://8.8.8.8/ summarise it"}
    verdict = check_request(ask("fetch", raw), FETCHER, work)
    assert not verdict.allowed, (url, verdict)


def test_a_public_fetch_is_still_allowed(work: Path) -> None:
    for url in ("https://8.8.8.8/page", "http://8.8.8.8?\\@127.0.0.1"):
        assert check_request(ask("fetch", {"url": url, "prompt": "read"}), FETCHER, work).allowed


@pytest.mark.parametrize("url", ["file:etc/passwd", "file:/etc/passwd", "FILE:\\etc\\passwd"])
def test_a_file_address_is_read_as_an_absolute_path(work: Path, url: str) -> None:
    verdict = check_request(ask("read", {"path": url}), READ_ONLY, work)
    assert not verdict.allowed and "outside" in verdict.why, url
    assert check_request(ask("read", {"path": f"file://{work}/src/a.py"}), READ_ONLY, work).allowed


def test_a_decomposed_name_is_read_as_the_agent_composes_it(work: Path) -> None:
    # Claude Code reads a path in NFC: "cafe\u0301" names nothing to the check, but "café", a
    # link out of the workspace, to the agent.
    (work.parent / "outside").mkdir()
    (work / "caf\u00e9").symlink_to(work.parent / "outside", target_is_directory=True)
    decomposed = str(work / "cafe\u0301" / "vault.key")
    verdict = check_request(ask("read", {"file_path": decomposed}), READ_ONLY, work)
    assert not verdict.allowed and "outside" in verdict.why
    inside = str(work / "src" / "e\u0301.py")
    assert check_request(ask("read", {"file_path": inside}), READ_ONLY, work).allowed
