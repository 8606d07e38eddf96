"""Google's OAuth token endpoint on loopback, for google-auth to fetch Vertex tokens from.

A service-account key made here names this endpoint as its `token_uri`; google-auth signs a JWT
with the key and posts it, and the endpoint checks that JWT with google-auth's own verifier
against the key's public half before it issues a token. (A gcloud user login's file cannot be
pointed here: google-auth always sends its refresh token to Google's own endpoint.)
Tokens are `ya29.fake-<n>`, so a test can tell which fetch a request's token came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from tests.fakes.loopback import LoopbackApp

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


class GoogleTokenServer(LoopbackApp):
    """`async with GoogleTokenServer() as google:` then `google.service_account(...)`."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self._public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.issued: list[str] = []
        self.refused: list[str] = []
        self.token_uri = ""

    def service_account(
        self,
        project: str,
        email: str = "gw@p.iam.gserviceaccount.com",
    ) -> dict[str, Any]:
        """A service-account key whose tokens this endpoint issues."""
        return {
            "type": "service_account",
            "project_id": project,
            "private_key_id": "fake-key-id",
            "private_key": self._private_pem,
            "client_email": email,
            "client_id": "1234567890",
            "token_uri": self.token_uri,
        }

    def write(self, path: Path, info: dict[str, Any]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(info))
        return path

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/token", self._token)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.token_uri = f"{self.base_url}/token"
        return self

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            try:
                # google-auth names Google's own token endpoint as the audience, whatever
                # token_uri it posts to.
                claims = jwt.decode(
                    form["assertion"],
                    certs=self._public_pem,
                    audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
                )
            except Exception as exc:
                self.refused.append(f"jwt: {exc}")
                return web.json_response({"error": "invalid_grant"}, status=400)
            if "cloud-platform" not in str(claims.get("scope")):
                self.refused.append("scope")
                return web.json_response({"error": "invalid_scope"}, status=400)
        else:
            self.refused.append(f"grant {grant}")
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = f"ya29.fake-{len(self.issued) + 1}"
        self.issued.append(token)
        return web.json_response(
            {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        )
