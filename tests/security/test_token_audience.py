"""Finding 11: OAuth tokens are for this gateway only (RFC 8707 resource indicators).

Before the fix a token requested for `resource=https://evil.example/` was issued and worked
here. Now the authorization and token endpoints refuse a foreign resource with
`invalid_target`, the audience is stored with the code and the tokens, and a token whose
audience is another server is refused on /mcp and /v1/* (inserted straight into the store
below, as a token minted before the fix would sit there). The `mcp` SDK's OAuth client, in
its default configuration, still logs in and calls a tool; its resource is stored.
"""

from __future__ import annotations

import time

import pytest

from llmgw_desktop.engine.auth import oauth_store
from llmgw_desktop.engine.auth.hashing import new_token, token_digest
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.mcp_wire import MCP_ACCEPT, initialize
from tests.security._oauth_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT,
    Browser,
    Start,
    authorize_query,
    code_flow,
    oauth_settings,
    pkce,
    query_of,
    sdk_health,
    send,
    start_fixture,  # noqa: F401 - the `start` fixture
    token_request,
)

EVIL = "https://evil.example/"
INITIALIZE = initialize("audience-tests")


async def stored_resource(gateway: GatewayRuntime, access_token: str) -> str | None:
    store = gateway.engine.store
    token = await store.run(lambda: oauth_store.get_token(store.models, token_digest(access_token)))
    assert token is not None
    return token.resource


async def plant_token(gateway: GatewayRuntime, resource: str | None) -> str:
    """An access token for the static client with this audience, written into the store."""
    token, now = new_token("llmgw_at_"), time.time()
    row = {
        "token_digest": token_digest(token),
        "kind": "access",
        "client_id": CLIENT_ID,
        "scopes": "mcp",
        "family_id": new_token(),
        "resource": resource,
        "created_at": now,
        "expires_at": now + 3600,
    }
    store = gateway.engine.store
    await store.run(lambda: oauth_store.insert_tokens(store.models, [row]))
    return token


async def works_on_mcp_and_v1(gateway: GatewayRuntime, token: str) -> tuple[int, int]:
    headers = {"Authorization": f"Bearer {token}"}
    mcp = await send(
        gateway,
        "POST",
        gateway.settings.http.path,
        json=INITIALIZE,
        headers=headers | MCP_ACCEPT,
    )
    models = await send(gateway, "GET", "/v1/models", headers=headers)
    return mcp.status, models.status


async def test_a_foreign_resource_is_refused_at_authorize(start: Start) -> None:
    gateway = await start(oauth_settings())
    _, challenge = pkce()
    query = authorize_query(challenge, resource=EVIL, state="s1")
    answer = await send(gateway, "GET", "/oauth/authorize", params=query)
    assert answer.status == 302  # the client and its redirect URI are known: tell the client
    assert answer.location.startswith(REDIRECT)
    refused = query_of(answer.location)
    assert refused["error"] == "invalid_target"
    assert "evil.example" in refused["error_description"]
    assert refused["state"] == "s1" and "code" not in refused


async def test_a_foreign_resource_is_refused_at_the_token_endpoint(start: Start) -> None:
    gateway = await start(oauth_settings())
    # Authorized without naming a resource, then asking the token for another server.
    verifier, challenge = pkce()
    authorized = await send(gateway, "GET", "/oauth/authorize", params=authorize_query(challenge))
    code = query_of(authorized.location)["code"]
    refused = await token_request(gateway, code, verifier, resource=EVIL)
    assert refused.status == 400
    assert refused.json()["error"] == "invalid_target"
    # Two different resources in one request are refused too.
    verifier, challenge = pkce()
    authorized = await send(gateway, "GET", "/oauth/authorize", params=authorize_query(challenge))
    form = [
        ("grant_type", "authorization_code"),
        ("code", query_of(authorized.location)["code"]),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("resource", gateway.mcp_url),
        ("resource", EVIL),
    ]
    both = await send(gateway, "POST", "/oauth/token", data=form)
    assert both.status == 400 and both.json()["error"] == "invalid_target"
    # A refresh cannot move a grant to another server either.
    issued = await code_flow(gateway, resource=gateway.mcp_url)
    assert issued.status == 200, issued.text
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": issued.json()["refresh_token"],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "resource": EVIL,
    }
    moved = await send(gateway, "POST", "/oauth/token", data=refresh)
    assert moved.status == 400 and moved.json()["error"] == "invalid_target"


async def test_a_token_for_another_audience_is_refused_on_mcp_and_v1(start: Start) -> None:
    gateway = await start(oauth_settings())
    for audience in (EVIL, "https://evil.example/mcp", "http://127.0.0.1:1/mcp"):
        assert await works_on_mcp_and_v1(gateway, await plant_token(gateway, audience)) == (
            401,
            401,
        ), audience
    # The same token with our audience, or with none (issued before audiences were stored),
    # is accepted: it is the audience alone that is refused.
    for audience in (gateway.mcp_url, gateway.base_url + "/", None):
        assert await works_on_mcp_and_v1(gateway, await plant_token(gateway, audience)) == (
            200,
            200,
        ), audience


@pytest.mark.parametrize(
    "resource",
    [
        "{mcp}",
        "{mcp}/",
        "{base}",
        "{base}/",
        "{upper_mcp}",
        "http://localhost:{port}/mcp",
    ],
)
async def test_the_forms_clients_send_for_this_gateway_are_accepted(
    start: Start, resource: str
) -> None:
    gateway = await start(oauth_settings())
    named = resource.format(
        mcp=gateway.mcp_url,
        base=gateway.base_url,
        upper_mcp=gateway.mcp_url.replace("http://", "HTTP://"),
        port=gateway.http.port,
    )
    issued = await code_flow(gateway, resource=named)
    assert issued.status == 200, issued.text
    access = issued.json()["access_token"]
    assert await works_on_mcp_and_v1(gateway, access) == (200, 200)


async def test_the_sdk_client_logs_in_with_its_default_resource(start: Start) -> None:
    gateway = await start(oauth_settings())
    storage = await sdk_health(gateway, Browser())
    assert storage.tokens is not None
    # The SDK named the MCP endpoint as the resource; it is stored as the token's audience.
    assert await stored_resource(gateway, storage.tokens.access_token) == gateway.mcp_url
