"""The OAuth rules that need no state: scopes, redirect URIs, PKCE, client metadata.

Pure functions, each raising `OAuthError` with the RFC error code and a description that
names what was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from llmgw_desktop.engine.auth.principals import SCOPE_ADMIN, SCOPE_MCP

__all__ = [
    "DEFAULT_SCOPES",
    "SUPPORTED_SCOPES",
    "OAuthError",
    "check_pkce_request",
    "check_redirect_uri",
    "parse_scopes",
    "pkce_matches",
    "registration_metadata",
    "throttled",
]

SUPPORTED_SCOPES = (SCOPE_MCP, SCOPE_ADMIN)
DEFAULT_SCOPES = (SCOPE_MCP,)
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
MAX_CLIENT_NAME = 200
MAX_REDIRECT_URIS = 10


class OAuthError(Exception):
    """An OAuth protocol error: `error` is the RFC code, `description` says what was wrong;
    `retry_after` (seconds) is set when the refusal is a throttle that will lift."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def throttled(what: str, wait_s: float) -> OAuthError:
    """A 429 refusal that says what was throttled and when to come back (`Retry-After`)."""
    seconds = max(1, math.ceil(wait_s))
    return OAuthError(
        "temporarily_unavailable",
        f"{what}; try again in {seconds} s",
        status=429,
        retry_after=seconds,
    )


def parse_scopes(value: str | None, allowed: Iterable[str]) -> tuple[str, ...]:
    """The requested scopes (the default when none are named), each supported and allowed.

    Raises:
        OAuthError: invalid_scope, naming the scope.
    """
    scopes = tuple(dict.fromkeys((value or "").split())) or DEFAULT_SCOPES
    allowed = set(allowed)
    for scope in scopes:
        if scope not in SUPPORTED_SCOPES:
            raise OAuthError(
                "invalid_scope", f"unknown scope {scope!r}; known: {', '.join(SUPPORTED_SCOPES)}"
            )
        if scope not in allowed:
            raise OAuthError("invalid_scope", f"this client may not ask for {scope!r}")
    return scopes


def check_redirect_uri(uri: str) -> None:
    """A redirect URI a client may register: https, http on loopback, or an app's own scheme.

    Raises:
        OAuthError: invalid_redirect_uri.
    """
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} must not have a fragment")
    if parts.scheme == "https" and parts.netloc:
        return
    if parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS:
        return
    if re.fullmatch(r"[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+", parts.scheme or ""):
        return  # a native app's private-use scheme, such as com.example.app:/callback
    raise OAuthError(
        "invalid_redirect_uri",
        f"{uri!r} must be https, http on localhost, or a private-use scheme (com.example.app:/cb)",
    )


def check_pkce_request(
    challenge: str | None,
    method: str | None,
    *,
    required: bool,
    allow_plain: bool,
) -> tuple[str | None, str | None]:
    """The (challenge, method) to store with the code.

    Raises:
        OAuthError: invalid_request, saying what PKCE needs.
    """
    if not challenge:
        if method:
            raise OAuthError("invalid_request", "code_challenge_method without code_challenge")
        if required:
            raise OAuthError("invalid_request", "code_challenge is required (PKCE with S256)")
        return None, None
    method = method or "plain"  # RFC 7636 4.3: the default when none is named
    if method == "S256":
        if not _S256_CHALLENGE.fullmatch(challenge):
            raise OAuthError("invalid_request", "code_challenge is not a base64url SHA-256")
        return challenge, method
    if method == "plain":
        if not allow_plain:
            raise OAuthError(
                "invalid_request", "code_challenge_method plain is not allowed; use S256"
            )
        if not _VERIFIER.fullmatch(challenge):
            raise OAuthError("invalid_request", "a plain code_challenge must be 43-128 characters")
        return challenge, method
    raise OAuthError("invalid_request", f"unknown code_challenge_method {method!r}; use S256")


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if not _VERIFIER.fullmatch(verifier):
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


def registration_metadata(body: Mapping[str, Any], *, allow_public: bool) -> dict[str, Any]:
    """The accepted parts of an RFC 7591 registration request, checked.

    Raises:
        OAuthError: invalid_redirect_uri or invalid_client_metadata, naming the field.
    """
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError(
            "invalid_redirect_uri", f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs"
        )
    for uri in uris:
        if not isinstance(uri, str):
            raise OAuthError("invalid_redirect_uri", "redirect_uris must be strings")
        check_redirect_uri(uri)
    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in ("client_secret_basic", "client_secret_post", "none"):
        raise OAuthError(
            "invalid_client_metadata", f"token_endpoint_auth_method {method!r} is not supported"
        )
    if method == "none" and not allow_public:
        raise OAuthError(
            "invalid_client_metadata",
            "public clients (token_endpoint_auth_method none) are not allowed here",
        )
    grants = body.get("grant_types", ["authorization_code", "refresh_token"])
    if not isinstance(grants, list) or not set(grants) <= {"authorization_code", "refresh_token"}:
        raise OAuthError(
            "invalid_client_metadata", "grant_types may be authorization_code and refresh_token"
        )
    responses = body.get("response_types", ["code"])
    if not isinstance(responses, list) or not set(responses) <= {"code"}:
        raise OAuthError("invalid_client_metadata", "response_types may only be code")
    name = body.get("client_name", "")
    if not isinstance(name, str) or len(name) > MAX_CLIENT_NAME:
        raise OAuthError("invalid_client_metadata", "client_name must be a short string")
    scope = body.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise OAuthError("invalid_client_metadata", "scope must be a space-separated string")
    scopes = parse_scopes(scope, SUPPORTED_SCOPES) if scope else SUPPORTED_SCOPES
    return {
        "redirect_uris": list(uris),
        "token_endpoint_auth_method": method,
        "grant_types": list(grants),
        "response_types": list(responses),
        "client_name": name,
        "scope": " ".join(scopes),
    }
