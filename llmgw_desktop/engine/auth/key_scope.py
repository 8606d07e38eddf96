"""What a gateway key may reach: models, providers, projects and MCP tools.

Pure values and checks, no I/O. The checks run where the engine already decides each of these
for every principal, so a key is held to its scope on every front door:
- models and providers: for each target a request's route would ask (after aliases, routes,
  pins, the small-request rule and fallbacks), in `GatewayService`; a target outside the scope
  is never asked, so an alias or a fallback cannot lead a key elsewhere; also in the token
  counter (`counting.py`) and in `ProviderCalls` for a CLI run through an MCP tool, which names
  the CLI as the routes do (`claude-cli`); the model and provider lists show the scope only
  (`ProvidersService`);
- projects: in `ProjectGrants` (`projects.py`), the check every call naming a project passes;
- MCP tools: in the MCP access middleware, after the tool's capability, and in the middleware
  that relays the user's own MCP servers' tools (it answers before the access middleware).

A key may also carry the caller name the operator gave it (`caller`, `keys create --caller`): its
requests go under that name, and the routes' per-caller pins for it apply to them
(`router.pin_caller`); the name a key's client gives itself never chooses a pin.

An empty list of models, providers or tools means "any"; an empty list of projects means
"none" (a call without a project), as for every other remote principal: a project's vault keys,
CLI logins and budgets are the operator's to hand out. A model entry is a name as routes and
the recorder show it (`gpt-4o-mini`), or `provider/model`, and may end in `*`
(`openai/*`, `claude-*`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = [
    "KEY_METHOD",
    "KEY_PRINCIPAL_PREFIX",
    "TOOL_SCOPE_PREFIX",
    "KeyScope",
    "OutsideKeyScope",
    "is_key_principal",
    "key_tool_refusal",
]

# A key's principal is `key:<name>`; how it proved itself, `Principal.method`.
KEY_PRINCIPAL_PREFIX = "key:"
KEY_METHOD = "key"
SCOPE_FIELDS = ("models", "providers", "projects", "tools")
# A key's MCP tools travel on its `Principal.scopes` as `tool:<name>`, so the MCP door (which
# sees the principal, not the store) can check them.
TOOL_SCOPE_PREFIX = "tool:"


def is_key_principal(principal: str) -> bool:
    """Whether `principal` is a gateway key's."""
    return principal.startswith(KEY_PRINCIPAL_PREFIX)


class OutsideKeyScope(EngineError):
    """The key's scope leaves out what the request needs (the details name which, and what the
    key's scope holds)."""

    code = ErrorCode.OUTSIDE_KEY_SCOPE
    http_status = 403


@dataclass(frozen=True)
class KeyScope:
    """A key's scope; see the module docstring for what an empty list means."""

    models: frozenset[str] = field(default_factory=frozenset)
    providers: frozenset[str] = field(default_factory=frozenset)
    projects: frozenset[str] = field(default_factory=frozenset)
    tools: frozenset[str] = field(default_factory=frozenset)
    # The caller name the operator gave the key ("": none; its requests are named by its
    # client, and no per-caller pin applies to them).
    caller: str = ""

    @classmethod
    def of(
        cls,
        *,
        models: Iterable[str] = (),
        providers: Iterable[str] = (),
        projects: Iterable[str] = (),
        tools: Iterable[str] = (),
        caller: str | None = None,
    ) -> KeyScope:
        def clean(values: Iterable[str]) -> frozenset[str]:
            return frozenset(v.strip() for v in values if v and v.strip())

        named = (caller or "").strip()
        return cls(clean(models), clean(providers), clean(projects), clean(tools), named)

    def to_dict(self) -> dict[str, Any]:
        lists: dict[str, Any] = {name: sorted(getattr(self, name)) for name in SCOPE_FIELDS}
        return lists | {"caller": self.caller} if self.caller else lists

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyScope:
        named = data.get("caller")
        lists = {name: data.get(name) or () for name in SCOPE_FIELDS}
        return cls.of(**lists, caller=named if isinstance(named, str) else None)

    def allows_target(self, provider: str, model: str) -> bool:
        """Whether a target (a provider and the model it would be asked for) is in scope."""
        if self.providers and provider not in self.providers:
            return False
        if not self.models:
            return True
        names = (model, f"{provider}/{model}")
        return any(fnmatchcase(name, entry) for entry in self.models for name in names)

    def target_refusal(self, principal: str, provider: str, model: str) -> OutsideKeyScope | None:
        """Why `principal`'s key may not have `model` asked of `provider`, or None."""
        if self.allows_target(provider, model):
            return None
        if self.providers and provider not in self.providers:
            what = f"provider {provider!r}"
        else:
            what = f"model {model!r} (of {provider})"
        return OutsideKeyScope(
            f"{what} is outside the scope of gateway key {principal}: it may reach "
            f"{self.describe_targets()}. Ask for one of those, or have the operator widen the "
            "key's scope (`llmgw-desktop keys create` with --model/--provider, or the Keys "
            "page).",
            principal=principal,
            provider=provider,
            model=model,
            allowed_models=sorted(self.models) or None,
            allowed_providers=sorted(self.providers) or None,
        )

    def describe_targets(self) -> str:
        models = ", ".join(sorted(self.models)) if self.models else "any model"
        if not self.providers:
            return models
        return f"{models} on {', '.join(sorted(self.providers))}"

    def allows_tool(self, tool: str) -> bool:
        return not self.tools or tool in self.tools

    def tool_refusal(self, principal: str, tool: str) -> OutsideKeyScope | None:
        """Why `principal`'s key may not call the MCP tool `tool`, or None."""
        if self.allows_tool(tool):
            return None
        return OutsideKeyScope(
            f"MCP tool {tool!r} is outside the scope of gateway key {principal}: it may call "
            f"{', '.join(sorted(self.tools))}. Have the operator add the tool to the key's "
            "scope (--tool, or the Access keys page).",
            principal=principal,
            tool=tool,
            allowed_tools=sorted(self.tools),
        )


def key_tool_refusal(principal: Principal, tool: str) -> OutsideKeyScope | None:
    """Why a key principal may not call the MCP tool `tool` (None: it may, or `principal` is
    not a key's)."""
    if principal.method != KEY_METHOD:
        return None
    tools = frozenset(
        s[len(TOOL_SCOPE_PREFIX) :] for s in principal.scopes if s.startswith(TOOL_SCOPE_PREFIX)
    )
    return KeyScope(tools=tools).tool_refusal(principal.id, tool)
