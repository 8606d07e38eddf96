"""The front door's settings: `[http]` with its `[http.oauth]`, and `[mcp]`.

Single values are checked here; combinations that would open the gateway to the network
(a non-loopback bind without authentication, open registration on a public address) are
refused at start-up by `engine/auth/policy.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.settings_fields import section, setting
from llmgw_desktop.config.upstream_mcp import check_servers

__all__ = ["HttpSettings", "McpSettings", "OAuthSettings"]


@dataclass(frozen=True)
class OAuthSettings:
    """The built-in OAuth 2.0 authorization server (`[http.oauth]`)."""

    enabled: bool = setting(
        False,
        env="LLM_GATEWAY_OAUTH_ENABLED",
        doc="Run the built-in OAuth 2.0 authorization server (/oauth/*).",
    )
    require_pkce: bool = setting(
        True,
        env="LLM_GATEWAY_OAUTH_REQUIRE_PKCE",
        doc="Refuse authorization requests without a PKCE code challenge.",
    )
    allow_plain_pkce: bool = setting(
        False,
        env="LLM_GATEWAY_OAUTH_ALLOW_PLAIN_PKCE",
        doc="Accept the 'plain' PKCE method besides S256 (weaker; off by default).",
    )
    allow_public_clients: bool = setting(
        False,
        env="LLM_GATEWAY_OAUTH_ALLOW_PUBLIC_CLIENTS",
        doc="Let clients without a secret (PKCE only) register and get tokens.",
    )
    registration: str = setting(
        "static_clients",
        env="LLM_GATEWAY_OAUTH_REGISTRATION",
        doc="Who may register clients: static_clients, shared_secret or open_dev.",
        check=checks.registration_policy,
    )
    registration_secret: str = setting(
        "",
        env="LLM_GATEWAY_OAUTH_REGISTRATION_SECRET",
        doc="Bearer secret /oauth/register requires under shared_secret (32+ characters).",
        check=checks.auth_token,
        secret=True,
    )
    clients: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_OAUTH_CLIENTS",
        doc="Static clients: id -> redirect_uris, name, scopes, client_secret_sha256 or _env.",
        check=checks.oauth_clients,
    )
    require_consent: bool = setting(
        False,
        env="LLM_GATEWAY_OAUTH_REQUIRE_CONSENT",
        doc="Issue no code until a person approves (desk dialog, or the password-protected page).",
    )
    consent_password_hash: str = setting(
        "",
        env="LLM_GATEWAY_OAUTH_CONSENT_PASSWORD_HASH",
        doc="scrypt hash (llmgw-desktop hash-password) of the web consent page's password.",
        check=checks.consent_password_hash,
        secret=True,
    )
    consent_timeout_ms: int = setting(
        300_000,
        env="LLM_GATEWAY_OAUTH_CONSENT_TIMEOUT_MS",
        doc="How long an authorization waits for consent before it is denied.",
        check=checks.positive,
    )
    max_pending_consents: int = setting(
        200,
        env="LLM_GATEWAY_OAUTH_MAX_PENDING_CONSENTS",
        doc="Authorizations that may wait for consent at once; more get 429 until some end.",
        check=checks.positive,
    )
    max_pending_consents_per_client: int = setting(
        30,
        env="LLM_GATEWAY_OAUTH_MAX_PENDING_CONSENTS_PER_CLIENT",
        doc="Authorizations one client may have waiting for consent at once.",
        check=checks.positive,
    )
    max_pending_consents_per_address: int = setting(
        10,
        env="LLM_GATEWAY_OAUTH_MAX_PENDING_CONSENTS_PER_ADDRESS",
        doc="Authorizations one address (an IPv6 /64) may have waiting for consent at once.",
        check=checks.positive,
    )
    verify_cache_entries: int = setting(
        10_000,
        env="LLM_GATEWAY_OAUTH_VERIFY_CACHE_ENTRIES",
        doc="Access-token verifications remembered (for a few seconds each), of valid and of "
        "refused tokens each; the least recently used goes first, so refused tokens never push "
        "out valid ones.",
        check=checks.positive,
    )
    wrong_secret_burst: int = setting(
        5,
        env="LLM_GATEWAY_OAUTH_WRONG_SECRET_BURST",
        doc="Wrong consent passwords or client/registration secrets one client may send from "
        "one address before it must wait (an address, or a client, gets four times as many).",
        check=checks.positive,
    )
    wrong_secret_per_minute: int = setting(
        2,
        env="LLM_GATEWAY_OAUTH_WRONG_SECRET_PER_MINUTE",
        doc="How fast that allowance of wrong secrets comes back, per minute.",
        check=checks.positive,
    )
    code_ttl_s: int = setting(
        300,
        env="LLM_GATEWAY_OAUTH_CODE_TTL_S",
        doc="Life of an authorization code (single use).",
        check=checks.positive,
    )
    access_token_ttl_s: int = setting(
        3600,
        env="LLM_GATEWAY_OAUTH_ACCESS_TOKEN_TTL_S",
        doc="Life of an access token.",
        check=checks.positive,
    )
    refresh_token_ttl_s: int = setting(
        30 * 86400,
        env="LLM_GATEWAY_OAUTH_REFRESH_TOKEN_TTL_S",
        doc="Life of a refresh token (each use rotates it).",
        check=checks.positive,
    )


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP front door (`[http]`): address, limits, authentication and OAuth."""

    host: str = setting(
        "127.0.0.1",
        env="LLM_GATEWAY_HTTP_HOST",
        doc="Address the HTTP front door binds to; anything but loopback needs authentication.",
        check=checks.bind_host,
    )
    port: int = setting(
        3333,
        env="LLM_GATEWAY_HTTP_PORT",
        doc="TCP port of the HTTP front door (MCP, gateway APIs, /health); 0 picks a free one.",
        check=checks.port,
        # mcp-llm-bridge's name for it, in its README and docker-compose files.
        older_env=("LLM_GATEWAY_PORT",),
    )
    path: str = setting(
        "/mcp",
        env="LLM_GATEWAY_HTTP_PATH",
        doc="URL path of the MCP Streamable HTTP endpoint.",
        check=checks.url_path,
    )
    max_body_bytes: int = setting(
        16 * 1024 * 1024,
        env="LLM_GATEWAY_HTTP_MAX_BODY_BYTES",
        doc="Largest request body accepted; larger requests get 413.",
        check=checks.positive,
    )
    max_body_bytes_in_flight: int = setting(
        128 * 1024 * 1024,
        env="LLM_GATEWAY_HTTP_MAX_BODY_BYTES_IN_FLIGHT",
        doc=(
            "Request bodies one gateway process holds at once, all callers together; a request "
            "past it is answered 429 with Retry-After (a single body always fits an idle gateway)."
        ),
        check=checks.positive,
    )
    header_timeout_ms: int = setting(
        30_000,
        env="LLM_GATEWAY_HTTP_HEADER_TIMEOUT_MS",
        doc="Time a client has to send a request's headers (from connecting, or its first byte).",
        check=checks.positive,
    )
    body_timeout_ms: int = setting(
        300_000,
        env="LLM_GATEWAY_HTTP_BODY_TIMEOUT_MS",
        doc="Time a client has to send a request's body; answers may stream for longer.",
        check=checks.positive,
    )
    max_connections_per_address: int = setting(
        256,
        env="LLM_GATEWAY_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
        doc="Connections one client address may hold open at once (trusted proxies exempt).",
        check=checks.positive,
    )
    allowed_origins: list[str] = setting(
        [],
        env="LLM_GATEWAY_HTTP_ALLOWED_ORIGINS",
        doc="Extra browser origins allowed besides loopback ones (comma-separated in the env).",
        check=checks.origins,
    )
    auth_token: str = setting(
        "",
        env="LLM_GATEWAY_AUTH_TOKEN",
        doc="Static bearer token every MCP and /v1 call must present (at least 32 characters).",
        check=checks.auth_token,
        secret=True,
    )
    public_url: str = setting(
        "",
        env="LLM_GATEWAY_PUBLIC_URL",
        doc="The gateway's address as callers see it (OAuth issuer); empty: the bind address.",
        check=checks.public_url,
    )
    allowed_hosts: list[str] = setting(
        [],
        env="LLM_GATEWAY_HTTP_ALLOWED_HOSTS",
        doc="Host names accepted besides loopback (the public URL's host is added itself).",
        check=checks.host_names,
    )
    trusted_principal_header: str = setting(
        "",
        env="LLM_GATEWAY_TRUSTED_PRINCIPAL_HEADER",
        doc="Header an identity-aware proxy sets to the caller's name (bearer requests only).",
        check=checks.header_name,
    )
    trusted_proxies: list[str] = setting(
        [],
        env="LLM_GATEWAY_TRUSTED_PROXIES",
        doc="Reverse proxies (addresses or CIDRs) whose Forwarded/X-Forwarded-For are believed.",
        check=checks.ip_networks,
    )
    open_to_all_local_accounts: bool = setting(
        False,
        env="LLM_GATEWAY_OPEN_TO_ALL_LOCAL_ACCOUNTS",
        doc="Without authentication, serve every account on this machine, not only the gateway's.",
    )
    allow_dangerous_config: bool = setting(
        False,
        env="LLM_GATEWAY_ALLOW_DANGEROUS_CONFIG",
        doc="Start even with public clients or open registration reachable from the network.",
    )
    rate_limit_per_minute: int = setting(
        600,
        env="LLM_GATEWAY_RATE_LIMIT_PER_MINUTE",
        doc="Requests a remote principal may make per minute (0: no limit); local is exempt.",
        check=checks.not_negative,
    )
    rate_limit_burst: int = setting(
        60,
        env="LLM_GATEWAY_RATE_LIMIT_BURST",
        doc="Requests a remote principal may make at once before the rate applies.",
        check=checks.positive,
    )
    ollama_port: bool = setting(
        False,
        env="LLM_GATEWAY_OLLAMA_PORT",
        doc=(
            "Also serve the gateway (Ollama's API among its routes) on 127.0.0.1:11434, Ollama's "
            "own port, so tools that assume Ollama work unconfigured; only while nothing listens "
            "there and no ollama program is installed (a real Ollama started later must find "
            "its port free). Off by default."
        ),
    )
    drain_s: int = setting(
        0,
        env="LLM_GATEWAY_DRAIN_S",
        doc="Headless, how long a SIGTERM lets what is in flight (answers, streams, jobs) "
        "finish before the stop ends it: the gateway is not ready at once and takes no new "
        "connection meanwhile; a second signal stops at once. 0: stop at once, as a quit "
        "does. Give an orchestrator's grace period a few seconds more.",
        check=checks.not_negative,
    )
    workers: int = setting(
        1,
        env="LLM_GATEWAY_WORKERS",
        doc="Headless, how many gateway processes serve the port together (SO_REUSEPORT), "
        "each a full gateway on the shared store, as a team's processes are: for a host with "
        "more cores than one process uses. More than 1 needs store.url (PostgreSQL).",
        check=checks.workers,
    )
    oauth: OAuthSettings = section(OAuthSettings)


@dataclass(frozen=True)
class McpSettings:
    """MCP served on the front door, and your own MCP servers offered there (`[mcp]`)."""

    stateless: bool = setting(
        False,
        env="LLM_GATEWAY_MCP_STATELESS",
        doc="Serve 2025-era MCP over HTTP without sessions, so any gateway process behind a "
        "load balancer answers any request (no server-to-client event stream). Off, a session "
        "lives in the process that opened it: balance sticky on the Mcp-Session-Id header.",
    )
    max_sessions: int = setting(
        2_000,
        env="LLM_GATEWAY_MCP_MAX_SESSIONS",
        doc="MCP sessions open at once in this process (each holds about 48 KiB until it is "
        "closed or idle for mcp.session_idle_timeout_s); a new one beyond gets 429.",
        check=checks.positive,
    )
    max_sessions_per_principal: int = setting(
        32,
        env="LLM_GATEWAY_MCP_MAX_SESSIONS_PER_PRINCIPAL",
        doc="MCP sessions one remote principal may have open at once (the local user is held "
        "to mcp.max_sessions only); a new one beyond gets 429 until it closes one or one "
        "expires.",
        check=checks.positive,
    )
    session_idle_timeout_s: int = setting(
        1800,
        env="LLM_GATEWAY_MCP_SESSION_IDLE_TIMEOUT_S",
        doc="An MCP session with no request in flight for this long is closed.",
        check=checks.positive,
    )
    servers: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_MCP_SERVERS",
        doc="Your own MCP servers, offered on /mcp as NAME__tool: [mcp.servers.NAME] with "
        "command/args/env/cwd (stdio) or url/headers (Streamable HTTP), and remote, allow, "
        "deny, approval (a JSON object in the env).",
        check=check_servers,
    )
    list_wait_ms: int = setting(
        10_000,
        env="LLM_GATEWAY_MCP_LIST_WAIT_MS",
        doc="How long a list on /mcp (tools, prompts, resources) waits for one of your MCP "
        "servers starting for the first time; one not up by then is left out of that answer, "
        "never waited on again, and added (the sessions told) once it runs.",
        check=checks.positive,
    )
    start_timeout_ms: int = setting(
        30_000,
        env="LLM_GATEWAY_MCP_START_TIMEOUT_MS",
        doc="The deadline for one of your MCP servers to answer initialize and list what it "
        "offers (at each start, and each time it says a list changed); past it the start "
        "fails and is tried again later, and what it listed last stays offered.",
        check=checks.positive,
    )
    call_timeout_ms: int = setting(
        300_000,
        env="LLM_GATEWAY_MCP_CALL_TIMEOUT_MS",
        doc="The deadline for one of your MCP servers to answer a tool call, a prompt or a "
        "resource read; at it the caller gets a `timeout` error, and a server that answered "
        "no ping either (sent 5 s before the deadline, or half-way when that is shorter) is "
        "taken for hung and restarted.",
        check=checks.positive,
    )
    stdio_relay_silence_ms: int = setting(
        15_000,
        env="LLM_GATEWAY_MCP_STDIO_RELAY_SILENCE_MS",
        doc="How long `llmgw-desktop mcp`, relaying an editor to the running gateway, lets a "
        "call wait while the gateway shows no sign of life (its /health unanswered: stopped or "
        "hung); past it the call is answered with an error saying so, and the relay carries on "
        "once the gateway answers again. A long tool call on a gateway that answers is not cut.",
        check=checks.relay_silence_ms,
    )
    max_tools_per_server: int = setting(
        500,
        env="LLM_GATEWAY_MCP_MAX_TOOLS_PER_SERVER",
        doc="The most tools (and prompts, and resources) one of your MCP servers offers on "
        "/mcp; what it lists beyond is left out, and the MCP servers page says how many.",
        check=checks.positive,
    )
    record_arguments: bool = setting(
        False,
        env="LLM_GATEWAY_MCP_RECORD_ARGUMENTS",
        doc="Keep the (redacted, shortened) arguments and result of each relayed MCP tool call "
        "in its recorder row; off, a row keeps only their sizes.",
    )
    pin_tools: bool = setting(
        True,
        env="LLM_GATEWAY_MCP_PIN_TOOLS",
        doc="Pin each of your MCP servers' tools when the server first lists them (name, "
        "description, input schema); a tool that changes later, or that the server adds "
        "later, is withheld from tools/list until you approve it on the MCP servers page or "
        "with `llmgw-desktop mcp-servers approve NAME`.",
    )
    withhold_flagged_tools: bool = setting(
        False,
        env="LLM_GATEWAY_MCP_WITHHOLD_FLAGGED_TOOLS",
        doc='Also withhold a tool whose description instructs the model ("ignore previous '
        'instructions", "read ~/.ssh") or holds characters a reader cannot see from you, '
        "until you approve it; off, you are offered such a tool, flagged on the MCP servers "
        "page.",
    )
    withhold_flagged_tools_from_remote: bool = setting(
        True,
        env="LLM_GATEWAY_MCP_WITHHOLD_FLAGGED_TOOLS_FROM_REMOTE",
        doc="Withhold a flagged tool (its description instructs the model or hides characters) "
        "from remote callers (gateway keys, OAuth clients) until you approve it on the MCP "
        "servers page or with `llmgw-desktop mcp-servers approve NAME`; off, they are offered "
        "it as you are.",
    )
