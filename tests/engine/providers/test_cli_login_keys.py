"""Where a CLI's or an agent's login is a key the gateway knows about (`cli_login.py`):

- an ACP agent the gateway points at itself calls its models with the gateway's key for its
  vendor, so it answers while that API provider does (switched on, a key, none refused), and
  not on its own login: with no Anthropic key, Claude over ACP answers nothing, however logged
  in Claude Code is; with one, it answers with nobody logged in;
- a CLI on the very key an API provider refused (the same environment variable) is held with
  it, where before it read Ready beside the failing provider;
- Copilot's login: its own, a GitHub token, or the `gh` CLI's; with none, the real Copilot
  refuses to run, and it is held with what to do; pointed at a model provider of its own
  (`COPILOT_PROVIDER_BASE_URL`) it needs none, and the real Copilot answers so.

Stand-in scripts stand for the agents: none is started by these rules (the pointed ones are
never asked, Copilot's files decide); the real Copilot is run once to show it agrees.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from llmgw_desktop.engine.events import EventBus, ModelListRead
from llmgw_desktop.engine.metrics.health import ProviderCallHealth
from llmgw_desktop.engine.providers.account_files import (
    COPILOT_PROVIDER_CREDENTIALS,
    read_account,
)
from llmgw_desktop.engine.providers.cli_login import RECHECK_S, CliLogins
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.health import provider_health, public_summary
from llmgw_desktop.engine.providers.trouble import VENDOR_SOURCE, ProviderTrouble
from llmgw_desktop.ui.attention import VENDOR_UNAVAILABLE, provider_verdict
from tests.engine.providers.test_cli_login import Clock, Stand, _alone_on_path

AGENTS = {  # engine id -> the program discovery finds for it, and the vendor it is pointed at
    "claude-acp": ("claude-agent-acp", "Anthropic", "ANTHROPIC_API_KEY"),
    "codex-acp": ("codex-acp", "OpenAI", "OPENAI_API_KEY"),
    "qwen": ("qwen", "OpenAI", "OPENAI_API_KEY"),
    "gemini-acp": ("gemini", "Google Gemini", "GEMINI_API_KEY"),
}
SWITCHES = [*AGENTS, "claude", "codex", "gemini", "copilot", "anthropic", "openai", "google"]
_UNSET = (
    *("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY"),
    *("GEMINI_CLI_HOME", "GOOGLE_GENAI_USE_VERTEXAI", "CODEX_HOME", "CLAUDE_CONFIG_DIR"),
    *("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN", "COPILOT_HOME", "GH_CONFIG_DIR"),
    *("COPILOT_PROVIDER_BASE_URL", *COPILOT_PROVIDER_CREDENTIALS, "COPILOT_OFFLINE"),
    "XDG_CONFIG_HOME",
)


class Gateway:
    """What the watch is told of the gateway: which vendors hold a key, which are switched
    off, and whether its HTTP door is bound."""

    def __init__(self) -> None:
        self.keyed: set[str] = set()
        self.off: set[str] = set()
        self.door = True

    async def has_key(self, vendor: str) -> bool:
        return vendor in self.keyed


def _watch(
    home: Path, gateway: Gateway, environ: dict[str, str] | None = None
) -> tuple[CliLogins, ProviderTrouble, EventBus, Clock]:
    events = EventBus()
    trouble = ProviderTrouble(events, switch_ids=SWITCHES)
    clock = Clock()
    watch = CliLogins(
        discovery=Discovery(),
        trouble=trouble,
        is_enabled=lambda switch: switch not in gateway.off,
        any_hard_budget=lambda: False,
        environ={"HOME": str(home), **(environ or {})},
        has_key=gateway.has_key,
        door_open=lambda: gateway.door,
        clock=clock,
    )
    return watch, trouble, events, clock


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


def _stands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: Iterable[str]) -> list[Stand]:
    folder = _alone_on_path(tmp_path, monkeypatch, *_UNSET)
    return [Stand(folder, name) for name in names]


def _held(trouble: ProviderTrouble, provider: str) -> str:
    found = trouble.of(provider)
    return found.message if found is not None else ""


async def test_pointed_agents_answer_while_their_vendor_does_not_on_a_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    stands = _stands(tmp_path, monkeypatch, dict.fromkeys(p for p, *_ in AGENTS.values()))
    gateway = Gateway()
    watch, trouble, events, _clock = _watch(home, gateway)

    # No key for any vendor: each is held, naming the key that would make it answer.
    await watch.check()
    for agent, (_program, vendor, variable) in AGENTS.items():
        said = _held(trouble, agent)
        assert said.startswith(f"pointed at the gateway's {vendor} provider, which has no key")
        assert variable in said, agent

    # Keys for all three, nobody logged in anywhere: all answer (never asked).
    gateway.keyed = {"anthropic", "openai", "google"}
    await watch.check()
    assert [_held(trouble, agent) for agent in AGENTS] == ["", "", "", ""]
    assert all(stand.asked == [] for stand in stands)

    # OpenAI switched off: the two on OpenAI's key are held; then its key refused.
    gateway.off = {"openai"}
    await watch.check()
    assert "which is switched off" in _held(trouble, "codex-acp")
    assert "which is switched off" in _held(trouble, "qwen")
    assert _held(trouble, "claude-acp") == ""
    gateway.off = set()
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 401, "invalid key"))
    await watch.check()
    assert _held(trouble, "codex-acp").startswith(
        "pointed at the gateway's OpenAI provider, which fails: its key env:OPENAI_API_KEY "
        "was refused (401)"
    )
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", None))
    await watch.check()
    assert _held(trouble, "codex-acp") == "" and _held(trouble, "qwen") == ""


async def test_a_pointed_agent_held_for_its_vendor_is_not_said_to_be_logged_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """With OpenAI's key refused, Qwen Code read "Not logged in" in the window and `/health`
    listed it in `loggedOut` (a helper's review), though it has no login of its own: the
    person was sent to log in a CLI that makes its calls with the gateway's key. Its status is
    its vendor's now, everywhere; it is still held back, and still not counted failing."""
    _stands(tmp_path, monkeypatch, ["qwen"])
    gateway = Gateway()
    gateway.keyed = {"openai"}
    watch, trouble, events, _clock = _watch(home, gateway)
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 401, "invalid key"))
    await watch.check()
    held = trouble.of("qwen")
    assert held is not None and held.source == VENDOR_SOURCE, held
    assert held.set_up_wanted and not held.logged_out
    healths = {
        switch: provider_health(
            switch, breaker=None, trouble=trouble.of(switch), calls=ProviderCallHealth(switch, 300)
        )
        for switch in ("qwen", "openai")
    }
    said = public_summary(healths.values())
    assert said["vendorUnavailable"] == ["qwen"] and said["loggedOut"] == [], said
    assert said["failing"] == ["openai"], said  # the vendor is the one failing
    engine = SimpleNamespace(providers=SimpleNamespace(health=healths.__getitem__))
    verdict = provider_verdict(cast(Any, engine), "qwen", "Qwen Code")
    assert verdict is not None and verdict.status == VENDOR_UNAVAILABLE, verdict
    assert verdict.why.startswith("pointed at the gateway's OpenAI provider, which fails")

    # The key answers again: the agent is no longer held, on the next look.
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", None))
    await watch.check()
    assert trouble.of("qwen") is None


async def test_an_agent_whose_own_settings_choose_its_route_is_not_held_for_the_gateways_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """Qwen Code's settings choose its own login, Claude's an apiKeyHelper: they are not
    pointed, so the gateway's missing key says nothing of them (in doubt). Gemini CLI's
    settings choose a Google sign-in with none stored: its own files hold it back."""
    _stands(tmp_path, monkeypatch, ("qwen", "claude-agent-acp", "gemini", "codex-acp"))
    (home / ".qwen").mkdir()
    (home / ".qwen" / "settings.json").write_text(
        json.dumps({"security": {"auth": {"selectedType": "qwen-oauth"}}})
    )
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text(json.dumps({"apiKeyHelper": "echo k"}))
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(
        json.dumps({"security": {"auth": {"selectedType": "oauth-personal"}}})
    )
    watch, trouble, _events, _clock = _watch(home, Gateway())
    await watch.check()
    assert _held(trouble, "qwen") == "" and _held(trouble, "claude-acp") == ""
    assert _held(trouble, "gemini-acp").startswith("not logged in: run `gemini`")
    assert "has no key" in _held(trouble, "codex-acp")  # nothing of its own: pointed


async def test_with_no_http_door_agents_run_on_their_own_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """Before the door is bound an agent runs with its own endpoint (`agent_callbacks.py`):
    not held for a key; Gemini CLI's files then decide, as for Gemini CLI."""
    _stands(tmp_path, monkeypatch, ("claude-agent-acp", "gemini"))
    gateway = Gateway()
    gateway.door = False
    watch, trouble, _events, _clock = _watch(home, gateway)
    await watch.check()
    assert _held(trouble, "claude-acp") == ""
    assert _held(trouble, "gemini-acp").startswith("not logged in: run `gemini`")


@pytest.mark.parametrize(
    "program, provider, variable, vendor, switch",
    [
        ("claude", "claude", "ANTHROPIC_API_KEY", "Anthropic", "anthropic"),
        ("codex", "codex", "OPENAI_API_KEY", "OpenAI", "openai"),
        ("gemini", "gemini", "GEMINI_API_KEY", "Google Gemini", "google"),
    ],
)
async def test_a_cli_on_the_very_key_a_provider_refused_is_held_with_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    program: str,
    provider: str,
    variable: str,
    vendor: str,
    switch: str,
) -> None:
    """Claude Code read Ready on ANTHROPIC_API_KEY while Anthropic was failing on that same key
    (a helper's check under Xvfb). Another key refused (the vault's) says nothing of it."""
    [stand] = _stands(tmp_path, monkeypatch, [program])
    monkeypatch.setenv(variable, "k")
    watch, trouble, events, _clock = _watch(home, Gateway(), {variable: "k"})
    await watch.check()
    assert _held(trouble, provider) == ""
    events.publish(ModelListRead(switch, f"vault:{switch}#1", 401, "invalid x-api-key"))
    await watch.check()
    assert _held(trouble, provider) == ""
    events.publish(ModelListRead(switch, f"env:{variable}", 401, "invalid x-api-key"))
    await watch.check()
    assert _held(trouble, provider) == (
        f"on the key {vendor} refused ({variable}, 401); set a working one and start the "
        "gateway again, or log the CLI in with an account"
    )
    events.publish(ModelListRead(switch, f"env:{variable}", None))
    await watch.check()  # at the next look, not after `RECHECK_S`
    assert _held(trouble, provider) == ""
    assert stand.asked == []  # its key was in its files' word: never started


def _copilot_held(trouble: ProviderTrouble) -> str:
    return _held(trouble, "copilot")


async def test_copilot_is_held_with_no_login_of_its_own_no_token_and_no_gh_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    [stand] = _stands(tmp_path, monkeypatch, ["copilot"])
    watch, trouble, _events, clock = _watch(home, Gateway())
    await watch.check()
    assert _copilot_held(trouble).startswith("not logged in: run `copilot` and type /login")

    # The gh CLI's login (its token in the keyring: only the host and user are in the file).
    gh = home / ".config" / "gh"
    gh.mkdir(parents=True)
    (gh / "hosts.yml").write_text(
        "github.com:\n    git_protocol: https\n    users:\n        octo:\n    user: octo\n"
    )
    clock.now += RECHECK_S
    await watch.check()
    assert _copilot_held(trouble) == ""
    account = read_account("copilot", {}, home)
    assert (account.state, account.method, account.account) == (
        "logged in",
        "the gh CLI's login",
        "octo",
    )
    (gh / "hosts.yml").write_text("# nothing\n")  # logged out of gh
    clock.now += RECHECK_S
    await watch.check()
    assert _copilot_held(trouble) != ""

    monkeypatch.setenv("COPILOT_GITHUB_TOKEN", "t")  # the child's environment has it
    clock.now += RECHECK_S
    await watch.check()
    assert _copilot_held(trouble) == ""
    assert stand.asked == []


async def test_copilot_on_a_model_provider_of_its_own_needs_no_github_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """Copilot in "bring your own key" mode read "Not logged in" (and its models were held
    back) whenever the watch looked before a page did: the flaky Providers page test, whose
    offline Copilot runs on the scripted upstream so. The real Copilot answers there with no
    GitHub login at all, below."""
    [stand] = _stands(tmp_path, monkeypatch, ["copilot"])
    watch, trouble, _events, clock = _watch(home, Gateway())
    await watch.check()
    assert _copilot_held(trouble) != ""

    monkeypatch.setenv("COPILOT_PROVIDER_BASE_URL", "http://user:secret@127.0.0.1:9/v1?k=s")
    clock.now += RECHECK_S
    await watch.check()
    assert _copilot_held(trouble) == ""  # a local server may need no key: in doubt
    account = read_account("copilot", dict(os.environ), home)
    assert (account.state, account.account) == ("cannot tell", "http://127.0.0.1:9")
    assert "secret" not in repr(account)

    monkeypatch.setenv("COPILOT_PROVIDER_API_KEY", "sk-FIXTURE")
    clock.now += RECHECK_S
    await watch.check()
    assert _copilot_held(trouble) == ""
    account = read_account("copilot", dict(os.environ), home)
    assert (account.state, account.method) == ("API key", "COPILOT_PROVIDER_API_KEY")
    assert "no GitHub login needed" in account.detail and "FIXTURE" not in repr(account)
    assert stand.asked == []


async def test_the_real_copilot_answers_on_a_model_provider_of_its_own_with_no_login(
    tmp_path: Path, home: Path
) -> None:
    """The rule above, as the pinned Copilot itself takes it: no login, no token, no `gh`."""
    from tests.contract.offline import COPILOT_CACHE, find_cli
    from tests.fakes.upstream import ScriptedUpstream

    async with ScriptedUpstream() as upstream:
        environment = {
            "HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "XDG_CACHE_HOME": str(COPILOT_CACHE),
            "COPILOT_PROVIDER_BASE_URL": f"{upstream.base_url}/v1",
            "COPILOT_PROVIDER_API_KEY": "sk-test-key",
            "COPILOT_MODEL": "gpt-5.4",
            "COPILOT_OFFLINE": "true",
        }
        assert read_account("copilot", environment, home).state == "API key"
        ran = await asyncio.create_subprocess_exec(
            find_cli("copilot"),
            *("-p", "hi", "-s"),
            env=environment,
            cwd=home,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(ran.communicate(), 120)
    assert ran.returncode == 0, err.decode()
    assert out.strip()
    assert upstream.llm_requests, "the answer came from its own provider"


def test_the_real_copilot_refuses_to_run_where_it_is_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """The pinned Copilot 1.0.102 in a home with no login, no token and no `gh`: it says it
    has no authentication and exits 1 at once (offline), as the rule reads its files."""
    from tests.contract.offline import find_cli

    account = read_account("copilot", {}, home)
    assert account.state == "not logged in"
    environment = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    ran = subprocess.run(
        [find_cli("copilot"), "-p", "hi", "-s"],
        env=environment,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 1
    assert "No authentication information found" in ran.stdout + ran.stderr


async def test_the_first_look_reads_the_model_lists_before_the_logins() -> None:
    """The start banner said "answering: claude-cli (4 models), claude-acp-cli (4 models)"
    while /v1/models was empty (a helper's review): the logins were looked at before the
    model lists were read, so Anthropic's refusal of the key Claude Code and Claude (ACP) use
    was not known yet. The lists come first now."""
    from types import SimpleNamespace

    from llmgw_desktop.engine.providers.service import ProvidersService

    order: list[str] = []

    async def lists() -> None:
        order.append("model lists")

    async def logins() -> None:
        order.append("logins")

    service = ProvidersService.__new__(ProvidersService)
    service._gateway = SimpleNamespace(directory=SimpleNamespace(first_look=lists))  # type: ignore[assignment]
    service._logins = SimpleNamespace(check=logins)  # type: ignore[assignment]
    await service.first_look()
    assert order == ["model lists", "logins"]


def test_the_login_line_of_a_pointed_agent_says_whose_key_it_calls_with(tmp_path: Path) -> None:
    """The Providers page's Login line read "cannot tell: the gateway does not know where it
    logs in" beside a status saying the agent is pointed at the gateway's Anthropic provider
    (a helper's review). It says so now; where the agent's own settings choose its route, its
    vendor CLI's files or those settings say."""
    home = tmp_path / "home"
    home.mkdir()
    pointed = read_account("claude-acp", {}, home)
    assert (pointed.state, pointed.method) == ("through the gateway", "Anthropic's key")
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text(json.dumps({"apiKeyHelper": "echo k"}))
    own = read_account("claude-acp", {}, home)
    assert own.state == "cannot tell" and "apiKeyHelper" in own.detail
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text('model_provider = "ollama"\n')
    codex = read_account("codex-acp", {}, home)
    assert (codex.provider, codex.state) == ("codex-acp", "cannot tell"), codex
