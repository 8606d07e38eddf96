"""The OAuth 2.0 endpoints and the metadata documents that let clients configure themselves.

    GET  /.well-known/oauth-authorization-server     RFC 8414 metadata
    GET  /.well-known/oauth-protected-resource[/mcp] RFC 9728 metadata
    GET  /oauth/authorize                            code request (redirects, or waits for consent)
    GET|POST /oauth/consent/{id}                     the web consent page (password + CSRF)
    POST /oauth/token, /oauth/register, /oauth/revoke

The decisions live in `engine/auth/oauth.py` and its parts; these handlers parse and render.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import sys
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from llmgw_desktop.engine.api import SUPPORTED_SCOPES, OAuthError, OAuthServer
from llmgw_desktop.transports.app_keys import OAUTH
from llmgw_desktop.transports.auth_edge import client_address_of
from llmgw_desktop.transports.consent_page import SITE, PublicSite, add_consent_routes
from llmgw_desktop.transports.mcp.sdk_loading import import_sdk

__all__ = [
    "add_oauth_routes",
    "authorize",
    "register",
    "resource_metadata",
    "revoke",
    "server_metadata",
    "token",
]

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FORM_BYTES = 64 * 1024


def add_oauth_routes(
    app: web.Application,
    oauth: OAuthServer,
    *,
    mcp_path: str,
    public_url: str = "",
) -> None:
    """Mount the OAuth endpoints on `app`."""
    site = PublicSite(public_url)
    app[OAUTH], app[SITE] = oauth, site  # the handlers read them from their request's app
    app.router.add_get("/.well-known/oauth-authorization-server", server_metadata)
    app.router.add_get("/.well-known/oauth-protected-resource", resource_metadata)
    app.router.add_get("/.well-known/oauth-protected-resource/{resource:.+}", resource_metadata)
    app.router.add_route("GET", "/oauth/authorize", authorize)
    app.router.add_route("POST", "/oauth/authorize", authorize)
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/oauth/register", register)
    app.router.add_post("/oauth/revoke", revoke)
    add_consent_routes(app, oauth, site=site)
    log.debug("oauth routes mounted (resource %s%s)", "", mcp_path)


def _base(oauth: OAuthServer) -> str:
    return oauth.issuer.rstrip("/")


async def server_metadata(request: web.Request) -> web.Response:
    """RFC 8414 metadata: where the endpoints are and what they accept."""
    oauth = request.app[OAUTH]
    # The SDK's models (and pydantic) load with the first request, not with the app, and
    # in a worker thread: about 0.7 s of imports would otherwise hold every request.
    await _sdk_auth_models()
    from mcp.shared.auth import OAuthMetadata
    from pydantic import AnyHttpUrl

    config = oauth.config
    methods = ["S256", "plain"] if config.allow_plain_pkce else ["S256"]
    auth_methods = ["client_secret_basic", "client_secret_post"]
    if config.allow_public_clients:
        auth_methods.append("none")
    metadata = OAuthMetadata(
        issuer=oauth.issuer,  # type: ignore[arg-type]
        authorization_endpoint=f"{_base(oauth)}/oauth/authorize",  # type: ignore[arg-type]
        token_endpoint=f"{_base(oauth)}/oauth/token",  # type: ignore[arg-type]
        registration_endpoint=(
            None
            if config.registration == "static_clients"
            else AnyHttpUrl(f"{_base(oauth)}/oauth/register")
        ),
        revocation_endpoint=f"{_base(oauth)}/oauth/revoke",  # type: ignore[arg-type]
        scopes_supported=list(SUPPORTED_SCOPES),
        response_types_supported=["code"],
        grant_types_supported=["authorization_code", "refresh_token"],
        token_endpoint_auth_methods_supported=auth_methods,
        revocation_endpoint_auth_methods_supported=auth_methods,
        code_challenge_methods_supported=methods,
        authorization_response_iss_parameter_supported=True,
    )
    return web.json_response(metadata.model_dump(mode="json", exclude_none=True))


async def resource_metadata(request: web.Request) -> web.Response:
    """RFC 9728 metadata of the protected resource (the gateway, or its MCP path)."""
    oauth = request.app[OAUTH]
    await _sdk_auth_models()
    from mcp.shared.auth import ProtectedResourceMetadata

    suffix = request.match_info.get("resource", "")
    resource = _base(oauth) + (f"/{suffix}" if suffix else "")
    metadata = ProtectedResourceMetadata(
        resource=resource,  # type: ignore[arg-type]
        authorization_servers=[oauth.issuer],  # type: ignore[list-item]
        # What a client needs to use the gateway; workspace:admin is asked for explicitly.
        scopes_supported=["mcp"],
        resource_name="llmgw-desktop",
    )
    return web.json_response(metadata.model_dump(mode="json", exclude_none=True))


async def authorize(request: web.Request) -> web.StreamResponse:
    """The code request: redirects back, or on to the consent page."""
    oauth, site = request.app[OAUTH], request.app[SITE]
    params: dict[str, str] = dict(request.query)
    resources = request.query.getall("resource", [])
    if request.method == "POST":
        posted = await request.post()
        params |= {k: str(v) for k, v in posted.items()}
        resources += [str(v) for v in posted.getall("resource", [])]
    try:
        _one_resource(resources)
    except OAuthError as exc:
        return _error_page(exc)
    step = await oauth.authorize(params, requester=_remote(request))
    if step.error is not None:
        # The client or its redirect URI is not trusted, or the gateway is flooded: say so
        # here, never redirect.
        return _error_page(step.error)
    if step.redirect is not None:
        raise web.HTTPFound(step.redirect)
    assert step.consent is not None
    raise web.HTTPSeeOther(f"{site.prefix(request)}/oauth/consent/{step.consent.id}")


async def token(request: web.Request) -> web.Response:
    """Codes and refresh tokens exchanged for tokens."""
    oauth = request.app[OAUTH]
    try:
        form = await _form(request)
        answer = await oauth.token(form, _basic(request), remote=_remote(request))
    except OAuthError as exc:
        return _oauth_error(exc)
    return web.json_response(answer, headers=NO_STORE)


async def register(request: web.Request) -> web.Response:
    """Dynamic client registration (RFC 7591), where the configuration allows it."""
    oauth = request.app[OAUTH]
    try:
        body = await request.json()
    except ValueError:
        return _oauth_error(OAuthError("invalid_client_metadata", "the body is not JSON"))
    if not isinstance(body, dict):
        return _oauth_error(OAuthError("invalid_client_metadata", "the body must be an object"))
    presented = _bearer(request.headers.get("Authorization", ""))
    try:
        answer = await oauth.register(body, presented, remote=_remote(request))
    except OAuthError as exc:
        return _oauth_error(exc)
    return web.json_response(answer, status=201, headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    """Token revocation (RFC 7009)."""
    oauth = request.app[OAUTH]
    try:
        await oauth.revoke(await _form(request), _basic(request), remote=_remote(request))
    except OAuthError as exc:
        return _oauth_error(exc)
    return web.Response(status=200)


def _remote(request: web.Request) -> str:
    """The caller's address, as the guessing throttle and the consent page count it: the
    address a trusted proxy forwarded, else the peer."""
    return client_address_of(request)


def _one_resource(values: list[str]) -> None:
    """RFC 8707 allows several `resource` parameters; tokens here are for one (this gateway).

    Raises:
        OAuthError: invalid_target when more than one different resource is named.
    """
    if len(set(values)) > 1:
        raise OAuthError("invalid_target", "name one resource (this gateway) per request")


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "the request body is too large")
    posted = await request.post()
    _one_resource([str(v) for v in posted.getall("resource", [])])
    return {k: str(v) for k, v in posted.items()}


def _basic(request: web.Request) -> tuple[str, str] | None:
    """Client credentials from `Authorization: Basic` (RFC 6749 2.3.1: form-encoded parts)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


def _bearer(value: str) -> str | None:
    scheme, _, credential = value.partition(" ")
    return credential.strip() or None if scheme.lower() == "bearer" else None


def _oauth_error(error: OAuthError) -> web.Response:
    headers = dict(NO_STORE)
    if error.status == 401 and error.error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="llmgw-desktop"'
    if error.retry_after is not None:
        headers["Retry-After"] = str(int(error.retry_after))
    return web.json_response(error.to_dict(), status=error.status, headers=headers)


def _error_page(error: OAuthError) -> web.Response:
    from html import escape

    body: Any = (
        "<!doctype html><meta charset=utf-8><title>Authorization error</title>"
        "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        f"<h1>This authorization request cannot continue</h1><p>{escape(error.description)}</p>"
        f"<p><code>{escape(error.error)}</code></p></body>"
    )
    headers = dict(NO_STORE)
    if error.retry_after is not None:
        headers["Retry-After"] = str(int(error.retry_after))
    status = error.status if error.status >= 400 and error.status != 401 else 400
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)


async def _sdk_auth_models() -> None:
    """Import the MCP SDK's OAuth models off the loop (a no-op once they are loaded)."""
    if "mcp.shared.auth" not in sys.modules:
        await asyncio.to_thread(import_sdk, ["mcp.shared.auth"])
