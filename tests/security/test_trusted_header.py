"""Finding 9: a request carrying the trusted-principal header twice.

Behind an identity-aware proxy the header names the user. A client that sends its own copy
next to the proxy's must not get to choose: the gateway used to take the first (the client's).
Now a second copy is refused with 400 naming the header, in whichever order the copies come.
The raw client sends the duplicate header lines exactly as an attacker would.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    raw_request,
)
from tests.transports.auth.conftest import (
    INITIALIZE,
    TOKEN,
    USER_HEADER,
    call_tool,
    start_proxied_with_a_project,
    structured,
)

BEARER = ("Authorization", f"Bearer {TOKEN}")
JSON = ("Content-Type", "application/json")
MCP_ACCEPT = ("Accept", "application/json, text/event-stream")


async def test_two_copies_of_the_trusted_header_are_refused(launch: Launch) -> None:
    gateway = await launch({"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER})
    mcp = gateway.settings.http.path
    for first, second in (("mallory", "alice"), ("alice", "mallory"), ("alice", "alice")):
        copies = [(USER_HEADER, first), (USER_HEADER.lower(), second)]
        models = await raw_request(gateway, "GET", "/v1/models", [BEARER, *copies])
        assert models.status == 400, models.body
        error = models.json()["error"]
        assert USER_HEADER in error["message"] and "2 times" in error["message"]
        initialize = await raw_request(
            gateway,
            "POST",
            mcp,
            [BEARER, JSON, MCP_ACCEPT, *copies],
            json.dumps(INITIALIZE).encode(),
        )
        assert initialize.status == 400, initialize.body
        assert USER_HEADER in initialize.json()["error"]["message"]
        # Each dialect answers in its own envelope.
        anthropic = await raw_request(
            gateway, "POST", "/v1/messages", [BEARER, JSON, *copies], b'{"messages": []}'
        )
        assert anthropic.status == 400
        assert anthropic.json()["error"]["type"] == "invalid_request_error"
        assert USER_HEADER in anthropic.json()["error"]["message"]


async def test_one_copy_still_names_the_user(launch: Launch, tmp_path: Path) -> None:
    gateway = await start_proxied_with_a_project(launch, tmp_path / "project")
    single = await raw_request(gateway, "GET", "/v1/models", [BEARER, (USER_HEADER, "alice")])
    assert single.status == 200, single.body
    # The named user is the principal: what alice creates, bob does not see.
    alice = {"Authorization": f"Bearer {TOKEN}", USER_HEADER: "alice"}
    made = await call_tool(
        gateway, alice, "session_create", {"provider": "claude", "workspace": "project"}
    )
    assert not made.is_error, made
    bob = {"Authorization": f"Bearer {TOKEN}", USER_HEADER: "bob"}
    assert structured(await call_tool(gateway, bob, "session_list", {}))["sessions"] == []
    mine = structured(await call_tool(gateway, alice, "session_list", {}))["sessions"]
    assert [s["sessionId"] for s in mine] == [structured(made)["sessionId"]]


async def test_duplicates_without_the_bearer_learn_nothing(launch: Launch) -> None:
    # Without the static bearer the header is never read: the answer is the plain 401, which
    # does not reveal that (or which) trusted header is configured.
    gateway = await launch({"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER})
    copies = [(USER_HEADER, "alice"), (USER_HEADER, "bob")]
    answer = await raw_request(gateway, "GET", "/v1/models", copies)
    assert answer.status == 401
    assert USER_HEADER not in answer.body.decode()
