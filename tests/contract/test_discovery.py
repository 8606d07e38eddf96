"""Discovery against the installed CLIs: versions in parallel, models, upgrade plans."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.providers.discovery import Discovery
from tests.contract.offline import CLI_DIRS, PY_CLI_BIN, find_cli

pytestmark = pytest.mark.contract


async def test_versions_are_read_from_the_real_clis_and_cached(offline: Path) -> None:
    for binary in ("claude", "codex", "gemini", "grok", "vibe", "copilot", "opencode"):
        find_cli(binary)
    discovery = Discovery(search_path=[str(d) for d in CLI_DIRS], cache_s=300)
    started = time.monotonic()
    statuses = {s.provider: s for s in await discovery.statuses()}
    first_pass = time.monotonic() - started
    assert statuses["claude"].version == "2.1.197"
    assert statuses["codex"].version == "0.169.0"
    assert statuses["gemini"].version == "0.61.0"
    assert statuses["opencode"].version == "1.18.33"
    assert statuses["grok"].version == "0.2.111"  # xAI's Grok CLI, not the community grok-cli
    assert statuses["mistral"].version == "3.0.3"
    assert statuses["copilot"].version is not None
    assert all(statuses[p].installed for p in ("claude", "codex", "gemini", "grok", "copilot"))
    started = time.monotonic()
    await discovery.statuses()
    assert time.monotonic() - started < first_pass / 5  # served from the cache


async def test_missing_cli_reports_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    status = await Discovery().status("mistral")
    assert not status.installed
    assert status.install_command == "pip install mistral-vibe"


async def test_a_cli_installed_while_running_is_found_by_a_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh of the statuses (the Providers page's, the person's) is where a CLI is found
    too: the calls asked `locate`, which remembered "not installed" for 30 s more."""
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    discovery = Discovery(search_path=[str(tmp_path)])
    assert await discovery.locate("mistral") is None
    vibe = tmp_path / "vibe"
    vibe.write_text("#!/bin/sh\necho 'vibe 2.0.0'\n")
    vibe.chmod(0o755)
    assert await discovery.locate("mistral") is None  # remembered, as before
    (status,) = await discovery.statuses(["mistral"], refresh=True)
    assert status.installed
    assert await discovery.locate("mistral") == str(vibe)


async def test_grok_is_found_where_its_installer_puts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xAI's install script puts `grok` in ~/.grok/bin, which may not be on PATH."""
    find_cli("grok")
    home_bin = tmp_path / ".grok" / "bin"
    home_bin.mkdir(parents=True)
    (home_bin / "grok").symlink_to(PY_CLI_BIN / "grok")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status = await Discovery().status("grok")
    assert status.installed and status.executable == str(home_bin / "grok")
    assert status.version == "0.2.111"


async def test_models_come_from_the_cli_where_it_can_list_them(offline: Path) -> None:
    find_cli("codex")
    find_cli("opencode")
    discovery = Discovery(search_path=[str(d) for d in CLI_DIRS])
    assert len(await discovery.models("codex")) > 3
    assert any(m.startswith("anthropic/") for m in await discovery.models("opencode"))
    assert "sonnet" in await discovery.models("claude")


async def test_upgrade_is_a_dry_run_unless_asked(offline: Path) -> None:
    find_cli("claude")
    plan = await Discovery(search_path=[str(d) for d in CLI_DIRS]).upgrade(OPERATOR, "claude")
    assert plan.dry_run and not plan.ran
    assert plan.command == ["npm", "install", "-g", "@anthropic-ai/claude-code@latest"]
    assert plan.version_before == "2.1.197"
    assert any("project-local" in note for note in plan.notes)
