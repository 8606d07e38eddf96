"""Discovery against the installed CLIs: versions in parallel, models, upgrade plans."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.providers.discovery import Discovery
from tests.contract.offline import ACP_BIN, CLI_DIRS, PY_CLI_BIN, find_cli

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


async def test_a_cli_that_cannot_list_shows_the_one_list_v1_models_offers(
    offline: Path, tmp_path: Path
) -> None:
    """Each CLI had two lists that disagreed: the bridge's (what /v1/models offers) and the
    adapter's (what the Providers page and `list_models` showed): Claude Code 3 against 4, Mistral
    Vibe `devstral-medium-latest` (which Vibe 3.0.3 does not have: it runs its one model in its
    place) against four it had renamed or removed. Now there is one, the bridge's."""
    catalog = ProviderCatalog.of({"my-agent": {"command": "my-agent", "models": ["m1", "m2"]}})
    discovery = Discovery(search_path=[str(d) for d in CLI_DIRS], catalog=catalog)
    for provider in ("claude", "gemini", "grok", "copilot", "mistral", "qwen", "claude-acp"):
        assert await discovery.models(provider) == list(catalog.bridge_of(provider).models)
    assert await discovery.models("claude") == ["sonnet", "opus", "haiku", "opusplan"]
    assert await discovery.models("mistral") == ["mistral-medium-3.5"]
    assert await discovery.models("my-agent") == ["m1", "m2"]  # the operator's list
    # One that can list but is not found falls back to the same list.
    nowhere = Discovery(search_path=[str(tmp_path)], catalog=catalog)
    assert await nowhere.models("codex") == list(catalog.bridge_of("codex").models)


async def test_upgrade_is_a_dry_run_unless_asked(offline: Path) -> None:
    find_cli("claude")
    plan = await Discovery(search_path=[str(d) for d in CLI_DIRS]).upgrade(OPERATOR, "claude")
    assert plan.dry_run and not plan.ran
    assert plan.command == ["npm", "install", "-g", "@anthropic-ai/claude-code@latest"]
    assert plan.version_before == "2.1.197"
    assert any("project-local" in note for note in plan.notes)


async def test_grok_upgrades_itself_where_it_was_found(offline: Path) -> None:
    """xAI's Grok CLI has no package manager behind its script install: its own `grok update`
    is the upgrade, shown in the dry run, run from where the gateway found it."""
    find_cli("grok")
    discovery = Discovery(search_path=[str(PY_CLI_BIN)])
    plan = await discovery.upgrade(OPERATOR, "grok")
    assert plan.dry_run and not plan.ran
    assert plan.command == ["grok", "update"]
    assert plan.version_before and plan.notes == []


async def test_the_acp_agents_versions_are_read_and_one_that_prints_none_is_not_an_error(
    offline: Path,
) -> None:
    """claude-agent-acp 0.23.1 takes `--version` for no flag: it prints nothing and exits 0
    (stdin closed). Reading the first line of nothing raised IndexError, so every status of
    every CLI failed with "list index out of range" every few seconds, and the window's
    versions stayed "checking…" (a helper's review under Xvfb). codex-acp 0.16.0 refuses the
    flag (exit 2), which read as a broken install. Their npm packages say which version."""
    for binary in ("claude-agent-acp", "codex-acp", "qwen"):
        find_cli(binary, ACP_BIN)
    discovery = Discovery(search_path=[str(ACP_BIN), *(str(d) for d in CLI_DIRS)])
    statuses = {s.provider: s for s in await discovery.statuses()}
    agent = statuses["claude-acp"]
    assert agent.installed and agent.error is None and agent.version == "0.23.1"
    assert statuses["codex-acp"].version == "0.16.0" and statuses["codex-acp"].error is None
    assert statuses["qwen"].version == "0.24.4"
    assert statuses["claude"].version == "2.1.197"  # the rest read as before
