"""An agent the gateway runs waits for room its running calls hold, rather than failing its job.

A coding CLI the gateway runs under a hard budget calls its models back through the gateway on
a connection key (`auth/agent_callbacks.py`). It often sends two calls at once: OpenCode its
title beside its first step, Claude Code its sub-agents. Under a tight budget the second is
refused `held_by_running_calls` (retryable) while the first runs. The CLI does not retry a 402,
and the gateway ended the job on that refusal: a legitimate job failed with nothing spent
(CI of 60fe7e6a). A call on a connection key now waits a bounded time
(`ledger.WAIT_FOR_ROOM_S`) for running calls to end and is decided again; a client calling on
its own key still gets the retryable refusal at once, as the docs say.

Side by side with the legitimate path, what must still hold: a waiting call is admitted only
where the budget has room once the running call is counted (else refused `limit_reached`, never
past the limit), and it waits no longer than the bound.

A real gateway, the official Anthropic SDK as the client, the scripted upstream as the vendor.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anthropic
import pytest

from llmgw_desktop.engine.auth.agent_callbacks import RouteChoice, RunFor
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.budgets import ledger as ledger_module
from llmgw_desktop.engine.store import StoreUnavailable
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client
from tests.transports.auth.conftest import Start, provider_env, start  # noqa: F401
from tests.waiting import until

CLAUDE = "claude-sonnet-4-6"  # priced: a dollar budget counts it
# Under the 256-token floor: a call is never sent a lower limit, so it is refused or admitted
# whole. Held at about $0.0031 (its output at $15 a million, its input at most $0.0001); the
# scripted upstream bills about $0.0006 of it.
MAX_TOKENS = 200
ROOM_FOR_ONE_HOLD = 0.0045  # two holds do not fit; one hold beside one call's bill does
FIRST_CALL_S = 1.5  # how long the first call runs at the upstream
# How the client reads each refusal (Anthropic's error shape carries the message, not the
# `reason` the OpenAI shape has): held by running calls (retryable), and used up.
BUSY = "budget busy:"
USED_UP = "budget exceeded:"


def _dollars(hard: float) -> list[dict[str, Any]]:
    return [{"scope": "global", "unit": "usd", "period": "daily", "hard": hard}]


def _tokens(hard: float) -> list[dict[str, Any]]:
    return [{"scope": "global", "unit": "tokens", "period": "daily", "hard": hard}]


def _agents_key(gateway: GatewayRuntime) -> str:
    """A connection key of a job the gateway runs for the local user (as `AgentCallbacks`
    issues one for a routed CLI job)."""
    return gateway.engine.auth.connection_keys.issue(LOCAL_CALLER, "opencode", job="job-token")


def _own_key(gateway: GatewayRuntime) -> dict[str, str]:
    """The local user calling on its own (the instance token): a client that can retry."""
    return {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token, "X-Caller": "my-script"}


async def _ask(client: anthropic.AsyncAnthropic) -> float:
    """One call; when it was answered (monotonic)."""
    await client.messages.create(
        model=CLAUDE, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": "hi"}]
    )
    return time.monotonic()


async def _refusal(client: anthropic.AsyncAnthropic) -> tuple[dict[str, Any], float]:
    """One call that must be refused by a budget: its error and when it came (monotonic)."""
    with pytest.raises(anthropic.APIStatusError) as caught:
        await _ask(client)
    assert caught.value.status_code == 402, caught.value.body
    body = caught.value.body
    assert isinstance(body, dict)
    return dict(body["error"]), time.monotonic()


async def _first_call_running(
    gateway: GatewayRuntime, upstream: ScriptedUpstream, seconds: float = FIRST_CALL_S
) -> asyncio.Task[float]:
    """The first call, sent on the agent's key and running at the upstream (its hold taken)
    for `seconds`."""
    upstream.script(Reply.slow(seconds))
    first = asyncio.create_task(_ask(claude_client(gateway, _agents_key(gateway))))
    await until(lambda: upstream.llm_requests, "the first call at the upstream")
    return first


async def _refused_beside_the_first(
    gateway: GatewayRuntime, upstream: ScriptedUpstream, words: str, *, waits_s: float
) -> None:
    """The agent's second call, sent while its first runs, is refused (its message beginning
    with `words`) after waiting at least `waits_s`, before the first ends when it waited; it
    is never sent."""
    first = await _first_call_running(gateway, upstream)
    began = time.monotonic()
    error, refused_at = await _refusal(claude_client(gateway, _agents_key(gateway)))
    assert error["message"].startswith(words), error
    assert refused_at - began >= waits_s
    if waits_s:
        assert refused_at - began < FIRST_CALL_S and not first.done(), refused_at - began
    await first
    assert len(upstream.llm_requests) == 1


async def test_an_agents_second_call_waits_for_its_first_and_is_answered(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await start({"budgets": _dollars(ROOM_FOR_ONE_HOLD)})
    first = await _first_call_running(gateway, upstream)
    began = time.monotonic()
    second = asyncio.create_task(_ask(claude_client(gateway, _agents_key(gateway))))
    # Beside it, a client on its own key is refused for now, at once, as before.
    error, refused_at = await _refusal(claude_client(gateway, headers=_own_key(gateway)))
    assert error["message"].startswith(BUSY), error
    assert not first.done() and refused_at - began < FIRST_CALL_S, "refused only after waiting"
    async with asyncio.timeout(30):
        first_at, second_at = await asyncio.gather(first, second)
    # The agent's second call was sent once the first had ended, never beside it.
    assert second_at >= first_at
    assert len(upstream.llm_requests) == 2
    spent = gateway.engine.budget_ledger.statuses()[0].spent
    assert 0 < spent <= ROOM_FOR_ONE_HOLD, spent


async def test_a_jobs_waiting_call_is_said_on_its_job_while_it_waits(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """A job whose model call waited read quiet, for up to a minute, with nothing said (a
    review's finding). Its callback now counts the calls waiting, and tells the job's
    progress (`modelCallsWaiting`) as each wait begins and ends."""
    gateway = await start({"budgets": _dollars(ROOM_FOR_ONE_HOLD)})
    callbacks = gateway.engine.callbacks
    run = RunFor("opencode", None, "local", LOCAL_CALLER, "opencode", None)
    told: list[int] = []
    with callbacks.opened(run, RouteChoice(True)) as back:
        assert back is not None
        back.on_wait = lambda callback: told.append(callback.waiting_calls)
        upstream.script(Reply.slow(FIRST_CALL_S))
        first = asyncio.create_task(_ask(claude_client(gateway, back.key)))
        await until(lambda: upstream.llm_requests, "the first call at the upstream")
        second = asyncio.create_task(_ask(claude_client(gateway, back.key)))
        await until(lambda: told == [1], "the second call's wait told to its job")
        assert back.waiting_calls == 1 and not second.done()
        async with asyncio.timeout(30):
            await asyncio.gather(first, second)
    assert told == [1, 0] and back.waiting_calls == 0, told


async def test_a_waiting_agents_call_is_refused_when_the_first_used_up_the_budget(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """The attack on the wait: it must not admit a call the budget no longer pays for. Room
    for one call's hold in tokens (about 210), which the first call's bill (319 tokens with
    its cache) passes: the second, waiting, is refused `limit_reached` and never sent."""
    gateway = await start({"budgets": _tokens(300)})
    await _refused_beside_the_first(gateway, upstream, USED_UP, waits_s=0.0)


async def test_a_budget_lowered_while_an_agents_call_waits_holds_that_call(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """The attack on the wait: the operator lowers the budget while a call waits. Each try is
    decided under the budgets as they are then, so the lowered budget holds it: refused, and
    never sent, though it waited under the old one."""
    gateway = await start({"budgets": _dollars(ROOM_FOR_ONE_HOLD)})
    first = await _first_call_running(gateway, upstream, seconds=FIRST_CALL_S * 2)
    ledger = gateway.engine.budget_ledger
    second = asyncio.create_task(_refusal(claude_client(gateway, _agents_key(gateway))))
    await until(lambda: ledger._waiting, "the second call waiting")
    # Lowered below what one more call's hold needs, once the first call's bill is counted.
    await gateway.engine.budgets.replace(LOCAL_CALLER, _dollars(0.001))
    async with asyncio.timeout(30):
        (error, _refused_at), _first_at = await asyncio.gather(second, first)
    assert error["message"].startswith(USED_UP), error
    assert len(upstream.llm_requests) == 1  # the waiting call was never sent
    # Only the first call's bill (about $0.0006): the lowered budget is not passed either.
    spent = ledger.statuses()[0].spent
    assert 0 < spent <= 0.001, spent


async def test_a_store_gone_while_an_agents_call_waits_refuses_that_call_unsent(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fail it, then check the truth: the store stops answering while a call waits. Its next
    try cannot be decided, so it is refused as the store's outage (503, retryable), never
    sent; its wait ends with it (nothing is left waiting)."""
    gateway = await start({"budgets": _dollars(ROOM_FOR_ONE_HOLD)})
    first = await _first_call_running(gateway, upstream, seconds=FIRST_CALL_S * 2)
    ledger = gateway.engine.budget_ledger
    client = claude_client(gateway, _agents_key(gateway)).with_options(max_retries=0)
    second = asyncio.create_task(_ask(client))
    await until(lambda: ledger._waiting, "the second call waiting")
    store = gateway.engine.store

    async def gone(_fn: object) -> None:
        raise StoreUnavailable(store.engine.where, "the test stopped it")

    monkeypatch.setattr(store, "run", gone)
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with asyncio.timeout(30):
            await second
    assert caught.value.status_code == 503, caught.value.body
    assert not ledger._waiting
    monkeypatch.undo()  # the store is back: the first call is counted as ever
    async with asyncio.timeout(30):
        await first
    assert len(upstream.llm_requests) == 1


async def test_an_agents_call_waits_no_longer_than_the_bound(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ledger_module, "WAIT_FOR_ROOM_S", 0.4)
    gateway = await start({"budgets": _dollars(ROOM_FOR_ONE_HOLD)})
    await _refused_beside_the_first(gateway, upstream, BUSY, waits_s=0.4)


async def test_an_agent_sending_many_calls_at_once_has_only_a_few_waiting(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """The attack on the wait: a prompted agent sends many calls at once, each of which would
    be asked again in the store as holds end. Only `WAITING_PER_PRINCIPAL` of one principal's
    wait; the rest are refused for now at once, as any caller's are."""
    gateway = await start({"budgets": _dollars(ROOM_FOR_ONE_HOLD)})
    # Long enough that no waiting call can be served while the refusals are looked at: room
    # comes only when the first call ends (a loaded CI run saw one served inside a fixed wait).
    first = await _first_call_running(gateway, upstream, seconds=FIRST_CALL_S * 4)
    many = ledger_module.WAITING_PER_PRINCIPAL + 2
    calls = [
        asyncio.create_task(_refusal(claude_client(gateway, _agents_key(gateway))))
        for _ in range(many)
    ]
    await until(lambda: sum(task.done() for task in calls) >= 2, "two calls refused at once")
    assert not first.done(), "the first call ended before the refusals were looked at"
    refused_at_once = [task.result() for task in calls if task.done()]
    assert len(refused_at_once) == 2, refused_at_once
    assert all(error["message"].startswith(BUSY) for error, _ in refused_at_once)
    await first
    # The waiting ones are each decided once the first has ended: the budget pays for a few
    # more (their `_refusal` finds no refusal), the rest are refused; never past its limit.
    ended = await asyncio.gather(*calls, return_exceptions=True)
    served = [r for r in ended if isinstance(r, BaseException)]
    assert 0 < len(served) < ledger_module.WAITING_PER_PRINCIPAL, ended
    spent = gateway.engine.budget_ledger.statuses()[0].spent
    assert 0 < spent <= ROOM_FOR_ONE_HOLD, (spent, ended)
