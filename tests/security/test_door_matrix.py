"""Every door against every edge property, enumerated from the one registry (`doors.py`).

Issue 62: each new door (embeddings, completions, Ollama's API, the `/acp` socket) had skipped a
rule an older door kept, because each door carried its own copy. The edge now takes one
decision per request from its door's row; this matrix holds it there. For each door of the
registry (every route of every dialect, the model lists, the streams, the `/acp` upgrade, MCP
over HTTP (POST, its event stream, DELETE), Ollama's API, embeddings, completions, the OAuth
server, the vault) and each property:

- a foreign page (`Origin: https://evil.example`): 403, in the door's envelope;
- a page on another loopback port (`Origin: http://localhost:8081`): an upgrade is refused;
  the bodies it can send unasked (`text/plain`, forms, multipart, untyped) are refused with 415
  and its JSON preflight with 403; what a GET answers it cannot read (no CORS header);
- DNS rebinding (`Host: rebind.attacker.example`): 421, in the door's envelope;
- a declared body past `http.max_body_bytes`: 413, in the door's envelope;
- a body when the bodies held at once fill `http.max_body_bytes_in_flight`: 429 with a wait, in
  the door's envelope (a request without a body takes no room);
- no credential on a locked gateway: 401 with a challenge at every door the edge
  authenticates, in its envelope; public doors and doors that check their own are not the edge's;

beside the legitimate request at the same door (the operator's token, no `Origin`), which the
edge lets through. The stdio doors' and the socket's line caps are held too. A route the app
serves without a row, or a row no route serves, fails the first test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.api import INSTANCE_TOKEN_HEADER
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.doors import (
    DOORS,
    MCP_PATH,
    STDIO_DOORS,
    Credential,
    Door,
    Envelope,
    StdioDoor,
    door_of,
)
from llmgw_desktop.transports.line_caps import ACP_LINE_BYTES
from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    RawAnswer,
    _launch,
    held_body,
    raw_request,
    rebound_request,
)
from tests.transports.auth.conftest import TOKEN, oauth_settings
from tests.waiting import until

FAKE_AGENT = Path(__file__).resolve().parents[1] / "fakes" / "fake_acp_agent.py"
CAP = 64 * 1024
BEARER = ("Authorization", f"Bearer {TOKEN}")
FOREIGN = ("Origin", "https://evil.example")
PAGE = ("Origin", "http://localhost:8081")
JSON = ("Content-Type", "application/json")
# What a page sends without the browser asking first (no CORS preflight).
PAGE_BODIES = (
    ("text/plain;charset=UTF-8", b"{}"),
    ("application/x-www-form-urlencoded", b"a=1"),
    ("multipart/form-data; boundary=x", b"--x--\r\n"),
    (None, b"{}"),  # a Blob or ArrayBuffer body: no Content-Type at all
)
# A value for each kind of path parameter, so a door's pattern becomes a real path.
PATH_VALUES = {
    "target": "gemini-2.5-flash:generateContent",
    "model": "gpt-4o",
    "resource": "mcp",
    "id": "x1",
    "project": "my-project",
    "location": "us-east5",
}
# The refusals that are the edge's own: a legitimate request is answered with none of them.
EDGE_CODES = {
    "host_not_allowed",
    "origin_not_allowed",
    "unsupported_media_type",
    "body_too_large",
    "unauthorized",
    "not_offered",
}
STATE_CHANGING = ("POST", "PUT", "DELETE")


def _all_doors_on() -> dict[str, Any]:
    """Settings under which the app serves every door of the registry."""
    agent = {"command": sys.executable, "args": [str(FAKE_AGENT), "answer"]}
    return {
        **oauth_settings(),
        "metrics.enabled": True,
        "providers.acp": {"opencode-acp": agent},
        "http.max_body_bytes": CAP,
    }


def knocks(door: Door, mcp_path: str) -> list[tuple[str, str]]:
    """(method, concrete path) for each way in at `door` (MCP's endpoint: POST, GET, DELETE)."""
    path = mcp_path if door.path == MCP_PATH else door.path
    path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
    if door.upgrade:
        path += "?agent=opencode-acp"
    methods = ("POST", "GET", "DELETE") if door.method == "*" else (door.method,)
    return [(method, path) for method in methods]


def every_knock(gateway: GatewayRuntime) -> list[tuple[Door, str, str]]:
    mcp_path = gateway.settings.http.path
    return [(door, m, p) for door in DOORS for m, p in knocks(door, mcp_path)]


def _upgrade_headers(door: Door) -> list[tuple[str, str]]:
    if not door.upgrade:
        return []
    return [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]


def refusal_message(door: Door, answer: RawAnswer, status: int, code: str) -> str:
    """The refusal's message, checking its status and the envelope the door's clients parse."""
    assert answer.status == status, (door, answer.status, answer.body[:300])
    body = json.loads(answer.body)
    envelope = Envelope.NATIVE if door.envelope is Envelope.BY_CLIENT else door.envelope
    if envelope is Envelope.OLLAMA:
        assert set(body) == {"error"} and isinstance(body["error"], str), (door, body)
        return str(body["error"])
    error = body["error"]
    if envelope is Envelope.ANTHROPIC:
        assert body["type"] == "error" and isinstance(error["type"], str), (door, body)
    elif envelope is Envelope.GEMINI:
        assert error["code"] == status and isinstance(error["status"], str), (door, body)
    else:
        assert set(error) == {"message", "type", "param", "code"}, (door, body)
        assert error["code"] == code, (door, body)
    return str(error["message"])


async def test_every_route_the_app_serves_is_a_door_and_every_door_is_served(
    launch: Launch,
) -> None:
    gateway = await launch(_all_doors_on())
    mcp_path = gateway.settings.http.path
    served = {
        (route.method, route.resource.canonical)
        for route in gateway.http.app.router.routes()
        if route.resource is not None
    }
    no_row = sorted(r for r in served if door_of(*r, mcp_path=mcp_path) is None)
    assert not no_row, f"routes served without a row in transports/doors.py: {no_row}"
    rows = {door_of(*r, mcp_path=mcp_path) for r in served}
    unserved = [d for d in DOORS if d not in rows]
    assert not unserved, f"doors in transports/doors.py that no route serves: {unserved}"


async def test_a_foreign_page_and_dns_rebinding_are_refused_at_every_door(
    launch: Launch,
) -> None:
    gateway = await launch(_all_doors_on())
    for door, method, path in every_knock(gateway):
        more = _upgrade_headers(door)
        body = b"{}" if method in STATE_CHANGING else b""
        heads = [BEARER, FOREIGN, JSON, *more] if body else [BEARER, FOREIGN, *more]
        answer = await raw_request(gateway, method, path, heads, body)
        said = refusal_message(door, answer, 403, "origin_not_allowed")
        assert "http.allowed_origins" in said, (door, said)
        heads = [BEARER, JSON, *more] if body else [BEARER, *more]
        rebound = await rebound_request(gateway, method, path, heads, body)
        said = refusal_message(door, rebound, 421, "host_not_allowed")
        assert "DNS rebinding" in said, (door, said)


async def test_a_loopback_page_gets_nothing_it_can_use_at_any_door(launch: Launch) -> None:
    # Unlocked, as most desktops run: the page's requests come from the local user's account.
    gateway = await launch(_all_doors_on() | {"http.auth_token": ""})
    for door, method, path in every_knock(gateway):
        if door.upgrade:
            answer = await raw_request(gateway, method, path, [PAGE, *_upgrade_headers(door)])
            said = refusal_message(door, answer, 403, "origin_not_allowed")
            assert "http.allowed_origins" in said
        elif method in STATE_CHANGING and not door.forms:
            for media, body in PAGE_BODIES:
                heads = [PAGE] + ([("Content-Type", media)] if media else [])
                answer = await raw_request(gateway, method, path, heads, body)
                said = refusal_message(door, answer, 415, "unsupported_media_type")
                assert "application/json" in said, (door, said)
            # A JSON body needs a preflight first, which is refused: the page never sends it.
            preflight = await raw_request(
                gateway,
                "OPTIONS",
                path,
                [PAGE, ("Access-Control-Request-Method", method)],
            )
            assert preflight.status == 403, (door, preflight.status)
            assert preflight.header("Access-Control-Allow-Origin") is None
        else:
            answer = await raw_request(gateway, method, path, [PAGE])
            # Whatever it answers, the page's browser keeps from it (no CORS header).
            assert answer.header("Access-Control-Allow-Origin") is None, (door, answer.headers)


async def test_a_body_past_the_cap_is_refused_at_every_door(launch: Launch) -> None:
    gateway = await launch(_all_doors_on())
    too_big = b" " * (CAP + 1)
    for door, method, path in every_knock(gateway):
        heads = [BEARER, JSON, *_upgrade_headers(door)]
        answer = await raw_request(gateway, method, path, heads, too_big)
        said = refusal_message(door, answer, 413, "body_too_large")
        assert "http.max_body_bytes" in said, (door, said)


async def test_a_body_finding_no_room_is_refused_with_a_wait_at_every_door(launch: Launch) -> None:
    gateway = await launch(
        _all_doors_on() | {"http.auth_token": TOKEN, "http.max_body_bytes_in_flight": CAP}
    )
    # One body at the cap, half sent, holds all the room while its connection stays open.
    _, holder = await held_body(gateway, "/v1/chat/completions", b" " * CAP, [BEARER, JSON])
    await until(lambda: gateway.connections.in_flight(lambda _: False) == 1, "the body held")
    try:
        for door, method, path in every_knock(gateway):
            if door.upgrade:
                continue  # a socket's messages are bounded by its line cap, below
            body = b"{}" if method in STATE_CHANGING else b""
            heads = [BEARER, JSON] if body and not door.forms else [BEARER]
            answer = await raw_request(gateway, method, path, heads, body)
            if not body:  # no body takes no room
                assert b'"saturated"' not in answer.body, (door, method, answer.body[:300])
                continue
            said = refusal_message(door, answer, 429, "saturated")
            assert "http.max_body_bytes_in_flight" in said, (door, said)
            assert answer.header("Retry-After") == "1", (door, answer.headers)
    finally:
        holder.close()


async def test_no_credential_is_refused_at_every_door_the_edge_guards(launch: Launch) -> None:
    gateway = await launch(_all_doors_on() | {"http.auth_token": TOKEN})
    for door, method, path in every_knock(gateway):
        body = b"{}" if method in STATE_CHANGING else b""
        heads = [JSON, *_upgrade_headers(door)] if body else _upgrade_headers(door)
        answer = await raw_request(gateway, method, path, heads, body)
        if door.credential is Credential.EDGE:
            refusal_message(door, answer, 401, "unauthorized")
            assert (answer.header("WWW-Authenticate") or "").startswith("Bearer"), door
        else:
            # A public door, or one that checks its own credential: the edge asked none.
            assert not _edge_challenge(answer), (door, answer.status, answer.body[:200])


# Credentials of bytes that are not UTF-8 (0xff 0xfe), in each shape read differently: the static
# token's, a gateway key's, an editor's connection key's, a vendor key header's, the instance's.
STRAY = "\udcff\udcfe"
STRAY_CREDENTIALS = (
    ("Authorization", f"Bearer {STRAY}-stray"),
    ("Authorization", f"Bearer llmgw-{STRAY * 22}"),
    ("Authorization", f"Bearer llmgw-acp-{STRAY * 22}"),
    ("x-api-key", f"{STRAY}-stray"),
    ("x-goog-api-key", f"llmgw-{STRAY * 22}"),
    (INSTANCE_TOKEN_HEADER, f"{STRAY}-stray"),  # the local command line's doors
)


async def test_a_credential_of_stray_bytes_is_refused_as_any_wrong_one_at_every_door(
    launch: Launch,
) -> None:
    """It reached the hashing as text a UTF-8 encode refuses: a 500 and a traceback in the log
    for each such request, where any other wrong key is a 401."""
    settings = {"http.auth_token": TOKEN, "http.rate_limit_burst": 5000}
    gateway = await launch(_all_doors_on() | settings)
    for n, (door, method, path) in enumerate(every_knock(gateway)):
        body = b"{}" if method in STATE_CHANGING else b""
        # Each knock from an address of its own, each guess new: wrong guesses are limited per
        # address and per credential (`tests/security/test_lockout.py`), not what this tests.
        source = f"127.0.{n // 200}.{n % 200 + 2}"
        for place, value in STRAY_CREDENTIALS:
            heads = [(place, f"{value}{n}"), *([JSON] if body else []), *_upgrade_headers(door)]
            answer = await raw_request(gateway, method, path, heads, body, source=source)
            assert answer.status != 500, (door, place, answer.body[:300])
            if door.credential is Credential.EDGE:
                # In the envelope of the client the key's place names (`x-api-key`: Anthropic's).
                assert answer.status == 401, (door, place, answer.status, answer.body[:300])


async def test_the_legitimate_request_gets_past_the_edge_at_every_door(launch: Launch) -> None:
    # One principal knocks at every door at once, about as many requests as the rate limit's
    # burst (60): a quick CI run's socket at the end was refused 429 (the limit's own tests are
    # in `tests/transports/auth/test_bearer_and_edge.py`).
    settings = {"http.auth_token": TOKEN, "http.rate_limit_burst": 1000}
    gateway = await launch(_all_doors_on() | settings)
    for door, method, path in every_knock(gateway):
        if door.upgrade:
            continue  # its legitimate client is an editor's socket, below
        body = b"{}" if method in STATE_CHANGING else b""
        heads = [BEARER, JSON] if body and not door.forms else [BEARER]
        answer = await raw_request(gateway, method, path, heads, body)
        assert not _edge_refused(door, answer), (door, method, answer.status, answer.body[:300])
    async with aiohttp.ClientSession() as http:
        url = f"{gateway.base_url}/acp?agent=opencode-acp"
        async with http.ws_connect(url, headers=dict([BEARER])) as socket:
            await socket.send_bytes(b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", ')
            await socket.send_bytes(b'"params": {"protocolVersion": 1}}\n')
            message = await socket.receive(timeout=30)
        assert json.loads(message.data.splitlines()[0])["result"]["protocolVersion"] == 1


def _edge_challenge(answer: RawAnswer) -> bool:
    """Whether the answer is the edge's own 401 (its Bearer challenge), not a route's."""
    challenge = answer.header("WWW-Authenticate") or ""
    return answer.status == 401 and challenge.startswith('Bearer realm="llmgw-desktop"')


def _edge_refused(door: Door, answer: RawAnswer) -> bool:
    """Whether the edge refused the request itself (rather than its route answering it)."""
    if _edge_challenge(answer) or answer.status in (413, 415, 421):
        return True
    try:
        error = json.loads(answer.body).get("error")
    except (ValueError, AttributeError):
        return False
    code = error.get("code") if isinstance(error, dict) else None
    return code in EDGE_CODES


@pytest.mark.parametrize("door", [d for d in DOORS if d.line_cap], ids=lambda d: d.path)
async def test_a_message_past_the_line_cap_ends_the_socket_not_the_gateway(
    launch: Launch, door: Door
) -> None:
    gateway = await launch(_all_doors_on() | {"http.auth_token": TOKEN})
    assert door.line_cap == ACP_LINE_BYTES
    async with aiohttp.ClientSession() as http:
        url = f"{gateway.base_url}{door.path}?agent=opencode-acp"
        async with http.ws_connect(url, headers=dict([BEARER])) as socket:
            try:
                await socket.send_bytes(b" " * (ACP_LINE_BYTES + 1))
                closed = await socket.receive(timeout=30)
            except ConnectionError:
                closed = None  # the gateway hung up before it was sent whole
        if closed is not None:
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closed
            assert socket.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        async with http.get(f"{gateway.base_url}/health") as health:
            assert health.status == 200


async def test_a_long_line_at_a_line_door_does_not_hold_the_gateway(launch: Launch) -> None:
    """A line just under the cap, sent as one message: the other doors answer meanwhile (the
    framing split its buffer at every 64 KiB read, quadratic: 40 s of the loop for 32 MiB),
    and the line is then answered as the malformed line it is, the socket still serving."""
    gateway = await launch(_all_doors_on() | {"http.auth_token": TOKEN})
    async with aiohttp.ClientSession() as http:
        url = f"{gateway.base_url}/acp?agent=opencode-acp"
        async with http.ws_connect(url, headers=dict([BEARER])) as socket:
            await socket.send_bytes(b"x" * (ACP_LINE_BYTES - 2))
            async with http.get(
                f"{gateway.base_url}/health", timeout=aiohttp.ClientTimeout(total=10)
            ) as health:
                assert health.status == 200
            await socket.send_bytes(b"\n")
            answer = json.loads((await socket.receive(timeout=30)).data)
            assert answer["error"]["code"] == -32700, answer
            hello = b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}\n'
            await socket.send_bytes(hello)
            reply = json.loads((await socket.receive(timeout=30)).data.splitlines()[0])
            assert reply["id"] == 1, reply


PAST_A_READ = 1024 * 1024
# How each stdio door is launched, and the `initialize` its editor sends first.
STDIO_LAUNCH: dict[str, tuple[list[str], dict[str, Any]]] = {
    "mcp-stdio": (
        ["mcp"],
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "matrix", "version": "1"},
        },
    ),
    "acp-stdio": (["acp", "--model", "gpt-4o"], {"protocolVersion": 1}),
}


async def _initialize(process: asyncio.subprocess.Process, params: dict[str, Any]) -> Any:
    assert process.stdin is not None and process.stdout is not None
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    process.stdin.write(json.dumps(hello).encode() + b"\n")
    await process.stdin.drain()
    return json.loads(await asyncio.wait_for(process.stdout.readline(), 60))


@pytest.mark.parametrize(
    ("door", "served"),
    [(door, served) for door in STDIO_DOORS for served in door.served],
    ids=lambda value: value.name if isinstance(value, StdioDoor) else value,
)
async def test_a_line_past_a_stdio_doors_cap_ends_that_pipe_not_the_gateway(
    door: StdioDoor, served: str, tmp_path: Path
) -> None:
    """The editor's process reads its lines up to the row's cap, whichever way it serves the
    door (relayed to the gateway that runs, or in process with none running); one past it ends
    that process (the editor launched it, and sees it end), while a gateway it relays to
    serves on. In process, the MCP door read such a line whole (SECURITY.md, finding 113)."""
    args, params = STDIO_LAUNCH[door.name]
    port = free_port()
    env = gp.child_env(tmp_path / "gw", port)
    with contextlib.ExitStack() as stack:
        if served == "relayed":
            stack.enter_context(gp.serving(["--headless"], env, port))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "llmgw_desktop", *args),
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=2 * door.line_cap,
        )
        try:
            assert "result" in await _initialize(process, params)
            assert process.stdin is not None
            # Past the cap by more than one read (a line is judged at each 64 KiB read).
            process.stdin.write(b"x" * (door.line_cap + PAST_A_READ) + b"\n")
            with contextlib.suppress(ConnectionError):
                await process.stdin.drain()
            ended = await asyncio.wait_for(process.wait(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert ended != 0
        if served == "relayed":
            assert gp.health(port) is not None


def test_each_stdio_door_reads_lines_at_its_rows_cap() -> None:
    """The stdio doors' framings take their caps from the registry: a line past it ends the
    pipe (the relay's reader refuses it, the ACP framing raises), never the gateway."""
    from llmgw_desktop.transports.acp.stdio import MAX_LINE_BYTES
    from llmgw_desktop.transports.mcp.stdio_wire import MAX_EVENT_BYTES

    caps = {door.name: door.line_cap for door in STDIO_DOORS}
    assert caps == {"mcp-stdio": MAX_EVENT_BYTES, "acp-stdio": MAX_LINE_BYTES}
    assert {door.via for door in STDIO_DOORS} <= {d.path for d in DOORS}
