"""An ACP agent's environment with its model calls pointed at the gateway's own HTTP door.

When the gateway fronts an agent for an editor, the agent's model endpoint and key are the
gateway's address and the caller's connection key, so every model call it makes is a request
to the gateway: routed, recorded on the editor's lane, held to the caller's budgets and key
scope. The agent never sees the vendor key the gateway holds. What each agent reads is its
vendor's convention; the variables that would send it elsewhere whatever the base URL says
(another credential, a cloud platform) are taken out. OpenCode chooses its endpoint in its own
configuration, and an agent `[providers.acp.NAME]` adds has no known convention: those are
left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["routed_back", "routed_environment", "routes_through_gateway"]

# provider -> (base URL variable, the suffix the vendor's SDK expects, key variable, dropped)
_ROUTES: Mapping[str, tuple[str, str, str, tuple[str, ...]]] = {
    "claude-acp": (
        "ANTHROPIC_BASE_URL",
        "",
        "ANTHROPIC_API_KEY",
        ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"),
    ),
    "codex-acp": ("OPENAI_BASE_URL", "/v1", "OPENAI_API_KEY", ("CODEX_API_KEY",)),
    "qwen": ("OPENAI_BASE_URL", "/v1", "OPENAI_API_KEY", ("DASHSCOPE_API_KEY",)),
    "gemini-acp": (
        "GOOGLE_GEMINI_BASE_URL",
        "",
        "GEMINI_API_KEY",
        ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT"),
    ),
}


def routes_through_gateway(provider: str) -> bool:
    """Whether the gateway knows how to point `provider`'s model calls at itself."""
    return provider in _ROUTES


def routed_back(provider: str, gateway_url: str) -> bool:
    """Whether a run of `provider` fronted for an editor whose gateway door is `gateway_url`
    ("": none) has its model calls come back through the gateway."""
    return bool(gateway_url) and routes_through_gateway(provider)


def routed_environment(
    provider: str, environment: Mapping[str, str], base_url: str, key: str
) -> dict[str, str]:
    """`environment` with `provider`'s model endpoint and key set to the gateway's `base_url`
    and `key` (unchanged for an agent the gateway cannot point, or without a `base_url`)."""
    route = _ROUTES.get(provider)
    if route is None or not base_url:
        return dict(environment)
    url_name, suffix, key_name, dropped = route
    routed = {name: value for name, value in environment.items() if name not in dropped}
    routed[url_name] = base_url.rstrip("/") + suffix
    routed[key_name] = key
    return routed
