"""A lent secret (`keys lend`, Claude Code's `apiKeyHelper`) is its key's principal for a short
while: same scope, budget and spend, expiring on its own, never past its key, and ended with it
when the key is revoked. Only a live key lends, only within the lifetime bounds."""

from __future__ import annotations

import time

import pytest

from llmgw_desktop.engine.api import InvalidRequest, KeyScope, KeySpec, NotFound
from llmgw_desktop.engine.auth.access import AccessDenied
from llmgw_desktop.engine.auth.gateway_keys import MAX_LENT_S
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clock import Clock
from tests.transports.gateway.conftest import GatewayFactory

TOKEN = "operator-bearer-token-0123456789-abcdefghij"


@pytest.fixture
async def gateway(start_gateway: GatewayFactory) -> GatewayRuntime:
    runtime: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN})
    return runtime


async def test_a_lent_secret_is_its_keys_principal_until_it_expires(
    gateway: GatewayRuntime,
) -> None:
    keys = gateway.engine.keys
    scope = KeyScope.of(models=["claude-*"])
    parent = await keys.create(OPERATOR, KeySpec(name="claude-code", scope=scope, budget_usd=5))
    lent = await keys.lend(OPERATOR, "claude-code", ttl_s=300)
    assert lent.secret != parent.secret
    verdict = await keys.verify(lent.secret)
    assert verdict.principal is not None and verdict.principal.id == "key:claude-code"
    assert lent.record.scope == scope and lent.record.budget_usd == 5
    assert lent.record.expires_at is not None
    assert 0 < lent.record.expires_at - lent.record.created_at <= 300
    # The parent still works beside it: lending is not rotating.
    assert (await keys.verify(parent.secret)).principal is not None


async def test_a_lent_secret_never_outlives_its_key_and_ends_with_it(
    gateway: GatewayRuntime,
) -> None:
    keys = gateway.engine.keys
    made = await keys.create(OPERATOR, KeySpec(name="short", expires_at=_now(gateway) + 120))
    lent = await keys.lend(OPERATOR, "short", ttl_s=MAX_LENT_S)
    assert lent.record.expires_at == made.record.expires_at
    await keys.revoke(OPERATOR, "short")
    assert (await keys.verify(lent.secret)).principal is None


async def test_only_the_operator_lends_only_a_live_key_within_bounds(
    gateway: GatewayRuntime,
) -> None:
    keys = gateway.engine.keys
    await keys.create(OPERATOR, KeySpec(name="ci"))
    with pytest.raises(NotFound):
        await keys.lend(OPERATOR, "no-such-key", ttl_s=300)
    for ttl in (1.0, MAX_LENT_S * 2):
        with pytest.raises(InvalidRequest) as refused:
            await keys.lend(OPERATOR, "ci", ttl_s=ttl)
        assert "ttl" in refused.value.message
    holder = Principal(id="key:ci", method="key")
    with pytest.raises(AccessDenied):
        await keys.lend(holder, "ci", ttl_s=300)


def _now(_gateway: GatewayRuntime) -> float:
    import time

    return time.time()


async def test_spent_loans_are_not_listed_and_go_as_the_next_is_made(
    start_gateway: GatewayFactory,
) -> None:
    """Claude Code's apiKeyHelper asks every few minutes: a day of it left hundreds of rows in
    `keys list` and the Access keys page. A lent secret is not listed, its spent ones are
    deleted as the next is made, and neither a lend nor a rotation takes a lent secret for its
    key (a rotation that did gave the new key the loan's few minutes of life)."""
    clock = Clock(time.time())
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN}, clock=clock)
    keys = gateway.engine.keys
    parent = await keys.create(OPERATOR, KeySpec(name="claude-code"))
    first = await keys.lend(OPERATOR, "claude-code", ttl_s=300)
    clock.advance(240)
    second = await keys.lend(OPERATOR, "claude-code", ttl_s=300)
    # A loan of the key, not of the first loan: its own five minutes.
    assert second.record.expires_at == pytest.approx(clock() + 300)
    assert [k.id for k in await keys.list(OPERATOR)] == [parent.record.id]
    clock.advance(120)  # the first loan is spent, the second still good
    await keys.lend(OPERATOR, "claude-code", ttl_s=300)
    store = gateway.engine.store
    stored = await store.read(lambda: [r.id for r in store.models.GatewayKey.select()])
    assert first.record.id not in stored and second.record.id in stored
    assert len(stored) == 3  # the key, the second loan and the third
    rotated = await keys.rotate(OPERATOR, "claude-code")
    assert rotated.record.expires_at is None  # the key's own (none), not a loan's
