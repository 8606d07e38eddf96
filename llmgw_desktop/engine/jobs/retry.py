"""The desk's Retry: a finished job's provider call submitted again as a new job, as the job's
own principal (approval, recorder and job as for any call).

It sits above the job manager and the call service (a retry rebuilds a *call*, which the job
manager knows nothing about), so neither needs a callback into the other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.calls import CallParams, ProviderCalls, RequestMeta
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest
from llmgw_desktop.engine.jobs.live import Submitted
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.providers.base import PromptParts
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.workspaces import Workspace, WorkspaceRegistry

__all__ = ["JobRetry"]

log = logging.getLogger(__name__)


class JobRetry:
    """Runs a failed, canceled or interrupted job's call again. For the desk only: it may
    retry any principal's job."""

    def __init__(
        self,
        *,
        jobs: JobManager,
        calls: ProviderCalls,
        workspaces: WorkspaceRegistry,
        recorder: FlightRecorder | None = None,
    ) -> None:
        """`recorder` is flushed before a job's origin is read: the caller and project come
        from the job's first recorder row, which may still be waiting to be written."""
        self._recorder = recorder
        self._jobs = jobs
        self._calls = calls
        self._workspaces = workspaces

    async def retry(self, job_id: str) -> Submitted:
        """Submit job `job_id`'s call again as a new job of the same principal.

        Raises:
            NotFound: no such job.
            InvalidRequest: the job did not end in a retryable state (`not_retryable`), its
                call cannot be rebuilt from what the store kept, or a remote caller's
                directory is no longer one of its workspaces (`not_rebuildable`).
            EngineError: whatever submitting the rebuilt call raises (provider off,
                approval denied, queue full, working directory gone, ...).
        """
        if self._recorder is not None:
            await self._recorder.flush()
        origin = await self._jobs.retry_origin(job_id)
        params = _params_from_request(origin.request, origin.correlation_id)
        if params.working_dir is not None and origin.principal != LOCAL:
            # A remote call names a workspace, never a directory: find the one it ran in.
            visible = await self._workspaces.visible(origin.principal)
            name = await asyncio.to_thread(_workspace_at, visible, params.working_dir)
            if name is None:
                raise InvalidRequest(
                    f"job {origin.job_id} ran in a directory that is no longer one of "
                    f"{origin.principal}'s workspaces",
                    code=ErrorCode.NOT_REBUILDABLE,
                )
            params = dataclasses.replace(params, working_dir=None, workspace=name)
        # The caller and project are the first call's: the retry is counted against the same
        # agent and project budgets, and reaches the same project's vault files.
        meta = RequestMeta(
            transport="desktop", tool="retry", caller=origin.caller, project=origin.project
        )
        submitted = await self._calls.submit(origin.provider, params, origin.principal, meta)
        log.info("job %s retried from the desk as %s", job_id, submitted.job_id)
        return submitted


def _params_from_request(request: Mapping[str, Any], correlation_id: str | None) -> CallParams:
    """A provider call's parameters from its job's stored arguments (`CallParams.canonical`).

    Raises:
        InvalidRequest: the arguments are not a provider call's (code `not_rebuildable`).
    """
    try:
        parts = request["promptParts"]
        return CallParams(
            prompt=request["prompt"],
            prompt_parts=None if parts is None else PromptParts(**parts),
            model=request["model"],
            session_id=request["sessionId"],
            resume_latest=bool(request["resumeLatest"]),
            create_new_session=bool(request["createNewSession"]),
            fork=bool(request["fork"]),
            permission_mode=request["permissionMode"],
            allowed_tools=tuple(request["allowedTools"]),
            disallowed_tools=tuple(request["disallowedTools"]),
            working_dir=request["workingDir"],
            timeout_ms=request["timeoutMs"],
            idle_timeout_ms=request["idleTimeoutMs"],
            mcp_servers=tuple(request.get("mcpServers", ())),
            # A retry runs anew, even where an identical call has since succeeded.
            force_refresh=True,
            correlation_id=correlation_id,
        )
    except (KeyError, TypeError) as exc:
        raise InvalidRequest(
            f"the stored request is not a provider call the gateway can rebuild ({exc!r})",
            code=ErrorCode.NOT_REBUILDABLE,
        ) from exc


def _workspace_at(workspaces: Sequence[Workspace], directory: str) -> str | None:
    """The name of the workspace whose (resolved) path is `directory`. Touches the disk."""
    for workspace in workspaces:
        if os.path.realpath(workspace.path) == directory:
            return workspace.name
    return None
