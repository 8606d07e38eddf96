"""Which conversation a call continues, and in which directory it runs.

A call can name a gateway session (`gw-...`), a CLI's own session id, ask for the latest
conversation, or say nothing. Then the caller's own active session for that provider
continues, unless it asked for a new one. "The caller" is the principal and the client's name
together, so one agent's `session_create` never makes another agent's calls continue its
conversation. Claude, Gemini and OpenCode only find a conversation from the directory it ran
in, so the directory travels with the conversation.

A call that names no directory runs in a private one the gateway makes (`ConversationDirs`),
kept as long as its conversation is and removed with it.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, NotFound
from llmgw_desktop.engine.providers.base import SessionChoice
from llmgw_desktop.engine.sessions import (
    GATEWAY_PREFIX,
    ProviderSessionInfo,
    SessionStore,
    SessionView,
)

__all__ = ["ConversationDirs", "ConversationRouter", "Resolved"]


@dataclass(frozen=True)
class Resolved:
    """Which conversation a call continues and where it runs."""

    choice: SessionChoice
    gateway_session_id: str | None
    working_dir: Path | None  # None: a fresh private directory is made for the run
    known: ProviderSessionInfo | None  # what the gateway recorded of the resumed conversation


class ConversationRouter:
    """Resolves a call's session options against what the gateway has recorded."""

    def __init__(self, sessions: SessionStore, catalog: ProviderCatalog = SHIPPED_CATALOG) -> None:
        self._sessions = sessions
        self._catalog = catalog

    async def resolve(
        self, provider: str, params: CallParams, principal: str, *, caller: str = ""
    ) -> Resolved:
        """Pick the conversation (and its directory) a call continues; `caller` (the client's
        name) chooses whose active session a call that names none continues.

        Raises:
            InvalidRequest: the session belongs to another provider, or sessions are unsupported.
            NotFound: the session, or an earlier conversation to continue, does not exist.
        """
        explicit = Path(params.working_dir) if params.working_dir else None
        wants_session = params.session_id or params.resume_latest or params.fork
        if wants_session and not self._catalog.info(provider).supports_sessions:
            raise InvalidRequest(
                f"{provider} keeps no sessions: each call starts a new conversation",
                code=ErrorCode.SESSIONS_UNSUPPORTED,
                provider=provider,
            )
        if params.session_id and params.session_id.startswith(GATEWAY_PREFIX):
            session = await self._sessions.get(principal, params.session_id)
            return await self._from_gateway(session, provider, params, principal, explicit)
        if params.session_id:
            known = await self._sessions.provider_sessions.get(
                principal, provider, params.session_id
            )
            if known is None and principal != LOCAL:
                # A CLI finds any conversation in its directory by id, whoever started it: a
                # remote caller may only continue conversations the gateway ran for them. (The
                # local user may also continue ones started outside the gateway.)
                raise _no_conversation(provider, params.session_id)
            directory = explicit or (Path(known.working_dir) if known else None)
            choice = SessionChoice(resume_id=params.session_id, fork=params.fork)
            return Resolved(choice, None, directory, known)
        if params.resume_latest:
            where = str(explicit) if explicit else None
            known = await self._sessions.provider_sessions.latest(principal, provider, where)
            if known is not None:
                # Resume that exact conversation: the CLI's own "latest" could be another
                # caller's newest conversation in the same directory.
                choice = SessionChoice(resume_id=known.provider_session_id, fork=params.fork)
                return Resolved(choice, None, explicit or Path(known.working_dir), known)
            if explicit is not None and principal == LOCAL:
                # The CLI's own "latest" in that directory may be anyone's conversation, so
                # only the local user (whose machine it is) may fall back to it.
                return Resolved(
                    SessionChoice(resume_latest=True, fork=params.fork), None, explicit, None
                )
            raise NotFound(
                f"there is no earlier conversation with {provider} to continue",
                code=ErrorCode.SESSION_NOT_FOUND,
            )
        if params.fork:
            raise InvalidRequest("forking needs the sessionId to fork from", param="sessionId")
        if not params.create_new_session:
            active = await self._sessions.active(principal, provider, caller=caller)
            if active is not None:
                return await self._from_gateway(active, provider, params, principal, explicit)
        return Resolved(SessionChoice(), None, explicit, None)

    async def _from_gateway(
        self,
        session: SessionView,
        provider: str,
        params: CallParams,
        principal: str,
        explicit: Path | None,
    ) -> Resolved:
        if session.provider != provider:
            raise InvalidRequest(
                f"session {session.id} belongs to {session.provider}, not {provider}",
                code=ErrorCode.SESSION_PROVIDER_MISMATCH,
                param="sessionId",
            )
        stored_dir = session.metadata.get("working_dir")
        directory = explicit or (Path(stored_dir) if stored_dir else None)
        if session.provider_session_id is None:
            return Resolved(SessionChoice(), session.id, directory, None)
        known = await self._sessions.provider_sessions.get(
            principal, provider, session.provider_session_id
        )
        choice = SessionChoice(resume_id=session.provider_session_id, fork=params.fork)
        return Resolved(choice, session.id, directory, known)


class ConversationDirs:
    """The private directories the gateway makes for conversations, under one root."""

    def __init__(self, root: Path, sessions: SessionStore) -> None:
        self.root = root
        self._sessions = sessions

    def make(self) -> Path:
        """A new, empty directory only this user may enter (blocking: call it off the loop)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory = self.root / uuid.uuid4().hex
        directory.mkdir(mode=0o700)
        return directory

    async def expire(self, used_before: float) -> int:
        """Forget conversations unused since `used_before` and delete the dirs the gateway made."""
        expired = await self._sessions.provider_sessions.expire(used_before)
        for info in expired:
            if info.owns_dir and Path(info.working_dir).is_relative_to(self.root):
                await asyncio.to_thread(shutil.rmtree, info.working_dir, True)
        return len(expired)


def _no_conversation(provider: str, session_id: str) -> NotFound:
    # The same words as for an id nobody ever used: no hint that it exists for someone else.
    return NotFound(
        f"there is no {provider} conversation {session_id!r} to continue",
        code=ErrorCode.SESSION_NOT_FOUND,
    )
