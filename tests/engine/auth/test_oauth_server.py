"""The OAuth server driven directly (no HTTP): one test per finding class, against a real store
in tmp_path and a fake clock. The end-to-end flow with the SDK client lives in
tests/transports/oauth/test_oauth_flow.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.engine.auth.consent import ConsentQueue
from llmgw_desktop.engine.auth.hashing import token_digest
from llmgw_desktop.engine.auth.oauth import OAuthServer
from llmgw_desktop.engine.auth.oauth_code_grant import AuthorizationStep
from llmgw_desktop.engine.auth.oauth_config import OAuthConfig
from llmgw_desktop.engine.auth.oauth_rules import OAuthError
from llmgw_desktop.engine.auth.oauth_store import ClientRecord
from llmgw_desktop.engine.auth.policy import OPEN_REGISTRATION_OPT_IN, startup_problems
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.store import Database

CLIENT_ID = "editor"
SECRET = "editor-secret-0123456789-abcdefghijklmnop"
BASIC = (CLIENT_ID, SECRET)
REDIRECT = "http://127.0.0.1:8123/callback"
REGISTRATION_SECRET = "registration-secret-0123456789-abcdefgh"
START = 1_700_000_000.0


class FakeClock:
    """Wall-clock time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def static_client(**changes: Any) -> ClientRecord:
    fields: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "secret_digest": token_digest(SECRET),
        "name": "Editor",
        "redirect_uris": (REDIRECT,),
        "scopes": frozenset({"mcp"}),
        "public": False,
        "registered_by": "config",
        "created_at": 0.0,
        "metadata": {},
    }
    return ClientRecord(**(fields | changes))


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def query_of(redirect: str | None) -> dict[str, str]:
    assert redirect is not None
    return {k: v[0] for k, v in parse_qs(urlsplit(redirect).query).items()}


Make = Callable[..., Awaitable[OAuthServer]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make(new_database: Callable[[str], Database], clock: FakeClock) -> AsyncIterator[Make]:
    """Build an OAuthServer over the store in tmp_path (a new Database each call, as after a
    restart); every store opened is closed at the end."""
    opened: list[Database] = []

    async def make_server(
        *,
        consent_timeout_s: float = 60.0,
        clients: tuple[ClientRecord, ...] | None = None,
        **config: Any,
    ) -> OAuthServer:
        db = new_database("llmgw.db")
        await db.open()
        opened.append(db)
        static = (static_client(),) if clients is None else clients
        server = OAuthServer(
            db,
            OAuthConfig(static_clients=static, **config),
            ConsentQueue(timeout_s=consent_timeout_s, clock=clock),
            clock=clock,
        )
        await server.start()
        return server

    yield make_server
    for db in opened:
        await db.close()


async def authorize(server: OAuthServer, **params: str) -> AuthorizationStep:
    base = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT}
    return await server.authorize(base | params, requester="127.0.0.1")


async def code_for(server: OAuthServer, **params: str) -> tuple[str, str]:
    """A fresh code and its PKCE verifier."""
    verifier, challenge = pkce_pair()
    step = await authorize(
        server, code_challenge=challenge, code_challenge_method="S256", state="s1", **params
    )
    answer = query_of(step.redirect)
    assert answer["state"] == "s1"
    return answer["code"], verifier


async def exchange(
    server: OAuthServer, code: str, verifier: str, basic: tuple[str, str] | None = BASIC
) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }
    return await server.token(form, basic)


async def tokens_for(server: OAuthServer) -> dict[str, Any]:
    code, verifier = await code_for(server)
    return await exchange(server, code, verifier)


async def refresh(server: OAuthServer, refresh_token: str, **extra: str) -> dict[str, Any]:
    return await server.token(
        {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}, BASIC
    )


async def refused(call: Awaitable[Any]) -> OAuthError:
    with pytest.raises(OAuthError) as info:
        await call
    return info.value


async def count_codes(server: OAuthServer) -> int:
    db = server._db
    return int(await db.run(lambda: db.models.OAuthCode.select().count()))


# -- PKCE -------------------------------------------------------------------------------


async def test_pkce_missing_is_refused_when_required(make: Make) -> None:
    server = await make()
    step = await authorize(server, state="s1")
    answer = query_of(step.redirect)
    assert answer["error"] == "invalid_request"
    assert "code_challenge is required" in answer["error_description"]
    assert "code" not in answer
    assert answer["state"] == "s1"
    assert await count_codes(server) == 0

    # A code issued with a challenge is worthless without the matching verifier.
    code, _ = await code_for(server)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert (await refused(server.token(form, BASIC))).error == "invalid_grant"
    code, _ = await code_for(server)
    wrong_verifier, _ = pkce_pair()
    assert (await refused(exchange(server, code, wrong_verifier))).error == "invalid_grant"


async def test_plain_pkce_is_refused_when_s256_is_required(make: Make) -> None:
    server = await make()
    verifier = secrets.token_urlsafe(48)
    for method in ({"code_challenge_method": "plain"}, {}):  # plain is the RFC default
        step = await authorize(server, code_challenge=verifier, **method)
        answer = query_of(step.redirect)
        assert answer["error"] == "invalid_request"
        assert "code" not in answer
    assert await count_codes(server) == 0


async def test_plain_pkce_is_allowed_when_allow_plain_pkce(make: Make) -> None:
    server = await make(allow_plain_pkce=True)
    verifier = secrets.token_urlsafe(48)
    step = await authorize(server, code_challenge=verifier, code_challenge_method="plain")
    code = query_of(step.redirect)["code"]
    tokens = await exchange(server, code, verifier)
    assert tokens["token_type"] == "Bearer"


# -- redirect URIs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "asked",
    [
        REDIRECT + "/",  # trailing slash
        "http://127.0.0.1:8124/callback",  # another port
        REDIRECT + "?next=evil",  # extra query
        "http://localhost:8123/callback",  # another spelling of the host
        "https://attacker.example/callback",
    ],
)
async def test_redirect_uri_mismatch_is_refused(make: Make, asked: str) -> None:
    server = await make()
    _, challenge = pkce_pair()
    step = await authorize(
        server, redirect_uri=asked, code_challenge=challenge, code_challenge_method="S256"
    )
    # Never a redirect to an unregistered URI: the error is shown, not sent there.
    assert step.redirect is None
    assert step.error is not None
    assert step.error.error == "invalid_request"
    assert await count_codes(server) == 0


async def test_redirect_uri_at_the_token_endpoint_must_match_the_authorization(
    make: Make,
) -> None:
    server = await make()
    code, verifier = await code_for(server)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT + "/",
    }
    assert (await refused(server.token(form, BASIC))).error == "invalid_grant"


# -- codes --------------------------------------------------------------------------------


async def test_code_reuse_is_refused_and_revokes_the_tokens_it_issued(make: Make) -> None:
    server = await make()
    code, verifier = await code_for(server)
    tokens = await exchange(server, code, verifier)
    assert await server.verify(tokens["access_token"]) is not None

    error = await refused(exchange(server, code, verifier))
    assert error.error == "invalid_grant"
    assert "already used" in error.description
    assert await server.verify(tokens["access_token"]) is None
    again = await refused(refresh(server, tokens["refresh_token"]))
    assert again.error == "invalid_grant"


async def test_expired_code_is_refused(make: Make, clock: FakeClock) -> None:
    server = await make(code_ttl_s=300.0)
    code, verifier = await code_for(server)
    clock.advance(300.0)
    error = await refused(exchange(server, code, verifier))
    assert error.error == "invalid_grant"
    assert "expired" in error.description


async def test_code_is_bound_to_the_client_it_was_issued_to(make: Make) -> None:
    other_secret = "other-secret-0123456789-abcdefghijklmnopq"
    other = static_client(client_id="other", secret_digest=token_digest(other_secret))
    server = await make(clients=(static_client(), other))
    code, verifier = await code_for(server)
    error = await refused(exchange(server, code, verifier, basic=("other", other_secret)))
    assert error.error == "invalid_grant"


async def test_wrong_client_secret_is_refused(make: Make) -> None:
    server = await make()
    code, verifier = await code_for(server)
    error = await refused(exchange(server, code, verifier, basic=(CLIENT_ID, SECRET + "x")))
    assert (error.error, error.status) == ("invalid_client", 401)
    error = await refused(exchange(server, code, verifier, basic=None))
    assert (error.error, error.status) == ("invalid_client", 401)


# -- access and refresh tokens ---------------------------------------------------------------


async def test_access_token_stands_for_the_client_with_its_scopes(make: Make) -> None:
    server = await make()
    tokens = await tokens_for(server)
    assert await server.verify(tokens["access_token"]) == Principal(
        f"oauth:{CLIENT_ID}", "oauth", frozenset({"mcp"})
    )
    # A refresh token is not an access token.
    assert await server.verify(tokens["refresh_token"]) is None


async def test_expired_access_token_is_refused(make: Make, clock: FakeClock) -> None:
    server = await make(access_token_ttl_s=3600.0)
    tokens = await tokens_for(server)
    assert tokens["expires_in"] == 3600
    clock.advance(3599.0)
    assert await server.verify(tokens["access_token"]) is not None  # and now cached
    clock.advance(1.0)
    assert await server.verify(tokens["access_token"]) is None


async def test_refresh_rotation_issues_a_new_pair(make: Make, clock: FakeClock) -> None:
    server = await make()
    first = await tokens_for(server)
    clock.advance(10.0)
    second = await refresh(server, first["refresh_token"])
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "mcp"
    assert await server.verify(second["access_token"]) is not None
    third = await refresh(server, second["refresh_token"])
    assert await server.verify(third["access_token"]) is not None


async def test_refresh_reuse_is_detected_and_revokes_the_family(make: Make) -> None:
    server = await make()
    first = await tokens_for(server)
    unrelated = await tokens_for(server)
    second = await refresh(server, first["refresh_token"])

    error = await refused(refresh(server, first["refresh_token"]))
    assert error.error == "invalid_grant"
    assert "already used" in error.description
    for token in (first["access_token"], second["access_token"]):
        assert await server.verify(token) is None
    assert (await refused(refresh(server, second["refresh_token"]))).error == "invalid_grant"
    # Another grant of the same client is not touched.
    assert await server.verify(unrelated["access_token"]) is not None
    await refresh(server, unrelated["refresh_token"])


async def test_expired_refresh_token_is_refused(make: Make, clock: FakeClock) -> None:
    server = await make(refresh_token_ttl_s=100.0)
    tokens = await tokens_for(server)
    clock.advance(100.0)
    error = await refused(refresh(server, tokens["refresh_token"]))
    assert (error.error, error.description) == ("invalid_grant", "refresh token expired")


async def test_refresh_may_narrow_but_not_widen_scopes(make: Make) -> None:
    server = await make(clients=(static_client(scopes=frozenset({"mcp", "workspace:admin"})),))
    code, verifier = await code_for(server, scope="mcp")
    tokens = await exchange(server, code, verifier)
    error = await refused(refresh(server, tokens["refresh_token"], scope="mcp workspace:admin"))
    assert error.error == "invalid_scope"


async def test_revoked_token_is_refused(make: Make) -> None:
    other_secret = "other-secret-0123456789-abcdefghijklmnopq"
    other = static_client(client_id="other", secret_digest=token_digest(other_secret))
    server = await make(clients=(static_client(), other))
    tokens = await tokens_for(server)
    kept = await tokens_for(server)

    # Revocation needs the client's own credentials...
    error = await refused(server.revoke({"token": tokens["access_token"]}, None))
    assert (error.error, error.status) == ("invalid_client", 401)
    # ...another client's revocation of it is ignored (RFC 7009: no error, no effect)...
    await server.revoke({"token": tokens["access_token"]}, ("other", other_secret))
    assert await server.verify(tokens["access_token"]) is not None
    # ...and unknown tokens are not an error.
    await server.revoke({"token": "llmgw_at_never-issued"}, BASIC)

    # Revoking the access token revokes its whole grant, at once (no stale cache).
    await server.revoke({"token": tokens["access_token"]}, BASIC)
    assert await server.verify(tokens["access_token"]) is None
    error = await refused(refresh(server, tokens["refresh_token"]))
    assert (error.error, error.description) == ("invalid_grant", "refresh token was revoked")
    assert await server.verify(kept["access_token"]) is not None

    # The dashboard's button revokes everything the client holds.
    assert await server.revoke_client(OPERATOR, CLIENT_ID) == 2
    assert await server.verify(kept["access_token"]) is None
    assert (await refused(refresh(server, kept["refresh_token"]))).error == "invalid_grant"


async def test_unknown_scope_is_refused(make: Make) -> None:
    server = await make()
    _, challenge = pkce_pair()
    for scope in ("mcp telepathy", "workspace:admin"):  # unknown; known but not this client's
        step = await authorize(
            server, scope=scope, code_challenge=challenge, code_challenge_method="S256"
        )
        answer = query_of(step.redirect)
        assert answer["error"] == "invalid_scope"
        assert "code" not in answer
    assert await count_codes(server) == 0


# -- clients --------------------------------------------------------------------------------


def registration(**extra: Any) -> dict[str, Any]:
    return {"redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "Tool", **extra}


async def test_registration_policies(make: Make) -> None:
    closed = await make()
    error = await refused(closed.register(registration(), REGISTRATION_SECRET))
    assert (error.error, error.status) == ("access_denied", 403)

    shared = await make(registration="shared_secret", registration_secret=REGISTRATION_SECRET)
    for presented in (None, "", REGISTRATION_SECRET + "x", REGISTRATION_SECRET[:-1]):
        error = await refused(shared.register(registration(), presented))
        assert (error.error, error.status) == ("invalid_token", 401)
    answer = await shared.register(registration(), REGISTRATION_SECRET)
    assert answer["client_id"].startswith("llmgw-")
    assert answer["client_secret"]
    assert answer["token_endpoint_auth_method"] == "client_secret_basic"

    # open_dev lets anyone register, so it only runs with the environment opt-in: without it,
    # start-up refuses (the OAuth server is never built).
    settings = load_settings().settings.with_values(
        {"http.oauth.enabled": True, "http.oauth.registration": "open_dev"}
    )
    assert any(OPEN_REGISTRATION_OPT_IN in p for p in startup_problems(settings, {}, desktop=True))
    assert startup_problems(settings, {OPEN_REGISTRATION_OPT_IN: "1"}, desktop=True) == []
    opened = await make(registration="open_dev")
    answer = await opened.register(registration(), None)
    step = await opened.authorize(
        {
            "client_id": answer["client_id"],
            "response_type": "code",
            "code_challenge": pkce_pair()[1],
            "code_challenge_method": "S256",
        },
        requester="127.0.0.1",
    )
    assert "code" in query_of(step.redirect)


async def test_registration_metadata_is_checked(make: Make) -> None:
    server = await make(registration="open_dev")
    bodies: tuple[dict[str, Any], ...] = (
        {"redirect_uris": []},
        {"redirect_uris": ["http://attacker.example/cb"]},  # plain http off loopback
        {"redirect_uris": ["https://app.example/cb#frag"]},
    )
    for body in bodies:
        assert (await refused(server.register(body, None))).error == "invalid_redirect_uri"
    grants = registration(grant_types=["client_credentials"])
    assert (await refused(server.register(grants, None))).error == "invalid_client_metadata"


async def test_public_clients_are_refused_unless_allowed(make: Make) -> None:
    public_body = registration(token_endpoint_auth_method="none")
    server = await make(registration="open_dev")
    error = await refused(server.register(public_body, None))
    assert error.error == "invalid_client_metadata"

    # A public client listed in config.toml gets nothing either while they are off.
    public = static_client(client_id="cli", secret_digest=None, public=True)
    server = await make(registration="open_dev", clients=(static_client(), public))
    _, challenge = pkce_pair()
    step = await server.authorize(
        {
            "client_id": "cli",
            "response_type": "code",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        requester="127.0.0.1",
    )
    assert step.error is not None
    assert step.error.error == "invalid_client"
    form = {"grant_type": "refresh_token", "client_id": "cli", "refresh_token": "x"}
    assert (await refused(server.token(form, None))).error == "invalid_client"

    allowed = await make(registration="open_dev", allow_public_clients=True, require_pkce=False)
    answer = await allowed.register(public_body, None)
    assert "client_secret" not in answer
    client_id = answer["client_id"]
    base = {"client_id": client_id, "response_type": "code"}
    # PKCE is required of a public client even where it is optional for confidential ones.
    step = await allowed.authorize(base, requester="127.0.0.1")
    assert query_of(step.redirect)["error"] == "invalid_request"
    verifier, challenge = pkce_pair()
    step = await allowed.authorize(
        base | {"code_challenge": challenge, "code_challenge_method": "S256"},
        requester="127.0.0.1",
    )
    code = query_of(step.redirect)["code"]
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "code_verifier": verifier,
    }
    # A public client presenting a secret is not one.
    error = await refused(allowed.token(form | {"client_secret": "guess"}, None))
    assert error.error == "invalid_client"
    tokens = await allowed.token(form, None)
    assert await allowed.verify(tokens["access_token"]) is not None


# -- persistence ----------------------------------------------------------------------------


async def test_tokens_survive_a_restart(make: Make) -> None:
    before = await make()
    tokens = await tokens_for(before)
    await before._db.close()

    after = await make()
    assert await after.verify(tokens["access_token"]) == Principal(
        f"oauth:{CLIENT_ID}", "oauth", frozenset({"mcp"})
    )
    rotated = await refresh(after, tokens["refresh_token"])
    assert await after.verify(rotated["access_token"]) is not None


@pytest.mark.parametrize("store_engine", ["sqlite"])  # reads the SQLite file's bytes
async def test_tokens_are_stored_hashed_never_in_clear(make: Make, tmp_path: Path) -> None:
    server = await make(registration="shared_secret", registration_secret=REGISTRATION_SECRET)
    registered = await server.register(registration(), REGISTRATION_SECRET)
    code, verifier = await code_for(server)
    tokens = await exchange(server, code, verifier)
    rotated = await refresh(server, tokens["refresh_token"])
    await server._db.close()

    secrets_in_clear = [
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
        registered["client_secret"],
        SECRET,
    ]
    files = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("llmgw.db*")))
    with sqlite3.connect(tmp_path / "llmgw.db") as conn:
        rows = [
            repr(row)
            for table in ("oauth_clients", "oauth_codes", "oauth_tokens")
            for row in conn.execute(f"SELECT * FROM {table}")
        ]
    dump = "\n".join(rows)
    for value in secrets_in_clear:
        assert value.encode() not in files
        assert value not in dump
    # What is stored is the digest, which is how the server finds them.
    for value in secrets_in_clear[1:5]:
        assert token_digest(value) in dump


# -- consent --------------------------------------------------------------------------------


async def ask_consent(server: OAuthServer) -> tuple[str, str]:
    """Open a consent question; its id and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    step = await authorize(
        server, code_challenge=challenge, code_challenge_method="S256", state="s1"
    )
    assert step.redirect is None
    assert step.consent is not None
    assert step.consent.request.client_id == CLIENT_ID
    assert step.consent.request.requester == "127.0.0.1"
    return step.consent.id, verifier


async def test_consent_required_issues_no_code_until_approved(make: Make) -> None:
    server = await make(require_consent=True)
    consent_id, verifier = await ask_consent(server)
    assert await server.consent_outcome(consent_id) is None
    assert await count_codes(server) == 0

    assert server.consent.answer(consent_id, True, by="desk")
    outcome = await server.consent_outcome(consent_id)
    answer = query_of(outcome)
    assert answer["state"] == "s1"
    # Asked again (the browser polls), the same code: it is issued once.
    assert await server.consent_outcome(consent_id) == outcome
    assert await count_codes(server) == 1
    tokens = await exchange(server, answer["code"], verifier)
    assert await server.verify(tokens["access_token"]) is not None
    assert not server.consent.answer(consent_id, False, by="web")  # already decided


async def test_consent_required_issues_no_code_when_denied(make: Make) -> None:
    server = await make(require_consent=True)
    consent_id, _ = await ask_consent(server)
    assert server.consent.answer(consent_id, False, by="desk")
    answer = query_of(await server.consent_outcome(consent_id))
    assert answer["error"] == "access_denied"
    assert "code" not in answer
    assert await count_codes(server) == 0


async def test_unanswered_consent_expires_and_is_denied(make: Make) -> None:
    server = await make(require_consent=True, consent_timeout_s=0.02)
    consent_id, _ = await ask_consent(server)
    pending = server.consent.get(consent_id)
    assert pending is not None
    assert await asyncio.wait_for(pending.decision, timeout=2.0) is False
    assert pending.decided_by == "timeout"
    answer = query_of(await server.consent_outcome(consent_id))
    assert answer["error"] == "access_denied"
    assert "in time" in answer["error_description"]
    assert not server.consent.answer(consent_id, True, by="desk")  # too late
    assert await count_codes(server) == 0


async def test_answered_consent_requests_are_forgotten_in_time(
    make: Make, clock: FakeClock
) -> None:
    from llmgw_desktop.engine.auth.consent import KEEP_DECIDED_S

    server = await make(require_consent=True, consent_timeout_s=60.0)
    first, _ = await ask_consent(server)
    assert server.consent.answer(first, False, by="desk")
    assert await server.consent_outcome(first) is not None
    clock.advance(60.0 + KEEP_DECIDED_S + 1)
    second, _ = await ask_consent(server)
    # The old question and the request parked with it are gone; the new one is there.
    assert server.consent.get(first) is None
    assert await server.consent_outcome(first) is None
    assert set(server._codes._waiting) == {second}
