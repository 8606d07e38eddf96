"""`ask`: the person at the desk chooses what a request holding secrets, or matching a rule of
the operator's that asks, does (send it once, send it with the secrets replaced, or block it),
as the approval gate and the OAuth consent ask.

The desktop attaches itself (`attach_desk`) and shows each question with what was found,
masked, in its context; the request waits for the answer at most the approval desk's time
(`approval.desk_timeout_ms`). No answer in time, or no desk attached (the app runs headless),
is `guard.ask_fallback` (block unless the operator chose otherwise), and the answer says who
decided.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from llmgw_desktop.engine.guard.request_scan import Finding
from llmgw_desktop.engine.guard.rules import is_rule_kind, rule_name

__all__ = ["GUARD_ANSWERS", "SecretQuestion", "SecretQuestions"]

log = logging.getLogger(__name__)

# What the person may answer: block (the default and the escape), redact, send once.
GUARD_ANSWERS = ("block", "redact", "send")


@dataclass
class SecretQuestion:
    """One request put to the person at the desk: who sends what where, and what was found
    (each finding's value never leaves the engine: the desk shows `masked` and `excerpt`)."""

    id: str
    provider: str
    model: str
    principal: str
    caller: str
    findings: tuple[Finding, ...]
    answer: asyncio.Future[str] = field(
        repr=False, default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def secrets(self) -> tuple[Finding, ...]:
        """The secrets among the findings (the rest are matches of the operator's rules)."""
        return tuple(f for f in self.findings if not is_rule_kind(f.kind))

    @property
    def rules(self) -> tuple[str, ...]:
        """The operator's rules the request matched, each named once."""
        return tuple(
            dict.fromkeys(rule_name(f.kind) for f in self.findings if is_rule_kind(f.kind))
        )


class SecretQuestions:
    """The guard's questions open at the desk; the desktop attaches to be asked."""

    def __init__(self, *, timeout_s: float, fallback: str) -> None:
        self.timeout_s = timeout_s
        self.fallback = fallback
        self._desk: Callable[[SecretQuestion], None] | None = None
        self.pending: dict[str, SecretQuestion] = {}

    def attach_desk(self, notify: Callable[[SecretQuestion], None] | None) -> None:
        """The desktop registers how it shows a question (None: detach)."""
        self._desk = notify

    @property
    def desk_attached(self) -> bool:
        return self._desk is not None

    def answer(self, question_id: str, choice: str) -> bool:
        """The person answered (`choice` one of `GUARD_ANSWERS`); False when the question is no
        longer open.

        Raises:
            ValueError: `choice` is not an answer.
        """
        if choice not in GUARD_ANSWERS:
            raise ValueError(f"{choice!r} is not one of {', '.join(GUARD_ANSWERS)}")
        question = self.pending.get(question_id)
        if question is None or question.answer.done():
            return False
        question.answer.set_result(choice)
        return True

    async def ask(
        self, provider: str, model: str, principal: str, caller: str, findings: tuple[Finding, ...]
    ) -> tuple[str, str]:
        """The person's choice for a request, and who made it ("desk", "desk-timeout" or
        "no-desk"); the fallback when no one answers."""
        if self._desk is None:
            return self.fallback, "no-desk"
        question = SecretQuestion(uuid.uuid4().hex, provider, model, principal, caller, findings)
        self.pending[question.id] = question
        try:
            self._desk(question)
            try:
                return await asyncio.wait_for(
                    asyncio.shield(question.answer), self.timeout_s
                ), "desk"
            except TimeoutError:
                log.info("secret question %s timed out: %s", question.id, self.fallback)
                return self.fallback, "desk-timeout"
        finally:
            if not question.answer.done():
                question.answer.set_result(self.fallback)  # tells the desk it is over
            self.pending.pop(question.id, None)
