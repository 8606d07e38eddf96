"""Who may call the gateway and where remote calls may work: bearer token, OAuth, workspaces.

Single values are checked here; combinations that would open the gateway to the network
(a non-loopback bind without authentication, open registration on a public address) are
refused at start-up by `engine/auth/policy.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.project_grants import check_project_grants
from llmgw_desktop.config.remote_power import DEFAULT_LEVEL
from llmgw_desktop.config.settings_fields import setting

__all__ = ["DENIED_DIR_NAMES", "SecuritySettings"]

# Directories no workspace may be, or lie inside: credentials live there.
DENIED_DIR_NAMES = [".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".password-store"]


@dataclass(frozen=True)
class SecuritySettings:
    """Part of `Settings`: authentication, OAuth, rate limits and workspaces."""

    http_auth_token: str = setting(
        "http.auth_token",
        "",
        env="LLM_GATEWAY_AUTH_TOKEN",
        doc="Static bearer token every MCP and /v1 call must present (at least 32 characters).",
        check=checks.auth_token,
        secret=True,
    )
    http_public_url: str = setting(
        "http.public_url",
        "",
        env="LLM_GATEWAY_PUBLIC_URL",
        doc="The gateway's address as callers see it (OAuth issuer); empty: the bind address.",
        check=checks.public_url,
    )
    http_allowed_hosts: list[str] = setting(
        "http.allowed_hosts",
        [],
        env="LLM_GATEWAY_HTTP_ALLOWED_HOSTS",
        doc="Host names accepted besides loopback (the public URL's host is added itself).",
        check=checks.host_names,
    )
    http_trusted_principal_header: str = setting(
        "http.trusted_principal_header",
        "",
        env="LLM_GATEWAY_TRUSTED_PRINCIPAL_HEADER",
        doc="Header an identity-aware proxy sets to the caller's name (bearer requests only).",
        check=checks.header_name,
    )
    http_trusted_proxies: list[str] = setting(
        "http.trusted_proxies",
        [],
        env="LLM_GATEWAY_TRUSTED_PROXIES",
        doc="Reverse proxies (addresses or CIDRs) whose Forwarded/X-Forwarded-For are believed.",
        check=checks.ip_networks,
    )
    http_open_to_all_local_accounts: bool = setting(
        "http.open_to_all_local_accounts",
        False,
        env="LLM_GATEWAY_OPEN_TO_ALL_LOCAL_ACCOUNTS",
        doc="Without authentication, serve every account on this machine, not only the gateway's.",
    )
    http_allow_dangerous: bool = setting(
        "http.allow_dangerous_config",
        False,
        env="LLM_GATEWAY_ALLOW_DANGEROUS_CONFIG",
        doc="Start even with public clients or open registration reachable from the network.",
    )
    http_rate_limit_per_minute: int = setting(
        "http.rate_limit_per_minute",
        600,
        env="LLM_GATEWAY_RATE_LIMIT_PER_MINUTE",
        doc="Requests a remote principal may make per minute (0: no limit); local is exempt.",
        check=checks.not_negative,
    )
    http_rate_limit_burst: int = setting(
        "http.rate_limit_burst",
        60,
        env="LLM_GATEWAY_RATE_LIMIT_BURST",
        doc="Requests a remote principal may make at once before the rate applies.",
        check=checks.positive,
    )
    oauth_enabled: bool = setting(
        "http.oauth.enabled",
        False,
        env="LLM_GATEWAY_OAUTH_ENABLED",
        doc="Run the built-in OAuth 2.0 authorization server (/oauth/*).",
    )
    oauth_require_pkce: bool = setting(
        "http.oauth.require_pkce",
        True,
        env="LLM_GATEWAY_OAUTH_REQUIRE_PKCE",
        doc="Refuse authorization requests without a PKCE code challenge.",
    )
    oauth_allow_plain_pkce: bool = setting(
        "http.oauth.allow_plain_pkce",
        False,
        env="LLM_GATEWAY_OAUTH_ALLOW_PLAIN_PKCE",
        doc="Accept the 'plain' PKCE method besides S256 (weaker; off by default).",
    )
    oauth_allow_public_clients: bool = setting(
        "http.oauth.allow_public_clients",
        False,
        env="LLM_GATEWAY_OAUTH_ALLOW_PUBLIC_CLIENTS",
        doc="Let clients without a secret (PKCE only) register and get tokens.",
    )
    oauth_registration: str = setting(
        "http.oauth.registration",
        "static_clients",
        env="LLM_GATEWAY_OAUTH_REGISTRATION",
        doc="Who may register clients: static_clients, shared_secret or open_dev.",
        check=checks.registration_policy,
    )
    oauth_registration_secret: str = setting(
        "http.oauth.registration_secret",
        "",
        env="LLM_GATEWAY_OAUTH_REGISTRATION_SECRET",
        doc="Bearer secret /oauth/register requires under shared_secret (32+ characters).",
        check=checks.auth_token,
        secret=True,
    )
    oauth_clients: dict[str, Any] = setting(
        "http.oauth.clients",
        {},
        env="LLM_GATEWAY_OAUTH_CLIENTS",
        doc="Static clients: id -> redirect_uris, name, scopes, client_secret_sha256 or _env.",
        check=checks.oauth_clients,
    )
    oauth_require_consent: bool = setting(
        "http.oauth.require_consent",
        False,
        env="LLM_GATEWAY_OAUTH_REQUIRE_CONSENT",
        doc="Issue no code until a person approves (desk dialog, or the password-protected page).",
    )
    oauth_consent_password_hash: str = setting(
        "http.oauth.consent_password_hash",
        "",
        env="LLM_GATEWAY_OAUTH_CONSENT_PASSWORD_HASH",
        doc="scrypt hash (llmgw-desktop hash-password) of the web consent page's password.",
        check=checks.consent_password_hash,
        secret=True,
    )
    oauth_consent_timeout_ms: int = setting(
        "http.oauth.consent_timeout_ms",
        300_000,
        env="LLM_GATEWAY_OAUTH_CONSENT_TIMEOUT_MS",
        doc="How long an authorization waits for consent before it is denied.",
        check=checks.positive,
    )
    oauth_max_pending_consents: int = setting(
        "http.oauth.max_pending_consents",
        200,
        env="LLM_GATEWAY_OAUTH_MAX_PENDING_CONSENTS",
        doc="Authorizations that may wait for consent at once; more get 429 until some end.",
        check=checks.positive,
    )
    oauth_max_pending_consents_per_client: int = setting(
        "http.oauth.max_pending_consents_per_client",
        30,
        env="LLM_GATEWAY_OAUTH_MAX_PENDING_CONSENTS_PER_CLIENT",
        doc="Authorizations one client may have waiting for consent at once.",
        check=checks.positive,
    )
    oauth_max_pending_consents_per_address: int = setting(
        "http.oauth.max_pending_consents_per_address",
        10,
        env="LLM_GATEWAY_OAUTH_MAX_PENDING_CONSENTS_PER_ADDRESS",
        doc="Authorizations one address (an IPv6 /64) may have waiting for consent at once.",
        check=checks.positive,
    )
    oauth_verify_cache_entries: int = setting(
        "http.oauth.verify_cache_entries",
        10_000,
        env="LLM_GATEWAY_OAUTH_VERIFY_CACHE_ENTRIES",
        doc="Access-token verifications remembered (for a few seconds each), of valid and of "
        "refused tokens each; the least recently used goes first, so refused tokens never push "
        "out valid ones.",
        check=checks.positive,
    )
    oauth_wrong_secret_burst: int = setting(
        "http.oauth.wrong_secret_burst",
        5,
        env="LLM_GATEWAY_OAUTH_WRONG_SECRET_BURST",
        doc="Wrong consent passwords or client/registration secrets one client may send from "
        "one address before it must wait (an address, or a client, gets four times as many).",
        check=checks.positive,
    )
    oauth_wrong_secret_per_minute: int = setting(
        "http.oauth.wrong_secret_per_minute",
        2,
        env="LLM_GATEWAY_OAUTH_WRONG_SECRET_PER_MINUTE",
        doc="How fast that allowance of wrong secrets comes back, per minute.",
        check=checks.positive,
    )
    oauth_code_ttl_s: int = setting(
        "http.oauth.code_ttl_s",
        300,
        env="LLM_GATEWAY_OAUTH_CODE_TTL_S",
        doc="Life of an authorization code (single use).",
        check=checks.positive,
    )
    oauth_access_token_ttl_s: int = setting(
        "http.oauth.access_token_ttl_s",
        3600,
        env="LLM_GATEWAY_OAUTH_ACCESS_TOKEN_TTL_S",
        doc="Life of an access token.",
        check=checks.positive,
    )
    oauth_refresh_token_ttl_s: int = setting(
        "http.oauth.refresh_token_ttl_s",
        30 * 86400,
        env="LLM_GATEWAY_OAUTH_REFRESH_TOKEN_TTL_S",
        doc="Life of a refresh token (each use rotates it).",
        check=checks.positive,
    )
    workspaces: checks.WorkspaceEntries = setting(
        "workspaces.registry",
        {},
        env="LLM_GATEWAY_WORKSPACES",
        doc="Named working directories: name = path, or a table with path, remote_level and "
        "remote_allowed_tools (name=path pairs in the env).",
        check=checks.workspace_paths,
    )
    project_grants: dict[str, Any] = setting(
        "projects.grants",
        {},
        env="LLM_GATEWAY_PROJECT_GRANTS",
        doc='Projects remote principals may call under: project = ["oauth:<client id>", '
        '"user:<name>"] (a JSON object in the env); the local user and the bearer token '
        "have every project, anyone else none unless listed.",
        check=check_project_grants,
    )
    workspace_default: str = setting(
        "workspaces.default",
        "",
        env="LLM_GATEWAY_WORKSPACE_DEFAULT",
        doc="Workspace remote calls use when they name none (empty: they must name one).",
    )
    workspace_remote_level: str = setting(
        "workspaces.remote_level",
        DEFAULT_LEVEL,
        env="LLM_GATEWAY_WORKSPACE_REMOTE_LEVEL",
        doc="What remote callers may make a CLI do where a workspace says nothing: read-only, "
        "edit (in the workspace) or commands (also its allow-listed commands).",
        check=checks.remote_level,
    )
    workspace_remote_allowed_tools: list[str] = setting(
        "workspaces.remote_allowed_tools",
        [],
        env="LLM_GATEWAY_WORKSPACE_REMOTE_ALLOWED_TOOLS",
        doc="Tools remote callers may pre-approve (allowedTools) where a workspace lists none.",
        check=checks.tool_names,
    )
    workspace_allowed_roots: list[str] = setting(
        "workspaces.allowed_roots",
        [],
        env="LLM_GATEWAY_WORKSPACE_ALLOWED_ROOTS",
        doc="Folders workspace_create and workspace_register_existing_repo may work inside.",
        check=checks.absolute_paths,
    )
    workspace_denied_names: list[str] = setting(
        "workspaces.denied_names",
        DENIED_DIR_NAMES,
        env="LLM_GATEWAY_WORKSPACE_DENIED_NAMES",
        doc="Directory names no workspace may be or lie inside.",
        check=checks.dir_names,
    )
