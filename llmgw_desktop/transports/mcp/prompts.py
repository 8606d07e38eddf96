"""Ready-made MCP prompts for the workflows orchestrators run most: the review loop, the
red-team/blue-team cycle and the consensus check. Each tells the orchestrating model which of
this gateway's tools to call, in what order, and when to stop."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

__all__ = ["register_prompts"]


def register_prompts(server: MCPServer) -> None:
    @server.prompt(
        name="review_loop",
        title="Implement, review, fix, re-review",
        description="Have one model implement and others review until every reviewer approves.",
    )
    def review_loop(task: str, implementer: str = "codex", reviewers: str = "claude,gemini") -> str:
        return (
            f"Task: {task}\n\n"
            f"1. Call {implementer}_request with the task (fullAuto: true, approvalStrategy: "
            '"mcp_managed") to implement it.\n'
            f"2. Call validate_with_models with providers [{reviewers}] on the change, asking "
            "whether it is correct, safe and complete.\n"
            "3. If any reviewer's verdict is not APPROVED, send their risks back to "
            f"{implementer}_request (same sessionId) to fix, then repeat step 2.\n"
            "4. Stop when every reviewer approves, or after 3 rounds: then report the remaining "
            "disagreement instead of looping. A reviewer that failed or answered nothing does "
            "not count as approval."
        )

    @server.prompt(
        name="red_team_blue_team",
        title="Red team, blue team",
        description="Attack a design with several models, then have one defend and fix it.",
    )
    def red_team_blue_team(subject: str, defender: str = "claude") -> str:
        return (
            f"Subject: {subject}\n\n"
            "1. Call red_team_review on the subject (default panel). Collect every risk; "
            "treat risks listed by more than one model (sharedRisks) as confirmed.\n"
            f"2. Call {defender}_request with the subject and the confirmed risks: for each, "
            "either fix it or argue why it is not a problem.\n"
            "3. Call compare_answers on the red-team findings and the defence to see what is "
            "still disputed, then call synthesize_validation for a final verdict."
        )

    @server.prompt(
        name="consensus",
        title="Consensus check",
        description="Ask several models whether a claim is true, and weigh their answers.",
    )
    def consensus(claim: str) -> str:
        return (
            f"Claim: {claim}\n\n"
            "Call consensus_check with this claim. Report the tally of TRUE / FALSE / "
            "UNCERTAIN, quote the strongest rationale on each side, and say UNCERTAIN yourself "
            "unless the models that answered agree. Models that failed or gave no verdict are "
            "listed separately and never counted."
        )
