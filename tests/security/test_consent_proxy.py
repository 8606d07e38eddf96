"""Finding 8: the consent page behind a TLS-terminating reverse proxy, and its CSRF cookie.

With `http.public_url` set, the consent form's own origin was refused (403), so nobody could
approve remotely; the CSRF cookie had no `Secure` flag behind TLS termination, and the token was
an unsigned double-submit value. The gateway here runs with
`public_url = https://gw.example.test`. No real proxy runs: each request carries what a
TLS-terminating proxy in front would send (`Host: gw.example.test`, `X-Forwarded-Proto: https`,
`X-Forwarded-For`) and what a browser on https://gw.example.test would add (its `Origin`, the
cookie it stored). The cookie's `Secure` flag means a real browser keeps and returns it over
https only; the test returns it by hand, as that browser would.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._oauth_support import (
    PASSWORD,
    REDIRECT,
    Answer,
    Start,
    authorize_query,
    consent_settings,
    cookie_value,
    csrf_of,
    pkce,
    query_of,
    send,
    start_fixture,  # noqa: F401 - the `start` fixture
    token_request,
)

PUBLIC = "https://gw.example.test"
PROXY = {"Host": "gw.example.test", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
OWN_ORIGIN = {"Origin": PUBLIC}
COOKIE = "llmgw_consent_csrf"


async def proxied_gateway(start: Start, extra: Mapping[str, Any] | None = None) -> GatewayRuntime:
    return await start(consent_settings({"http.public_url": PUBLIC, **(extra or {})}))


async def open_consent(gateway: GatewayRuntime) -> tuple[str, str, Answer]:
    """Authorize through the proxy and load the consent page: (its path, verifier, page)."""
    verifier, challenge = pkce()
    opened = await send(
        gateway, "GET", "/oauth/authorize", params=authorize_query(challenge), headers=PROXY
    )
    assert opened.status == 303, opened.text
    page = await send(gateway, "GET", opened.location, headers=PROXY)
    assert page.status == 200, page.text
    return opened.location, verifier, page


async def post_consent(
    gateway: GatewayRuntime,
    path: str,
    *,
    csrf: str,
    cookie: str | None,
    origin: str | None = PUBLIC,
    password: str = PASSWORD,
) -> Answer:
    headers = dict(PROXY)
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    form = {"csrf": csrf, "password": password, "decision": "approve"}
    return await send(gateway, "POST", path, data=form, headers=headers)


def still_open(gateway: GatewayRuntime, path: str) -> bool:
    pending = gateway.engine.auth.consent.get(path.rsplit("/", 1)[1])
    return pending is not None and not pending.decided


async def test_remote_approval_through_the_proxy_completes_the_flow(start: Start) -> None:
    gateway = await proxied_gateway(start)
    path, verifier, page = await open_consent(gateway)
    assert "Laptop editor" in page.text
    token = cookie_value(page.cookies, COOKIE)
    approved = await post_consent(gateway, path, csrf=csrf_of(page.text), cookie=token)
    assert approved.status == 303, approved.text
    assert approved.location.startswith(REDIRECT)
    code = query_of(approved.location)["code"]
    issued = await token_request(gateway, code, verifier)
    assert issued.status == 200, issued.text


async def test_the_csrf_cookie_is_secure_httponly_strict_and_narrow(start: Start) -> None:
    gateway = await proxied_gateway(start)
    path, _, page = await open_consent(gateway)
    (raw,) = [c for c in page.cookies if c.startswith(COOKIE + "=")]
    morsel = SimpleCookie(raw)[COOKIE]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == path  # this one question's page, nothing else
    assert 0 < int(morsel["max-age"]) <= gateway.settings.http.oauth.consent_timeout_ms // 1000
    # On loopback, without the proxy, the browser talks plain http: no Secure flag there, or
    # the local user's browser would drop the cookie.
    verifier_challenge = pkce()[1]
    local = await send(
        gateway, "GET", "/oauth/authorize", params=authorize_query(verifier_challenge)
    )
    local_page = await send(gateway, "GET", local.location)
    (local_raw,) = [c for c in local_page.cookies if c.startswith(COOKIE + "=")]
    assert SimpleCookie(local_raw)[COOKIE]["secure"] == ""


async def test_forged_unsigned_and_borrowed_tokens_are_refused(start: Start) -> None:
    gateway = await proxied_gateway(start)
    path, _, page = await open_consent(gateway)
    other_path, _, other_page = await open_consent(gateway)
    signed = cookie_value(page.cookies, COOKIE)
    nonce = signed.split(".", 1)[0]
    forgeries = {
        # What the old double-submit accepted: any value, repeated in cookie and form.
        "unsigned": secrets.token_urlsafe(32),
        # The right shape, a made-up signature.
        "forged": f"{nonce}.{secrets.token_urlsafe(32)}",
        # Signed by the gateway, but for another consent request.
        "other request": cookie_value(other_page.cookies, COOKIE),
    }
    for why, token in forgeries.items():
        refused = await post_consent(gateway, path, csrf=token, cookie=token)
        assert refused.status == 403, why
        assert "CSRF" in refused.text, why
    # The cookie and the form must also agree.
    csrf = csrf_of(page.text)
    mismatch = await post_consent(gateway, path, csrf=csrf, cookie=forgeries["forged"])
    assert mismatch.status == 403
    assert still_open(gateway, path) and still_open(gateway, other_path)
    # The real token still works afterwards.
    approved = await post_consent(gateway, path, csrf=csrf, cookie=signed)
    assert approved.status == 303, approved.text
    assert "code" in query_of(approved.location)


async def test_missing_cookie_and_foreign_origins_are_refused(start: Start) -> None:
    listed = "https://dashboard.example.test"  # CORS-allowed for the API, not for consent
    gateway = await proxied_gateway(start, {"http.allowed_origins": [listed]})
    path, _, page = await open_consent(gateway)
    csrf, cookie = csrf_of(page.text), cookie_value(page.cookies, COOKIE)
    assert (await post_consent(gateway, path, csrf=csrf, cookie=None)).status == 403
    for origin in ("https://evil.example", "http://gw.example.test", listed, "null"):
        refused = await post_consent(gateway, path, csrf=csrf, cookie=cookie, origin=origin)
        assert refused.status == 403, origin
    assert still_open(gateway, path)
    # The public origin (what the browser on the consent page sends) is accepted.
    approved = await post_consent(gateway, path, csrf=csrf, cookie=cookie, origin=PUBLIC)
    assert approved.status == 303, approved.text


async def test_a_token_dies_with_its_consent_request(start: Start) -> None:
    gateway = await proxied_gateway(start, {"http.oauth.consent_timeout_ms": 300})
    path, _, page = await open_consent(gateway)
    csrf, cookie = csrf_of(page.text), cookie_value(page.cookies, COOKIE)
    pending = gateway.engine.auth.consent.get(path.rsplit("/", 1)[1])
    assert pending is not None
    assert await pending.decision is False  # nobody answered in time
    late = await post_consent(gateway, path, csrf=csrf, cookie=cookie)
    # The page sends the browser on with the refusal; nothing was approved.
    assert late.status == 303
    assert query_of(late.location)["error"] == "access_denied"
    oauth = gateway.engine.auth.oauth
    assert oauth is not None
    assert not oauth.web_consent.csrf_valid(pending.id, cookie, csrf)


async def test_loopback_approval_still_works_with_a_public_url(start: Start) -> None:
    gateway = await proxied_gateway(start)
    _, challenge = pkce()
    opened = await send(gateway, "GET", "/oauth/authorize", params=authorize_query(challenge))
    page = await send(gateway, "GET", opened.location)
    cookie = cookie_value(page.cookies, COOKIE)
    approved = await send(
        gateway,
        "POST",
        opened.location,
        data={"csrf": csrf_of(page.text), "password": PASSWORD, "decision": "approve"},
        headers={"Cookie": f"{COOKIE}={cookie}", "Origin": gateway.base_url},
    )
    assert approved.status == 303, approved.text
    assert query_of(approved.location).get("code")
