"""OAuth for a Streamable HTTP server (`oauth = true`): the SDK's client provider, with its
tokens and registration in our vault and the user's sign-in caught on a loopback port.

The flow itself is the SDK's `OAuthClientProvider` (discovery, dynamic client registration,
PKCE, token exchange and refresh); this module gives it three things:

- `VaultTokenStorage`, its `TokenStorage`: the tokens and the client registration sealed in
  the vault as two auth files of the vault provider `mcp-oauth.NAME`, never in config.toml,
  so a restarted gateway reuses them without asking the user again.
- The redirect URI `http://127.0.0.1:PORT/callback`. The port is chosen once, when the client
  registers, and read back from the stored registration afterwards, because an authorization
  server may hold the client to the exact URI it registered.
- `SignIn`, the two handlers of the authorization step: the provider's redirect handler starts
  the loopback listener, notes the authorization URL (the MCP servers page shows it and a
  "Sign in" opens it) and opens the system browser, the first time in a run only (a server
  restarted with back-off must not open a window every few seconds); its callback handler
  waits, at most `SIGN_IN_TIMEOUT_S`, for the browser to be redirected to the listener.

The listener is a door on loopback that any page or program on the machine can knock on, so it
takes only the redirect it is waiting for: addressed as `127.0.0.1:PORT` (a page rebinding its
own name to this machine is refused, as the gateway's edge refuses it) and carrying the
`state` of the authorization URL it opened. Anything else is refused and the sign-in goes on
waiting: a forged redirect can neither abort the user's sign-in nor slip its own code in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import webbrowser
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlparse

from llmgw_desktop.engine.auth.hashing import constant_time_equal
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER

if TYPE_CHECKING:
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthToken

__all__ = [
    "SIGN_IN_TIMEOUT_S",
    "OAuthVault",
    "SignIn",
    "SignInFailed",
    "VaultTokenStorage",
    "open_in_browser",
    "vault_provider",
]

log = logging.getLogger(__name__)

# How long the gateway waits for the user to finish signing in, in the browser.
SIGN_IN_TIMEOUT_S = 300.0
CALLBACK_PATH = "/callback"
TOKENS_FILE = "tokens.json"
CLIENT_FILE = "client.json"

SIGNED_IN_PAGE = (
    "<!doctype html><title>Signed in</title><p>Signed in to the MCP server {name}: the gateway "
    "has its token. You can close this tab.</p>"
)
FAILED_PAGE = (
    "<!doctype html><title>Sign-in failed</title><p>Signing in to the MCP server {name} "
    "failed: {why}</p>"
)


class OAuthVault(Protocol):
    """The part of the vault the storage uses (`engine.vault.Vault`)."""

    async def resolve_files(
        self, provider: str, project: str | None = None
    ) -> dict[str, bytes]: ...

    async def store_file(
        self, principal: Any, provider: str, file_name: str, content: str | bytes
    ) -> dict[str, Any]: ...


class SignInFailed(Exception):
    """The authorization step did not end with a code; the message says why."""


def vault_provider(server: str) -> str:
    """The vault provider a server's tokens and registration are stored under."""
    return f"mcp-oauth.{server}"


class VaultTokenStorage:
    """The SDK's `TokenStorage` for one server, in the vault."""

    def __init__(self, vault: OAuthVault, server: str) -> None:
        self._vault = vault
        self._provider = vault_provider(server)

    async def _read(self, name: str) -> bytes | None:
        return (await self._vault.resolve_files(self._provider)).get(name)

    async def get_tokens(self) -> OAuthToken | None:
        from mcp.shared.auth import OAuthToken

        data = await self._read(TOKENS_FILE)
        return OAuthToken.model_validate_json(data) if data else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        text = tokens.model_dump_json(exclude_none=True)
        await self._vault.store_file(LOCAL_CALLER, self._provider, TOKENS_FILE, text)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        from mcp.shared.auth import OAuthClientInformationFull

        data = await self._read(CLIENT_FILE)
        return OAuthClientInformationFull.model_validate_json(data) if data else None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        text = client_info.model_dump_json(exclude_none=True)
        await self._vault.store_file(LOCAL_CALLER, self._provider, CLIENT_FILE, text)


def open_in_browser(url: str) -> None:
    """Open `url` in the system browser; where there is no display, print it instead (a
    console browser would take over the gateway's terminal)."""
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless or not webbrowser.open(url):
        print(f"Open this address to sign in to an MCP server: {url}", file=sys.stderr)


class SignIn:
    """The authorization step of one server's OAuth flow (see the module's docstring)."""

    def __init__(
        self,
        server: str,
        *,
        open_url: Callable[[str], None],
        on_url: Callable[[str | None], None],
    ) -> None:
        self._server = server
        self._open_url = open_url
        self._on_url = on_url  # the URL to show while the user signs in; None once done
        self._opened_once = False
        self.port = 0
        self._runner: Any = None
        self._result: asyncio.Future[AuthorizationCodeResult] | None = None
        self._state = ""  # the authorization URL's `state`, which the redirect must carry

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def choose_port(self, registered: OAuthClientInformationFull | None) -> None:
        """Use the port of the stored registration's loopback redirect URI, or a free one."""
        for uri in (registered.redirect_uris or []) if registered is not None else []:
            parsed = urlparse(str(uri))
            if parsed.hostname == "127.0.0.1" and parsed.port and parsed.path == CALLBACK_PATH:
                self.port = parsed.port
                return
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    async def redirect(self, authorization_url: str) -> None:
        """The provider's redirect handler: listen for the callback, then send the user."""
        await self._listen()
        self._state = parse_qs(urlparse(authorization_url).query).get("state", [""])[0]
        self._on_url(authorization_url)
        log.warning(
            "MCP server %s needs sign-in: finish it in the browser (%s)",
            self._server,
            authorization_url,
        )
        if not self._opened_once:
            self._opened_once = True
            await asyncio.to_thread(self._open_url, authorization_url)

    async def callback(self) -> AuthorizationCodeResult:
        """The provider's callback handler: the code the browser brought to the listener."""
        result = self._result
        if result is None:
            raise SignInFailed("no sign-in was started")
        try:
            return await asyncio.wait_for(asyncio.shield(result), SIGN_IN_TIMEOUT_S)
        except TimeoutError:
            raise SignInFailed(
                f"nobody finished signing in within {SIGN_IN_TIMEOUT_S:g} s"
            ) from None
        finally:
            self._on_url(None)
            await self.close()

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def _listen(self) -> None:
        from aiohttp import web

        await self.close()
        self._result = asyncio.get_running_loop().create_future()
        app = web.Application()
        app.router.add_get(CALLBACK_PATH, self._on_callback)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise SignInFailed(
                f"cannot listen for the sign-in's redirect on 127.0.0.1:{self.port}: {exc}"
            ) from None
        self._runner = runner

    async def _on_callback(self, request: Any) -> Any:
        from aiohttp import web
        from mcp.shared.auth import AuthorizationCodeResult

        query = request.query
        result = self._result
        code, error = query.get("code"), query.get("error")
        if result is None or result.done():
            return web.Response(status=409, text="no sign-in is waiting for this redirect")
        if request.host != f"127.0.0.1:{self.port}":
            return web.Response(status=421, text="this listener answers 127.0.0.1 only")
        if not self._state or not constant_time_equal(query.get("state", ""), self._state):
            return web.Response(status=400, text="not the redirect of the sign-in under way")
        if not code:
            why = f"{error or 'no code'}: {query.get('error_description', '')}".strip(": ")
            result.set_exception(SignInFailed(f"the authorization server said {why}"))
            page = FAILED_PAGE.format(name=self._server, why=why)
            return web.Response(status=400, text=page, content_type="text/html")
        result.set_result(
            AuthorizationCodeResult(code=code, state=query.get("state"), iss=query.get("iss"))
        )
        page = SIGNED_IN_PAGE.format(name=self._server)
        return web.Response(text=page, content_type="text/html")


async def oauth_provider(
    url: str, name: str, version: str, storage: VaultTokenStorage, sign_in: SignIn
) -> Any:
    """The SDK's `OAuthClientProvider` for a server at `url` (an httpx2 `Auth`)."""
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import OAuthClientMetadata

    sign_in.choose_port(await storage.get_client_info())
    metadata = OAuthClientMetadata(
        client_name=f"llmgw-desktop {version} ({name})".replace("  ", " "),
        redirect_uris=[sign_in.redirect_uri],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        # A public client: a desktop app cannot keep a client secret; PKCE protects the code.
        token_endpoint_auth_method="none",  # noqa: S106 - a method's name, not a password
    )
    return OAuthClientProvider(
        server_url=url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=sign_in.redirect,
        callback_handler=sign_in.callback,
    )
