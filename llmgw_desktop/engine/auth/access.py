"""Who may do what: the one table of capabilities and the principal kinds that may use them.

Every MCP tool, resource and prompt, and every HTTP route, needs one capability
(`transports/mcp/access.py` and `transports/doors.py` name it); the engine methods that
change the host or the gateway itself (the vault, CLI upgrades, provider switches, settings,
OAuth grants, workspace admin) take the principal and call `require` themselves, so a new front
door cannot forget the check.

The principal kinds:
- `local`: the person at this machine (stdio, the desktop, the instance token, or loopback with
  nothing configured).
- `bearer`: whoever holds the static bearer token. It stays an operator: the operator chose the
  token and is the only one who can hand it out, a headless install has no other way to manage
  its vault, and per-user access is what the trusted header and OAuth are for.
- `trusted-header`: a user a trusted reverse proxy names; holds no scopes.
- `oauth`: an OAuth client, with the scopes it was granted (`mcp`, `workspace:admin`).
- `key`: a gateway key (`gateway_keys.py`): the gateway's use, held to the key's own scope
  (models, providers, projects, MCP tools) where those are decided; never the operator's
  capabilities, so a key cannot make keys.
- `unauthenticated`: no principal at all (only public routes).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from llmgw_desktop.engine.auth.principals import SCOPE_ADMIN, SCOPE_MCP, Principal
from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = [
    "ACCESS",
    "AccessDenied",
    "Capability",
    "Kind",
    "Rule",
    "allowed",
    "kind_of",
    "refusal",
    "require",
]


class Kind(enum.StrEnum):
    """How a principal proved itself, as far as access is concerned."""

    LOCAL = "local"
    BEARER = "bearer"
    TRUSTED_HEADER = "trusted-header"
    OAUTH = "oauth"
    KEY = "key"
    UNAUTHENTICATED = "unauthenticated"


class Capability(enum.StrEnum):
    """Something a caller may be allowed to do."""

    # Routes anyone may reach; they check their own credential where they need one (a client
    # secret, the consent password, a registration token).
    PUBLIC = "public"
    # Provider calls, chat routes, model lists, and one's own jobs, sessions and workspaces.
    GATEWAY_USE = "gateway.use"
    # Read-only views of the gateway's state: CLI versions and paths, process health.
    GATEWAY_INSPECT = "gateway.inspect"
    # Make or register workspace directories (also needs LLM_GATEWAY_WORKSPACE_ADMIN=1).
    WORKSPACE_ADMIN = "workspace.admin"
    VAULT = "vault"  # store, list and delete API keys and CLI auth files
    CLI_UPGRADE = "cli.upgrade"  # run the CLIs' package managers (npm install -g, pip install)
    PROVIDER_SWITCHES = "provider.switches"  # switch providers on and off, pause them all
    SETTINGS = "settings"  # write config.toml
    OAUTH_GRANTS = "oauth.grants"  # list and revoke OAuth clients' grants
    KEYS = "keys"  # make, list, revoke and rotate gateway keys
    # The instance hand-off: bring the running app's window forward, or quit (an installer).
    INSTANCE_ACTIVATE = "instance.activate"
    # Read /metrics: every caller's models, agents, projects and spend, so the operator's (a
    # scraper under another account presents `metrics.scrape_token`, checked at the edge).
    METRICS_READ = "metrics.read"


@dataclass(frozen=True)
class Rule:
    """The principal kinds a capability admits, each with the scope it must hold (or None)."""

    admits: Mapping[Kind, str | None] = field(default_factory=dict)

    @property
    def operator_only(self) -> bool:
        return bool(self.admits) and set(self.admits) <= {Kind.LOCAL, Kind.BEARER}


_OPERATOR = Rule({Kind.LOCAL: None, Kind.BEARER: None})
_USERS = Rule(
    {
        Kind.LOCAL: None,
        Kind.BEARER: None,
        Kind.TRUSTED_HEADER: None,
        Kind.OAUTH: SCOPE_MCP,
        Kind.KEY: None,
    }
)

# The table. A capability missing here admits nobody.
ACCESS: Mapping[Capability, Rule] = {
    Capability.PUBLIC: Rule({kind: None for kind in Kind}),
    Capability.GATEWAY_USE: _USERS,
    Capability.GATEWAY_INSPECT: _USERS,
    Capability.WORKSPACE_ADMIN: Rule(
        {
            Kind.LOCAL: None,
            Kind.BEARER: None,
            Kind.TRUSTED_HEADER: SCOPE_ADMIN,  # never granted today: a proxy names no scopes
            Kind.OAUTH: SCOPE_ADMIN,
        }
    ),
    Capability.VAULT: _OPERATOR,
    Capability.CLI_UPGRADE: _OPERATOR,
    Capability.PROVIDER_SWITCHES: _OPERATOR,
    Capability.SETTINGS: _OPERATOR,
    Capability.OAUTH_GRANTS: _OPERATOR,
    Capability.KEYS: _OPERATOR,
    Capability.INSTANCE_ACTIVATE: Rule({Kind.LOCAL: None}),
    Capability.METRICS_READ: _OPERATOR,
}

_WHO = {
    Kind.LOCAL: "the local user",
    Kind.BEARER: "the holder of the gateway's bearer token",
    Kind.TRUSTED_HEADER: "users named by the trusted proxy",
    Kind.OAUTH: "OAuth clients",
    Kind.KEY: "gateway keys",
    Kind.UNAUTHENTICATED: "anyone",
}


class AccessDenied(EngineError):
    """The caller's principal may not use this capability (the details name it and who may)."""

    code = ErrorCode.FORBIDDEN
    http_status = 403


def kind_of(principal: Principal | None) -> Kind:
    """The access kind of `principal` (None: unauthenticated)."""
    if principal is None:
        return Kind.UNAUTHENTICATED
    method = principal.method
    if method in ("local", "instance"):
        return Kind.LOCAL
    if method == "bearer":
        return Kind.BEARER
    if method == "trusted-header":
        return Kind.TRUSTED_HEADER
    if method == "oauth":
        return Kind.OAUTH
    if method == "key":
        return Kind.KEY
    return Kind.UNAUTHENTICATED  # a method we do not know proves nothing


def allowed(principal: Principal | None, capability: Capability) -> bool:
    """Whether `principal` may use `capability` (cheap: the front doors ask per request)."""
    rule = ACCESS.get(capability)
    if rule is None:
        return False
    kind = kind_of(principal)
    if kind not in rule.admits:
        return False
    scope = rule.admits[kind]
    return scope is None or (principal is not None and scope in principal.scopes)


def refusal(principal: Principal | None, capability: Capability) -> AccessDenied | None:
    """Why `principal` may not use `capability`, or None when it may."""
    if allowed(principal, capability):
        return None
    rule = ACCESS.get(capability, Rule())
    kind = kind_of(principal)
    who = "an unauthenticated caller" if principal is None else principal.id
    if kind is Kind.UNAUTHENTICATED:
        code = ErrorCode.UNAUTHORIZED
        message = (
            f"{capability.value} needs authentication (a bearer token or an OAuth access token)"
        )
    elif rule.operator_only:
        code = ErrorCode.OPERATOR_ONLY
        holders = " or ".join(_WHO[k] for k in rule.admits)
        message = f"{capability.value} is only for the operator ({holders}); {who} may not use it"
    elif kind in rule.admits:
        code = ErrorCode.FORBIDDEN
        message = (
            f"{capability.value} needs the {rule.admits[kind]} scope, which {who} was not granted"
        )
    else:
        code = ErrorCode.FORBIDDEN
        open_to = ", ".join(_WHO[k] for k in rule.admits) or "nobody"
        message = (
            f"{capability.value} is not open to {_WHO[kind]} ({who}); it is open to: {open_to}"
        )
    error = AccessDenied(
        message,
        code=code,
        capability=capability.value,
        allowed=[f"{k.value} (scope {s})" if s else k.value for k, s in rule.admits.items()],
        principal=None if principal is None else principal.id,
    )
    if kind is Kind.UNAUTHENTICATED:
        error.http_status = 401
    return error


def require(principal: Principal | None, capability: Capability) -> None:
    """Refuse unless `principal` may use `capability`.

    Raises:
        AccessDenied: it may not (code `operator_only`, `forbidden` or `unauthorized`).
    """
    error = refusal(principal, capability)
    if error is not None:
        raise error
