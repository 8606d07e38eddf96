"""What a CLI's child process starts with, and who answers an ACP agent's permission requests.

A remote caller's grant answers first (`permission_check.check_request`): what it refuses,
nobody is asked, and what it allows runs unasked unless the caller's own editor is there to
refuse it. Otherwise (the local user, a `bypass` workspace) the person at the desk decides,
through the approval gate's desk question (`ApprovalGate.ask_desk`: Approve or Deny, denied
when no desk is attached or no answer comes in time), never a fixed allow-list; when the
gateway fronts the agent for an editor (`providers/acp/peer.AcpPeer`), the editor is asked as
ACP asks, and the same question is mirrored on the desk: the first answer counts and closes the
other. The local user's call at `bypassPermissions` (which the operator must allow) asks nobody.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.config.acp_agents import AcpAgentSpec
from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.agent_callbacks import Callback
from llmgw_desktop.engine.calls.approval import ApprovalGate, ApprovalRequest
from llmgw_desktop.engine.calls.params import RequestMeta
from llmgw_desktop.engine.calls.permission_check import check_request
from llmgw_desktop.engine.providers.acp.adapter import AcpSetup
from llmgw_desktop.engine.providers.acp.gateway_env import pointed_environment
from llmgw_desktop.engine.providers.acp.peer import AcpPeer
from llmgw_desktop.engine.providers.acp.turn import (
    PermissionAnswer,
    PermissionAsk,
    PermissionAsker,
)
from llmgw_desktop.engine.providers.base import Held
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
    held: Held | None = None  # a remote caller's grant the run is held to
    auto_approve: bool = False  # the local user's call at bypassPermissions
    # Where its model calls go and the key they carry (None: its own endpoint and login).
    callback: Callback | None = None


def child_setup(
    settings: Settings, catalog: ProviderCatalog, gate: ApprovalGate, run: ChildFor
) -> tuple[AcpSetup | None, dict[str, str]]:
    """The ACP set-up of an ACP agent's run (None for the other CLIs) and the environment its
    child starts with: only its share of the gateway's (`providers/child_env.py`), and, where
    the run has a callback, its model calls pointed back at the gateway as the caller
    (`providers/acp/gateway_env.py`, the one table)."""
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
            held=run.held,
            auto_approve=run.auto_approve,
        )
    environment = child_environment(
        run.provider,
        model=run.model,
        passed=(
            *settings.providers.pass_env.get(run.provider, ()),
            *(acp.spec.env if acp else ()),
        ),
    )
    if run.callback is not None:
        environment = pointed_environment(run.provider, environment, run.callback.pointing)
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
    held: Held | None = None,
    auto_approve: bool = False,
) -> AcpSetup:
    """`spec` (the catalog's `[providers.acp.NAME]`), who answers (the caller's grant first,
    then the desk, or `peer`'s editor mirrored on the desk), and the limits for one call of
    ACP agent `provider`. `held`: a remote caller's grant; `auto_approve`: the call runs at
    `bypassPermissions` (only where the operator allows bypass), so nobody is asked."""
    root = Path(working_dir)

    async def ask(question: PermissionAsk) -> PermissionAnswer:
        if held is not None:
            # Off the loop: paths are resolved on disk and host names looked up.
            verdict = await asyncio.to_thread(check_request, question, held, root)
            if not verdict.allowed:
                return PermissionAnswer(False, verdict.why)
            if peer is None:
                return PermissionAnswer(True)  # the grant decides; no one else to ask
        elif auto_approve:
            return PermissionAnswer(True)
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
            allowed, by = await gate.ask_desk_or(request, reason, peer.ask(question))
            return PermissionAnswer(allowed, "" if allowed else f"refused ({by})")
        decision = await gate.ask_desk(request, reason)
        return PermissionAnswer(decision.allowed, "" if decision.allowed else decision.reasons[-1])

    asker: PermissionAsker = ask
    return AcpSetup(
        spec=spec,
        permissions=asker,
        # Well inside the run's own limit, so an agent that never answers is named as such.
        init_timeout_s=min(60.0, settings.providers.timeout_ms / 2000),
        max_line_bytes=settings.providers.max_output_bytes,
        forward=peer.update if peer is not None else None,
        images=peer.images if peer is not None else (),
    )
