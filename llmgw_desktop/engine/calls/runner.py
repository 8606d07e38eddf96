"""How a front door runs one provider call: submit it as a durable job, wait up to a deadline,
and say whether it finished or was deferred.

This is the one place the "wait for the sync deadline, else answer with the job id" rule
lives. A deferred call is not an error: its job runs on, and the caller collects it later by
its job id (`CallRunner.collect`, or the job tools and routes built on `JobManager`). Every
front door that answers a call synchronously (the MCP request tools, `ask_model`, the review
panel) goes through `CallRunner.run`; one that answers at once uses `CallRunner.start`.

A synchronous call's job belongs to that call until its id is handed out: a caller cancelled
before its answer (an MCP client's `notifications/cancelled`, a client that went away) stops
the job, its CLI with it, since nobody else could ever collect it; a job whose id went out (a
start, a deferred answer), or that another caller waits on too, runs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.calls.provider_calls import ProviderCalls
from llmgw_desktop.engine.jobs.live import Submitted
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.jobs.model import JobState, JobView

__all__ = ["Call", "CallRunner", "Deferred", "Finished", "Outcome"]


@dataclass(frozen=True)
class Call:
    """One provider call as a front door asks for it."""

    provider: str
    params: CallParams
    principal: str
    meta: RequestMeta = field(default_factory=RequestMeta)


@dataclass(frozen=True)
class Finished:
    """The call's job ended (completed, failed or cancelled); `view` is its final state."""

    view: JobView
    # The call's flight-recorder row ("" when collected by job id alone).
    record_id: str = ""
    # True when an identical earlier call's job was reused.
    attached: bool = False

    @property
    def job_id(self) -> str:
        return self.view.id

    @property
    def completed(self) -> bool:
        """True when the job produced an answer (not failed, not cancelled)."""
        return self.view.state is JobState.COMPLETED


@dataclass(frozen=True)
class Deferred:
    """The call's job still runs past the deadline.

    Collect it by `job_id` as the same principal: `CallRunner.collect`, or `JobManager.get` /
    `JobManager.wait` (what the job tools and routes use). `view` is the job as it stood at
    the deadline (state, progress).
    """

    view: JobView
    record_id: str = ""
    attached: bool = False

    @property
    def job_id(self) -> str:
        return self.view.id


Outcome = Finished | Deferred


class CallRunner:
    """Submits calls as jobs and waits for them up to a deadline."""

    def __init__(self, calls: ProviderCalls, jobs: JobManager, *, deadline_s: float) -> None:
        self._calls = calls
        self._jobs = jobs
        self._deadline_s = deadline_s

    @property
    def deadline_s(self) -> float:
        """The synchronous deadline a `run` without one waits (`jobs.sync_deadline_ms`)."""
        return self._deadline_s

    async def start(self, call: Call) -> Outcome:
        """Submit `call` and answer at once with its job as it stands (usually deferred).

        Raises:
            EngineError: the call was refused (see `ProviderCalls.submit`).
        """
        submitted = await self._submit(call)
        # Its id goes to the caller (before any await: nothing can cut in between).
        self._jobs.keep(submitted.job_id)
        view = await self._jobs.get(submitted.job_id, call.principal)
        return _outcome(view, submitted)

    async def run(self, call: Call, deadline_s: float | None = None) -> Outcome:
        """Submit `call` and wait for its job up to `deadline_s` (default: the sync deadline).

        Raises:
            EngineError: the call was refused (see `ProviderCalls.submit`).
        """
        submitted = await self._submit(call)
        wait_s = self._deadline_s if deadline_s is None else deadline_s
        # A caller cancelled while it waits stops the job: it was never told the job's id.
        view = await self._jobs.wait_for_answer(submitted.job_id, call.principal, wait_s)
        if not view.finished:
            self._jobs.keep(submitted.job_id)  # deferred: the caller collects it by its id
        return _outcome(view, submitted)

    async def collect(self, job_id: str, principal: str, deadline_s: float) -> Outcome:
        """Wait up to `deadline_s` for a job submitted earlier.

        Raises:
            NotFound: no such job for this principal.
        """
        view = await self._jobs.wait(job_id, principal, deadline_s)
        return Finished(view) if view.finished else Deferred(view)

    async def _submit(self, call: Call) -> Submitted:
        return await self._calls.submit(call.provider, call.params, call.principal, call.meta)


def _outcome(view: JobView, submitted: Submitted) -> Outcome:
    if view.finished:
        return Finished(view, submitted.record_id, submitted.attached)
    return Deferred(view, submitted.record_id, submitted.attached)
