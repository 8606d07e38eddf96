"""Calls to team gateways priced for the budget tests (issues 37 and 42), and their members.

Prices: only output priced, at a cent a token: a call answering 9 tokens costs $0.09 and is
held at its `max_tokens` of 16 ($0.16).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.team_gateways import Team, TeamGateway
from tests.fakes.upstream import ScriptedUpstream

__all__ = [
    "COST",
    "HOLD",
    "MODEL",
    "OUTPUT_ONLY",
    "global_budget",
    "post_chat",
    "priced_team",
    "reserved",
]

MODEL = "gpt-4o-mini"
OUTPUT_ONLY = "{ input = 0.0, output = 10000.0, cache_read = 0.0 }"
COST, HOLD = 0.09, 0.16


def post_chat(member: TeamGateway, key: str | None = None, max_tokens: int = 16) -> int:
    """One chat call (with gateway key `key`, else as the local operator); its status, 0
    when the gateway went away under it (killed)."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": max_tokens,
    }
    request = urllib.request.Request(
        member.base_url + "/v1/chat/completions", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        refused.read()
        return int(refused.code)
    except OSError:  # the gateway was killed under the call
        return 0


async def priced_team(
    team: Team,
    upstream: ScriptedUpstream,
    names: tuple[str, ...],
    *,
    config: str = "",
    **env: str,
) -> list[TeamGateway]:
    """Members `names` of `team` on `upstream`, MODEL priced at OUTPUT_ONLY (plus `config`, more
    of config.toml), started together."""
    env = {"OPENAI_API_KEY": "sk-team-test", "OPENAI_BASE_URL": upstream.base_url + "/v1"} | env
    members = [team.join(name, start=False, **env) for name in names]
    for member in members:
        path = Path(member.env()["LLM_GATEWAY_CONFIG"])
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f'[gateway.prices]\n"{MODEL}" = {OUTPUT_ONLY}\n' + config
        path.write_text(text, encoding="utf-8")
    await asyncio.gather(*(asyncio.to_thread(m.start) for m in members))
    return members


def reserved(team: Team) -> float:
    """What the team's reserves hold in the store, in dollars."""
    rows = team.query("SELECT sum(amount) FROM budget_holds WHERE id LIKE 'reserve:%%'")
    return float(rows[0][0] or 0.0)


def global_budget(hard: float) -> str:
    """config.toml's words for a global hard dollar budget of `hard` a day."""
    return f'\n[[budgets]]\nscope = "global"\nunit = "usd"\nperiod = "daily"\nhard = {hard}\n'
