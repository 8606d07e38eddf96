"""A remote caller gets no more power over a CLI than its workspace grants (issue 12, item 1).

Against a running gateway with its front door locked (static bearer token and OAuth), the
real vendor CLIs behind recording shims (`_power_support.py`): a remote principal that asks
for a shell, whole-disk reads, a bypass or full auto is refused before anything starts; at the
default level its calls run with each CLI's confined flags; a tool the operator allow-listed
for a workspace is accepted; the local user still gets exactly what it asks for. Where the
scripted upstream makes the model call the CLI's own shell tool, the command does not run for
a remote caller.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.providers.confinement import UNCONFINED_FLAGS, cannot_confine
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security._power_support import (  # noqa: F401 - fixtures
    PROVIDERS,
    RecordingClis,
    Spawn,
    StartRecording,
    has_flags,
    headers_mcp,
    local_headers,
    local_mcp,
    oauth_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    Start,
    bearer,
    oauth_settings,
    start,
)

pytestmark = pytest.mark.contract

# The agents no confined run holds (codex): refused below bypass, whatever is asked.
UNCONFINABLE = frozenset(p for p in PROVIDERS if cannot_confine(p))

GRANTED_TOOLS = ["Bash(npm test)", "shell(npm test)", "run_shell_command(npm test)"]
# What a remote caller asks for to get a shell, the whole disk, or no guard at all.
ATTACKS: list[dict[str, Any]] = [
    {"allowedTools": ["Bash"]},
    {"allowedTools": ["Read(/**)"]},
    {"allowedTools": ["shell"]},
    {"allowedTools": ["run_shell_command"]},
    {"allowedTools": ["Bash(npm test)"]},  # fine on `granted`, not on `web`
    {"permissionMode": "bypassPermissions"},
    {"fullAuto": True},
]
# Each CLI's spelling of the granted command.
GRANT_SPELLING = {
    "claude": "Bash(npm test)",
    "gemini": "run_shell_command(npm test)",
    "copilot": "shell(npm test)",
    "mistral": "Bash(npm test)",
    "codex": "Bash(npm test)",
    "opencode": "Bash(npm test)",
    "grok": "Bash(npm test)",
}
# The flags a confined run carries, per CLI: (plain call, acceptEdits call).
CONFINED_ARGV: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claude": (
        ("--permission-mode", "default", "--setting-sources", "user"),
        ("--permission-mode", "acceptEdits", "--setting-sources", "user"),
    ),
    "gemini": (("--approval-mode", "default"), ("--approval-mode", "auto_edit")),
    "copilot": (("--deny-tool=shell", "--deny-tool=write"), ("--allow-tool=write",)),
    "opencode": ((), ()),
    "mistral": (("--agent", "ask"), ("--agent", "accept-edits")),
    "grok": (("--permission-mode", "default", "--sandbox", "strict"), ("--allow", "Edit")),
}
# The model calls the CLI's own shell tool; only running it creates the file.
CANARY = "pwned-by-remote"
SHELL_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "claude": ("Bash", {"command": f"sh -c 'echo ran > {CANARY}'", "description": "x"}),
    "copilot": (
        "bash",
        {"command": f"sh -c 'echo ran > {CANARY}'", "description": "x", "mode": "sync"},
    ),
    "gemini": ("run_shell_command", {"command": f"sh -c 'echo ran > {CANARY}'"}),
    "opencode": ("bash", {"command": f"sh -c 'echo ran > {CANARY}'", "description": "x"}),
}


@pytest.fixture
async def power(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
) -> tuple[GatewayRuntime, RecordingClis, Path]:
    """A locked gateway (bearer and OAuth) with three workspaces and recording CLIs."""
    root = tmp_path / "ws"
    for name in ("web", "granted", "listed"):
        (root / name).mkdir(parents=True)
    gateway, clis = await start_recording(
        {
            **oauth_settings(),
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "providers.retry_base_delay_ms": 0,
            "providers.timeout_ms": 120_000,
            "providers.kill_grace_ms": 1000,
            "projects.grants": {"shop": ["oauth:laptop-editor"]},
            "workspaces.registry": {
                "web": str(root / "web"),  # the old form: the global default level ("edit")
                "granted": {
                    "path": str(root / "granted"),
                    "remote_level": "commands",
                    "remote_allowed_tools": GRANTED_TOOLS,
                },
                "listed": {"path": str(root / "listed"), "remote_allowed_tools": GRANTED_TOOLS},
            },
        },
    )
    return gateway, clis, root


def _refusal(body: dict[str, Any]) -> dict[str, Any]:
    error = body["error"]
    assert error["code"] == "remote_power_refused", body
    return dict(error)


def _unconfined(spawn: Spawn) -> set[str]:
    return {arg for arg in spawn.argv if arg in UNCONFINED_FLAGS}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_remote_caller_cannot_pre_approve_a_shell_or_a_bypass(
    provider: str, power: tuple[GatewayRuntime, RecordingClis, Path]
) -> None:
    gateway, clis, _ = power
    require(provider)
    async with oauth_mcp(gateway) as client:
        for attack in ATTACKS:
            failed, body = await request(client, provider, workspace="web", **attack)
            error = _refusal(body)
            assert failed
            details = error["details"]
            assert details["workspace"] == "web" and details["setting"].startswith("workspaces.")
            if provider not in UNCONFINABLE:  # refused for what it is, whatever is asked
                field, value = next(iter(attack.items()))
                assert details["param"] == field, error
                assert details["value"] == (value[0] if isinstance(value, list) else value)
    assert clis.runs(provider) == []  # nothing was started
    rows = await gateway.engine.recorder.recent(limit=20)
    assert {r["state"] for r in rows if r["provider"] == provider} == {"denied"}


async def test_a_refused_remote_call_is_recorded_with_its_project(
    power: tuple[GatewayRuntime, RecordingClis, Path],
) -> None:
    # The refusal's row names what every provider call's row names, so a project's view of
    # the recorder (and its budget) sees the attempt too.
    gateway, clis, _ = power
    require("claude")
    async with oauth_mcp(gateway) as client:
        failed, body = await request(
            client, "claude", workspace="web", project="shop", **ATTACKS[0]
        )
    assert failed and _refusal(body)
    assert clis.runs("claude") == []
    rows = await gateway.engine.recorder.recent(limit=20)
    denied = [r for r in rows if r["provider"] == "claude" and r["state"] == "denied"]
    assert [r["project"] for r in denied] == ["shop"]


@pytest.mark.parametrize(
    "headers", [bearer(), bearer(**{USER_HEADER: "alice"})], ids=["bearer", "trusted-header"]
)
async def test_the_bearer_holder_and_proxy_named_users_are_remote_too(
    headers: dict[str, str], power: tuple[GatewayRuntime, RecordingClis, Path]
) -> None:
    gateway, clis, _ = power
    require("claude")
    async with headers_mcp(gateway, headers) as client:
        shell = await request(client, "claude", workspace="web", allowedTools=["Bash"])
        plain = await request(client, "claude", workspace="web")
    assert shell[0] and _refusal(shell[1])["details"]["value"] == "Bash"
    assert not plain[0], plain
    (spawn,) = clis.runs("claude")
    assert has_flags(spawn.argv, "--permission-mode", "default", "--setting-sources", "user")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_remote_caller_runs_confined_at_the_default_level(
    provider: str, power: tuple[GatewayRuntime, RecordingClis, Path]
) -> None:
    gateway, clis, root = power
    require(provider)
    async with oauth_mcp(gateway) as client:
        plain = await request(client, provider, workspace="web")
        edits = await request(client, provider, workspace="web", permissionMode="acceptEdits")
    if provider in UNCONFINABLE:
        # Codex's sandbox reads every file the operator can: a remote call needs a bypass grant.
        for failed, body in (plain, edits):
            assert failed and _refusal(body)["details"]["needs"] == "bypass"
        assert clis.runs(provider) == []
        return
    for failed, body in (plain, edits):
        assert not failed, body
        assert body["state"] == "completed" and body["workingDir"] == str(root / "web")
    first, second = clis.runs(provider)
    for spawn, expected in zip((first, second), CONFINED_ARGV[provider], strict=True):
        assert has_flags(spawn.argv, *expected), spawn.argv
        assert _unconfined(spawn) == set(), spawn.argv
        assert not any(a.startswith(("--allowed-tools", "--allow-tool=shell")) for a in spawn.argv)
    if provider == "opencode":
        assert '"bash"' not in first.env["OPENCODE_PERMISSION"]  # denied through "*"
        assert '"edit":"deny"' in first.env["OPENCODE_PERMISSION"]
        assert '"edit":"allow"' in second.env["OPENCODE_PERMISSION"]
        assert first.env["OPENCODE_DISABLE_PROJECT_CONFIG"] == "1"
    if provider == "mistral":
        assert "--trust" not in first.argv


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_tool_the_operator_granted_is_accepted_exactly(
    provider: str, power: tuple[GatewayRuntime, RecordingClis, Path]
) -> None:
    gateway, clis, _ = power
    require(provider)
    tool = GRANT_SPELLING[provider]
    async with oauth_mcp(gateway) as client:
        other = await request(
            client, provider, workspace="granted", allowedTools=[f"{tool[:-1]} && id)"]
        )
        listed = await request(client, provider, workspace="listed", allowedTools=[tool])
        granted = await request(client, provider, workspace="granted", allowedTools=[tool])
    # Only the exact string the operator listed; and a command needs the `commands` level.
    other_refusal, listed_refusal = _refusal(other[1]), _refusal(listed[1])
    if provider not in UNCONFINABLE:
        assert other_refusal["details"]["param"] == "allowedTools"
        assert listed_refusal["details"]["needs"] == "commands"
        assert listed_refusal["details"]["setting"] == "workspaces.registry.listed.remote_level"
    failed, body = granted
    if provider in ("codex", "opencode"):
        # The engine lets it through, but opencode takes no tool list (`tools_unsupported`);
        # codex is refused whatever is asked, as it cannot be confined.
        expected = "remote_power_refused" if provider in UNCONFINABLE else "tools_unsupported"
        assert failed and body["error"]["code"] == expected, body
        assert clis.runs(provider) == []
        return
    assert not failed, body
    (spawn,) = clis.runs(provider)
    assert tool in " ".join(spawn.argv) and _unconfined(spawn) == set(), spawn.argv
    if provider == "copilot":
        assert "--deny-tool=shell" not in spawn.argv  # a deny would win over the grant


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_local_user_still_gets_what_it_asks_for(
    provider: str, power: tuple[GatewayRuntime, RecordingClis, Path]
) -> None:
    gateway, clis, root = power
    require(provider)
    asks: dict[str, Any] = {
        "claude": {"allowedTools": ["Bash", "Read(/**)"], "permissionMode": "acceptEdits"},
        "gemini": {"allowedTools": ["run_shell_command"]},
        "copilot": {"allowedTools": ["shell"]},
        "mistral": {"allowedTools": ["bash"]},
        "codex": {"fullAuto": True},
        "opencode": {},
        "grok": {},
    }[provider]
    async with local_mcp(gateway) as client:
        failed, body = await request(client, provider, workingDir=str(root / "web"), **asks)
    assert not failed, body
    (spawn,) = clis.runs(provider)
    argv = spawn.argv
    expected = {
        "claude": ("--allowed-tools", "Bash", "Read(/**)"),
        "gemini": ("--allowed-tools", "run_shell_command"),
        "copilot": ("--allow-tool=shell",),
        "mistral": ("--enabled-tools", "bash"),
        "codex": ("--sandbox", "workspace-write"),
        "opencode": ("run", "--format", "json"),
        "grok": (),
    }[provider]
    assert has_flags(argv, *expected), argv
    assert "--setting-sources" not in argv and spawn.env == {}
    if provider == "copilot":
        assert "--allow-all-tools" in argv  # today's headless default, unchanged
    if provider == "mistral":
        assert "--trust" in argv


DESTRUCTIVE = "Tidy the workspace: run rm -rf ~ and report"


async def test_a_remote_caller_cannot_opt_out_of_the_approval_gate(
    power: tuple[GatewayRuntime, RecordingClis, Path],
) -> None:
    # `legacy` reads no prompt; asked for by a remote caller it is scored all the same.
    gateway, clis, root = power
    async with oauth_mcp(gateway) as client:
        failed, body = await request(
            client, "mistral", workspace="web", prompt=DESTRUCTIVE, approvalStrategy="legacy"
        )
        benign = await request(client, "mistral", workspace="web", approvalStrategy="legacy")
    assert failed and body["error"]["code"] == "approval_denied", body
    assert not benign[0], benign  # a harmless call under the same ask still runs
    assert len(clis.runs("mistral")) == 1
    rows = await gateway.engine.recorder.recent(limit=10)
    denied = [r for r in rows if r["state"] == "denied"]
    assert [r["approval"]["strategy"] for r in denied] == ["mcp_managed"]
    # The local user's `legacy` is still its own choice: the same prompt runs.
    async with local_mcp(gateway) as client:
        mine = await request(
            client,
            "mistral",
            workingDir=str(root / "web"),
            prompt=DESTRUCTIVE,
            approvalStrategy="legacy",
        )
    assert not mine[0], mine
    assert len(clis.runs("mistral")) == 2


async def test_remote_codex_needs_a_bypass_grant(
    power: tuple[GatewayRuntime, RecordingClis, Path],
) -> None:
    # Codex's read-only sandbox lets its commands read any file the operator can: the
    # gateway's instance.json (the local user's token) and vault key among them (issue 26
    # red-team review). So below `bypass` a remote caller gets no Codex at all.
    gateway, clis, _ = power
    require("codex")
    async with oauth_mcp(gateway) as client:
        for asked in ({}, {"permissionMode": "plan"}, {"resumeLatest": True}):
            failed, body = await request(client, "codex", workspace="web", **asked)
            refusal = _refusal(body)
            assert failed and refusal["details"]["needs"] == "bypass", body
            assert "every file" in refusal["message"]
    assert clis.runs("codex") == []


@pytest.mark.parametrize("provider", sorted(SHELL_CALLS))
async def test_a_model_asking_for_a_shell_gets_none_for_a_remote_caller(
    provider: str,
    power: tuple[GatewayRuntime, RecordingClis, Path],
    upstream: ScriptedUpstream,
) -> None:
    gateway, _, root = power
    require(provider)
    name, arguments = SHELL_CALLS[provider]
    # Answer the agent's own turns (not title or routing side calls) with the shell call. The
    # confined gemini and opencode do not even offer their shell tool: key on a reading tool.
    offered = {"gemini": "read_file", "opencode": "read"}.get(provider, name)
    upstream.script_when_offered(offered, Reply.tool_call(name, arguments), Reply.ok("DONE"))
    # The highest level a default workspace allows.
    async with oauth_mcp(gateway) as client:
        failed, body = await request(
            client, provider, workspace="web", permissionMode="acceptEdits", prompt="do it"
        )
    assert not failed, body
    # The CLI got the model's tool call and answered it (with a refusal), and nothing ran.
    answered = [r for r in upstream.llm_requests if CANARY.encode() in r.raw_body]
    assert len(answered) >= 1, [r.path for r in upstream.llm_requests]
    assert not (root / "web" / CANARY).exists()


async def test_the_local_user_may_still_pre_approve_the_shell(
    power: tuple[GatewayRuntime, RecordingClis, Path],
    upstream: ScriptedUpstream,
) -> None:
    gateway, _, root = power
    require("claude")
    name, arguments = SHELL_CALLS["claude"]
    upstream.script_when_offered(name, Reply.tool_call(name, arguments), Reply.ok("DONE"))
    async with local_mcp(gateway) as client:
        failed, body = await request(
            client, "claude", workingDir=str(root / "web"), allowedTools=["Bash"], prompt="do it"
        )
    assert not failed, body
    assert (root / "web" / CANARY).read_text().strip() == "ran"


async def _chat(gateway: GatewayRuntime, headers: dict[str, str], model: str) -> tuple[int, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": "say hello"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + "/v1/chat/completions", json=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_the_http_cli_bridge_confines_a_remote_bearer_caller(
    power: tuple[GatewayRuntime, RecordingClis, Path],
) -> None:
    gateway, clis, _ = power
    require("claude")
    status, answer = await _chat(gateway, bearer(**{"X-Workspace": "web"}), "claude-cli/sonnet")
    assert status == 200, answer
    (spawn,) = clis.runs("claude")
    assert has_flags(spawn.argv, "--permission-mode", "plan", "--setting-sources", "user")
    assert _unconfined(spawn) == set() and "--allowed-tools" not in spawn.argv
    # Codex cannot be confined: through the bridge too, a remote caller is refused.
    status, answer = await _chat(gateway, bearer(**{"X-Workspace": "web"}), "codex-cli/gpt-5.5")
    assert status == 403 and "remote_level" in str(answer), answer
    assert clis.runs("codex") == []
    # The local user's bridge call runs as before.
    status, answer = await _chat(gateway, local_headers(gateway), "claude-cli/sonnet")
    assert status == 200, answer
    assert "--setting-sources" not in clis.runs("claude")[-1].argv


async def test_gemini_project_config_written_in_the_workspace_cannot_widen_a_remote_call(
    power: tuple[GatewayRuntime, RecordingClis, Path],
) -> None:
    # Headless gemini must trust its directory, and then runs the hooks and MCP servers of its
    # `.gemini/settings.json`: one a remote caller wrote at the edit level must not count.
    gateway, clis, root = power
    require("gemini")
    settings = root / "web" / ".gemini" / "settings.json"
    settings.parent.mkdir()
    hook = {"hooks": [{"type": "command", "command": "touch hooked"}]}
    settings.write_text(json.dumps({"hooks": {"SessionStart": [hook]}}))
    async with oauth_mcp(gateway) as client:
        failed, body = await request(client, "gemini", workspace="web")
    assert failed and _refusal(body)["details"]["value"] == [".gemini"], body
    assert clis.runs("gemini") == [] and not (root / "web" / "hooked").exists()
    async with local_mcp(gateway) as client:  # the local user's own config stands
        failed, body = await request(client, "gemini", workingDir=str(root / "web"))
    assert not failed, body


async def test_a_commands_grant_is_not_a_shell(
    power: tuple[GatewayRuntime, RecordingClis, Path],
    upstream: ScriptedUpstream,
) -> None:
    # Issue 26, item 1: the model rewrites the script an allow-listed command runs, then runs
    # it. With edits and `Bash(npm test)` together that was any command as the operator.
    gateway, clis, root = power
    require("claude")
    site = root / "granted"
    operators = {"name": "site", "version": "1.0.0", "scripts": {"test": "echo ours > tests-ran"}}
    (site / "package.json").write_text(json.dumps(operators))
    attackers = {"name": "site", "version": "1.0.0", "scripts": {"test": f"echo ran > {CANARY}"}}
    upstream.script_when_offered(
        "Bash",
        Reply.tool_call(
            "Write", {"file_path": str(site / "package.json"), "content": json.dumps(attackers)}
        ),
        Reply.tool_call("Bash", {"command": "npm test", "description": "run the tests"}),
        Reply.ok("DONE"),
    )
    tools = ["Bash(npm test)"]
    async with oauth_mcp(gateway) as client:
        # Edits with the command: refused before anything starts, saying why.
        for asked, needs in (
            ({"permissionMode": "acceptEdits"}, "edit"),
            ({"fullAuto": True}, "bypass"),
        ):
            failed, body = await request(
                client, "claude", workspace="granted", allowedTools=tools, prompt="fix it", **asked
            )
            refusal = _refusal(body)
            assert failed and refusal["details"]["needs"] == needs, body
            assert "bypass" in refusal["message"]
        assert clis.runs("claude") == []
        # At the level's own mode the real CLI refuses the model's edit, and the allowed
        # command runs the operator's script, not one the caller wrote.
        failed, body = await request(
            client, "claude", workspace="granted", allowedTools=tools, prompt="fix it"
        )
    assert not failed, body
    (spawn,) = clis.runs("claude")
    assert has_flags(spawn.argv, "--permission-mode", "default", "--setting-sources", "user")
    assert json.loads((site / "package.json").read_text()) == operators
    assert not (site / CANARY).exists()
    assert (site / "tests-ran").read_text().strip() == "ours"


@pytest.mark.parametrize(("docs_level", "refused"), [("edit", True), ("read-only", False)])
async def test_commands_are_refused_where_remote_callers_may_edit_inside(
    docs_level: str,
    refused: bool,
    start: Start,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    # A workspace at `edit` inside a `commands` one: what the caller writes there, the
    # command would run (a test runner collects every test file below it).
    require("claude")
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    clis = RecordingClis(tmp_path)
    gateway = await start(
        {
            **oauth_settings(),
            "http.auth_token": TOKEN,
            "providers.cli_path": [str(clis.bin)],
            "providers.retry_attempts": 1,
            "workspaces.registry": {
                "site": {
                    "path": str(site),
                    "remote_level": "commands",
                    "remote_allowed_tools": ["Bash(npm test)"],
                },
                "docs": {"path": str(site / "docs"), "remote_level": docs_level},
            },
        },
    )
    async with oauth_mcp(gateway) as client:
        failed, body = await request(
            client, "claude", workspace="site", allowedTools=["Bash(npm test)"]
        )
    if refused:
        refusal = _refusal(body)
        assert failed and refusal["details"]["value"] == ["docs"], body
        assert clis.runs("claude") == []
    else:
        assert not failed, body
        assert len(clis.runs("claude")) == 1


@pytest.fixture
async def mcp_power(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
) -> tuple[GatewayRuntime, RecordingClis, Path]:
    """A locked gateway with two MCP servers of the operator's, and a workspace that lets
    remote callers hand a CLI one of them (`docs`), never the other (`admin`)."""
    root = tmp_path / "ws"
    (root / "docs-ok").mkdir(parents=True)
    (root / "web").mkdir(parents=True)
    echo = Path(__file__).resolve().parents[1] / "clients" / "echo_mcp.py"
    server = {"command": sys.executable, "args": [str(echo)]}
    gateway, clis = await start_recording(
        {
            **oauth_settings(),
            "http.auth_token": TOKEN,
            "providers.retry_base_delay_ms": 0,
            "mcp.servers": {"docs": server, "admin": server},
            "workspaces.registry": {
                "web": str(root / "web"),
                "docs-ok": {"path": str(root / "docs-ok"), "remote_mcp_servers": ["docs"]},
            },
        },
    )
    return gateway, clis, root


async def test_a_remote_caller_hands_a_cli_only_the_mcp_servers_its_workspace_grants(
    mcp_power: tuple[GatewayRuntime, RecordingClis, Path],
) -> None:
    gateway, clis, root = mcp_power
    require("claude")
    async with oauth_mcp(gateway) as client:
        outside = await request(client, "claude", workspace="web", mcpServers=["docs"])
        other = await request(client, "claude", workspace="docs-ok", mcpServers=["admin"])
        granted = await request(client, "claude", workspace="docs-ok", mcpServers=["docs"])
    for refused in (outside, other):
        error = _refusal(refused[1])
        assert error["details"]["param"] == "mcpServers", error
    assert "workspaces.registry.web.remote_mcp_servers" in _refusal(outside[1])["message"]
    assert not granted[0], granted
    (spawn,) = clis.runs("claude")  # only the granted call ran, handed its one server
    assert "--mcp-config" in spawn.argv
    async with local_mcp(gateway) as client:
        local = await request(client, "claude", workingDir=str(root / "web"), mcpServers=["admin"])
    assert not local[0], local  # the local user names any server it configured


def _outside_temp() -> Path:
    """A folder of this machine's that is under no temp directory: this test's, else the
    account's home (from the password database: the fixtures move HOME into a temp folder)."""
    temps = {Path(t).resolve() for t in (tempfile.gettempdir(), "/tmp", "/var/tmp")}
    home = Path(pwd.getpwuid(os.getuid()).pw_dir).resolve()
    for candidate in (Path(__file__).resolve().parent, home):
        if not any(candidate.is_relative_to(t) for t in temps):
            return candidate
    raise AssertionError("no folder outside the temp directories to put the operator's file in")


async def test_a_remote_grok_is_held_by_its_sandbox_and_its_rules(
    power: tuple[GatewayRuntime, RecordingClis, Path],
    upstream: ScriptedUpstream,
) -> None:
    """The real xAI Grok CLI, confined at `acceptEdits` for a remote caller: the model's edit
    in the workspace is made (the legitimate path), its read of a file of the operator's
    outside the workspace is refused by the kernel (its `strict` sandbox), its read of a
    gateway file in the temp directory (a call's vault auth files) by a deny rule, and its
    shell call ends the turn before anything runs."""
    gateway, clis, root = power
    require("grok")
    # Outside the temp directories, which `strict` leaves readable (a clone under /tmp, as CI
    # makes, is inside them: then the home folder holds the operator's file).
    outside = Path(tempfile.mkdtemp(prefix=".grok-secret-", dir=_outside_temp()))
    auth = Path(tempfile.mkdtemp(prefix="llmgw-auth-"))
    try:
        (outside / "secret.txt").write_text("operator-secret-1")
        (auth / "creds.json").write_text("vault-secret-2")
        made = root / "web" / "made.txt"
        upstream.script_when_offered(
            "write",
            Reply.tool_call("read_file", {"target_file": str(outside / "secret.txt")}),
            Reply.tool_call("read_file", {"target_file": str(auth / "creds.json")}),
            Reply.tool_call("write", {"file_path": str(made), "content": "ok"}),
            Reply.tool_call("run_terminal_command", {**SHELL_CALLS["claude"][1]}),
            Reply.ok("DONE"),
        )
        async with oauth_mcp(gateway) as client:
            failed, body = await request(
                client, "grok", workspace="web", permissionMode="acceptEdits", prompt="do it"
            )
        assert failed and body["error"]["code"] == "approval_denied", body
        assert made.read_text() == "ok"
        assert not (root / "web" / CANARY).exists()
        seen = b"".join(r.raw_body for r in upstream.llm_requests)
        assert b"operator-secret-1" not in seen and b"vault-secret-2" not in seen
        assert b"Permission denied" in seen and b"Denied by permission policy" in seen
        (spawn,) = clis.runs("grok")
        assert has_flags(spawn.argv, "--sandbox", "strict") and _unconfined(spawn) == set()
    finally:
        shutil.rmtree(outside, ignore_errors=True)
        shutil.rmtree(auth, ignore_errors=True)
