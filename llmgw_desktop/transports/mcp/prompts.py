"""Ready-made MCP prompts for the workflows orchestrators run most: the review loop, the
red-team/blue-team cycle and the consensus check. Each tells the orchestrating model which of
this gateway's tools to call, in what order, and when to stop; every tool it names exists
(an implementer given as a model is asked through the tool that reaches that model)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from llmgw_desktop.engine.api import Engine, InvalidRequest

__all__ = ["PROMPT_ARGUMENTS", "register_prompts"]

_MANAGED = '(fullAuto: true, approvalStrategy: "mcp_managed")'


def _red_team_blue_team(subject: str, defender: str = "claude") -> str:
    return (
        f"Subject: {subject}\n\n"
        "1. Call red_team_review on the subject (default panel). Collect every risk; "
        "treat risks listed by more than one model (sharedRisks) as confirmed.\n"
        f"2. Call {defender}_request with the subject and the confirmed risks: for each, "
        "either fix it or argue why it is not a problem.\n"
        "3. Call compare_answers on the red-team findings and the defence to see what is "
        "still disputed, then call synthesize_validation for a final verdict."
    )


def _consensus(claim: str) -> str:
    return (
        f"Claim: {claim}\n\n"
        "Call consensus_check with this claim. Report the tally of TRUE / FALSE / "
        "UNCERTAIN, quote the strongest rationale on each side, and say UNCERTAIN yourself "
        "unless the models that answered agree. Models that failed or gave no verdict are "
        "listed separately and never counted."
    )


def _review_loop_text(task: str, implement: str, fix: str, reviewers: str) -> str:
    return (
        f"Task: {task}\n\n"
        f"1. {implement} to implement it.\n"
        f"2. Call validate_with_models with providers [{reviewers}] on the change, asking "
        "whether it is correct, safe and complete.\n"
        f"3. If any reviewer's verdict is not APPROVED, {fix}, then repeat step 2.\n"
        "4. Stop when every reviewer approves, or after 3 rounds: then report the remaining "
        "disagreement instead of looping. A reviewer that failed or answered nothing does "
        "not count as approval."
    )


def _implementer_steps(implementer: str, engine: Engine) -> tuple[str, str]:
    """How the review loop's implementer is called, first and to fix: a coding CLI by its
    request tool, a model through the tool that reaches it.

    Raises:
        InvalidRequest: `implementer` is neither a CLI nor a model any provider answers for.
    """
    clis = engine.providers.catalog()
    if implementer in clis:
        return (
            f"Call {implementer}_request with the task {_MANAGED}",
            f"send their risks back to {implementer}_request (same sessionId) to fix",
        )
    owner = engine.providers.owner_of(implementer)
    if owner is None:
        raise InvalidRequest(
            f"implementer: {implementer!r} is neither a coding CLI ({', '.join(clis.ids)}) "
            "nor a model the gateway knows (list_models names them)",
            param="implementer",
        )
    model = f", model: {owner.model}" if owner.model else ""
    if owner.kind == "cli":
        tool = f"{owner.provider}_request"
        return (
            f"Call {tool} with the task{model} {_MANAGED}",
            f"send their risks back to {tool} (same sessionId) to fix",
        )
    return (
        f"Call ask_model (provider: {owner.provider}{model}) with the task, asking for the "
        "complete change, and apply it",
        f"call ask_model (provider: {owner.provider}{model}) again with the task, the current "
        "change and their risks, and apply the fixed change",
    )


def register_prompts(server: MCPServer, engine: Engine) -> None:
    """Offer the prompts on `server`; the review loop asks `engine` who serves a model."""

    @server.prompt(
        name="review_loop",
        title="Implement, review, fix, re-review",
        description="Have one model implement and others review until every reviewer approves.",
    )
    def review_loop(task: str, implementer: str = "codex", reviewers: str = "claude,gemini") -> str:
        try:
            implement, fix = _implementer_steps(implementer.strip(), engine)
        except InvalidRequest as error:
            raise MCPError(INVALID_PARAMS, error.message, error.to_dict()) from None
        return _review_loop_text(task, implement, fix, reviewers)

    server.prompt(
        name="red_team_blue_team",
        title="Red team, blue team",
        description="Attack a design with several models, then have one defend and fix it.",
    )(_red_team_blue_team)
    server.prompt(
        name="consensus",
        title="Consensus check",
        description="Ask several models whether a claim is true, and weigh their answers.",
    )(_consensus)


def _required(fn: Callable[..., str]) -> tuple[str, ...]:
    return tuple(
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.default is inspect.Parameter.empty
    )


# The arguments each prompt cannot do without (checked before the SDK renders it).
PROMPT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "review_loop": ("task",),
    "red_team_blue_team": _required(_red_team_blue_team),
    "consensus": _required(_consensus),
}
