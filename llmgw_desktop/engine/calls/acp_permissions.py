"""What a CLI's child process starts with, and who answers an ACP agent's permission requests.

The person at the desk, through the approval gate's desk question (`ApprovalGate.ask_desk`:
Approve or Deny, denied when no desk is attached or no answer comes in time), never a fixed
allow-list. When the gateway fronts the agent for an editor (`providers/acp/peer.AcpPeer`),
the editor is asked as ACP asks, and the same question is mirrored on the desk: the first
answer counts and closes the other. A remote caller's agent is refused anything but looking
before anyone is asked (`providers/acp/turn.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.config.acp_agents import AcpAgentSpec
from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.calls.approval import ApprovalGate, ApprovalRequest
from llmgw_desktop.engine.calls.params import RequestMeta
from llmgw_desktop.engine.providers.acp.adapter import AcpSetup
from llmgw_desktop.engine.providers.acp.gateway_env import routed_back
from llmgw_desktop.engine.providers.acp.peer import AcpPeer
from llmgw_desktop.engine.providers.acp.turn import PermissionAsk, PermissionAsker
from llmgw_desktop.engine.providers.child_env import child_environment

__all__ = ["ChildFor", "acp_setup", "child_setup"]


@dataclass(frozen=True)
class ChildFor:
    """The call a CLI's child process is started for."""

    provider: str
    principal: str
    meta: RequestMeta
    model: str | None
    working_dir: str


def child_setup(
    settings: Settings, catalog: ProviderCatalog, gate: ApprovalGate, run: ChildFor
) -> tuple[AcpSetup | None, dict[str, str]]:
    """The ACP set-up of an ACP agent's run (None for the other CLIs) and the environment its
    child starts with: only its share of the gateway's (`providers/child_env.py`), and, when
    the gateway fronts it for an editor, its model calls pointed back at the gateway."""
    acp = None
    if catalog.info(run.provider).speaks_acp:
        acp = acp_setup(
            settings,
            catalog.spec(run.provider),
            gate,
            provider=run.provider,
            principal=run.principal,
            caller=run.meta.caller,
            workspace=run.meta.project or "",
            working_dir=run.working_dir,
            peer=run.meta.acp_peer,
        )
    environment = child_environment(
        run.provider,
        model=run.model,
        passed=(
            *settings.providers.pass_env.get(run.provider, ()),
            *(acp.spec.env if acp else ()),
        ),
    )
    if acp is not None:
        environment = acp.environment(run.provider, environment)
    return acp, environment


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
    peer: AcpPeer | None = None,
) -> AcpSetup:
    """`spec` (the catalog's `[providers.acp.NAME]`), who answers (the desk, or `peer`'s
    editor mirrored on the desk), and the limits for one call of ACP agent `provider`."""

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
        if peer is not None:
            allowed, _by = await gate.ask_desk_or(request, reason, peer.ask(question))
            return allowed
        decision = await gate.ask_desk(request, reason)
        return decision.allowed

    asker: PermissionAsker = ask
    routed = peer is not None and routed_back(provider, peer.gateway_url)
    return AcpSetup(
        spec=spec,
        permissions=asker,
        # Well inside the run's own limit, so an agent that never answers is named as such.
        init_timeout_s=min(60.0, settings.providers.timeout_ms / 2000),
        max_line_bytes=settings.providers.max_output_bytes,
        forward=peer.update if peer is not None else None,
        routed=routed,
        gateway_url=peer.gateway_url if routed and peer is not None else "",
        gateway_key=peer.gateway_key if routed and peer is not None else "",
        images=peer.images if peer is not None else (),
    )
