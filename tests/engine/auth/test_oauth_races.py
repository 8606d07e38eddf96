"""Codes and refresh tokens stay single use when several gateways share one store.

Two `OAuthServer`s over two `Database`s on one SQLite file stand for two gateway processes (each
has its own connection and database thread); they race the same code and the same refresh token.
One test runs the race in two real processes. The single-process behaviour (reuse revokes the
grant, and so on) is in test_oauth_server.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from llmgw_desktop.engine.auth.consent import ConsentQueue
from llmgw_desktop.engine.auth.hashing import token_digest
from llmgw_desktop.engine.auth.oauth import OAuthServer
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.oauth_rules import OAuthError
from llmgw_desktop.engine.auth.oauth_store import ClientRecord
from llmgw_desktop.engine.auth.oauth_tokens import SHARED_STORE_VERIFY_CACHE_S, VERIFY_CACHE_S
from llmgw_desktop.engine.store import Database

CLIENT_ID = "editor"
SECRET = "editor-secret-0123456789-abcdefghijklmnop"
BASIC = (CLIENT_ID, SECRET)
REDIRECT = "http://127.0.0.1:8123/callback"
ROUNDS = 50
PROCESS_ROUNDS = 40
PROCESS_TIMEOUT_S = 60.0

CLIENT = ClientRecord(
    client_id=CLIENT_ID,
    secret_digest=token_digest(SECRET),
    name="Editor",
    redirect_uris=(REDIRECT,),
    scopes=frozenset({"mcp"}),
    public=False,
    registered_by="config",
    created_at=0.0,
    metadata={},
)


async def open_server(
    path: Path | Database, clock: Callable[[], float] = time.time
) -> tuple[Database, OAuthServer]:
    """One gateway's view of the shared store: its own connection(s), thread(s) and server."""
    db = path if isinstance(path, Database) else Database(path)
    await db.open()
    server = OAuthServer(
        db, OAuthConfig(static_clients=(CLIENT,)), ConsentQueue(timeout_s=60.0), clock=clock
    )
    await server.start()
    return db, server


@pytest.fixture
async def gateways(
    new_database: Callable[[str], Database],
) -> AsyncIterator[tuple[OAuthServer, OAuthServer]]:
    # The same name twice: one store (SQLite file or PostgreSQL database) opened by two gateways.
    first_db, first = await open_server(new_database("shared.db"))
    second_db, second = await open_server(new_database("shared.db"))
    yield first, second
    await second_db.close()
    await first_db.close()


async def code_for(server: OAuthServer) -> tuple[str, str]:
    """A fresh authorization code and its PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
        .decode()
        .rstrip("=")
    )
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    step = await server.authorize(params, requester="127.0.0.1")
    assert step.redirect is not None
    return parse_qs(urlsplit(step.redirect).query)["code"][0], verifier


def exchange_form(code: str, verifier: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }


def refresh_form(refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


async def both_at_once(gateways: tuple[OAuthServer, ...], form: dict[str, str]) -> list[Any]:
    """Each gateway's answer to the same token request, sent to all of them at once (a
    refusal is its OAuthError)."""
    return await asyncio.gather(
        *(server.token(form, BASIC) for server in gateways), return_exceptions=True
    )


def one_winner(outcomes: list[Any]) -> dict[str, Any]:
    """The one successful answer among `outcomes`; every other one is the reuse refusal."""
    won = [o for o in outcomes if isinstance(o, dict)]
    lost = [o for o in outcomes if not isinstance(o, dict)]
    assert len(won) == 1, outcomes
    for error in lost:
        assert isinstance(error, OAuthError), error
        assert error.error == "invalid_grant"
        assert "already used" in error.description
    return won[0]


async def assert_grant_revoked(servers: tuple[OAuthServer, ...], tokens: dict[str, Any]) -> None:
    for server in servers:
        assert await server.verify(tokens["access_token"]) is None
    with pytest.raises(OAuthError):
        await servers[0].token(refresh_form(tokens["refresh_token"]), BASIC)


async def test_two_gateways_racing_one_code_issue_tokens_once(
    gateways: tuple[OAuthServer, OAuthServer],
) -> None:
    for _ in range(ROUNDS):
        code, verifier = await code_for(gateways[0])
        outcomes = await both_at_once(gateways, exchange_form(code, verifier))
        # The loser presented a used code: what the code bought is revoked, as on any replay.
        await assert_grant_revoked(gateways, one_winner(outcomes))


async def test_two_gateways_racing_one_refresh_token_rotate_it_once(
    gateways: tuple[OAuthServer, OAuthServer],
) -> None:
    for _ in range(ROUNDS):
        code, verifier = await code_for(gateways[0])
        tokens = await gateways[0].token(exchange_form(code, verifier), BASIC)
        outcomes = await both_at_once(gateways, refresh_form(tokens["refresh_token"]))
        # The second use of a refresh token is reuse: the whole grant goes, the winner's too.
        await assert_grant_revoked(gateways, one_winner(outcomes))


async def test_one_client_rotating_in_turn_across_gateways_keeps_its_grant(
    gateways: tuple[OAuthServer, OAuthServer],
) -> None:
    code, verifier = await code_for(gateways[0])
    tokens = await gateways[1].token(exchange_form(code, verifier), BASIC)
    for turn in range(10):
        server = gateways[turn % 2]  # a load balancer sending each refresh elsewhere
        tokens = await server.token(refresh_form(tokens["refresh_token"]), BASIC)
        for either in gateways:
            assert await either.verify(tokens["access_token"]) is not None


async def test_a_token_revoked_through_one_gateway_is_refused_by_the_other_soon(
    new_database: Callable[[str], Database], store_engine: str
) -> None:
    now = [time.time()]
    first_db, first = await open_server(new_database("shared.db"), lambda: now[0])
    second_db, second = await open_server(new_database("shared.db"), lambda: now[0])
    try:
        code, verifier = await code_for(first)
        tokens = await first.token(exchange_form(code, verifier), BASIC)
        assert await second.verify(tokens["access_token"]) is not None  # now believed there
        await first.revoke({"token": tokens["refresh_token"]}, BASIC)
        assert await first.verify(tokens["access_token"]) is None  # at once where revoked
        # The other gateway believes its check only briefly when the store is shared; a
        # SQLite file is one process's alone, so there the longer belief costs nothing.
        believed = SHARED_STORE_VERIFY_CACHE_S if store_engine == "postgresql" else VERIFY_CACHE_S
        now[0] += believed + 0.01
        assert await second.verify(tokens["access_token"]) is None
    finally:
        await second_db.close()
        await first_db.close()


# One gateway process: open the shared store, read the codes and refresh tokens from stdin, wait
# for the go line, redeem every one of them in order, print the outcome of each as JSON.
RACER = """
import asyncio, json, sys
from pathlib import Path
from llmgw_desktop.engine.auth.oauth_rules import OAuthError
from tests.engine.auth.test_oauth_races import (
    BASIC, exchange_form, open_server, refresh_form)

async def main():
    db, server = await open_server(Path(sys.argv[1]))
    work = json.loads(sys.stdin.readline())
    print("ready", flush=True)
    sys.stdin.readline()
    outcomes = []
    for kind, value, verifier in work:
        form = exchange_form(value, verifier) if kind == "code" else refresh_form(value)
        try:
            outcomes.append((await server.token(form, BASIC))["access_token"])
        except OAuthError as exc:
            outcomes.append(exc.error + ": " + exc.description)
    await db.close()
    print(json.dumps(outcomes), flush=True)

asyncio.run(main())
"""


async def test_two_processes_racing_codes_and_refresh_tokens_win_each_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    db, server = await open_server(path)
    work: list[tuple[str, str, str]] = []
    for _ in range(PROCESS_ROUNDS):
        code, verifier = await code_for(server)
        work.append(("code", code, verifier))
        code, verifier = await code_for(server)
        tokens = await server.token(exchange_form(code, verifier), BASIC)
        work.append(("refresh", tokens["refresh_token"], ""))
    await db.close()

    root = Path(__file__).resolve().parents[3]
    racers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            RACER,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=root,
        )
        for _ in range(2)
    ]
    try:
        outcomes = await asyncio.wait_for(race(racers, work), PROCESS_TIMEOUT_S)
    finally:
        for racer in racers:
            if racer.returncode is None:
                racer.kill()
                await racer.wait()
    for first, second in zip(*outcomes, strict=True):
        won = [o for o in (first, second) if o.startswith("llmgw_at_")]
        assert len(won) == 1, (first, second)
        lost = second if won[0] == first else first
        assert lost.startswith("invalid_grant: ") and "already used" in lost, lost


async def race(racers: list[asyncio.subprocess.Process], work: list[Any]) -> list[list[str]]:
    """Hand every racer the work, start them together once all are ready, and read each one's
    outcomes."""
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write((json.dumps(work) + "\n").encode())
        await racer.stdin.drain()
    for racer in racers:
        assert racer.stdout is not None
        assert (await racer.stdout.readline()).strip() == b"ready"
    for racer in racers:  # both start at once, so they meet on the same codes
        assert racer.stdin is not None
        racer.stdin.write(b"go\n")
        await racer.stdin.drain()
    answers = [await racer.communicate() for racer in racers]
    for racer in racers:
        assert racer.returncode == 0
    return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in answers]
