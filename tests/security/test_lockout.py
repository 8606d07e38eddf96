"""Finding 4: one attacker locked everyone out.

The wrong-credential limiter was keyed by peer address and consulted before the credential, so
one bad token every two seconds from one address (or from behind the reverse proxy the docs
recommend, where every client shares the proxy's address) made every valid token get 429.
Now the credential is checked first, and failures are counted per credential presented and per
real client address (forwarding headers believed only from `http.trusted_proxies`). Each test
hammers wrong tokens (a bounded loop) while a valid static bearer and a valid OAuth token keep
getting 200, and the attacker gets 429 with Retry-After.
"""

from __future__ import annotations

from llmgw_desktop.engine.auth import service
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clock import Clock
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
)
from tests.transports.auth.conftest import (
    TOKEN,
    Answer,
    bearer,
    call_tool,
    oauth_access_token,
    oauth_settings,
    send,
)

ATTEMPTS = service.FAILED_BURST + 10  # enough to exhaust the allowance, and then some
# Each gateway's rate limits run on a clock that stands still (`Clock()`): a loaded machine took
# long enough over the attempts for the allowance to refill by one (a CI run saw a 401 among
# the 429s).
ATTACKER, ALICE, BOB = "203.0.113.7", "198.51.100.1", "198.51.100.2"


async def models(gateway: GatewayRuntime, headers: dict[str, str]) -> Answer:
    return await send(gateway, "GET", "/v1/models", headers=headers)


def assert_throttled(answer: Answer) -> None:
    assert answer.status == 429, answer.text
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["error"]["code"] == "rate_limited"


async def test_guessing_never_locks_out_valid_credentials(launch: Launch) -> None:
    gateway = await launch(
        monotonic=Clock(), overrides={"http.auth_token": TOKEN, **oauth_settings()}
    )
    access = await oauth_access_token(gateway)
    attacker: list[int] = []
    for n in range(ATTEMPTS):
        attacker.append((await models(gateway, bearer(f"guess-{n}-{'x' * 40}"))).status)
        # Interleaved, from the same address: the valid credentials always get in.
        assert (await models(gateway, bearer())).status == 200, n
        assert (await models(gateway, bearer(access))).status == 200, n
    assert attacker[: service.FAILED_BURST] == [401] * service.FAILED_BURST
    assert set(attacker[service.FAILED_BURST :]) == {429}
    assert_throttled(await models(gateway, bearer("one-more-guess")))
    # MCP too: the OAuth client's tool call goes through while the guesser is throttled.
    result = await call_tool(gateway, bearer(access), "llm_process_health", {})
    assert not result.is_error, result
    # The instance token (the local user's) is a credential like any other: still in.
    local = {"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}
    assert (await models(gateway, local)).status == 200


async def test_one_wrong_token_repeated_is_throttled_by_itself(launch: Launch) -> None:
    # Keyed by what was presented: the same stale token retried over and over is throttled
    # even when it arrives from many addresses (here: behind a trusted proxy).
    gateway = await launch(
        monotonic=Clock(),
        overrides={"http.auth_token": TOKEN, "http.trusted_proxies": ["127.0.0.1"]},
    )
    stale = bearer("a-revoked-token-that-a-script-keeps-sending-0123")
    statuses = [
        (await models(gateway, stale | {"X-Forwarded-For": f"192.0.2.{n}"})).status
        for n in range(ATTEMPTS)
    ]
    assert statuses[: service.FAILED_BURST] == [401] * service.FAILED_BURST
    assert set(statuses[service.FAILED_BURST :]) == {429}
    # Someone else's typo from another address is answered 401, not 429.
    typo = await models(gateway, bearer(TOKEN[:-1]) | {"X-Forwarded-For": BOB})
    assert typo.status == 401


async def test_behind_a_trusted_proxy_the_attacker_is_throttled_alone(launch: Launch) -> None:
    gateway = await launch(
        monotonic=Clock(),
        overrides={
            "http.auth_token": TOKEN,
            "http.trusted_proxies": ["127.0.0.1/32"],
            **oauth_settings(),
        },
    )
    access = await oauth_access_token(gateway)
    for n in range(ATTEMPTS):
        # The proxy appends the address it saw; what the attacker wrote before it is ignored.
        spoofed = f"{BOB}, {ATTACKER}"
        guess = await models(gateway, bearer(f"guess-{n}") | {"X-Forwarded-For": spoofed})
        assert guess.status == (401 if n < service.FAILED_BURST else 429), n
        alice = {"X-Forwarded-For": ALICE}
        assert (await models(gateway, bearer() | alice)).status == 200
        assert (await models(gateway, bearer(access) | alice)).status == 200
    assert_throttled(await models(gateway, bearer("again") | {"X-Forwarded-For": ATTACKER}))
    # The RFC 7239 header names the client the same way.
    forwarded = {"Forwarded": f'for="{ATTACKER}";proto=https'}
    assert_throttled(await models(gateway, bearer("again-2") | forwarded))
    # Bob (whom the attacker tried to frame) and Alice still get a plain 401 for a typo.
    for client in (BOB, ALICE):
        typo = await models(gateway, bearer(f"typo-{client}") | {"X-Forwarded-For": client})
        assert typo.status == 401, client


async def test_forwarding_headers_from_untrusted_peers_are_ignored(launch: Launch) -> None:
    # No trusted proxy configured: rotating X-Forwarded-For does not buy fresh allowances.
    gateway = await launch(monotonic=Clock(), overrides={"http.auth_token": TOKEN})
    statuses = [
        (await models(gateway, bearer(f"guess-{n}") | {"X-Forwarded-For": f"192.0.2.{n}"})).status
        for n in range(ATTEMPTS)
    ]
    assert set(statuses[service.FAILED_BURST :]) == {429}
    assert (await models(gateway, bearer())).status == 200


async def test_requests_without_credentials_use_up_nothing(launch: Launch) -> None:
    gateway = await launch(monotonic=Clock(), overrides={"http.auth_token": TOKEN})
    for _ in range(ATTEMPTS * 3):
        assert (await models(gateway, {})).status == 401
    # Nothing was counted against the address: a first wrong token is an honest 401.
    assert (await models(gateway, bearer("first-typo"))).status == 401
    assert (await models(gateway, bearer())).status == 200
