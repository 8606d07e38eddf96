"""What the window says of the outbound guard: the Overview's line (since start, per provider,
key and kind) and the recorder row's section, read from a real gateway's engine after requests
the guard warned about, redacted and blocked."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.engine.api import GuardCount
from llmgw_desktop.ui.pages.guard_text import guard_text
from llmgw_desktop.ui.pages.recorder_words import detail_sections
from tests.engine.guard.secrets import AWS_ACCESS_KEY, JWT
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    ANTHROPIC_KEY,
    GatewayFactory,
    provider_env,
    start_gateway,
)
from tests.ui.detail_text import describe_detail


async def test_the_row_and_the_overview_say_what_was_found_per_provider_key_and_kind(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    gateway = await start_gateway(
        {
            "guard.exempt_local": False,
            "guard.secrets": "warn",
            "guard.providers": {"anthropic": "block"},
        }
    )
    chat = openai_client(gateway).chat.completions
    answered = await chat.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": f"{AWS_ACCESS_KEY}\n{JWT}"}]
    )
    with pytest.raises(openai.BadRequestError):
        await chat.create(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": AWS_ACCESS_KEY}]
        )
    detail = await gateway.engine.recorder_query.detail(answered.headers["x-gateway-request-id"])
    assert detail is not None
    (section,) = [s for s in detail_sections(detail) if s.title == "Secrets (outbound guard)"]
    assert [(row.label, row.value) for row in section.rows] == [
        ("Found", "aws_access_key ×1, jwt ×1"),
        ("Where", "aws_access_key in messages[0].content, line 1"),
        ("Where", "jwt in messages[0].content, line 2"),
        ("openai", "warned"),
        ("Because", "warn (guard.secrets)"),
    ]
    assert AWS_ACCESS_KEY not in describe_detail(detail)

    guard = gateway.engine.guard
    assert guard_text(guard.settings.secrets, guard.stats.counts()) == (
        "3 secrets since start: 1 blocked, 2 warned · openai (local): aws_access_key ×1, "
        "jwt ×1 · anthropic (local): aws_access_key ×1"
    )


async def test_the_overview_line_says_what_was_not_read_apart_from_what_was_read_clean(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    """A person's pass (2026-11-30, F6): keys sent to a provider on this machine, which
    `guard.exempt_local` (on by default) leaves unread, and the line said "nothing found since
    start", read as "read, and clean"."""
    gateway = await start_gateway({"guard.secrets": "warn"})  # the upstream is on loopback
    chat = openai_client(gateway).chat.completions
    for _ in range(2):
        await chat.create(model="gpt-4o", messages=[{"role": "user", "content": AWS_ACCESS_KEY}])
    stats = gateway.engine.guard.stats
    assert guard_text("warn", stats.counts(), read=stats.read, exempt=stats.exempt) == (
        "nothing read since start (guard.secrets = warn) · 2 requests to providers on this "
        "machine not read (guard.exempt_local)"
    )


async def test_the_overview_line_counts_the_requests_read_clean(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    read_everywhere = await start_gateway({"guard.secrets": "warn", "guard.exempt_local": False})
    await openai_client(read_everywhere).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "nothing secret"}]
    )
    stats = read_everywhere.engine.guard.stats
    assert guard_text("warn", stats.counts(), read=stats.read, exempt=stats.exempt) == (
        "nothing found in 1 request read since start (guard.secrets = warn)"
    )


def test_the_overview_line_before_anything_was_found() -> None:
    assert guard_text("warn", []) == "nothing found since start (guard.secrets = warn)"
    assert guard_text("off", []) == "off (guard.secrets)"
    counts = [GuardCount("openai", f"key:k{i}", "jwt", "redacted", 1) for i in range(6)]
    assert guard_text("redact", counts, unscanned=1).endswith(
        "· and 2 more · 1 request too large to read whole"
    )


async def test_a_row_says_which_of_the_operators_keys_its_answer_repeated(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await start_gateway({"guard.scan_answers": True})
    upstream.script(Reply.ok(f"it is {ANTHROPIC_KEY}", verbatim=True))
    answered = await openai_client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    detail = await gateway.engine.recorder_query.detail(answered.headers["x-gateway-request-id"])
    assert detail is not None
    (section,) = [s for s in detail_sections(detail) if s.title == "Secrets (outbound guard)"]
    assert [(row.label, row.value) for row in section.rows] == [
        ("Masked in the answer", "your key from env:ANTHROPIC_API_KEY")
    ]
    guard = gateway.engine.guard
    assert guard_text(guard.settings.secrets, guard.stats.counts()) == (
        "1 secret since start: 1 masked in answers · openai (local): operator_key ×1"
    )
