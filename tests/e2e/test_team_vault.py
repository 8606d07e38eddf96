"""The vault on a team gateway: every process that holds the team's master key opens the same
sealed records; a process started with another key stays locked and changes nothing.

Real processes on one PostgreSQL database, driven with the official MCP client; the key comes
from `LLM_GATEWAY_MASTER_KEY`, as a team would hand it to each gateway.
"""

from __future__ import annotations

import secrets

from tests.e2e import gateway_process as gp
from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.reliability._crash_support import call

API_KEY = "sk-team-vault-0123456789abcdefghij"


def test_a_process_with_the_wrong_master_key_stays_locked_and_harms_nothing(
    team: Team,  # noqa: F811
) -> None:
    first, second = team.join("first"), team.join("second")
    stored = call(first.url, "vault_store", provider="openai", apiKey=API_KEY, keyName="team")
    assert "error" not in stored, stored

    stranger = team.join("stranger", LLM_GATEWAY_MASTER_KEY=secrets.token_hex(32))
    health = gp.health(stranger.port)
    assert health is not None and health["vault"] == "locked", health
    for tool, arguments in (
        (
            "vault_store",
            {"provider": "openai", "apiKey": "sk-other-9876543210zyxwvu", "keyName": "team"},
        ),
        ("vault_list", {}),
    ):
        refused = call(stranger.url, tool, **arguments)
        assert refused["error"]["code"] == "vault_locked", refused
        assert "not the key this vault was created with" in refused["error"]["message"]

    # The stranger changed nothing: both keyholders still open the same record.
    for member in (first, second):
        listed = call(member.url, "vault_list")["credentials"]
        assert [(c["provider"], c["keyName"]) for c in listed] == [("openai", "team")]
        assert API_KEY not in str(listed)
    ((count,),) = team.query("SELECT count(*) FROM vault_keys")
    assert count == 1
    for member in (first, second, stranger):
        member.stop()
