"""A project's listings need its grant, as a call under it does (SECURITY.md 36).

`GET /v1/providers?project=` (and `X-Project`) lists providers with that project's vault key
pool (`keySources`), and the model lists under `X-Project` answer from the same pool: a
principal never granted `shop` learned that it exists and how many keys it holds, and made the
gateway decrypt them, where naming it on a call is refused with 403 `forbidden`. The grantee
(alice) is served beside mallory's refusal, through the official SDKs where they list models.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security.test_project_grants import _anthropic, _as, _openai, gateway  # noqa: F401
from tests.transports.auth.conftest import provider_env, start_fixture  # noqa: F401


async def _providers(gateway: GatewayRuntime, who: str, **where: Any) -> tuple[int, Any]:  # noqa: F811
    params = {"project": where["project"]} if "project" in where else None
    headers = _as(who) | ({"X-Project": where["header"]} if "header" in where else {})
    async with (
        aiohttp.ClientSession() as http,
        http.get(gateway.base_url + "/v1/providers", params=params, headers=headers) as answer,
    ):
        return answer.status, await answer.json()


def _sources(listing: Any) -> dict[str, list[str]]:
    return {p["id"]: p["keySources"] for p in listing["providers"] if p.get("keySources")}


async def test_an_ungranted_project_is_not_listed(gateway: GatewayRuntime) -> None:  # noqa: F811
    # The grantee sees shop's keys first in each pool, by query or by header.
    for where in ({"project": "shop"}, {"header": "shop"}):
        status, listing = await _providers(gateway, "alice", **where)
        assert status == 200, listing
        assert _sources(listing)["openai"][0].startswith("vault:")
    # Mallory, never granted shop: refused (403 forbidden naming the project), as on a call.
    for where in ({"project": "shop"}, {"header": "shop"}):
        status, listing = await _providers(gateway, "mallory", **where)
        assert status == 403, (status, listing)
        assert listing["error"]["code"] == "forbidden"
        assert "'shop'" in listing["error"]["message"]
    # Without a project she is listed the shared pool, as before.
    status, listing = await _providers(gateway, "mallory")
    assert status == 200
    assert not any(s.startswith("vault:") for p in _sources(listing).values() for s in p)


async def test_model_lists_under_an_ungranted_project_are_refused(
    gateway: GatewayRuntime,  # noqa: F811
) -> None:
    alice = _openai(gateway, _as("alice") | {"X-Project": "shop"})
    assert [m async for m in alice.models.list()]
    mallory = _openai(gateway, _as("mallory") | {"X-Project": "shop"})
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await mallory.models.list()
    assert "project 'shop' is not granted to user:mallory" in refused.value.message
    with pytest.raises(openai.PermissionDeniedError):
        await mallory.models.retrieve("gpt-4o")
    # Anthropic's shape, in Anthropic's envelope.
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        await _anthropic(gateway, _as("mallory") | {"X-Project": "shop"}).models.list()
    body: Any = denied.value.body
    assert body["error"]["message"].startswith("project 'shop' is not granted to user:mallory")
    # Mallory's own listing, no project named, is served.
    assert [m async for m in _openai(gateway, _as("mallory")).models.list()]
