"""The outbound guard: each request is read once, before it leaves, for secrets and for the
operator's own rules (`rules.py`), and each target it would be sent to gets what the operator
chose for that provider and caller (`policy.py`), decided by the one ladder (`ladder.py`):

- `off`: sent, not read;
- `warn`: sent; the finding is recorded in the request's row and the person told (once per
  secret a run, so a conversation sent again each turn does not repeat it);
- `redact`: sent with each secret replaced by its placeholder (`redaction.py`); the answer gets
  the secrets back where it echoes a placeholder (`restore.py`);
- `block`: not sent; the route moves on (a provider on this machine may still serve) and the
  client is answered `secret_detected` if none does;
- `ask`: the person at the desk chooses block, redact or send (`desk.py`), once a request.

A rule's match is decided the same way, with off, warn, ask and block.

A request the guard cannot read whole (over `guard.max_scan_kb`, or its scan past
`guard.budget_ms`) follows `guard.unscanned`. The scan runs on the loop when the request is
small (well under a millisecond) and in a thread when it is not. The detectors are imported
in a thread by the first request the guard reads (60-130 ms once, and 6 MB, measured in
docs/PERFORMANCE.md: imported at start instead, every gateway paid the memory, one that never
sends a request off the machine included, past the 80 MB headless idle goal).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.settings_guard import GuardSettings
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.events import EventBus, Notice, SecretsFound
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import (
    CallerInfo,
    Completed,
    EndingChunks,
    Streaming,
    close_chunks,
)
from llmgw_desktop.engine.guard import scanner
from llmgw_desktop.engine.guard.desk import SecretQuestions
from llmgw_desktop.engine.guard.echoes import AnswerEchoes, placeholder_for
from llmgw_desktop.engine.guard.ladder import (
    WARNED,
    WITHOUT_RULES,
    Actions,
    Asker,
    Ruling,
    ruling,
)
from llmgw_desktop.engine.guard.operator_keys import OperatorKeys
from llmgw_desktop.engine.guard.policy import action_for, exempt_as_local
from llmgw_desktop.engine.guard.redaction import Redaction
from llmgw_desktop.engine.guard.request_scan import Finding, Inspection, ScanCache, inspect_body
from llmgw_desktop.engine.guard.restore import StreamRestorer, restore_answer
from llmgw_desktop.engine.guard.rules import OperatorRules, is_rule_kind, rule_name
from llmgw_desktop.engine.guard.stats import GuardStats
from llmgw_desktop.engine.guard.stream_text import rewritten_chunks

__all__ = ["AnswerScan", "Decision", "OutboundGuard", "RequestGuard"]

log = logging.getLogger(__name__)

# A body this large (bytes) or smaller is scanned on the loop: about a millisecond at most.
INLINE_BYTES = 32 * 1024
# Distinct secrets whose warning was shown this run (each is told once).
MAX_TOLD = 10_000
# An operator's key masked in an answer (`guard.scan_answers`): the action and the kind.
ANSWER_MASKED, OPERATOR_KEY = "answer_masked", "operator_key"


@dataclass(frozen=True)
class Decision:
    """What one target gets: the request as it came, with placeholders, or nothing; and what
    its answer gets: the operator's keys masked (`echoes`), placeholders put back."""

    redaction: Redaction | None = None
    refusal: EngineError | None = None
    echoes: AnswerEchoes | None = None

    def request(self, incoming: ClientRequest) -> ClientRequest:
        """The request this target is sent."""
        if self.redaction is None:
            return incoming
        return ClientRequest(
            incoming.name,
            self.redaction.body(incoming.body),
            url_model=incoming.url_model,
            stream=incoming.facts.stream,
        )

    def answer(self, answer: Completed | Streaming, dialect: str) -> Completed | Streaming:
        """The answer as the client gets it: the operator's keys it repeats masked, then the
        placeholders it echoes put back (they are the caller's own secrets)."""
        if self.echoes is not None:
            answer = self.echoes.answer(answer, dialect)
        if self.redaction is None:
            return answer
        originals = self.redaction.originals()
        if isinstance(answer, Completed):
            raw = answer.payload()
            restored = restore_answer(raw, originals)
            if restored is raw:
                return answer
            return dataclasses.replace(answer, body=None, raw=restored)
        inner = answer.chunks
        chunks = rewritten_chunks(inner, StreamRestorer(dialect, originals))
        return answer.with_chunks(EndingChunks(chunks, lambda: close_chunks(inner)))


SEND = Decision()


class OutboundGuard:
    """The guard of every request that leaves; one per engine."""

    def __init__(
        self, settings: GuardSettings, *, events: EventBus, questions: SecretQuestions
    ) -> None:
        self.settings = settings
        self.rules = OperatorRules(settings.rule_list())
        self.questions = questions
        self.stats = GuardStats()
        # Long strings read before (a conversation sent again each turn is read once).
        self._cache = ScanCache()
        self._events = events
        self._told: set[str] = set()

    def replace_settings(self, settings: GuardSettings) -> None:
        """Decide by `settings` from the next request on (the desk saved one)."""
        if settings.rules != self.settings.rules:
            self.rules = OperatorRules(settings.rule_list())
        self.settings = settings
        self.questions.fallback = settings.ask_fallback

    def actions(self, provider: str, principal: str, *, local: bool) -> Actions:
        """What the operator chose for a request from `principal` to `provider` (`local`: on
        this machine): for secrets, and for each rule."""
        secrets = action_for(self.settings, provider, principal, local=local)
        if not self.rules:
            return WITHOUT_RULES.get(secrets) or Actions(secrets)
        return Actions(secrets, self.rules.actions(provider, principal))

    def for_request(
        self,
        body: Any,
        caller: CallerInfo,
        route: RouteReport,
        *,
        size: int | None = None,
        answers: AnswerScan | None = None,
    ) -> RequestGuard:
        """The guard of one request whose content is `body` (`size`: its bytes, where known),
        read at its first target that is not `off`; `answers`: where its answers are read for
        the operator's keys from, while `guard.scan_answers` is on."""
        return RequestGuard(self, body, size, caller, route, answers)

    async def for_call(
        self, provider: str, prompt: Any, caller: CallerInfo, request_id: str
    ) -> Decision:
        """What a coding CLI's job may be given (`prompt`: its prompt's parts by name): a CLI
        run from an MCP tool (`claude_request`, `ask_model` of a CLI) reads its prompt and sends
        it to its vendor. Decided as a gateway target is; the call's row is the CLI's own."""
        route = RouteReport(request_id=request_id, requested_model="")
        return await RequestGuard(self, prompt, None, caller, route).decide(provider, "", False)

    async def for_count(
        self, incoming: ClientRequest, caller: CallerInfo, provider: str, local: bool
    ) -> Decision:
        """What a token count of `incoming` may send `provider`: as it came (off, warn, or
        nothing found), with placeholders (redact, ask: a count is no question for the desk),
        or nothing (blocked, a rule that asks, or unread where unread requests are blocked: the
        gateway then estimates the count itself). The same ladder as every request's;
        counts are neither recorded nor told."""
        actions = self.actions(provider, caller.principal, local=local)
        if actions.off:
            return SEND
        inspection = await self.inspect(incoming.body, len(incoming.raw))
        ruled = await self.rule(actions, inspection, provider, ask=None)
        if ruled.refusal is not None:
            return Decision(refusal=ruled.refusal)
        if ruled.redact:
            return Decision(redaction=Redaction(_secrets(inspection.findings)))
        return SEND

    async def rule(
        self, actions: Actions, inspection: Inspection, provider: str, ask: Asker | None
    ) -> Ruling:
        """The ladder for one target (`ladder.ruling`), by the settings of now."""
        return await ruling(
            actions,
            inspection,
            unscanned=self.settings.unscanned,
            provider=provider,
            ask=ask,
            described=self.rules.described,
        )

    async def inspect(self, body: Any, size: int) -> Inspection:
        """`body` read for secrets (`size`: its bytes), on the loop when small, else in a
        thread."""
        s = self.settings
        scan = functools.partial(
            inspect_body,
            body,
            personal=s.personal_data,
            max_chars=s.max_scan_kb * 1024,
            budget_s=s.budget_ms / 1000,
            cache=self._cache,
            rules=self.rules.scan,
        )
        if size <= INLINE_BYTES and scanner.loaded():
            return scan()
        return await asyncio.to_thread(scan)

    def counted(
        self,
        noted: tuple[tuple[str, tuple[Finding, ...]], ...],
        provider: str,
        caller: CallerInfo,
        request_id: str,
    ) -> None:
        """Count what a target was found to hold and what was done with each part of it, and
        tell the person of a secret sent, or a rule's match, they were not told of yet."""
        for index, (did, findings) in enumerate(noted):
            kinds = Inspection(findings).kinds
            self.stats.add(provider, caller.principal, kinds, did, new_request=index == 0)
            self._events.publish(
                SecretsFound(
                    provider, caller.principal, did, tuple(sorted(kinds.items())), request_id
                )
            )
            if did == WARNED:
                self._tell_sent(findings, provider, caller)

    def _tell_sent(self, findings: tuple[Finding, ...], provider: str, caller: CallerInfo) -> None:
        fresh = [f for f in findings if _digest(f.kind + f.value) not in self._told]
        if not fresh:
            return
        if len(self._told) > MAX_TOLD:
            self._told.clear()
        self._told.update(_digest(f.kind + f.value) for f in fresh)
        who = caller.caller or caller.principal
        listed = "; ".join(f.describe() for f in fresh[:3]) + (
            f"; and {len(fresh) - 3} more" if len(fresh) > 3 else ""
        )
        if is_rule_kind(fresh[0].kind):
            names = ", ".join(dict.fromkeys(rule_name(f.kind) for f in fresh))
            message = (
                f"A request matching your guard rule {names} was sent to {provider} ({who}): "
                f"{listed}. The rule's action can be ask or block."
            )
        else:
            message = (
                f"A secret was sent to {provider} ({who}): {listed}. guard.secrets can redact "
                "or block them."
            )
        self._events.publish(Notice("warning", message, topic="guard"))

    def echoed(self, provider: str, caller: CallerInfo, source: str, request_id: str) -> None:
        """Count an operator's key (from `source`) masked in an answer from `provider`, and
        tell the person once a run for each source."""
        self.stats.add(provider, caller.principal, Counter({OPERATOR_KEY: 1}), ANSWER_MASKED)
        self._events.publish(
            SecretsFound(
                provider, caller.principal, ANSWER_MASKED, ((OPERATOR_KEY, 1),), request_id
            )
        )
        told = f"answer:{source}"
        if told in self._told:
            return
        if len(self._told) > MAX_TOLD:
            self._told.clear()
        self._told.add(told)
        who = caller.caller or caller.principal
        self._events.publish(
            Notice(
                "warning",
                f"An answer from {provider} to {who} repeated your key from {source}: it was "
                f"replaced by {placeholder_for(source)} before {who} read it.",
                topic="guard",
            )
        )


@dataclass(frozen=True)
class AnswerScan:
    """Where a request's answers are read for the operator's keys from: the keys, and how its
    row is written again once a whole answer's were masked (it was finished before)."""

    keys: OperatorKeys
    rewrite_row: Callable[[RouteReport], None]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class RequestGuard:
    """One request's guard: scanned once, decided per target."""

    def __init__(
        self,
        guard: OutboundGuard,
        body: Any,
        size: int | None,
        caller: CallerInfo,
        route: RouteReport,
        answers: AnswerScan | None = None,
    ) -> None:
        self._guard = guard
        self._body = body
        self._size = size
        self._caller = caller
        self._route = route
        self._answers = answers
        self._inspection: Inspection | None = None
        self._redaction: Redaction | None = None
        self._asked: tuple[str, str] | None = None  # the desk's answer, and who gave it
        self._exempt_counted = False

    async def decide(self, provider: str, model: str, local: bool) -> Decision:
        """What the target (`provider`, `model`; `local`: on this machine) is sent, and what
        its answer gets (`guard.scan_answers`, whatever the action for what is sent)."""
        guard = self._guard
        actions = guard.actions(provider, self._caller.principal, local=local)
        if not self._exempt_counted and exempt_as_local(guard.settings, provider, local=local):
            self._exempt_counted = True
            guard.stats.exempt += 1
        # Nothing read for this target (most often): decided without a coroutine more.
        decision = SEND if actions.off else await self._sending(actions, provider, model)
        answers = self._answers
        if decision.refusal is not None or answers is None:
            return decision
        if not guard.settings.scan_answers:
            return decision
        keys = await answers.keys.matcher(self._caller.project)
        if not keys:
            return decision
        echoes = AnswerEchoes(keys, functools.partial(self._echoed, provider))
        return dataclasses.replace(decision, echoes=echoes)

    def _echoed(self, provider: str, source: str) -> None:
        """An answer from `provider` repeated the operator's key from `source`: its row says
        so (written again when it was finished), and the figures count it."""
        route = self._route
        record = route.guard if route.guard is not None else {}
        masked: list[str] = record.setdefault("answer_masked", [])
        if source not in masked:
            masked.append(source)
        route.guard = record
        self._guard.echoed(provider, self._caller, source, route.request_id)
        if self._answers is not None:
            self._answers.rewrite_row(route)

    async def _sending(self, actions: Actions, provider: str, model: str) -> Decision:
        """What the target is sent, by `actions` (for its provider and the caller; not off)."""
        guard = self._guard
        inspection = await self._inspected()
        if not inspection.complete:
            guard.stats.unscanned += 1
        ask = functools.partial(self._ask, provider, model)
        ruled = await guard.rule(actions, inspection, provider, ask)
        if ruled.did:
            self._note(provider, ruled, inspection)
        if ruled.refusal is not None:
            return Decision(refusal=ruled.refusal)
        if not ruled.redact:
            return SEND
        if self._redaction is None:
            self._redaction = Redaction(_secrets(inspection.findings))
        return Decision(redaction=self._redaction)

    async def _inspected(self) -> Inspection:
        if self._inspection is None:
            size = self._size if self._size is not None else len(jsonio.dumps(self._body))
            self._inspection = await self._guard.inspect(self._body, size)
            self._guard.stats.read += 1
        return self._inspection

    async def _ask(
        self, provider: str, model: str, findings: tuple[Finding, ...]
    ) -> tuple[str, str]:
        """The desk's answer, asked once a request (its first target that asks)."""
        if self._asked is None:
            self._asked = await self._guard.questions.ask(
                provider, model, self._caller.principal, self._caller.caller, findings
            )
        return self._asked

    def _note(self, provider: str, ruled: Ruling, inspection: Inspection) -> None:
        """The request's row says what was found, where, and what was done with it for
        `provider`, and why; the figures count it."""
        route = self._route
        record = route.guard or {
            "found": dict(inspection.kinds),
            "where": [f.describe() for f in inspection.findings[:20]],
            "complete": inspection.complete,
            "ms": round(inspection.elapsed_ms, 2),
            "targets": {},
        }
        if not inspection.complete:
            record["unscanned"] = inspection.reason
        record["targets"][provider] = ruled.did
        record["why"] = ruled.why()
        route.guard = record
        if ruled.noted:
            self._guard.counted(ruled.noted, provider, self._caller, route.request_id)


def _secrets(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """The secrets among `findings` (a rule's match is never replaced by a placeholder)."""
    return tuple(f for f in findings if not is_rule_kind(f.kind))
