"""A CLI's own word on its login (`cli_login.py`): held as its lasting trouble only while it
says it is logged out, asked again only when its files change or `RECHECK_S` has passed, and
never held back in doubt (an answer that cannot be read, a hard budget under which its jobs may
come back through the gateway). The real Claude Code is asked in
`tests/ui/test_cli_logged_out.py`, the real Grok CLI's answers below; here a stand-in script
(which counts how often it is asked) stands for a CLI, so the rules can be driven one by one.
Codex, Mistral Vibe and Gemini CLI are never started for it: their files, read as a call reads
them, decide."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.events import EventBus, RequestFinished
from llmgw_desktop.engine.providers import cli_login
from llmgw_desktop.engine.providers.cli_login import RECHECK_S, CliLogins
from llmgw_desktop.engine.providers.discovery import LOCATE_CACHE_S, Discovery
from llmgw_desktop.engine.providers.trouble import ProviderTrouble
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.store import StoreUnavailable

_STAND_IN = """#!{python}
import pathlib, sys
here = pathlib.Path(sys.argv[0]).parent
with open(here / "asked", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
sys.stdout.write((here / "says").read_text())
sys.exit(int((here / "exit").read_text() or 0))
"""


class Stand:
    """The stand-in `claude` on a PATH folder of its own, saying what a test sets."""

    def __init__(self, folder: Path, name: str = "claude") -> None:
        self.folder = folder
        program = folder / name
        program.write_text(_STAND_IN.format(python=sys.executable))
        program.chmod(0o755)
        self.say(logged_in=False)

    def say(self, *, logged_in: bool | None, text: str | None = None) -> None:
        answer = {"loggedIn": logged_in, "authMethod": "none"} if logged_in is not None else {}
        (self.folder / "says").write_text(text if text is not None else json.dumps(answer))
        (self.folder / "exit").write_text("0" if logged_in else "1")

    @property
    def asked(self) -> list[str]:
        path = self.folder / "asked"
        return path.read_text().splitlines() if path.exists() else []


# The CLIs' login files as the real CLIs write them (tests/engine/providers/test_accounts.py).
ACCOUNTS = Path(__file__).parents[2] / "fixtures" / "accounts"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _alone_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *unset: str) -> Path:
    """A folder that is the whole PATH, with the variables `unset` taken away."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def stand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stand:
    return Stand(_alone_on_path(tmp_path, monkeypatch))


def _watch(
    tmp_path: Path, *, hard: bool = False, enabled: bool = True, auth_files: Any = None
) -> tuple[CliLogins, ProviderTrouble, EventBus, Clock]:
    events = EventBus()
    trouble = ProviderTrouble(
        events, switch_ids=["claude", "codex", "grok", "mistral", "gemini", "gemini-acp"]
    )
    clock = Clock()
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    watch = CliLogins(
        discovery=Discovery(clock=clock),
        trouble=trouble,
        is_enabled=lambda provider: enabled,
        any_hard_budget=lambda: hard,
        environ={"HOME": str(home)},
        clock=clock,
        auth_files=auth_files,
        auth_root=tmp_path / "auth",
    )
    return watch, trouble, events, clock


async def test_a_cli_that_says_it_is_logged_out_is_held_until_it_says_otherwise(
    stand: Stand, tmp_path: Path
) -> None:
    watch, trouble, _events, clock = _watch(tmp_path)
    await watch.check()
    held = trouble.of("claude")
    assert held is not None and held.logged_out and held.code == "auth_required"
    assert held.message.startswith("not logged in: run `claude`")
    assert stand.asked == ["auth status --json"]

    await watch.check()  # its files said the same, and RECHECK_S has not passed: not asked
    assert len(stand.asked) == 1
    stand.say(logged_in=True)
    clock.now += RECHECK_S
    await watch.check()
    assert len(stand.asked) == 2 and trouble.of("claude") is None


async def test_files_that_hold_a_login_are_taken_at_their_word_at_once(
    stand: Stand, tmp_path: Path
) -> None:
    """Logged in since (its files changed): cleared at the next look, and not asked (a start
    of the CLI is spent only to confirm a logout the files suggest)."""
    watch, trouble, _events, _clock = _watch(tmp_path)
    await watch.check()
    assert trouble.of("claude") is not None
    credentials = tmp_path / "home" / ".claude" / ".credentials.json"
    credentials.parent.mkdir()
    credentials.write_text(json.dumps({"claudeAiOauth": {"accessToken": "t"}}))
    await watch.check()
    assert len(stand.asked) == 1 and trouble.of("claude") is None
    credentials.unlink()  # logged out again: asked again at once
    await watch.check()
    assert len(stand.asked) == 2 and trouble.of("claude") is not None


@pytest.mark.parametrize(
    "text", ["", "not json", "[]", '{"loggedIn": "no"}', json.dumps({"other": 1})]
)
async def test_an_answer_that_cannot_be_read_holds_nothing_back(
    stand: Stand, tmp_path: Path, text: str
) -> None:
    stand.say(logged_in=None, text=text)
    watch, trouble, _events, _clock = _watch(tmp_path)
    await watch.check()
    assert len(stand.asked) == 1 and trouble.of("claude") is None


async def test_a_cli_that_hangs_holds_nothing_back(
    stand: Stand, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (stand.folder / "claude").write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    monkeypatch.setattr(
        cli_login,
        "VERSION_LIMITS",
        cli_login.VERSION_LIMITS.__class__(timeout_s=0.5, kill_grace_s=0.5),
    )
    watch, trouble, _events, _clock = _watch(tmp_path)
    await watch.check()
    assert trouble.of("claude") is None


@pytest.mark.parametrize("hard, enabled", [(True, True), (False, False)])
async def test_under_a_hard_budget_or_switched_off_it_is_not_asked(
    stand: Stand, tmp_path: Path, hard: bool, enabled: bool
) -> None:
    """A hard budget: its jobs may come back through the gateway on the gateway's own key,
    and need no login of their own. Switched off: it answers nothing whatever its login."""
    watch, trouble, _events, _clock = _watch(tmp_path, hard=hard, enabled=enabled)
    await watch.check()
    assert stand.asked == [] and trouble.of("claude") is None


async def test_a_call_that_succeeds_clears_it_and_a_test_or_the_calls_word_stands(
    stand: Stand, tmp_path: Path
) -> None:
    watch, trouble, events, _clock = _watch(tmp_path)
    await watch.check()
    events.publish(RequestFinished("r", "claude", "m", RecordState.COMPLETED, "x", "t", 0, 1))
    assert trouble.of("claude") is None
    await watch.check()  # nothing changed since it was asked: the call's success stands
    assert trouble.of("claude") is None and len(stand.asked) == 1

    trouble.note_test("claude", ok=False, code="auth_required", message="401 from the Test")
    trouble.note_login("claude", "not logged in: ...")
    held = trouble.of("claude")
    assert held is not None and held.source == "test"
    trouble.note_login("claude", None)  # clears only what it made
    assert trouble.of("claude") is not None


# What the real Grok CLI 0.2.111 printed for `grok models`, without and with a key (2026-11-28).
GROK_LOGGED_OUT = "You are not authenticated.\n\nDefault model: grok-4.5\n"
GROK_KEYED = "You are using XAI_API_KEY.\n\nDefault model: grok-4.5\n"


async def test_grok_is_asked_with_grok_models_and_read_in_its_own_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grok = Stand(_alone_on_path(tmp_path, monkeypatch, "XAI_API_KEY"), "grok")
    grok.say(logged_in=None, text=GROK_LOGGED_OUT)
    watch, trouble, _events, clock = _watch(tmp_path)
    await watch.check()
    held = trouble.of("grok")
    assert held is not None and held.message.startswith("not logged in: run `grok login`")
    assert grok.asked == ["models"]
    grok.say(logged_in=None, text=GROK_KEYED)
    clock.now += RECHECK_S
    await watch.check()
    assert trouble.of("grok") is None and len(grok.asked) == 2
    grok.say(logged_in=None, text="something else entirely\n")
    clock.now += RECHECK_S
    await watch.check()
    assert trouble.of("grok") is None  # in doubt: nothing held back


# Per CLI whose files decide: its program, its own directory, what it is told to do, and the
# key its calls' environment may hold.
FILES_DECIDE = {
    "codex": ("codex", ".codex", "run `codex login`", "CODEX_API_KEY"),
    "mistral": ("vibe", ".vibe", "run `vibe --setup`", "MISTRAL_API_KEY"),
    "gemini": ("gemini", ".gemini", "run `gemini` and choose a sign-in", "GEMINI_API_KEY"),
}


@pytest.mark.parametrize("provider", FILES_DECIDE)
async def test_codex_vibe_and_gemini_are_decided_by_their_files_and_never_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    """Their files (and the keys in the environment their calls get) are all they read; a
    config file of their own may choose a provider that needs no login (Gemini: Google Cloud's
    credentials): then in doubt."""
    program, own_dir, fix, key = FILES_DECIDE[provider]
    folder = _alone_on_path(
        tmp_path,
        monkeypatch,
        *("CODEX_API_KEY", "OPENAI_API_KEY", "MISTRAL_API_KEY", "GEMINI_API_KEY"),
        *("CODEX_HOME", "VIBE_HOME", "GEMINI_CLI_HOME", "GOOGLE_GENAI_USE_VERTEXAI"),
    )
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    stand = Stand(folder, program)
    watch, trouble, _events, clock = _watch(tmp_path)
    await watch.check()
    held = trouble.of(provider)
    assert held is not None and held.message.startswith(f"not logged in: {fix}")

    own = home / own_dir
    own.mkdir()
    if provider == "gemini":
        monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
        clock.now += RECHECK_S
    else:
        (own / "config.toml").write_text('model_provider = "ollama"\n')
    await watch.check()  # in doubt
    assert trouble.of(provider) is None
    if provider == "gemini":
        monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI")
        clock.now += RECHECK_S
    else:
        (own / "config.toml").unlink()
    await watch.check()
    assert trouble.of(provider) is not None

    # A key in the environment its calls get (the child's): its files read as a call's.
    monkeypatch.setenv(key, "k")
    clock.now += RECHECK_S
    await watch.check()
    assert trouble.of(provider) is None
    assert stand.asked == []  # never started


async def test_gemini_cli_over_acp_reads_gemini_clis_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same program and the same empty ~/.gemini: Gemini CLI was "Not logged in" while
    Gemini CLI (ACP) was Ready, its models offered (a helper's check under Xvfb)."""
    unset = ("GEMINI_API_KEY", "GEMINI_CLI_HOME", "GOOGLE_GENAI_USE_VERTEXAI")
    folder = _alone_on_path(tmp_path, monkeypatch, *unset)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    stand = Stand(folder, "gemini")
    watch, trouble, _events, clock = _watch(tmp_path)
    await watch.check()
    for provider in ("gemini", "gemini-acp"):
        held = trouble.of(provider)
        assert held is not None and held.message.startswith("not logged in: run `gemini`")
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    clock.now += RECHECK_S
    await watch.check()
    assert trouble.of("gemini") is None and trouble.of("gemini-acp") is None
    assert stand.asked == []


async def test_antigravity_in_gemini_clis_place_is_not_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Stand(_alone_on_path(tmp_path, monkeypatch, "GEMINI_API_KEY"), "agy")
    watch, trouble, _events, _clock = _watch(tmp_path)
    await watch.check()
    assert trouble.of("gemini") is None


async def test_the_real_grok_codex_vibe_and_gemini_in_a_home_without_a_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pinned CLIs themselves, in a home of their own with no login: each is held with
    what to do; Grok's key in the environment clears it, asked again."""
    from tests.contract.offline import find_cli

    folder = tmp_path / "bin"
    folder.mkdir()
    for program in ("grok", "codex", "vibe", "gemini"):
        (folder / program).symlink_to(find_cli(program))
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for name in (
        *("XAI_API_KEY", "CODEX_API_KEY", "OPENAI_API_KEY", "MISTRAL_API_KEY", "GEMINI_API_KEY"),
        *("GROK_HOME", "CODEX_HOME", "VIBE_HOME", "GEMINI_CLI_HOME", "GOOGLE_GENAI_USE_VERTEXAI"),
    ):
        monkeypatch.delenv(name, raising=False)
    watch, trouble, _events, clock = _watch(tmp_path)
    await watch.check()
    for provider in ("grok", "codex", "mistral", "gemini"):
        held = trouble.of(provider)
        assert held is not None and held.logged_out, provider
    monkeypatch.setenv("XAI_API_KEY", "xai-test")
    clock.now += RECHECK_S
    await watch.check()
    assert trouble.of("grok") is None


class _VaultFiles:
    """The vault's login files for Codex, whose first read fails as a PostgreSQL outage does."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.unreachable, self.version = files, 1, 0

    async def resolve_files(self, provider: str, project: str | None = None) -> dict[str, bytes]:
        if self.unreachable:
            self.unreachable -= 1
            raise StoreUnavailable("the test's store", "the server is stopped")
        return self.files if provider == "codex" else {}


async def test_a_login_kept_in_the_vault_is_in_doubt_while_the_vault_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: its files unread were taken for none, "not logged in" held for `RECHECK_S`
    (its models held back from `/v1/models`), the vault's coming back changing nothing."""
    folder = _alone_on_path(tmp_path, monkeypatch, "CODEX_API_KEY", "OPENAI_API_KEY", "CODEX_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    Stand(folder, "codex")
    login = (ACCOUNTS / "codex-api-key" / ".codex" / "auth.json").read_bytes()
    watch, trouble, _events, _clock = _watch(tmp_path, auth_files=_VaultFiles({"auth.json": login}))
    await watch.check()
    assert trouble.of("codex") is None  # in doubt
    await watch.check()  # at once (no RECHECK_S): the vault answers, and holds a login
    assert trouble.of("codex") is None


async def test_a_look_that_sees_the_cli_set_right_ends_a_calls_not_installed_or_logged_out(
    stand: Stand, tmp_path: Path
) -> None:
    """A client asked for Claude Code before it was installed, or while logged out: the calls'
    word held its models back, and only a call that succeeded ended it, which no client that
    picks from `/v1/models` would make. A look that sees it set right ends it; one that sees
    nothing change (a program the call could not use, a revoked token's files) does not."""
    watch, trouble, events, clock = _watch(tmp_path)
    program = stand.folder / "claude"

    def a_call_failed(code: str) -> None:
        events.publish(
            RequestFinished(
                "r", "claude", "sonnet", "failed", "local", "t", 0.0, 1.0, error_code=code
            )
        )

    program.rename(stand.folder / "elsewhere")
    await watch.check()  # not installed
    a_call_failed("not_installed")
    (stand.folder / "elsewhere").rename(program)
    stand.say(logged_in=True)
    clock.now += LOCATE_CACHE_S
    await watch.check()  # installed since
    assert trouble.of("claude") is None
    a_call_failed("not_installed")  # there all along, yet not usable by the call (Grok's case)
    clock.now += RECHECK_S
    await watch.check()
    assert trouble.of("claude") is not None

    a_call_failed("auth_required")
    clock.now += RECHECK_S
    await watch.check()  # the CLI's own word: logged in
    assert trouble.of("claude") is None

    credentials = tmp_path / "home" / ".claude" / ".credentials.json"
    credentials.parent.mkdir()
    credentials.write_text(json.dumps({"claudeAiOauth": {"accessToken": "t"}}))
    await watch.check()  # its files say logged in, taken at their word
    a_call_failed("auth_required")  # the token was revoked; the files still hold it
    clock.now += RECHECK_S
    await watch.check()
    assert trouble.of("claude") is not None
    credentials.unlink()
    stand.say(logged_in=False)
    await watch.check()  # logged out: the call's word stands
    credentials.write_text(json.dumps({"claudeAiOauth": {"accessToken": "new"}}))
    await watch.check()  # logged in again (its files changed)
    assert trouble.of("claude") is None
