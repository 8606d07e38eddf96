"""An upstream's error on a same-dialect route reaches the client as the upstream wrote it
(status, type, message), because Claude Code's recovery matches on them: overloaded (529),
rate limited (429), prompt too long (400), an unknown beta (400). The gateway's own refusals
keep their codes."""

from __future__ import annotations

import anthropic
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.script import Reply
from tests.sdk_clients import HI, claude_client

PROMPT_TOO_LONG = "prompt is too long: 210000 tokens > 200000 maximum"
BAD_BETA = "Unexpected value(s) `made-up-2099-01-01` for the `anthropic-beta` header."


@pytest.mark.parametrize(
    ("status", "error_type", "message"),
    [
        (529, "overloaded_error", "Overloaded"),
        (429, "rate_limit_error", "Number of request tokens has exceeded your rate limit"),
        (400, "invalid_request_error", PROMPT_TOO_LONG),
        (400, "invalid_request_error", BAD_BETA),
    ],
)
async def test_an_anthropic_upstreams_error_reaches_the_client_as_written(
    gateway: GatewayRuntime,
    upstream: ScriptedUpstream,
    status: int,
    error_type: str,
    message: str,
) -> None:
    upstream.script(*[Reply.error(status, message)] * 5)
    client = claude_client(gateway)
    with pytest.raises(anthropic.APIStatusError) as failed:
        await client.messages.create(model="claude-sonnet-4-6", max_tokens=20, messages=HI)
    assert failed.value.status_code == status
    body = failed.value.body
    assert isinstance(body, dict)
    assert body["error"] == {"type": error_type, "message": message}, body


async def test_another_dialects_error_is_told_in_the_clients_own_envelope(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # OpenAI's error body would be nothing Anthropic's client parses: the gateway words it.
    upstream.script(*[Reply.error(429, "Rate limit reached for gpt-4o")] * 5)
    with pytest.raises(anthropic.RateLimitError) as failed:
        await claude_client(gateway).messages.create(model="gpt-4o", max_tokens=20, messages=HI)
    body = failed.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["code"] == "rate_limited"  # the gateway's own code, with its message
