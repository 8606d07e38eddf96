"""Finding 5: guessing the consent password and client secrets, and flooding consent requests.

Before the fix the consent password's limit was five tries per consent request and `/oauth/*`
had no limit at all: a fresh consent per guess, hundreds of wrong client secrets a second and
thousands of open consents were all accepted. Each test drives the real gateway over HTTP from
an attacker's address (127.0.0.2, and more for the flood) while the user at 127.0.0.1 logs in
with the `mcp` SDK's OAuth client, and asserts both that the attack is throttled (429 with
`Retry-After`, decided before any secret is checked) and that the user gets through.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._oauth_support import (
    ATTACKER,
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_ID,
    OTHER_SECRET,
    PASSWORD,
    USER,
    Answer,
    Browser,
    Start,
    authorize_query,
    code_flow,
    consent_settings,
    cookie_value,
    csrf_of,
    oauth_settings,
    pkce,
    sdk_health,
    send,
    session_from,
    start_fixture,  # noqa: F401 - the `start` fixture
)

BURST = 5  # http.oauth.wrong_secret_burst's default
REGISTRATION_SECRET = "registration-secret-0123456789-abcdefgh"


async def open_consent(gateway: GatewayRuntime, source: str) -> Answer:
    """An authorization request that waits for consent: the 303 to the consent page."""
    _, challenge = pkce()
    return await send(
        gateway, "GET", "/oauth/authorize", source=source, params=authorize_query(challenge)
    )


async def guess(gateway: GatewayRuntime, source: str, password: str) -> Answer:
    """One password guess, as an attacker makes it: a fresh consent, its page, the form."""
    opened = await open_consent(gateway, source)
    assert opened.status == 303, opened.text
    page = await send(gateway, "GET", opened.location, source=source)
    assert page.status == 200, page.text
    cookie = cookie_value(page.cookies, "llmgw_consent_csrf")
    form = {"csrf": csrf_of(page.text), "password": password, "decision": "approve"}
    return await send(
        gateway,
        "POST",
        opened.location,
        source=source,
        data=form,
        headers={"Cookie": f"llmgw_consent_csrf={cookie}"},
    )


def retry_after(answer: Answer) -> int:
    assert answer.status == 429, (answer.status, answer.text)
    seconds = int(answer.headers["Retry-After"])
    assert seconds >= 1
    return seconds


async def test_consent_password_guesses_across_consents_are_throttled(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start(consent_settings())
    caplog.set_level(logging.WARNING, logger="llmgw_desktop.engine.auth.consent_web")
    answers = [await guess(gateway, ATTACKER, f"guess {n}") for n in range(BURST + 3)]
    assert [a.status for a in answers[:BURST]] == [403] * BURST  # wrong, each checked
    for refused in answers[BURST:]:
        retry_after(refused)
        assert "too many wrong consent passwords" in refused.text
    # Refused before the password is looked at: even the right one gets no answer now.
    assert (await guess(gateway, ATTACKER, PASSWORD)).status == 429
    hashed = [r for r in caplog.records if "wrong password" in r.getMessage()]
    assert len(hashed) == BURST
    # Nothing was approved: every consent the attacker opened still waits.
    assert len(gateway.engine.auth.consent.open_requests()) == BURST + 4
    # The user, at another address, still approves through the page and logs in, mistyping
    # twice first (the attacker's guesses did not spend the user's allowance).
    browser = Browser(PASSWORD, source=USER, typos=2)
    await sdk_health(gateway, browser)
    assert browser.result is not None


async def test_consent_password_flood_neither_blocks_the_loop_nor_the_user(start: Start) -> None:
    """Many concurrent wrong passwords from three addresses: most are refused as busy or
    throttled without a hash, and the user's approval goes through meanwhile. (Three: an
    attacker holding four or more addresses can spend the client's own allowance, and then
    the user's first approval from a new address waits for it to refill; the desk dialog
    is not affected. docs/SECURITY.md says so.)"""
    gateway = await start(consent_settings())
    attackers = [f"127.0.0.{n}" for n in range(2, 5)]
    pages: dict[str, tuple[str, str, str]] = {}
    for source in attackers:
        opened = await open_consent(gateway, source)
        page = await send(gateway, "GET", opened.location, source=source)
        cookie = cookie_value(page.cookies, "llmgw_consent_csrf")
        pages[source] = (opened.location, csrf_of(page.text), cookie)

    async def flood(source: str) -> list[int]:
        location, csrf, cookie = pages[source]
        async with session_from(source) as session:
            answers = await asyncio.gather(
                *(
                    send(
                        gateway,
                        "POST",
                        location,
                        session=session,
                        data={"csrf": csrf, "password": f"guess {n}", "decision": "approve"},
                        headers={"Cookie": f"llmgw_consent_csrf={cookie}"},
                    )
                    for n in range(10)
                )
            )
        return [a.status for a in answers]

    started = time.monotonic()
    statuses, _ = await asyncio.gather(
        asyncio.gather(*(flood(source) for source in attackers)),
        sdk_health(gateway, Browser(PASSWORD, source=USER)),
    )
    assert time.monotonic() - started < 20
    flat = [s for per_source in statuses for s in per_source]
    # 403: checked and wrong; 429: refused unchecked; 303: the question was denied after
    # five wrong passwords, and the page sends the browser on with that answer.
    assert set(flat) <= {303, 403, 429}, flat
    assert flat.count(403) <= 3 * BURST
    assert flat.count(429) >= len(flat) // 2  # most never reached the hash
    # The gateway's loop stayed responsive throughout.
    assert (await send(gateway, "GET", "/health")).status == 200


async def test_client_secret_guessing_is_throttled_and_real_clients_get_tokens(
    start: Start,
) -> None:
    gateway = await start(oauth_settings())
    form = {
        "grant_type": "authorization_code",
        "code": "whatever",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "client_id": CLIENT_ID,
    }

    async def attack() -> list[Answer]:
        async with session_from(ATTACKER) as session:
            return list(
                await asyncio.gather(
                    *(
                        send(
                            gateway,
                            "POST",
                            "/oauth/token",
                            session=session,
                            data=form | {"client_secret": f"wrong-{n}"},
                        )
                        for n in range(60)
                    )
                )
            )

    # The attack runs concurrently with the real client's flow from the user's address.
    answers, during = await asyncio.gather(attack(), code_flow(gateway, source=USER))
    assert during.status == 200, during.text
    statuses = [a.status for a in answers]
    # Concurrent guesses are counted before any is checked: exactly the allowance got through.
    assert statuses.count(401) == BURST, statuses
    assert statuses.count(429) == len(answers) - BURST
    throttled = next(a for a in answers if a.status == 429)
    retry_after(throttled)
    assert throttled.json()["error"] == "temporarily_unavailable"
    # Still throttled for the attacker, even with the right secret ...
    right = await send(
        gateway,
        "POST",
        "/oauth/token",
        source=ATTACKER,
        data=form | {"client_secret": CLIENT_SECRET},
    )
    retry_after(right)
    # ... but not for another client at the attacker's address, nor for this client elsewhere.
    other = await code_flow(gateway, source=ATTACKER, client=(OTHER_ID, OTHER_SECRET))
    assert other.status == 200, other.text
    after = await code_flow(gateway, source=USER)
    assert after.status == 200, after.text
    await sdk_health(gateway, Browser(source=USER))


async def test_pending_consent_flood_is_capped_and_the_user_still_gets_in(start: Start) -> None:
    gateway = await start(consent_settings())
    per_address = gateway.settings.http.oauth.max_pending_consents_per_address
    async with session_from(ATTACKER) as session:
        flood = await asyncio.gather(
            *(
                send(
                    gateway,
                    "GET",
                    "/oauth/authorize",
                    session=session,
                    params=authorize_query(pkce()[1]),
                )
                for _ in range(per_address + 40)
            )
        )
    statuses = [a.status for a in flood]
    assert statuses.count(303) == per_address, statuses
    refused = [a for a in flood if a.status == 429]
    assert len(refused) == 40
    assert retry_after(refused[0]) > 1  # until the oldest open request expires
    assert "waiting for consent from this address" in refused[0].text
    assert len(gateway.engine.auth.consent.open_requests()) == per_address
    # The user opens a consent of their own and approves it.
    await sdk_health(gateway, Browser(PASSWORD, source=USER))


async def test_pending_consent_caps_are_configurable_per_client_and_in_all(start: Start) -> None:
    gateway = await start(
        consent_settings(
            {
                "http.oauth.max_pending_consents": 4,
                "http.oauth.max_pending_consents_per_client": 3,
                "http.oauth.max_pending_consents_per_address": 2,
            },
        )
    )
    by_source = {
        source: [(await open_consent(gateway, source)).status for _ in range(3)]
        for source in ("127.0.0.2", "127.0.0.3")
    }
    assert by_source["127.0.0.2"] == [303, 303, 429]  # per address
    assert by_source["127.0.0.3"] == [303, 429, 429]  # then per client
    _, challenge = pkce()
    other = await send(
        gateway, "GET", "/oauth/authorize", source=USER, params=authorize_query(challenge, OTHER_ID)
    )
    assert other.status == 303  # another client still has room ...
    query = authorize_query(challenge, OTHER_ID)
    last = await send(gateway, "GET", "/oauth/authorize", source="127.0.0.4", params=query)
    assert last.status == 429 and "in all" in last.text  # ... until the total is reached


async def test_registration_secret_guessing_is_throttled(start: Start) -> None:
    gateway = await start(
        oauth_settings(
            {
                "http.oauth.registration": "shared_secret",
                "http.oauth.registration_secret": REGISTRATION_SECRET,
            }
        )
    )
    body = {"redirect_uris": ["http://127.0.0.1:9/callback"], "client_name": "tool"}
    wrong = [
        await send(
            gateway,
            "POST",
            "/oauth/register",
            source=ATTACKER,
            json=body,
            headers={"Authorization": f"Bearer guess-{n}"},
        )
        for n in range(BURST + 3)
    ]
    assert [a.status for a in wrong[:BURST]] == [401] * BURST
    for refused in wrong[BURST:]:
        retry_after(refused)
    # The registrar elsewhere, with the right secret, still registers.
    registered = await send(
        gateway,
        "POST",
        "/oauth/register",
        source=USER,
        json=body,
        headers={"Authorization": f"Bearer {REGISTRATION_SECRET}"},
    )
    assert registered.status == 201, registered.text


async def test_behind_a_trusted_proxy_guessing_counts_per_forwarded_address(start: Start) -> None:
    """Everyone behind the reverse proxy arrives from its address: the throttle must count the
    address the proxy forwarded, or one guesser would lock every user of the proxy out."""
    proxy = "127.0.0.3"
    gateway = await start(oauth_settings({"http.trusted_proxies": [proxy]}))
    form = {
        "grant_type": "authorization_code",
        "code": "not-a-code",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "client_id": CLIENT_ID,
    }

    async def through_proxy(client_address: str, secret: str) -> Answer:
        return await send(
            gateway,
            "POST",
            "/oauth/token",
            source=proxy,
            data=form | {"client_secret": secret},
            headers={"X-Forwarded-For": client_address},
        )

    attacker, user = "203.0.113.5", "198.51.100.7"
    for n in range(BURST):
        assert (await through_proxy(attacker, f"wrong-{n}")).status == 401
    retry_after(await through_proxy(attacker, "wrong-again"))
    retry_after(await through_proxy(attacker, CLIENT_SECRET))  # throttled before any check
    # The user behind the same proxy is checked: the right secret, then a code that is not one.
    answer = await through_proxy(user, CLIENT_SECRET)
    assert answer.status == 400, answer.text
    assert answer.json()["error"] == "invalid_grant"
