"""Conversation continuity: gateway sessions a caller names and continues
(`gateway_sessions`), and the CLI conversations the gateway ran (`provider_sessions`)."""

from llmgw_desktop.engine.sessions.gateway_sessions import GATEWAY_PREFIX, SessionStore, SessionView
from llmgw_desktop.engine.sessions.provider_sessions import ProviderSessionInfo, ProviderSessions

__all__ = [
    "GATEWAY_PREFIX",
    "ProviderSessionInfo",
    "ProviderSessions",
    "SessionStore",
    "SessionView",
]
