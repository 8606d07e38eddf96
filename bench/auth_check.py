"""What deciding a request's principal costs, per credential kind, in process.

Usage: python bench/auth_check.py [--calls 100000]

Runs `AuthService.authenticate` plus the per-principal rate limit for a remote principal, the
way the edge middleware does for a right credential (wrong ones are counted only after), on a
connection whose owner is already known (the edge asks the kernel once per connection), for:
no credentials on an open loopback gateway, the instance token, the static bearer, the
bearer with a trusted-principal header, and an OAuth access token (verified against a real
store once, then from the short verification cache). Prints microseconds per request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import secrets
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from multidict import CIMultiDict

from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.engine.auth.peer_owner import PeerOwner
from llmgw_desktop.engine.auth.service import AuthService
from llmgw_desktop.engine.store import Database

TOKEN = "bench-static-bearer-" + "x" * 32
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-client-secret-" + "y" * 32
REDIRECT = "http://127.0.0.1:9/callback"
MAX_SECONDS = 20.0  # each case stops early if it takes longer than this


class KnownOwnerPeer:
    """A loopback connection whose owner the edge has already asked the kernel about: the
    answer is kept per connection, so a request on a kept-alive connection costs no lookup."""

    async def owner(self) -> PeerOwner:
        return PeerOwner.OWNER


async def per_request_us(auth: AuthService, headers: CIMultiDict[str], calls: int) -> float:
    deadline = time.perf_counter() + MAX_SECONDS
    started = time.perf_counter()
    done = 0
    while done < calls and time.perf_counter() < deadline:
        # What the edge does for a right credential (transports/auth_edge.py): authenticate,
        # then the per-principal rate limit for a remote one. Wrong ones are counted only after.
        verdict = await auth.authenticate(headers, KnownOwnerPeer())
        assert verdict.principal is not None, verdict
        if verdict.principal.remote:
            auth.check_rate(verdict.principal.id)
        done += 1
    return (time.perf_counter() - started) / done * 1e6


async def oauth_token(auth: AuthService) -> str:
    assert auth.oauth is not None
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    step = await auth.oauth.authorize(
        {
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        requester="127.0.0.1",
    )
    assert step.redirect is not None
    code = parse_qs(urlsplit(step.redirect).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }
    answer = await auth.oauth.token(form, (CLIENT_ID, CLIENT_SECRET))
    return str(answer["access_token"])


async def measure(calls: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        base = load_settings(Path(home) / "none.toml", environ={}).settings
        rates = {"http.rate_limit_per_minute": 10**9, "http.rate_limit_burst": 10**9}
        db = Database(Path(home) / "llmgw.db")
        await db.open()
        try:
            open_auth = AuthService(base.with_values({"paths.data_dir": home}), db)
            open_auth.instance_token = "instance-" + "z" * 40
            locked = base.with_values(
                {
                    "http.auth_token": TOKEN,
                    "http.trusted_principal_header": "X-Remote-User",
                    "http.oauth.enabled": True,
                    "http.oauth.clients": {
                        CLIENT_ID: {
                            "redirect_uris": [REDIRECT],
                            "client_secret_sha256": hashlib.sha256(
                                CLIENT_SECRET.encode()
                            ).hexdigest(),
                        }
                    },
                    **rates,
                }
            )
            auth = AuthService(locked, db)
            await auth.start()
            access = await oauth_token(auth)
            cases = [
                ("open loopback, no credentials", open_auth, {}),
                ("instance token", open_auth, {"X-Llmgw-Instance-Token": open_auth.instance_token}),
                ("static bearer", auth, {"Authorization": f"Bearer {TOKEN}"}),
                (
                    "bearer + trusted header",
                    auth,
                    {"Authorization": f"Bearer {TOKEN}", "X-Remote-User": "alice"},
                ),
                ("OAuth access token (cached)", auth, {"Authorization": f"Bearer {access}"}),
            ]
            print(f"authentication per request, {calls} calls each:")
            for label, service, headers in cases:
                us = await per_request_us(service, CIMultiDict(headers), calls)
                print(f"  {label:<32} {us:7.2f} us")
        finally:
            await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(measure(args.calls))


if __name__ == "__main__":
    main()
