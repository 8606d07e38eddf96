"""AuthService.authenticate (which principal a request's headers stand for), the per-principal
rate limiter, and password hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from multidict import CIMultiDict

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth import hashing, service
from llmgw_desktop.engine.auth.hashing import hash_password, verify_password
from llmgw_desktop.engine.auth.peer_owner import PeerOwner
from llmgw_desktop.engine.auth.principals import BEARER, LOCAL_CALLER, Principal
from llmgw_desktop.engine.auth.rate_limit import RateLimiter
from llmgw_desktop.engine.auth.service import AuthService
from llmgw_desktop.engine.store import Database
from tests.clock import Clock

TOKEN = "static-bearer-0123456789-abcdefghijklmn"
INSTANCE = "instance-token-0123456789-abcdefghijklm"
CLIENT_ID = "editor"
CLIENT_SECRET = "editor-secret-0123456789-abcdefghijklmnop"
HEADER = "X-Forwarded-User"

MakeAuth = Callable[..., AuthService]


class FixedPeer:
    """A connection whose owner is known in advance (the OS lookup is tested over real
    sockets in tests/security/test_local_user_boundary.py)."""

    def __init__(self, owner: PeerOwner) -> None:
        self._owner = owner

    async def owner(self) -> PeerOwner:
        return self._owner


OWN = FixedPeer(PeerOwner.OWNER)


@pytest.fixture
def make(loaded: LoadedSettings, db: Database) -> MakeAuth:
    def make_auth(overrides: Mapping[str, Any] | None = None) -> AuthService:
        return AuthService(
            loaded.settings.with_values(overrides or {}), db, environ={}, instance_token=INSTANCE
        )

    return make_auth


def bearer(token: str, **extra: str) -> CIMultiDict[str]:
    return CIMultiDict({"Authorization": f"Bearer {token}", **(extra or {})})


async def oauth_access_token(auth: AuthService) -> str:
    """An access token from the service's own OAuth server (static client, code + PKCE)."""
    assert auth.oauth is not None
    await auth.start()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    step = await auth.oauth.authorize(
        {
            "client_id": CLIENT_ID,
            "response_type": "code",
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        },
        requester="127.0.0.1",
    )
    assert step.redirect is not None
    code = parse_qs(urlsplit(step.redirect).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    tokens = await auth.oauth.token(form, (CLIENT_ID, CLIENT_SECRET))
    return str(tokens["access_token"])


OAUTH = {
    "http.oauth.enabled": True,
    "http.oauth.clients": {
        CLIENT_ID: {
            "redirect_uris": ["http://127.0.0.1:9/cb"],
            "client_secret_sha256": hashlib.sha256(CLIENT_SECRET.encode()).hexdigest(),
        }
    },
}


# -- authenticate --------------------------------------------------------------------------


async def test_instance_token_is_the_local_user_on_the_owners_connections(
    make: MakeAuth,
) -> None:
    auth = make({"http.auth_token": TOKEN})
    token = CIMultiDict({"X-Llmgw-Instance-Token": INSTANCE})
    assert (await auth.authenticate(token, OWN)).principal == LOCAL_CALLER
    # From another account, or a connection the edge cannot place, the file's token proves
    # nothing: a CLI that read it outside its workspace could have handed it over.
    for peer in (FixedPeer(PeerOwner.OTHER), None):
        verdict = await auth.authenticate(token, peer)
        assert (verdict.principal, verdict.error) == (None, "invalid_token")
        assert "account that runs the gateway" in verdict.problem


async def test_wrong_instance_token_is_refused(make: MakeAuth) -> None:
    auth = make()  # even where no credentials are needed, a wrong one is not waved through
    verdict = await auth.authenticate(CIMultiDict({"X-Llmgw-Instance-Token": INSTANCE + "x"}))
    assert (verdict.principal, verdict.error) == (None, "invalid_token")


async def test_static_bearer_is_gateway_bearer(make: MakeAuth) -> None:
    auth = make({"http.auth_token": TOKEN})
    verdict = await auth.authenticate(bearer(TOKEN))
    assert verdict.principal == Principal(BEARER, "bearer")
    # The scheme is case-insensitive (RFC 7235).
    lower = await auth.authenticate(CIMultiDict({"Authorization": f"bearer {TOKEN}"}))
    assert lower.principal == Principal(BEARER, "bearer")


@pytest.mark.parametrize("presented", [TOKEN + "x", TOKEN[:-1], TOKEN.upper(), "x" * 40])
async def test_wrong_token_is_refused(make: MakeAuth, presented: str) -> None:
    auth = make({"http.auth_token": TOKEN})
    verdict = await auth.authenticate(bearer(presented))
    assert verdict.principal is None
    assert verdict.error == "invalid_token"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": f"Basic {TOKEN}"}],
)
async def test_missing_token_is_refused(make: MakeAuth, headers: dict[str, str]) -> None:
    auth = make({"http.auth_token": TOKEN})
    assert auth.configured
    verdict = await auth.authenticate(CIMultiDict(headers))
    assert verdict.principal is None
    assert "needs a key" in verdict.problem and "gateway key" in verdict.problem
    assert verdict.error == ""  # no credential was presented (RFC 6750: no error code)


async def test_missing_token_is_refused_when_only_oauth_is_configured(make: MakeAuth) -> None:
    auth = make(OAUTH)
    assert (await auth.authenticate(CIMultiDict())).principal is None


async def test_open_locally_without_auth_on_loopback(make: MakeAuth) -> None:
    auth = make()
    assert not auth.configured
    assert (await auth.authenticate(CIMultiDict(), OWN)).principal == LOCAL_CALLER
    # SDKs insist on sending some key: still the local user.
    assert (await auth.authenticate(bearer("sk-anything"), OWN)).principal == LOCAL_CALLER


@pytest.mark.parametrize("owner", [PeerOwner.OTHER, PeerOwner.UNKNOWN, None])
async def test_open_locally_serves_only_the_gateways_own_account(
    make: MakeAuth, owner: PeerOwner | None
) -> None:
    auth = make()
    peer = None if owner is None else FixedPeer(owner)
    for headers in (CIMultiDict(), bearer("sk-anything")):
        verdict = await auth.authenticate(headers, peer)
        assert verdict.principal is None
        assert verdict.error == ""  # no wrong credential: nothing to count against anyone
        assert "account" in verdict.problem
    # Nor does the instance token on a connection that is not (or may not be) the owner's.
    token = CIMultiDict({"X-Llmgw-Instance-Token": INSTANCE})
    assert (await auth.authenticate(token, peer)).principal is None


async def test_open_to_all_local_accounts_is_the_old_behaviour(make: MakeAuth) -> None:
    auth = make({"http.open_to_all_local_accounts": True})
    other = FixedPeer(PeerOwner.OTHER)
    assert (await auth.authenticate(CIMultiDict(), other)).principal == LOCAL_CALLER


@pytest.mark.parametrize(
    "overrides",
    [
        {"http.public_url": "https://gw.example.com"},
        {"http.host": "0.0.0.0"},
        {"http.auth_token": TOKEN},
        OAUTH,
    ],
    ids=["public url", "reachable bind", "token", "oauth"],
)
async def test_not_open_when_reachable_or_configured(
    make: MakeAuth, overrides: dict[str, Any]
) -> None:
    auth = make(overrides)
    assert auth.configured
    assert (await auth.authenticate(CIMultiDict())).principal is None
    assert (await auth.authenticate(bearer("sk-anything"))).principal is None


async def test_oauth_access_token_is_the_client(make: MakeAuth) -> None:
    auth = make(OAUTH)
    access = await oauth_access_token(auth)
    verdict = await auth.authenticate(bearer(access))
    assert verdict.principal == Principal(f"oauth:{CLIENT_ID}", "oauth", frozenset({"mcp"}))
    refused = await auth.authenticate(bearer(access + "x"))
    assert (refused.principal, refused.error) == (None, "invalid_token")


async def test_trusted_header_is_honoured_with_the_static_bearer(make: MakeAuth) -> None:
    auth = make({"http.auth_token": TOKEN, "http.trusted_principal_header": HEADER})
    verdict = await auth.authenticate(bearer(TOKEN, **{HEADER: "alice@example.com"}))
    assert verdict.principal == Principal("user:alice@example.com", "trusted-header")
    # Header names are case-insensitive on the wire.
    verdict = await auth.authenticate(bearer(TOKEN, **{HEADER.lower(): "bob"}))
    assert verdict.principal == Principal("user:bob", "trusted-header")
    # Without the header, the bearer holder.
    assert (await auth.authenticate(bearer(TOKEN))).principal == Principal(BEARER, "bearer")


async def test_trusted_header_without_bearer_is_refused(make: MakeAuth) -> None:
    auth = make({"http.auth_token": TOKEN, "http.trusted_principal_header": HEADER, **OAUTH})
    no_credentials = await auth.authenticate(CIMultiDict({HEADER: "alice"}))
    assert no_credentials.principal is None
    wrong = await auth.authenticate(bearer("x" * 40, **{HEADER: "alice"}))
    assert wrong.principal is None
    # An OAuth client cannot name a user: the header is ignored, the client is the principal.
    access = await oauth_access_token(auth)
    verdict = await auth.authenticate(bearer(access, **{HEADER: "alice"}))
    assert verdict.principal is not None
    assert verdict.principal.id == f"oauth:{CLIENT_ID}"


async def test_trusted_header_is_ignored_without_a_static_token(make: MakeAuth) -> None:
    # Start-up refuses this configuration; were it to run, the header names no one.
    auth = make({"http.trusted_principal_header": HEADER})
    verdict = await auth.authenticate(bearer("anything", **{HEADER: "alice"}), OWN)
    assert verdict.principal == LOCAL_CALLER


@pytest.mark.parametrize(
    "value",
    [
        "",
        "alice bob",
        "alice\tbob",
        "../root",
        "-alice",
        "alice;drop",
        "alice/bob",
        "a" * 65,
        "élise",
        "alice\x00",
    ],
)
async def test_trusted_header_with_bad_characters_is_refused(make: MakeAuth, value: str) -> None:
    auth = make({"http.auth_token": TOKEN, "http.trusted_principal_header": HEADER})
    verdict = await auth.authenticate(bearer(TOKEN, **{HEADER: value}))
    # Refused, not downgraded to the shared bearer principal.
    assert (verdict.principal, verdict.error) == (None, "invalid_request")
    assert HEADER in verdict.problem


async def test_timing_safe_comparison_in_use(
    make: MakeAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    digests: list[tuple[bytes, bytes]] = []
    real_equal, real_digest = hashing.constant_time_equal, hmac.compare_digest

    def spy_equal(presented: str, expected: str) -> bool:
        compared.append((presented, expected))
        return real_equal(presented, expected)

    def spy_digest(a: Any, b: Any) -> bool:
        digests.append((a, b))
        return real_digest(a, b)

    monkeypatch.setattr(service, "constant_time_equal", spy_equal)
    monkeypatch.setattr(hmac, "compare_digest", spy_digest)
    auth = make({"http.auth_token": TOKEN})

    assert (await auth.authenticate(bearer("y" * 40))).principal is None
    assert compared == [("y" * 40, TOKEN)]
    assert (await auth.authenticate(bearer(TOKEN))).principal is not None
    assert compared[-1] == (TOKEN, TOKEN)
    await auth.authenticate(CIMultiDict({"X-Llmgw-Instance-Token": "z" * 40}))
    assert compared[-1] == ("z" * 40, INSTANCE)
    # ...and the helper itself is hmac.compare_digest, not ==.
    assert (b"y" * 40, TOKEN.encode()) in digests
    assert (b"z" * 40, INSTANCE.encode()) in digests


# -- rate limits -----------------------------------------------------------------------------


def test_burst_then_refused_with_a_retry_after() -> None:
    clock = Clock(1000.0)
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.check("oauth:a") for _ in range(3)] == [None, None, None]
    wait = limiter.check("oauth:a")
    assert wait is not None
    assert 0 < wait <= 1.0  # one request a second: back within a second


def test_bucket_refills_over_time() -> None:
    clock = Clock(1000.0)
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    for _ in range(2):
        assert limiter.check("oauth:a") is None
    assert limiter.check("oauth:a") is not None
    clock.now += 0.5
    wait = limiter.check("oauth:a")
    assert wait is not None
    assert wait == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.check("oauth:a") is None
    assert limiter.check("oauth:a") is not None
    # A long pause refills to the burst, never beyond.
    clock.now += 3600
    assert [limiter.check("oauth:a") for _ in range(3)] == [None, None, pytest.approx(1.0)]


def test_principals_have_separate_buckets() -> None:
    clock = Clock(1000.0)
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    assert limiter.check("oauth:a") is None
    assert limiter.check("oauth:a") is not None
    assert limiter.check("oauth:b") is None
    assert limiter.check("user:alice") is None
    assert limiter.check("oauth:b") is not None


def test_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter(per_minute=0, burst=1, clock=Clock(1000.0))
    assert all(limiter.check("oauth:a") is None for _ in range(100))


# -- passwords ---------------------------------------------------------------------------------


def test_password_hash_round_trip() -> None:
    stored = hash_password("a long consent password")
    assert stored.startswith("scrypt$")
    assert "a long consent password" not in stored
    assert verify_password("a long consent password", stored)
    assert hash_password("a long consent password") != stored  # salted


def test_wrong_password_is_refused() -> None:
    stored = hash_password("a long consent password")
    assert not verify_password("a long consent passwore", stored)
    assert not verify_password("", stored)


@pytest.mark.parametrize(
    "stored", ["", "plain-text", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$c2FsdA$aGFzaA", "scrypt$1$2"]
)
def test_malformed_password_hash_never_matches(stored: str) -> None:
    assert not verify_password("anything", stored)


# -- connection keys (an agent the gateway runs for an editor calls back with one) ----------


async def test_a_connection_key_is_its_callers_principal_and_lane_until_revoked(
    make: MakeAuth,
) -> None:
    auth = make({"http.auth_token": TOKEN})
    remote = Principal("key:editor", "key")
    key = auth.issue_connection_key(remote, "zed")
    assert key.startswith("llmgw-acp-") and auth.connection_keys.verify(key) is not None
    verdict = await auth.authenticate(CIMultiDict({"x-api-key": key}), FixedPeer(PeerOwner.OTHER))
    assert verdict.principal == Principal("key:editor", "key", caller="zed", agent=True)
    auth.revoke_connection_key(key)
    gone = await auth.authenticate(bearer(key), OWN)
    assert (gone.principal, gone.error) == (None, "invalid_token")
    assert "ended" in gone.problem


async def test_a_connection_key_of_the_local_user_counts_only_from_its_account(
    make: MakeAuth,
) -> None:
    auth = make({"http.auth_token": TOKEN})
    key = auth.issue_connection_key(LOCAL_CALLER, "zed")
    mine = await auth.authenticate(bearer(key), OWN)
    assert mine.principal == Principal(LOCAL_CALLER.id, "local", caller="zed", agent=True)
    # Handed to someone under another account (a model talked the agent into it): nothing.
    for peer in (FixedPeer(PeerOwner.OTHER), None):
        verdict = await auth.authenticate(bearer(key), peer)
        assert (verdict.principal, verdict.error) == (None, "invalid_token")
    made_up = await auth.authenticate(bearer("llmgw-acp-" + "x" * 43), OWN)
    assert made_up.principal is None
