"""Who answers an ACP agent's permission requests when the gateway runs it as a provider.

The person at the desk, through the approval gate's desk question (`ApprovalGate.ask_desk`:
Approve or Deny, denied when no desk is attached or no answer comes in time), never a fixed
allow-list. A remote caller's agent is refused anything but looking before anyone is asked
(`providers/acp/turn.py`).
"""

from __future__ import annotations

from llmgw_desktop.config.acp_agents import AcpAgentSpec
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.calls.approval import ApprovalGate, ApprovalRequest
from llmgw_desktop.engine.providers.acp.adapter import AcpSetup
from llmgw_desktop.engine.providers.acp.turn import PermissionAsk, PermissionAsker

__all__ = ["acp_setup"]


def acp_setup(
    settings: Settings,
    spec: AcpAgentSpec,
    gate: ApprovalGate,
    *,
    provider: str,
    principal: str,
    caller: str,
    workspace: str,
    working_dir: str,
) -> AcpSetup:
    """`spec` (the catalog's `[providers.acp.NAME]`), the desk as the answerer, and the limits
    for one call of ACP agent `provider`."""

    async def ask(question: PermissionAsk) -> bool:
        request = ApprovalRequest(
            provider=provider,
            prompt=f"{question.title}\n{question.detail}".strip(),
            permission_mode="default",
            full_auto=False,
            allowed_tools=(),
            strategy="mcp_managed",
            principal=principal,
            caller=caller,
            workspace=workspace,
            working_dir=working_dir,
        )
        reason = f"{provider} asks to run a {question.kind} tool: {question.title}"
        decision = await gate.ask_desk(request, reason)
        return decision.allowed

    asker: PermissionAsker = ask
    return AcpSetup(
        spec=spec,
        permissions=asker,
        init_timeout_s=min(60.0, settings.providers.timeout_ms / 1000),
        max_line_bytes=settings.providers.max_output_bytes,
    )
