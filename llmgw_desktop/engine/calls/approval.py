"""The approval gate: decide, before anything runs, whether a provider call may go ahead.

`legacy` (the default) passes the request through as asked, except that a full bypass of the
CLI's permission prompts is refused unless the operator allowed it. `mcp_managed` scores the
request (bypass or full-auto asked for, dangerous wording, risky tool settings) against a
threshold: at or above it the call is denied, or put to the person at the desk when a desktop
is attached and the policy says to ask (no answer in time is a denial). Below it the call runs
at an accept-edits level suited to each agent (`providers/confinement.py`, `Row.managed`): never
a fully unlocked one, so an agent whose only rung runs its shell unasked (none shipped) is refused,
and one that only the table's flags hold there (OpenCode) runs at those. Where the operator
allows bypass (`approval.allow_bypass`), the local user's managed calls run at
`bypassPermissions` across the board, the headless operator's full auto-approve; a remote
caller's never. Every decision carries its score and reasons, and
is written to the flight recorder.

The wording is read as a shell would read it (`approval_text.py`: Unicode and look-alike
folding, quoting and escapes undone, flag spellings folded), and one destructive or
remote-code pattern (`rm -rf`, `curl … | sh`, raw disk writes, credentials sent away, ...) is
enough on its own: it scores `CRITICAL_SCORE` and is over the threshold whatever the threshold
is, a full bypass included. A short question that only asks what such a command does
("explain what rm -rf does") scores it as a mention, which does not deny alone. Its dozens of
patterns compile when the first call is assessed, not when a gateway starts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.providers.confinement import Managed, managed_rung

__all__ = [
    "ApprovalDecision",
    "ApprovalGate",
    "ApprovalRequest",
    "Assessment",
    "assess",
]

log = logging.getLogger(__name__)

STRATEGIES = ("legacy", "mcp_managed")
BYPASS_SCORE = 100
FULL_AUTO_SCORE = 30
RISKY_TOOL_SCORE = 20
RISKY_TOOLS = re.compile(r"^(bash|shell|.*exec.*|\*|computer)$", re.I)
WORDING_SCORE = 25
# One destructive or remote-code pattern: over any threshold on its own.
CRITICAL_SCORE = 100
# Longer prompts are read off the event loop.
INLINE_SCORING_CHARS = 100_000


@dataclass(frozen=True)
class ApprovalRequest:
    """What the gate looks at."""

    provider: str
    prompt: str
    permission_mode: str
    full_auto: bool
    allowed_tools: tuple[str, ...]
    strategy: str
    principal: str
    # Who asked and where, for the person at the desk (the score ignores them): the client's
    # own name (X-Caller, MCP clientInfo or its user agent), the workspace it named, and the
    # directory the call runs in.
    caller: str = ""
    workspace: str = ""
    working_dir: str = ""
    # Whether the managed ladder sets the mode (the caller asked for `mcp_managed`); False for
    # a remote caller scored only because it is remote, which runs at the mode it asked for.
    ladder: bool = True


@dataclass(frozen=True)
class ApprovalDecision:
    strategy: str
    allowed: bool
    score: int
    threshold: int
    reasons: tuple[str, ...]
    permission_mode: str  # what the call will run with
    decided_by: str = "policy"  # "policy", "desk" or "desk-timeout"
    warnings: tuple[str, ...] = ()
    # Run at the confinement table's flags for that mode: the managed rung of an agent whose
    # own flags at it would run its shell unasked (`providers/confinement.Managed`).
    confined: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class Assessment:
    """How risky a request looks: the score, the reasons, and whether one reason alone must
    deny (a critical pattern)."""

    score: int
    reasons: tuple[str, ...]
    critical: bool


def assess(request: ApprovalRequest) -> Assessment:
    """Score `request`: what it asks the CLI for, and what its prompt asks the CLI to do."""
    from llmgw_desktop.engine.calls.approval_text import findings, is_a_question, normalise

    score, reasons, critical = 0, [], False
    if request.permission_mode == "bypassPermissions":
        score += BYPASS_SCORE
        reasons.append("asks to bypass every permission prompt")
    if request.full_auto:
        score += FULL_AUTO_SCORE
        reasons.append("asks for full-auto execution")
    text = normalise(request.prompt)
    question = is_a_question(text)
    for finding in findings(text):
        if finding.critical and not question:
            score += CRITICAL_SCORE
            critical = True
            reasons.append(f"prompt {finding.why}")
        else:
            score += WORDING_SCORE
            reasons.append(f"prompt {'mentions a command that ' if question else ''}{finding.why}")
    risky = [t for t in request.allowed_tools if RISKY_TOOLS.match(t.split("(")[0])]
    if risky:
        score += RISKY_TOOL_SCORE
        reasons.append(f"pre-approves risky tools: {', '.join(risky)}")
    return Assessment(score, tuple(reasons), critical)


Asker = Callable[["PendingApproval"], Awaitable[bool]]


@dataclass
class PendingApproval:
    """A decision put to the person at the desk."""

    id: str
    request: ApprovalRequest
    score: int
    reasons: tuple[str, ...]
    answer: asyncio.Future[bool] = field(
        repr=False, default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ApprovalGate:
    """Applies the approval policy; the desktop can attach itself to be asked."""

    def __init__(
        self,
        *,
        allow_bypass: bool,
        threshold: int,
        ask_at_desk: bool,
        desk_timeout_s: float,
    ) -> None:
        self.allow_bypass = allow_bypass
        self.threshold = threshold
        self.ask_at_desk = ask_at_desk
        self.desk_timeout_s = desk_timeout_s
        self._desk: Callable[[PendingApproval], None] | None = None
        self.pending: dict[str, PendingApproval] = {}

    def attach_desk(self, notify: Callable[[PendingApproval], None] | None) -> None:
        """The desktop registers how it shows a pending approval (None: detach)."""
        self._desk = notify

    def answer(self, approval_id: str, approved: bool) -> bool:
        """The person at the desk answered; False if the request is no longer waiting."""
        pending = self.pending.get(approval_id)
        if pending is None or pending.answer.done():
            return False
        pending.answer.set_result(approved)
        return True

    async def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """The decision for `request`.

        Raises:
            InvalidRequest: unknown strategy.
        """
        if request.strategy not in STRATEGIES:
            raise InvalidRequest(
                f"approvalStrategy must be one of {', '.join(STRATEGIES)}", param="approvalStrategy"
            )
        if len(request.prompt) > INLINE_SCORING_CHARS:
            assessment = await asyncio.to_thread(assess, request)
        else:
            assessment = assess(request)
        score, reasons = assessment.score, list(assessment.reasons)
        bypass = request.permission_mode == "bypassPermissions"
        if bypass and not self.allow_bypass:
            return ApprovalDecision(
                request.strategy,
                False,
                score,
                self.threshold,
                (*reasons, "full bypass is off (LLM_GATEWAY_APPROVAL_ALLOW_BYPASS is not set)"),
                request.permission_mode,
            )
        if request.strategy == "legacy":
            return ApprovalDecision(
                "legacy", True, score, self.threshold, tuple(reasons), request.permission_mode
            )
        rung = self._managed_rung(request, bypass)
        if rung is None:
            reasons.append(
                f"{request.provider} has no rung short of a full bypass (it runs every tool, its "
                "shell included, without asking): under mcp_managed it runs only where the "
                "operator allows bypass (LLM_GATEWAY_APPROVAL_ALLOW_BYPASS=1), or ask with "
                "approvalStrategy legacy"
            )
            return ApprovalDecision(
                "mcp_managed", False, score, self.threshold, tuple(reasons), "default"
            )
        mode, warnings, confined = rung.mode, (rung.warning,) if rung.warning else (), rung.confined
        # A critical pattern is over the threshold whatever it is, and a bypass does not lift it.
        allowed, by = not assessment.critical and (score < self.threshold or bypass), "policy"
        if not allowed and self.ask_at_desk and self._desk is not None:
            allowed, by = await self._ask(request, score, reasons)
        return ApprovalDecision(
            "mcp_managed",
            allowed,
            score,
            self.threshold,
            tuple(reasons),
            mode,
            by,
            warnings,
            confined,
        )

    async def ask_desk(self, request: ApprovalRequest, reason: str) -> ApprovalDecision:
        """Put `request` to the person at the desk whatever its score (the operator named it
        for approval); denied when no desk is attached or no answer comes in time."""
        if self._desk is None:
            return ApprovalDecision(
                request.strategy,
                False,
                0,
                self.threshold,
                (reason, "no desk is attached to answer (the desktop app is not running)"),
                request.permission_mode,
            )
        approved, by = await self._ask(request, 0, [reason])
        return ApprovalDecision(
            request.strategy, approved, 0, self.threshold, (reason,), request.permission_mode, by
        )

    async def ask_desk_or(
        self, request: ApprovalRequest, reason: str, elsewhere: Awaitable[bool]
    ) -> tuple[bool, str]:
        """Put `request` to whoever answers first: `elsewhere` (an editor the request came
        through) or the person at the desk, where one is attached; (allowed, who answered:
        "editor", "desk" or "timeout"). The other's question ends with the answer; no answer
        within the desk's time is a denial."""
        pending = PendingApproval(uuid.uuid4().hex, request, 0, (reason,))
        try:
            async with asyncio.TaskGroup() as group:
                other = group.create_task(_answer_of(elsewhere), name="permission-elsewhere")
                waits: set[asyncio.Future[bool | None]] = {other}
                if self._desk is not None:
                    self.pending[pending.id] = pending
                    self._desk(pending)
                    waits.add(pending.answer)  # type: ignore[arg-type]
                done, _ = await asyncio.wait(
                    waits, timeout=self.desk_timeout_s, return_when=asyncio.FIRST_COMPLETED
                )
                other.cancel()
            if other in done and other.result() is not None:
                return bool(other.result()), "editor"
            if pending.answer in done:
                return bool(pending.answer.result()), "desk"
            return False, "timeout"
        finally:
            if not pending.answer.done():
                pending.answer.set_result(False)  # tells the desk the question is over
            self.pending.pop(pending.id, None)

    def _managed_rung(self, request: ApprovalRequest, bypass: bool) -> Managed | None:
        """The rung a managed call runs at (`confinement.managed_rung`: each agent's
        accept-edits level, held by the table's flags where its own would run its shell
        unasked); None where the agent has none and nothing lets it run unheld.

        A bypass the call asked for, or the local user's managed call where the operator allows
        bypass (the headless operator's full auto-approve), runs at `bypassPermissions`. A
        remote caller's mode is never raised by this: it runs at what it asked for when scored
        only because it is remote (`ladder` False), and is clamped to its grant after."""
        if bypass:  # only reachable when the operator allows bypass
            return Managed("bypassPermissions")
        if not request.ladder:
            return Managed(request.permission_mode)
        if request.permission_mode == "plan":
            return Managed("plan")  # a read-only ask (a CLI answering as a model) is not widened
        if self.allow_bypass and request.principal == LOCAL:
            return Managed("bypassPermissions")
        if request.provider == "codex" and request.full_auto:
            return Managed("acceptEdits")  # codex: sandboxed workspace-write
        return managed_rung(request.provider)

    async def _ask(
        self, request: ApprovalRequest, score: int, reasons: list[str]
    ) -> tuple[bool, str]:
        pending = PendingApproval(uuid.uuid4().hex, request, score, tuple(reasons))
        self.pending[pending.id] = pending
        try:
            assert self._desk is not None
            self._desk(pending)
            try:
                return await asyncio.wait_for(
                    asyncio.shield(pending.answer), self.desk_timeout_s
                ), "desk"
            except TimeoutError:
                log.info("approval %s timed out: denied", pending.id)
                if not pending.answer.done():
                    pending.answer.set_result(False)  # tells the desk the question is over
                return False, "desk-timeout"
        finally:
            self.pending.pop(pending.id, None)


async def _answer_of(elsewhere: Awaitable[bool]) -> bool | None:
    """The other side's answer; None when it could not answer (an editor that went away)."""
    try:
        return bool(await elsewhere)
    except Exception:  # the editor's side: a closed connection, an error it answered
        log.info("a permission question could not be put elsewhere", exc_info=True)
        return None
