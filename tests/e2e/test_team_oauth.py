"""OAuth on a team gateway: two real processes on one PostgreSQL database, one public URL.

A client signs in through one process and its refresh token is then presented to both at the
same moment (a client retrying across a load balancer, or a thief racing it): one process
rotates it, the other refuses it as already used, and the reuse ends the whole grant in both
processes, the winner's fresh tokens included. A client that rotates in turn, one process then
the other, keeps its grant.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.ports import free_port
from tests.transports.auth.conftest import INITIALIZE, MCP_ACCEPT

CLIENT_ID = "team-editor"
CLIENT_SECRET = "team-editor-secret-0123456789-abcdefghij"
REDIRECT = "http://127.0.0.1:9/callback"  # never opened: the test reads the redirect itself
ROUNDS = 4


def oauth_config() -> str:
    digest = hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()
    return (
        "[http.oauth]\nenabled = true\n"
        f'[http.oauth.clients.{CLIENT_ID}]\nname = "Team editor"\n'
        f'redirect_uris = ["{REDIRECT}"]\nclient_secret_sha256 = "{digest}"\n'
    )


def start_team(team: Team) -> tuple[TeamGateway, TeamGateway]:  # noqa: F811
    # The address a load balancer would have: the issuer and the tokens' audience for both.
    public = {"LLM_GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{free_port()}"}
    members = (
        team.join("first", start=False, **public),
        team.join("second", start=False, **public),
    )
    for member in members:
        member.home.mkdir(parents=True, exist_ok=True)
        (member.home / "config.toml").write_text(oauth_config(), encoding="utf-8")
        member.start()
    return members


async def sign_in(http: aiohttp.ClientSession, gateway: TeamGateway) -> dict[str, Any]:
    """The authorization-code flow with PKCE through `gateway`: its tokens."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
        "scope": "mcp",
    }
    async with http.get(
        gateway.base_url + "/oauth/authorize", params=params, allow_redirects=False
    ) as response:
        assert response.status in (302, 303), await response.text()
        location = response.headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    status, tokens = await token(
        http,
        gateway,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
        },
    )
    assert status == 200, tokens
    return tokens


async def token(
    http: aiohttp.ClientSession, gateway: TeamGateway, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    form = form | {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    async with http.post(gateway.base_url + "/oauth/token", data=form) as response:
        return response.status, await response.json()


async def mcp_status(http: aiohttp.ClientSession, gateway: TeamGateway, access: str) -> int:
    """What the MCP endpoint answers an `initialize` carrying `access`."""
    headers = {"Authorization": f"Bearer {access}", **MCP_ACCEPT}
    async with http.post(gateway.url, json=INITIALIZE, headers=headers) as response:
        return response.status


def refresh(refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


async def test_a_refresh_token_raced_on_two_processes_is_used_once(team: Team) -> None:  # noqa: F811
    first, second = await asyncio.to_thread(start_team, team)
    async with aiohttp.ClientSession() as http:
        for _ in range(ROUNDS):
            tokens = await sign_in(http, first)
            assert await mcp_status(http, second, tokens["access_token"]) == 200
            outcomes = await asyncio.gather(
                token(http, first, refresh(tokens["refresh_token"])),
                token(http, second, refresh(tokens["refresh_token"])),
            )
            won = [body for status, body in outcomes if status == 200]
            lost = [body for status, body in outcomes if status != 200]
            assert len(won) == 1 and len(lost) == 1, outcomes
            assert lost[0]["error"] == "invalid_grant", lost
            # Reuse ends the grant everywhere: the winner's new tokens open nothing either.
            fresh = won[0]
            for gateway in (first, second):
                assert await mcp_status(http, gateway, fresh["access_token"]) == 401
            status, _ = await token(http, second, refresh(fresh["refresh_token"]))
            assert status == 400


async def test_rotating_in_turn_across_processes_keeps_the_grant(team: Team) -> None:  # noqa: F811
    first, second = await asyncio.to_thread(start_team, team)
    async with aiohttp.ClientSession() as http:
        tokens = await sign_in(http, first)
        for gateway in (second, first, second):
            status, tokens = await token(http, gateway, refresh(tokens["refresh_token"]))
            assert status == 200, tokens
            for member in (first, second):
                assert await mcp_status(http, member, tokens["access_token"]) == 200
