"""Finding 18 (issue 26, item 7): a flood of made-up tokens wiped every cached verification.

`OAuthServer.verify` remembers each token's answer for a few seconds, in one map it cleared
whole at 10,000 entries: anyone could send 10,000 distinct bad tokens and make every client's
next request a store read again, over and over. Now valid and refused tokens are remembered
apart, each bounded (`http.oauth.verify_cache_entries`), least recently used out first.

The flood is the default cap plus one distinct made-up tokens, a few over HTTP and the rest
handed to the running gateway's own `verify` (the call every request makes): ten thousand HTTP
requests would take minutes on the test machine. Whether the valid token's next request needed
the store is read from peewee's own query log (every statement it runs is logged at DEBUG).
"""

from __future__ import annotations

import logging
import secrets

import pytest

from llmgw_desktop.engine.auth.verify_cache import DEFAULT_MAX_ENTRIES
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._oauth_support import (
    ATTACKER,
    Start,
    code_flow,
    oauth_settings,
    send,
    start_fixture,  # noqa: F401 - the `start` fixture
)

OVER_HTTP = 20


async def models_as(gateway: GatewayRuntime, token: str, source: str = "127.0.0.1") -> int:
    answer = await send(
        gateway, "GET", "/v1/models", source=source, headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status


def token_reads(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if r.name == "peewee" and "oauth_tokens" in r.getMessage())


async def test_bad_token_flood_keeps_valid_verifications(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start(oauth_settings())
    oauth = gateway.engine.oauth
    assert oauth is not None
    issued = await code_flow(gateway)
    token = str(issued.json()["access_token"])
    assert await models_as(gateway, token) == 200  # verified once, remembered

    with caplog.at_level(logging.DEBUG, logger="peewee"):
        caplog.clear()
        assert await models_as(gateway, token) == 200
        assert token_reads(caplog) == 0, "a remembered token was read from the store again"

        for _ in range(OVER_HTTP):
            made_up = "llmgw_at_" + secrets.token_urlsafe(32)
            assert await models_as(gateway, made_up, source=ATTACKER) in (401, 429)
        assert token_reads(caplog) > 0  # the made-up tokens were looked up
    for _ in range(DEFAULT_MAX_ENTRIES + 1 - OVER_HTTP):
        assert await oauth.verify("llmgw_at_" + secrets.token_urlsafe(32)) is None

    with caplog.at_level(logging.DEBUG, logger="peewee"):
        caplog.clear()
        assert await models_as(gateway, token) == 200
        assert token_reads(caplog) == 0, "the flood pushed the valid token out of the cache"
