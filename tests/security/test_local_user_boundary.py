"""Finding 3: "the local user" was anyone on the machine.

With no authentication configured the gateway serves the local user on loopback, and any OS
account can connect to 127.0.0.1: another account read and wrote the vault, spent the owner's
API keys and submitted jobs. Now only the account that runs the gateway is the local user
(the OS is asked who owns each connection); anyone else needs a credential.

The test creates a real throwaway account (the suite runs as root here and in CI), runs real
clients under it with `runuser` (urllib, and the official `openai` SDK), and checks that the
vault, chat completions spending the owner's key, and MCP tool calls are all refused with 401,
while the owner's own client (same account, no token) works and the instance token still
proves the local user. The account is removed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import site
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from llmgw_desktop.engine.auth import peer_owner
from llmgw_desktop.engine.auth.peer_owner import PeerOwner
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports import connections
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
)
from tests.transports.auth.conftest import call_tool, send, structured

CHILD_TIMEOUT_S = 60
VAULT_KEY = "sk-ant-api03-the-owners-own-key-0123456789"

# Run as the other account: every way in that needs no credential, with and without the
# instance token. Prints {"attempt": status}.
CLIENT = r"""
import json, sys, urllib.error, urllib.request
base, token = sys.argv[1], sys.argv[2]
mcp_call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "claude_request_async", "arguments": {"prompt": "rm -rf ~"}}}
initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "intruder", "version": "0"}}}
chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "on your bill"}]}
attempts = {
    "vault list": ("GET", "/v1/credentials", None),
    "vault store": ("POST", "/v1/credentials", {"provider": "openai", "apiKey": "sk-proj-x"}),
    "vault files": ("GET", "/v1/files", None),
    "chat": ("POST", "/v1/chat/completions", chat),
    "models": ("GET", "/v1/models", None),
    "mcp initialize": ("POST", "/mcp", initialize),
    "mcp job": ("POST", "/mcp", mcp_call),
}
def status(method, path, body, headers):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "Authorization": "Bearer sk-anything-an-sdk-insists-on", **headers})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
results = {}
for name, (method, path, body) in attempts.items():
    results[name], message = status(method, path, body, {})
    results[name + " message"] = message
    if method == "GET" or name == "mcp initialize":  # with the token, nothing is changed
        with_token = {"X-Llmgw-Instance-Token": token}
        results[name + " with token"] = status(method, path, body, with_token)[0]
try:
    import openai
    client = openai.OpenAI(base_url=base + "/v1", api_key="sk-anything", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    results["openai sdk"] = 200
except openai.APIStatusError as error:
    results["openai sdk"] = error.status_code
print(json.dumps(results))
"""


def _nologin() -> str:
    for shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"):
        if Path(shell).exists():
            return shell
    return "/bin/false"


@pytest.fixture
def other_account() -> Iterator[str]:
    """A throwaway OS account, removed afterwards."""
    if os.name != "posix" or not sys.platform.startswith("linux"):
        pytest.skip("the real-account test is Linux-only (the lookup it proves is Linux's)")
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("needs root (as in CI) to create a throwaway account and run a client as it")
    name = f"llmgwt{secrets.token_hex(4)}"
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", _nologin(), name],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot create a throwaway account: {made.stderr.strip()}")
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)


def as_account(account: str) -> list[str]:
    """The command prefix that runs this environment's Python packages as `account`: with an
    interpreter the account may execute, the same packages on its path, nothing else."""
    paths = ":".join(site.getsitepackages())
    for python in _interpreters():
        prefix = ["runuser", "-u", account, "--", "env", "-i", f"PYTHONPATH={paths}"]
        prefix += ["HOME=/tmp", "PATH=/usr/bin:/bin", python]
        probe = subprocess.run(
            [*prefix, "-c", "import openai"],
            capture_output=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
        if probe.returncode == 0:
            return prefix
    pytest.skip("no Python interpreter the throwaway account may run can import openai")


def run_as(account: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python code as `account`, bounded in time."""
    return subprocess.run(
        [*as_account(account), *args],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


def _interpreters() -> list[str]:
    # The venv's interpreter may live under /root (unreadable to others); the system's
    # Python of the same version can load the same packages.
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = [sys.executable, os.path.realpath(sys.executable)]
    found += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    return [p for p in dict.fromkeys(found) if Path(p).exists()]


async def owners_requests(gateway: GatewayRuntime) -> None:
    """The owner's own clients, same account, no token: everything works."""
    stored = await send(
        gateway, "POST", "/v1/credentials", json={"provider": "anthropic", "apiKey": VAULT_KEY}
    )
    assert stored.status == 201, stored.text
    listed = await send(gateway, "GET", "/v1/credentials")
    assert listed.status == 200 and len(listed.json()["credentials"]) == 1
    chat = await send(
        gateway,
        "POST",
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": "Bearer sk-anything"},  # SDKs send some key; it is ignored
    )
    assert chat.status == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"].startswith(DEFAULT_ANSWER)
    result = await call_tool(gateway, {}, "llm_process_health", {})
    assert not result.is_error and structured(result)["engine"]["status"] == "ok"


async def test_another_account_is_not_the_local_user(
    launch: Launch, provider_keys: None, scripted_upstream: ScriptedUpstream, other_account: str
) -> None:
    gateway = await launch()  # the default: no authentication, loopback only
    assert not gateway.engine.auth.configured
    await owners_requests(gateway)
    llm_calls_before = len(scripted_upstream.llm_requests)

    # In a thread: the gateway answers on this test's event loop, which must keep running.
    child = await asyncio.to_thread(
        run_as, other_account, "-c", CLIENT, gateway.base_url, gateway.engine.auth.instance_token
    )
    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    for attempt in ("vault list", "vault store", "vault files", "chat", "models"):
        assert results[attempt] == 401, (attempt, results)
        assert "another account" in results[attempt + " message"]
    for attempt in ("mcp initialize", "mcp job"):
        assert results[attempt] == 401, (attempt, results)
    assert results["openai sdk"] == 401
    # Nothing the other account tried reached the upstream or changed the vault.
    assert len(scripted_upstream.llm_requests) == llm_calls_before
    listed = await send(gateway, "GET", "/v1/credentials")
    assert len(listed.json()["credentials"]) == 1
    # The instance token (a 0600 file the owner's account can read) proves the local user
    # only on the owner's own connections: handed to the other account, it proves nothing
    # (a CLI that read it outside its workspace could hand it over; issue 26 review).
    for attempt in ("vault list", "models", "mcp initialize"):
        assert results[attempt + " with token"] == 401, (attempt, results)
    # And the owner, same account, still needs no token at all.
    await owners_requests(gateway)


async def test_the_owner_is_asked_once_per_connection(
    launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Counting calls needs a spy on the lookup; the lookup itself is the real one.
    gateway = await launch()
    asked: list[tuple[str, int]] = []
    real = connections.quick_peer_owner

    def counting(peer: tuple[str, int], local: tuple[str, int]) -> PeerOwner | None:
        asked.append(peer)
        return real(peer, local)

    monkeypatch.setattr(connections, "quick_peer_owner", counting)
    async with aiohttp.ClientSession() as client:  # one keep-alive connection
        for _ in range(5):
            async with client.get(gateway.base_url + "/v1/models") as answer:
                assert answer.status == 200
    assert len(asked) == 1, asked
    async with (  # a new connection is asked afresh
        aiohttp.ClientSession() as client,
        client.get(gateway.base_url + "/v1/models") as answer,
    ):
        assert answer.status == 200
    assert len(asked) == 2, asked


def test_both_lookups_name_the_real_owner(other_account: str) -> None:
    """The netlink query and the /proc fallback agree, on real sockets of both accounts."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    # Connect, then hold the connection until the test closes the child's stdin.
    hold = f"import socket, sys; s = socket.create_connection(('127.0.0.1', {port})); "
    hold += "sys.stdin.read()"
    child = subprocess.Popen([*as_account(other_account), "-c", hold], stdin=subprocess.PIPE)
    try:
        server.settimeout(CHILD_TIMEOUT_S)
        theirs, their_peer = server.accept()
        mine_client = socket.create_connection(("127.0.0.1", port))
        mine, my_peer = server.accept()
        local = ("127.0.0.1", port)
        for peer, expected in ((their_peer, PeerOwner.OTHER), (my_peer, PeerOwner.OWNER)):
            assert peer_owner.quick_peer_owner(peer, local) is expected
            tables = ("/proc/net/tcp", "/proc/net/tcp6")
            ip = peer_owner._address(peer[0])
            assert peer_owner._proc_owner(ip, peer[1], ip, port, tables) is expected
        # A connection that is not there (already gone) is nobody's: unknown, never the owner.
        assert peer_owner.lookup_peer_owner(("127.0.0.1", 1), local) is PeerOwner.UNKNOWN
        for sock in (theirs, mine, mine_client):
            sock.close()
    finally:
        server.close()
        if child.stdin is not None:
            child.stdin.close()
        child.wait(CHILD_TIMEOUT_S)


async def test_unknown_owner_fails_closed(
    launch: Launch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Where the OS cannot say who connected (macOS, a sandbox without netlink or /proc), the
    # lookup answers UNKNOWN: stood in for here, since this machine can always tell.
    monkeypatch.setattr(connections, "quick_peer_owner", lambda peer, local: PeerOwner.UNKNOWN)
    gateway = await launch()
    for _ in range(3):
        refused = await send(gateway, "GET", "/v1/credentials")
        assert refused.status == 401
        assert "cannot tell which account" in refused.json()["error"]["message"]
    told = [r for r in caplog.records if "cannot tell which account" in r.getMessage()]
    assert len(told) == 1  # said once, not per request
    # Nor does the instance token, on an OS that can tell owners: this connection's owner is
    # unknown, so it may not be the gateway's account (a bearer token is the way in there).
    token = {"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}
    assert (await send(gateway, "GET", "/v1/credentials", headers=token)).status == 401


async def test_the_operator_may_open_to_every_local_account(
    launch: Launch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The old behaviour, chosen explicitly (where the OS cannot tell): whoever connects.
    monkeypatch.setattr(connections, "quick_peer_owner", lambda peer, local: PeerOwner.OTHER)
    closed = await launch()
    assert (await send(closed, "GET", "/v1/credentials")).status == 401
    open_to_all = await launch(
        {
            "http.open_to_all_local_accounts": True,
            "paths.data_dir": str(tmp_path / "another-gateway"),
        }
    )
    assert (await send(open_to_all, "GET", "/v1/credentials")).status == 200


# Run as the other account: the instance routes, with the instance token it was handed.
INSTANCE_CLIENT = r"""
import json, sys, urllib.error, urllib.request
base, token = sys.argv[1], sys.argv[2]
results = {}
for path in ("/instance/activate", "/instance/quit"):
    request = urllib.request.Request(base + path, data=b"{}", method="POST",
        headers={"Content-Type": "application/json", "X-Llmgw-Instance-Token": token})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            results[path] = [answer.status, answer.read().decode()]
    except urllib.error.HTTPError as error:
        results[path] = [error.code, error.read().decode(errors="replace")]
print(json.dumps(results))
"""


def test_another_account_with_the_instance_token_can_neither_activate_nor_quit(
    tmp_path: Path, other_account: str
) -> None:
    # The real gateway as a process of its own: `/instance/quit` stops it for real.
    from tests.e2e import gateway_process as gp
    from tests.ports import free_port

    port = free_port()
    running = gp.start(["--headless"], gp.child_env(tmp_path, port))
    try:
        gp.wait_ready(running, port)
        info = json.loads((tmp_path / "data" / "instance.json").read_text(encoding="utf-8"))
        base = f"http://127.0.0.1:{port}"
        child = run_as(other_account, "-c", INSTANCE_CLIENT, base, info["token"])
        assert child.returncode == 0, child.stderr
        results = json.loads(child.stdout)
        for path in ("/instance/activate", "/instance/quit"):
            status, body = results[path]
            assert status == 401, (path, results)
            assert "only from the account that runs the gateway" in body, body
        # It is still serving: the other account's quit did not stop it.
        assert running.poll() is None and gp.health(port) is not None
        # The owner's own `quit` (same account, the same token) stops it.
        quit_ = subprocess.run(
            [sys.executable, "-m", "llmgw_desktop", "quit", "--wait", "20"],
            env=gp.child_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert quit_.returncode == 0, quit_.stderr
        assert running.wait(timeout=gp.EXIT_TIMEOUT) == 0
    finally:
        if running.poll() is None:
            running.kill()
        running.communicate()
