"""Where a provider call meets the remote-power rule: before the approval gate, and at start.

`provider_calls.py` asks twice. Before the approval gate, `check` finds the workspace the call
runs in (the one it names, the default, or its session's directory), takes that workspace's
grant and checks what the caller asked for against it (`remote_power.confine`); a refusal is
written to the flight recorder like any denial. Just before the job is queued, `check_start`
takes the confinement table's last look at the command line the adapter made and at the
directory it runs in (the spawn point takes it again at each start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta, record_fields
from llmgw_desktop.engine.calls.routing import ConversationRouter
from llmgw_desktop.engine.errors import ApprovalDenied, ErrorCode
from llmgw_desktop.engine.providers.base import ProviderRequest
from llmgw_desktop.engine.providers.confinement import last_look
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.workspaces import (
    Confinement,
    Grant,
    Workspace,
    WorkspaceRegistry,
    confine,
)

__all__ = ["RemotePowerGate"]


class RemotePowerGate:
    """Holds remote calls to their workspace's grant; the local user passes untouched."""

    def __init__(
        self,
        workspaces: WorkspaceRegistry | None,
        recorder: FlightRecorder,
        router: ConversationRouter,
    ) -> None:
        self._workspaces = workspaces
        self._recorder = recorder
        self._router = router

    async def check(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> Confinement | None:
        """For a remote caller, its grant checked against what it asks for (None for the local
        user, who runs as asked). `params` is anchored and validated already.

        Raises:
            ApprovalDenied: it asks for more than the grant (code `remote_power_refused`);
                the refusal is written to the flight recorder.
        """
        if principal == LOCAL or self._workspaces is None:
            return None
        directory = params.working_dir
        if directory is None:
            # Continuing a session: its own directory decides (provider_calls.py resolves it again).
            resolved = await self._router.resolve(provider, params, principal)
            directory = None if resolved.working_dir is None else str(resolved.working_dir)
        workspace = None
        if directory is not None:
            workspace = await self._workspaces.at_directory(principal, directory)
        grant = self._workspaces.grant(workspace)
        try:
            if workspace is not None and grant.level == "commands":
                await self._no_edits_around(workspace, grant)
            return confine(
                grant,
                provider=provider,
                permission_mode=params.permission_mode,
                full_auto=meta.full_auto,
                allowed_tools=params.allowed_tools,
                mcp_servers=params.mcp_servers,
            )
        except ApprovalDenied as refusal:
            # As every provider call's row: its project and the row id the front door promised.
            record = self._recorder.start(
                **record_fields(provider, params, principal, meta),
                approval={
                    "strategy": meta.approval_strategy,
                    "allowed": False,
                    "decided_by": "remote-power",
                    "reasons": [refusal.message],
                    "grant": grant.to_dict(),
                },
            )
            self._recorder.finish(record, state="denied", error_code=refusal.code)
            raise

    async def _no_edits_around(self, workspace: Workspace, grant: Grant) -> None:
        """Refuse a `commands` workspace while remote callers may edit inside or around it:
        its allowed commands could run what they wrote there."""
        assert self._workspaces is not None
        overlapping = await self._workspaces.overlapping_edits(workspace)
        if overlapping:
            raise ApprovalDenied(
                f"workspace {workspace.name!r} lets remote callers run commands, and "
                f"{', '.join(repr(n) for n in overlapping)} (inside it, around it or at the same "
                "place) lets them edit files, which those commands could run; give the "
                'overlapping workspaces remote_level = "read-only" or "commands", or move them',
                code=ErrorCode.REMOTE_POWER_REFUSED,
                param="workspace",
                value=overlapping,
                workspace=workspace.name,
                level=grant.level,
                setting=grant.setting("remote_level"),
            )

    async def check_start(
        self, provider: str, request: ProviderRequest, argv: Sequence[str]
    ) -> None:
        """The table's last look at a confined run (`confinement.last_look`), taken here so a
        refusal comes before the job is queued; the spawn point takes it again at each start.

        Raises:
            ApprovalDenied: its command line or its directory would widen the run (code
                `remote_power_refused`).
        """
        if request.confined:
            await asyncio.to_thread(last_look, provider, request, argv)
