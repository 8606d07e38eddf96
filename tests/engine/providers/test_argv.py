"""Golden argv per adapter and option combination: what each CLI is asked to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.providers.base import PromptParts, ProviderRequest, SessionChoice
from llmgw_desktop.engine.providers.cli_adapters import adapter_for

EXE = "/bin/cli"
WD = Path("/work/repo")


def argv(provider: str, **kw: object) -> list[str]:
    request = ProviderRequest(**{"prompt": "hello", **kw})  # type: ignore[arg-type]
    return list(adapter_for(provider).prepare(request, EXE).invocation.argv)


def stdin(provider: str, **kw: object) -> bytes | None:
    request = ProviderRequest(**{"prompt": "hello", **kw})  # type: ignore[arg-type]
    return adapter_for(provider).prepare(request, EXE).invocation.stdin


# -- claude --------------------------------------------------------------------------------

BASE_CLAUDE = [
    EXE,
    "-p",
    "--input-format",
    "stream-json",
    "--output-format",
    "stream-json",
    "--verbose",
]


@pytest.mark.parametrize(
    ("kw", "tail"),
    [
        ({}, []),
        ({"model": "sonnet"}, ["--model", "sonnet"]),
        ({"session": SessionChoice(resume_id="abc")}, ["--resume", "abc"]),
        (
            {"session": SessionChoice(resume_id="abc", fork=True)},
            ["--resume", "abc", "--fork-session"],
        ),
        ({"session": SessionChoice(resume_latest=True)}, ["--continue"]),
        ({"session": SessionChoice(new_session_id="u-1")}, ["--session-id", "u-1"]),
        ({"permission_mode": "plan"}, ["--permission-mode", "plan"]),
        ({"permission_mode": "acceptEdits"}, ["--permission-mode", "acceptEdits"]),
        ({"permission_mode": "bypassPermissions"}, ["--permission-mode", "bypassPermissions"]),
        ({"allowed_tools": ("Read", "Edit")}, ["--allowed-tools", "Read", "Edit"]),
        ({"disallowed_tools": ("Bash",)}, ["--disallowed-tools", "Bash"]),
        # What a hard budget held for the call (`calls/cli_spend.py`).
        ({"max_budget_usd": 0.96}, ["--max-budget-usd", "0.960000"]),
    ],
)
def test_claude_argv(kw: dict[str, object], tail: list[str]) -> None:
    assert argv("claude", **kw) == BASE_CLAUDE + tail


def test_claude_prompt_goes_on_stdin_as_a_stream_json_message_even_if_it_looks_like_a_flag() -> (
    None
):
    message = json.loads(stdin("claude", prompt="--dangerously-skip-permissions") or b"")
    assert message["type"] == "user"
    assert message["message"]["content"] == [
        {"type": "text", "text": "--dangerously-skip-permissions"}
    ]
    assert "--dangerously-skip-permissions" not in argv(
        "claude", prompt="--dangerously-skip-permissions"
    )


def test_claude_prompt_parts_mark_the_stable_prefix_for_caching() -> None:
    parts = PromptParts(task="review it", system="You review.", context="big file")
    message = json.loads(stdin("claude", prompt=parts.render(), parts=parts) or b"")
    prefix, task = message["message"]["content"]
    assert prefix == {
        "type": "text",
        "text": "You review.\n\nbig file",
        "cache_control": {"type": "ephemeral"},
    }
    assert task == {"type": "text", "text": "review it"}


def test_claude_env_turns_off_the_cli_retry_loop() -> None:
    prepared = adapter_for("claude").prepare(ProviderRequest(prompt="x"), EXE)
    assert prepared.invocation.env["CLAUDE_CODE_MAX_RETRIES"] == "0"


# -- codex ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, [EXE, "exec", "--json", "--skip-git-repo-check", "-"]),
        (
            {"model": "gpt-5", "permission_mode": "acceptEdits"},
            [
                EXE,
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--model",
                "gpt-5",
                "--sandbox",
                "workspace-write",
                "-",
            ],
        ),
        (
            {"permission_mode": "plan"},
            [EXE, "exec", "--json", "--skip-git-repo-check", "--sandbox", "read-only", "-"],
        ),
        (
            {"permission_mode": "bypassPermissions"},
            [
                EXE,
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                "-",
            ],
        ),
        (
            {"session": SessionChoice(resume_id="t-1")},
            [EXE, "exec", "resume", "--json", "--skip-git-repo-check", "t-1", "-"],
        ),
        # `codex exec fork ID` (0.169): a copy of the thread under a new id, headless.
        (
            {"session": SessionChoice(resume_id="t-1", fork=True), "model": "gpt-5"},
            [
                EXE,
                "exec",
                "fork",
                "--json",
                "--skip-git-repo-check",
                "-c",
                'model="gpt-5"',
                "t-1",
                "-",
            ],
        ),
        (
            {"session": SessionChoice(resume_latest=True), "model": "gpt-5"},
            [
                EXE,
                "exec",
                "resume",
                "--json",
                "--skip-git-repo-check",
                "-c",
                'model="gpt-5"',
                "--last",
                "-",
            ],
        ),
    ],
)
def test_codex_argv(kw: dict[str, object], expected: list[str]) -> None:
    assert argv("codex", **kw) == expected
    assert stdin("codex", **kw) == b"hello"


def test_codex_forks_by_id_only_and_says_so() -> None:
    # `codex exec fork` takes a thread id; there is no headless fork of "the latest".
    with pytest.raises(InvalidRequest) as caught:
        argv("codex", session=SessionChoice(resume_latest=True, fork=True))
    assert caught.value.code == "invalid_session" and "by its id" in caught.value.message


def test_codex_keeps_the_sandbox_on_resume_and_warns() -> None:
    prepared = adapter_for("codex").prepare(
        ProviderRequest(prompt="x", session=SessionChoice(resume_id="t"), permission_mode="plan"),
        EXE,
    )
    assert "--sandbox" not in prepared.invocation.argv


# -- gemini and agy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "tail"),
    [
        ({}, []),
        ({"model": "gemini-2.5-pro"}, ["--model", "gemini-2.5-pro"]),
        ({"session": SessionChoice(resume_id="s1")}, ["--resume", "s1"]),
        ({"session": SessionChoice(resume_latest=True)}, ["--resume", "latest"]),
        ({"session": SessionChoice(new_session_id="u1")}, ["--session-id", "u1"]),
        ({"permission_mode": "plan"}, ["--approval-mode", "plan"]),
        ({"permission_mode": "acceptEdits"}, ["--approval-mode", "auto_edit"]),
        ({"permission_mode": "bypassPermissions"}, ["--approval-mode", "yolo"]),
    ],
)
def test_gemini_argv(kw: dict[str, object], tail: list[str]) -> None:
    assert argv("gemini", **kw) == [EXE, "--output-format", "stream-json", *tail]
    assert stdin("gemini", **kw) == b"hello"


def test_agy_is_used_when_that_is_the_installed_binary() -> None:
    request = ProviderRequest(
        prompt="-x", permission_mode="acceptEdits", session=SessionChoice(resume_id="c1")
    )
    prepared = adapter_for("gemini").prepare(request, "/usr/bin/agy")
    assert list(prepared.invocation.argv) == [
        "/usr/bin/agy",
        "--print=-x",
        "--conversation",
        "c1",
        "--mode",
        "accept-edits",
    ]


# -- grok ----------------------------------------------------------------------------------


GROK = [EXE, "--single=hello", "--output-format", "streaming-json"]
UUID = "01a21855-19c7-7ed0-8b0b-38b74bb16345"


def test_grok_argv_keeps_the_prompt_in_one_argument() -> None:
    assert argv("grok", prompt="-rf /", model="grok-4")[:6] == [
        EXE,
        "--single=-rf /",
        "--output-format",
        "streaming-json",
        "--model",
        "grok-4",
    ]


@pytest.mark.parametrize(
    ("kw", "tail"),
    [
        ({}, ["--permission-mode", "default"]),
        # Its flag applies only default and bypassPermissions: the other two are rules.
        ({"permission_mode": "plan"}, ["--permission-mode", "default", "--deny", "Edit"]),
        ({"permission_mode": "acceptEdits"}, ["--permission-mode", "default", "--allow", "Edit"]),
        ({"permission_mode": "bypassPermissions"}, ["--permission-mode", "bypassPermissions"]),
        (
            {"session": SessionChoice(resume_id=UUID)},
            ["--resume", UUID, "--permission-mode", "default"],
        ),
        (
            {"session": SessionChoice(resume_id=UUID, fork=True)},
            ["--resume", UUID, "--fork-session", "--permission-mode", "default"],
        ),
        (
            {"session": SessionChoice(resume_latest=True)},
            ["--continue", "--permission-mode", "default"],
        ),
        (
            {"session": SessionChoice(new_session_id=UUID)},
            ["--session-id", UUID, "--permission-mode", "default"],
        ),
        (
            {"allowed_tools": ("Read", "Edit(src/**)"), "disallowed_tools": ("WebFetch",)},
            [
                "--permission-mode",
                "default",
                "--allow",
                "Read",
                "--allow",
                "Edit(src/**)",
                "--deny",
                "WebFetch",
            ],
        ),
    ],
)
def test_grok_argv(kw: dict[str, object], tail: list[str]) -> None:
    assert argv("grok", **kw) == GROK + tail
    assert stdin("grok", **kw) is None  # headless grok reads no prompt from stdin


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"session": SessionChoice(new_session_id="mine")}, "invalid_session"),
        ({"session": SessionChoice(fork=True)}, "invalid_session"),
        ({"permission_mode": "yolo"}, "invalid_permission"),
        ({"prompt": "x" * 200_000}, "prompt_too_large"),
    ],
)
def test_grok_refuses_what_it_cannot_do(kw: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        argv("grok", **kw)
    assert caught.value.code == code


# -- copilot -------------------------------------------------------------------------------


def test_copilot_argv_defaults_to_no_shell() -> None:
    got = argv("copilot", model="gpt-5", session=SessionChoice(resume_id="s1"))
    assert got[:4] == [EXE, "--prompt=hello", "--output-format", "json"]
    assert "--no-ask-user" in got and any(a.startswith("--usage-output-file=") for a in got)
    assert got[-5:] == ["--model=gpt-5", "--resume=s1", "--allow-all-tools", "--deny-tool", "shell"]


def test_copilot_plan_denies_writes_and_bypass_allows_all() -> None:
    assert argv("copilot", permission_mode="plan")[-5:] == [
        "--allow-all-tools",
        "--deny-tool",
        "shell",
        "--deny-tool",
        "write",
    ]
    assert argv("copilot", permission_mode="bypassPermissions")[-1] == "--allow-all"


# -- opencode ------------------------------------------------------------------------------


def test_opencode_argv_pins_the_directory_and_reads_stdin() -> None:
    got = argv(
        "opencode",
        working_dir=WD,
        model="anthropic/claude-sonnet-4-5",
        session=SessionChoice(resume_id="ses_1", fork=True),
    )
    assert got == [
        EXE,
        "run",
        "--format",
        "json",
        "--dir",
        str(WD),
        "--model",
        "anthropic/claude-sonnet-4-5",
        "--session",
        "ses_1",
        "--fork",
    ]
    assert stdin("opencode") == b"hello"


def test_opencode_permission_modes() -> None:
    assert argv("opencode", permission_mode="plan")[-2:] == ["--agent", "plan"]
    assert argv("opencode", permission_mode="bypassPermissions")[-1] == "--auto"


# -- mistral vibe --------------------------------------------------------------------------


RESUME = ("--resume", "v1")


def test_vibe_argv_model_goes_in_the_environment() -> None:
    request = ProviderRequest(
        prompt="hi",
        model="devstral-2",
        permission_mode="acceptEdits",
        session=SessionChoice(resume_id="v1"),
    )
    prepared = adapter_for("mistral").prepare(request, EXE)
    argv = list(prepared.invocation.argv)
    # This run's export.json (usage, cost, outcome) goes to a directory of its own.
    out = argv.index("--output-dir")
    assert Path(argv[out + 1]).name.startswith("llmgw-vibe-")
    del argv[out : out + 2]
    assert argv[1:] == ["-p", "--output", "json", "--agent", "accept-edits", "--trust", *RESUME]
    assert prepared.invocation.env == {"VIBE_ACTIVE_MODEL": "devstral-2"}
    assert prepared.invocation.stdin == b"hi"


@pytest.mark.parametrize(
    ("mode", "agent"),
    # Vibe 3's builtin agents: there is no `plan` nor `default` (it says "not found").
    [
        ("default", "ask"),
        ("plan", "ask"),
        ("acceptEdits", "accept-edits"),
        ("bypassPermissions", "auto-approve"),
    ],
)
def test_vibe_runs_one_of_its_builtin_agents(mode: str, agent: str) -> None:
    got = argv("mistral", permission_mode=mode)
    assert got[got.index("--agent") + 1] == agent


def test_vibe_resume_needs_its_session_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIBE_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text("[session_logging]\nenabled = false\n")
    argv("mistral")  # a new conversation runs (and is answered with a warning)
    for session in (SessionChoice(resume_id="v1"), SessionChoice(resume_latest=True)):
        with pytest.raises(InvalidRequest) as caught:
            argv("mistral", session=session)
        assert "[session_logging] enabled = true" in caught.value.message
        assert str(tmp_path / "config.toml") in caught.value.message


def test_unknown_permission_mode_is_refused_everywhere() -> None:
    for provider in ("claude", "codex", "gemini", "copilot", "opencode", "mistral"):
        with pytest.raises(InvalidRequest):
            argv(provider, permission_mode="yolo")
