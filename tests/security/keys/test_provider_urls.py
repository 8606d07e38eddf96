"""Where the operator's providers are, as `/v1/providers` shows it (SECURITY 74).

A base URL can carry a token: in its user and password, its query (`?key=`), or a path that
names an account or deployment. The listing answers any authenticated caller, gateway keys
included; before, each got the base URL whole. Now a gateway key sees the origin only, and the
local user the origin and path, never the user, password or query. Real gateway; the listing
does not call the provider.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.fakes.upstream import ScriptedUpstream
from tests.security.keys.test_gateway_keys import TOKEN, make_key
from tests.transports.gateway.conftest import GatewayFactory

SECRET = "url-secret-7311"


async def _providers(base_url: str, credential: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            base_url + "/v1/providers", headers={"Authorization": f"Bearer {credential}"}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def test_a_gateway_key_sees_where_a_provider_is_by_its_origin_only(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = urlsplit(upstream.base_url).netloc
    monkeypatch.setenv(
        "OPENAI_BASE_URL", f"http://alice-{SECRET}:{SECRET}@{where}/v1/{SECRET}-acct?key={SECRET}"
    )
    gateway = await start_gateway({"http.auth_token": TOKEN})
    key = (await make_key(gateway, "tool")).secret

    seen_by_key = await _providers(gateway.base_url, key)
    [openai] = [p for p in seen_by_key["providers"] if p["id"] == "openai"]
    assert openai["baseUrl"] == f"http://{where}"
    assert SECRET not in json.dumps(seen_by_key)

    # The operator (holding the static bearer token) sees the path it configured, and
    # still not the user, password or query.
    seen_by_operator = await _providers(gateway.base_url, TOKEN)
    [openai] = [p for p in seen_by_operator["providers"] if p["id"] == "openai"]
    assert openai["baseUrl"] == f"http://{where}/v1/{SECRET}-acct"
    assert f"alice-{SECRET}" not in json.dumps(seen_by_operator)
    assert f"key={SECRET}" not in json.dumps(seen_by_operator)
