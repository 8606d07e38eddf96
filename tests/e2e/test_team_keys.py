"""Gateway keys on a team gateway: two real processes on one PostgreSQL database.

A key made with the real `llmgw-desktop keys create` against the shared store works on both
processes at once; revoked with `llmgw-desktop keys revoke` from another member's settings, it
is refused by both on the very next request (401 `key_revoked`): no process answers from a
verification it remembered. Another key, not revoked, still works beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture

CLI_TIMEOUT_S = 60


def keys(member: TeamGateway, *args: str) -> str:
    """Run `llmgw-desktop keys ...` with `member`'s settings (its store is the team's)."""
    done = subprocess.run(
        [sys.executable, "-m", "llmgw_desktop", "keys", *args],
        env=member.env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def models(member: TeamGateway, key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        member.base_url + "/v1/models", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_key_revoked_by_one_member_is_refused_by_every_member_at_once(
    team: Team,  # noqa: F811
) -> None:
    first, second = team.join("first"), team.join("second")
    made = json.loads(keys(first, "create", "team-bot", "--json"))
    other = json.loads(keys(second, "create", "other-bot", "--json"))
    assert made["principal"] == "key:team-bot" and made["secret"].startswith("llmgw-")
    for member in (first, second):
        assert models(member, made["secret"])[0] == 200, member.log()
    # Only the hash is stored.
    stored = team.query("SELECT digest, shown FROM gateway_keys WHERE name = %s", "team-bot")
    assert stored and made["secret"] not in str(stored)

    assert "revoked" in keys(second, "revoke", "team-bot")
    for member in (first, second):
        status, body = models(member, made["secret"])
        assert status == 401, body
        assert body["error"]["code"] == "key_revoked"
        assert models(member, other["secret"])[0] == 200
    listed = json.loads(keys(first, "list", "--json"))
    assert {k["name"]: k["state"] for k in listed} == {"team-bot": "revoked", "other-bot": "live"}
