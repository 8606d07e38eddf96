"""A PostgreSQL outage is a degraded mode, not an error (issue 24).

The team gateway runs as a real child process on a PostgreSQL cluster the test owns and stops
(`pg_ctl stop -m fast`: every connection ends, as when the server goes away). The upstream is
the scripted fake on loopback.
"""

from __future__ import annotations

import asyncio

from tests.fakes.upstream import ScriptedUpstream
from tests.reliability._outage_support import OutageTeam, outage_team, post_json  # noqa: F401

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hello"}],
}


async def test_environment_keys_serve_while_the_vault_cannot_be_read(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        member = await asyncio.to_thread(
            outage_team.join,
            "only",
            OPENAI_API_KEY="sk-outage-env-key",
            OPENAI_BASE_URL=upstream.base_url + "/v1",
            ANTHROPIC_BASE_URL=upstream.base_url,
        )
        # The vault's cache is cold: no request has been served yet.
        await asyncio.to_thread(outage_team.outage)
        status, headers, body = await asyncio.to_thread(
            post_json, member.base_url + "/v1/chat/completions", CHAT
        )
        assert status == 200, body
        assert "x-gateway-request-id" in {k.lower() for k in headers}
        # No key anywhere but the vault, which cannot be read: a retryable 503 in the
        # client's dialect, with Retry-After, never a 500.
        status, headers, body = await asyncio.to_thread(
            post_json, member.base_url + "/v1/messages", ANTHROPIC
        )
        assert status == 503, body
        assert body["type"] == "error" and "Try again shortly" in body["error"]["message"]
        assert int({k.lower(): v for k, v in headers.items()}["retry-after"]) > 0
        await asyncio.to_thread(outage_team.recover)
        await asyncio.to_thread(member.stop)
