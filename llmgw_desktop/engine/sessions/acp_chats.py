"""The chat sessions of `llmgw-desktop acp --model`, kept so an editor can load one again after
it (or the gateway) restarts.

The chat agent runs in the process the editor launched and holds the conversation there; after
each turn it saves the session here through the gateway (`PUT /v1/acp/chats/{id}`), and
`session/load` in a new process reads it back (`GET`) and replays it. A session is its
principal's: another principal's id is "not found", to read and to write, so a leaked id
replays nothing and cannot be overwritten. What is kept is the chat's text (the editor's words,
its text files, the model's answers) with secrets masked as everywhere else the gateway writes
a caller's text; an image is named, not kept. Each principal keeps its newest `MAX_CHATS`; a
conversation longer than `MAX_CHAT_CHARS` keeps its newest turns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest, NotFound
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.store import Database

__all__ = ["MAX_CHATS", "MAX_CHAT_CHARS", "AcpChat", "AcpChats"]

MAX_CHATS = 200  # per principal, as `acp --agent`'s editor sessions
MAX_CHAT_CHARS = 2_000_000  # of turns' text kept per session (the oldest turns go first)
_ROLES = frozenset({"user", "assistant"})
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
MAX_ID_CHARS = 100
MAX_NAME_CHARS = 4096  # a model's name or a folder's path


@dataclass(frozen=True)
class AcpChat:
    """One chat session as its owner saved it."""

    id: str
    model: str
    cwd: str
    turns: tuple[tuple[str, str], ...]  # (role, text), oldest first
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.id,
            "model": self.model,
            "cwd": self.cwd,
            "turns": [{"role": role, "content": text} for role, text in self.turns],
            "updatedAt": self.updated_at,
        }


class AcpChats:
    """Saves and loads chat sessions, always per principal."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def save(
        self, principal: str, chat_id: str, model: object, cwd: object, turns: object
    ) -> AcpChat:
        """Keep `principal`'s session `chat_id` as it is now (made if new); the values are
        the caller's JSON, checked here.

        Raises:
            InvalidRequest: a malformed id, model, folder or turn (naming which).
            NotFound: the id is another principal's session.
        """
        _check_id(chat_id)
        model, cwd = _name(model, "model"), _name(cwd, "cwd")
        kept = _kept_turns(turns)
        stored = json.dumps([[role, text] for role, text in kept])
        Chat = self._db.models.AcpChat
        now = self._clock()

        def write() -> bool:
            with self._db.models.database.atomic():
                row = Chat.get_or_none(Chat.id == chat_id)
                if row is not None and row.owner_principal != principal:
                    return False
                if row is None:
                    Chat.create(
                        id=chat_id,
                        owner_principal=principal,
                        model=model,
                        cwd=cwd,
                        turns_json=stored,
                        created_at=now,
                        updated_at=now,
                    )
                    self._forget_oldest(principal)
                else:
                    Chat.update(model=model, cwd=cwd, turns_json=stored, updated_at=now).where(
                        Chat.id == chat_id
                    ).execute()
                return True

        if not await self._db.run(write):
            raise NotFound(f"no session {chat_id!r}", session_id=chat_id)
        return AcpChat(chat_id, model, cwd, kept, now)

    async def load(self, principal: str, chat_id: str) -> AcpChat:
        """`principal`'s session `chat_id`.

        Raises:
            NotFound: no such session of this principal (another's is not found either).
        """
        Chat = self._db.models.AcpChat
        row = await self._db.run(
            lambda: Chat.get_or_none((Chat.id == chat_id) & (Chat.owner_principal == principal))
        )
        if row is None:
            raise NotFound(f"no session {chat_id!r}", session_id=chat_id)
        turns = tuple((str(role), str(text)) for role, text in json.loads(row.turns_json))
        return AcpChat(row.id, row.model, row.cwd, turns, row.updated_at)

    def _forget_oldest(self, principal: str) -> None:
        """On the DB thread: past `MAX_CHATS`, the principal's least recently saved go."""
        Chat = self._db.models.AcpChat
        keep = (
            Chat.select(Chat.id)
            .where(Chat.owner_principal == principal)
            .order_by(Chat.updated_at.desc(), Chat.id.desc())
            .limit(MAX_CHATS)
        )
        Chat.delete().where(
            (Chat.owner_principal == principal) & Chat.id.not_in(list(keep.tuples()))
        ).execute()


def _name(value: object, param: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        raise InvalidRequest(f"{param} must be a non-empty string", param=param)
    return value


def _check_id(chat_id: str) -> None:
    if (
        not isinstance(chat_id, str)
        or not chat_id
        or len(chat_id) > MAX_ID_CHARS
        or not set(chat_id) <= _ID_CHARS
    ):
        raise InvalidRequest(
            "a session id is up to 100 lower-case letters, digits and '-'", param="sessionId"
        )


def _kept_turns(turns: object) -> tuple[tuple[str, str], ...]:
    """The turns as kept: checked, secrets masked, the newest within `MAX_CHAT_CHARS`.

    Raises:
        InvalidRequest: a turn that is not `{"role": "user"|"assistant", "content": text}`.
    """
    if not isinstance(turns, Sequence) or isinstance(turns, str):
        raise InvalidRequest("turns must be a list", param="turns")
    checked: list[tuple[str, str]] = []
    for index, turn in enumerate(turns):
        role = turn.get("role") if isinstance(turn, Mapping) else None
        content = turn.get("content") if isinstance(turn, Mapping) else None
        if role not in _ROLES or not isinstance(content, str):
            raise InvalidRequest(
                f"turns[{index}] must be {{'role': 'user' or 'assistant', 'content': text}}",
                param=f"turns[{index}]",
            )
        checked.append((str(role), redact(content)))
    total, start = 0, len(checked)
    while start > 0 and total + len(checked[start - 1][1]) <= MAX_CHAT_CHARS:
        start -= 1
        total += len(checked[start][1])
    return tuple(checked[start:])
