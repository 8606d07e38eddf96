"""CLI accounts from login files laid out as the real CLIs write them (tests/fixtures/accounts),
and, where a pinned CLI has an offline status command, that command's own verdict on the very
same files: it must agree with ours. The CLIs run in a network namespace with no network
(`unshare -rn`) where the kernel allows it, so a status command cannot phone home either.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import astuple
from pathlib import Path

import pytest

from llmgw_desktop.engine.providers.account_files import (
    API_KEY,
    LOGGED_IN,
    NOT_LOGGED_IN,
    UNKNOWN,
    CliAccount,
    read_account,
)
from llmgw_desktop.engine.providers.accounts import CliAccounts
from tests.contract.offline import find_cli

FIXTURES = Path(__file__).parents[2] / "fixtures" / "accounts"
STATUS_TIMEOUT_S = 60


def home_of(case: str, tmp_path: Path) -> Path:
    """A private copy of one fixture home (a CLI may write beside its files)."""
    home = tmp_path / case
    shutil.copytree(FIXTURES / case, home)
    return home


def secrets_in(home: Path) -> list[str]:
    """Every token-looking value in the fixture's files (all marked FIXTURE)."""
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            for word in path.read_text().replace('"', " ").replace("=", " ").split():
                if "FIXTURE" in word:
                    found.append(word.strip(",:"))
    return found


@pytest.mark.parametrize(
    ("case", "provider", "expected"),
    [
        (
            "claude-max",
            "claude",
            (
                "claude",
                LOGGED_IN,
                "Claude account",
                "dev@example.com (Example Org)",
                "max / default_claude_max_5x",
            ),
        ),
        ("claude-api-key", "claude", ("claude", API_KEY, "key from /login", None, None)),
        ("codex-chatgpt", "codex", ("codex", LOGGED_IN, "ChatGPT", "dev@example.com", "plus")),
        ("codex-api-key", "codex", ("codex", API_KEY, "OPENAI_API_KEY", None, None)),
        (
            "gemini-google",
            "gemini",
            ("gemini", LOGGED_IN, "Google account", "dev@example.com", None),
        ),
        ("copilot", "copilot", ("copilot", LOGGED_IN, "GitHub account", "octodev", None)),
        (
            "opencode",
            "opencode",
            ("opencode", LOGGED_IN, "anthropic (login), openai (API key)", None, None),
        ),
        ("grok", "grok", ("grok", LOGGED_IN, "grok.com sign-in", "dev@example.com", None)),
        ("vibe", "mistral", ("mistral", API_KEY, "MISTRAL_API_KEY", None, None)),
    ],
)
def test_login_files_say_who_and_which_plan_and_never_a_secret(
    case: str, provider: str, expected: tuple[object, ...], tmp_path: Path
) -> None:
    home = home_of(case, tmp_path)
    account = read_account(provider, {}, home)
    assert astuple(account)[:5] == expected
    assert str(home) in account.detail
    shown = repr(account)
    for secret in secrets_in(home):
        assert secret not in shown


@pytest.mark.parametrize("provider", ["claude", "codex", "gemini", "copilot", "opencode", "grok"])
def test_an_empty_home_is_not_logged_in_and_says_where_it_looked(
    provider: str, tmp_path: Path
) -> None:
    account = read_account(provider, {}, tmp_path)
    assert account.state == NOT_LOGGED_IN
    assert str(tmp_path) in account.detail


def test_a_file_that_is_not_json_cannot_tell_and_says_which(tmp_path: Path) -> None:
    home = home_of("codex-broken", tmp_path)
    account = read_account("codex", {}, home)
    assert account.state == UNKNOWN
    assert account.detail == f"{home / '.codex' / 'auth.json'} is not JSON"


def test_keys_in_the_environment_count_and_are_never_shown(tmp_path: Path) -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant-env-FIXTURE", "GH_TOKEN": "ghp_FIXTURE"}
    claude = read_account("claude", environ, tmp_path)
    copilot = read_account("copilot", environ, tmp_path)
    assert (claude.state, claude.method) == (API_KEY, "ANTHROPIC_API_KEY")
    assert (copilot.state, copilot.method) == (API_KEY, "GH_TOKEN")
    assert "FIXTURE" not in repr(claude) + repr(copilot)


def test_a_google_login_whose_token_is_not_on_disk_cannot_be_told(tmp_path: Path) -> None:
    home = home_of("gemini-google", tmp_path)
    (home / ".gemini" / "oauth_creds.json").unlink()
    account = read_account("gemini", {}, home)
    assert (account.state, account.account) == (UNKNOWN, "dev@example.com")
    assert "keychain" in account.detail


async def test_only_installed_clis_are_listed(tmp_path: Path) -> None:
    home = home_of("codex-chatgpt", tmp_path)

    async def locate(provider: str) -> str | None:
        return "/usr/bin/codex" if provider == "codex" else None

    accounts = await CliAccounts(environ={}, locate=locate, home=home).read()
    assert [(a.provider, a.state, a.plan) for a in accounts] == [("codex", LOGGED_IN, "plus")]


# -- the real CLIs' own verdicts on the same files ----------------------------------------------


def offline(argv: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a real CLI with this private home and, where allowed, no network at all."""
    environ = {"HOME": str(home), "PATH": "/usr/bin:/bin", **env}
    isolate = ["unshare", "-rn"] if _can_isolate() else []
    return subprocess.run(
        [*isolate, *argv],
        env=environ,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=STATUS_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _can_isolate() -> bool:
    if shutil.which("unshare") is None:
        return False
    return (
        subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False).returncode == 0
    )


def _agree_claude(home: Path) -> CliAccount:
    ours = read_account("claude", {}, home)
    run = offline([find_cli("claude"), "auth", "status"], home)
    theirs = json.loads(run.stdout)
    assert theirs["loggedIn"] == (ours.state in (LOGGED_IN, API_KEY))
    return ours


def test_claude_auth_status_agrees_with_the_files(tmp_path: Path) -> None:
    home = home_of("claude-max", tmp_path)
    ours = _agree_claude(home)
    theirs = json.loads(offline([find_cli("claude"), "auth", "status"], home).stdout)
    assert theirs["email"] == "dev@example.com" and ours.account is not None
    assert theirs["email"] in ours.account and theirs["orgName"] in ours.account
    assert ours.plan is not None and ours.plan.startswith(theirs["subscriptionType"])
    assert _agree_claude(home_of("claude-api-key", tmp_path)).state == API_KEY
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _agree_claude(empty).state == NOT_LOGGED_IN


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("codex-chatgpt", "Logged in using ChatGPT"),
        ("codex-api-key", "API key configured"),
        (None, "Not logged in"),
    ],
)
def test_codex_login_status_agrees_with_the_files(
    case: str | None, said: str, tmp_path: Path
) -> None:
    home = home_of(case, tmp_path) if case else tmp_path / "empty"
    (home / ".codex").mkdir(parents=True, exist_ok=True)  # the CLI wants its home to exist
    run = offline([find_cli("codex"), "login", "status"], home, CODEX_HOME=str(home / ".codex"))
    assert said in run.stdout + run.stderr
    expected = {"codex-chatgpt": LOGGED_IN, "codex-api-key": API_KEY, None: NOT_LOGGED_IN}
    assert read_account("codex", {}, home).state == expected[case]
    assert "FIXTURE" not in run.stdout + run.stderr  # the CLI masks too


def test_opencode_providers_list_agrees_with_the_files(tmp_path: Path) -> None:
    home = home_of("opencode", tmp_path)
    run = offline(
        [find_cli("opencode"), "providers", "list"],
        home,
        XDG_DATA_HOME=str(home / ".local" / "share"),
    )
    listed = run.stdout.lower()
    assert "anthropic" in listed and "oauth" in listed and "openai" in listed
    ours = read_account("opencode", {}, home)
    assert "anthropic" in ours.method and "openai" in ours.method


def test_grok_with_an_api_key_and_no_sign_in(tmp_path: Path) -> None:
    account = read_account("grok", {"XAI_API_KEY": "xai-FIXTURE"}, tmp_path)
    assert (account.state, account.method) == (API_KEY, "XAI_API_KEY")
    assert "xai-FIXTURE" not in repr(account)
