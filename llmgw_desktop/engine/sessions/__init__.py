"""Conversation continuity: gateway sessions a caller names and continues
(`gateway_sessions`), the CLI conversations the gateway ran (`provider_sessions`), and the chat
sessions of `acp --model`, whose conversation the gateway itself keeps (`acp_chats`)."""

from llmgw_desktop.engine.sessions.acp_chats import AcpChats
from llmgw_desktop.engine.sessions.gateway_sessions import GATEWAY_PREFIX, SessionStore, SessionView
from llmgw_desktop.engine.sessions.provider_sessions import ProviderSessionInfo, ProviderSessions

__all__ = [
    "GATEWAY_PREFIX",
    "AcpChats",
    "ProviderSessionInfo",
    "ProviderSessions",
    "SessionStore",
    "SessionView",
]
