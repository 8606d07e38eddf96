"""Issue 37, item 1: a key's hard budget holds however the key was made, in every process.

A key made by the real `llmgw-desktop keys create --budget` in another process, while the
gateway runs, is held to its budget from its first request, without a restart (it was not
held at all before: the gateway learnt the key's budget and then compared it with itself).
On a team store (two real gateway processes on one PostgreSQL database), calls in parallel on
both admit against the spend and holds in the store, so together they stay within the budget.

Prices: the person's own price for `gpt-4o-mini` (`gateway.prices`) makes each call cost what
the test needs. The scripted upstream bills more prompt tokens than a short request has, so a
call's real cost can pass its hold (serial test); with only output priced, each call's hold
(its `max_tokens`) is above its real cost (parallel test).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.child_python import run_ours
from tests.e2e.team_calls import post_chat
from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory

HI = [{"role": "user", "content": "hi"}]
MODEL = "gpt-4o-mini"
# Every kind of token at $1,000 a million: a call of the scripted upstream costs about $0.32.
DEAR = {"input": 1000.0, "output": 1000.0, "cache_read": 1000.0}
# Only output priced, at a cent a token: a call answering 9 tokens costs $0.09, held at 16.
OUTPUT_ONLY = {"input": 0.0, "output": 10_000.0, "cache_read": 0.0}
MAX_TOKENS = 16
CLI_TIMEOUT_S = 60


async def keys_cli(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`llmgw-desktop keys ... --json` in a process of its own; its answer."""
    code, out, err = await run_ours("keys", *args, "--json", env=env, timeout_s=CLI_TIMEOUT_S)
    assert code == 0, err.decode()
    return dict(json.loads(out))


async def _call(client: openai.AsyncOpenAI) -> tuple[int, dict[str, Any]]:
    try:
        await client.chat.completions.create(model=MODEL, messages=HI, max_tokens=MAX_TOKENS)
    except openai.APIStatusError as refused:
        body = refused.body if isinstance(refused.body, dict) else {}
        return refused.status_code, body
    return 200, {}


async def test_a_key_made_by_the_cli_while_the_gateway_runs_is_held_to_its_budget(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"gateway.prices": {MODEL: DEAR}})
    made = await keys_cli("create", "cli-made", "--budget", "0.20")
    roomy = await keys_cli("create", "cli-roomy", "--budget", "5")
    client = openai_client(gateway, made["secret"])
    answers = [await _call(client) for _ in range(4)]
    # The first is admitted (its hold fits); its real cost, about $0.32, uses the $0.20 up, and
    # every call after it is refused, at once, by the process that never saw the key made.
    assert [status for status, _ in answers] == [200, 402, 402, 402], answers
    refusal = answers[1][1]
    assert refusal["code"] == "budget_exceeded" and "key cli-made" in refusal["message"]
    assert "$0.20" in refusal["message"], refusal
    assert len(upstream.llm_requests) == 1
    # The legitimate path: a key with room is served, by the same process.
    other = openai_client(gateway, roomy["secret"])
    assert (await _call(other))[0] == 200
    assert len(upstream.llm_requests) == 2


def _priced(member: TeamGateway, price: dict[str, float]) -> None:
    """The member's config.toml prices MODEL at `price` (written before it starts)."""
    config = Path(member.env()["LLM_GATEWAY_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    fields = ", ".join(f"{name} = {value}" for name, value in price.items())
    config.write_text(f'[gateway.prices]\n"{MODEL}" = {{ {fields} }}\n', encoding="utf-8")


async def test_parallel_calls_on_two_team_gateways_stay_within_a_key_made_by_the_cli(
    team: Team,  # noqa: F811
) -> None:
    budget = 1.0
    async with ScriptedUpstream() as upstream:
        # Each answer waits upstream, so the calls of a round are all in flight together.
        upstream.default = Reply.ok(delay_s=0.5)
        env = {"OPENAI_API_KEY": "sk-team-test", "OPENAI_BASE_URL": upstream.base_url + "/v1"}
        members = [team.join(name, start=False, **env) for name in ("first", "second")]
        for member in members:
            _priced(member, OUTPUT_ONLY)
        await asyncio.gather(*(asyncio.to_thread(m.start) for m in members))
        # Made by the CLI after both started, with the first member's settings (the shared
        # store), and the legitimate path beside it: a key with room on the same gateways.
        made = await keys_cli("create", "team-bot", "--budget", str(budget), env=members[0].env())
        roomy = await keys_cli("create", "team-roomy", "--budget", "50", env=members[1].env())
        statuses: list[int] = []
        for _round in range(3):
            statuses += await asyncio.gather(
                *(
                    asyncio.to_thread(post_chat, member, made["secret"])
                    for member in members
                    for _ in range(6)
                )
            )
        assert set(statuses) <= {200, 402}, statuses
        served = statuses.count(200)
        # Each call holds $0.16 ($0.09 real): at most six at once, and no more than the
        # spend leaves room for, whichever process takes them.
        assert 0 < served <= budget / 0.09, statuses
        spent = team.query(
            "SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE owner_principal = %s",
            "key:team-bot",
        )[0][0]
        assert 0 < float(spent) <= budget + 1e-9, (spent, statuses)
        assert len(upstream.llm_requests) == served
        for member in members:
            assert await asyncio.to_thread(post_chat, member, roomy["secret"]) == 200
        # No hold is left once the calls have ended (each process settles its own).
        for _ in range(100):
            if not team.query("SELECT count(*) FROM budget_holds")[0][0]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(team.query("SELECT * FROM budget_holds"))
        for member in members:
            await asyncio.to_thread(member.stop)
