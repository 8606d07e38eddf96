"""An OAuth-protected MCP server made with the Python SDK's own server-side auth, for the
upstream OAuth tests: `python mcp_oauth_server.py PORT` serves Streamable HTTP on 127.0.0.1.

It is its own authorization server (`mcp.server.auth`: discovery metadata, dynamic client
registration, /authorize, /token with PKCE), and /mcp refuses a request without one of the
access tokens it issued. Its /authorize signs the user in at once (there is no person here):
it redirects straight to the client's registered redirect URI with a code, so whoever follows
that redirect (a browser, or the test's aiohttp) delivers the code to the client's loopback
listener. The `sign_ins` tool says how many codes were issued, so a test can tell a token
reused from one got again.
"""

from __future__ import annotations

import secrets
import sys
import time

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

SCOPE = "mcp"


class AutoApprovingProvider:
    """An authorization server in memory that approves every authorization request."""

    def __init__(self) -> None:
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.issued = 0

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id
        self.clients[client_info.client_id] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [SCOPE],
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="tester",
        )
        self.issued += 1
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        del self.codes[authorization_code.code]
        token = secrets.token_hex(32)
        self.tokens[token] = AccessToken(
            token=token,
            client_id=client.client_id or "",
            scopes=authorization_code.scopes,
            expires_at=int(time.time()) + 3600,
            resource=authorization_code.resource,
            subject=authorization_code.subject,
        )
        return OAuthToken(
            access_token=token,
            token_type="Bearer",
            expires_in=3600,
            scope=" ".join(authorization_code.scopes),
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        raise NotImplementedError("this server issues no refresh tokens")

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.tokens.get(token)

    async def revoke_token(self, token: object) -> None:
        self.tokens.pop(getattr(token, "token", ""), None)


def build(port: int) -> MCPServer:
    provider = AutoApprovingProvider()
    origin = f"http://127.0.0.1:{port}"
    server = MCPServer(
        name="oauth-protected",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=origin,  # type: ignore[arg-type]
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
            ),
            required_scopes=[SCOPE],
            resource_server_url=None,
        ),
    )

    @server.tool(description="Say hello to someone (needs a signed-in client).")
    def hello(name: str) -> str:
        return f"hello, {name}, from behind OAuth"

    @server.tool(description="How many authorization codes this server has issued.")
    def sign_ins() -> int:
        return provider.issued

    return server


if __name__ == "__main__":
    build(int(sys.argv[1])).run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
