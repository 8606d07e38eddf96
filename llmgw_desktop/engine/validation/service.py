"""Validation across models: the same question to several providers, read into one shape.

Each reviewer is an ordinary provider call, so each is a durable job: if the answers take
longer than the synchronous deadline, the result lists the job ids still running and the
caller collects them later. A reviewer that failed, answered nothing, or gave no readable
verdict is reported with its status and never counted as agreeing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.calls import CallParams, ProviderCalls, RequestMeta
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.validation import prompts
from llmgw_desktop.engine.validation.verdicts import Reading, read_review, read_truth

__all__ = ["Reviewer", "ValidationService", "prompts", "reviewer_list", "summarize"]

MAX_REVIEWERS = 8
# Reviewers only read: each runs in its CLI's read-only mode (grok-cli has none).
READ_ONLY = {"grok": "default"}


@dataclass(frozen=True)
class Reviewer:
    provider: str
    model: str | None = None


class ValidationService:
    """Fans a question out to reviewers as jobs and reads their answers."""

    def __init__(self, calls: ProviderCalls, jobs: JobManager, *, deadline_s: float) -> None:
        self._calls = calls
        self._jobs = jobs
        self._deadline_s = deadline_s

    async def review(
        self,
        reviewers: list[Reviewer],
        prompt: str,
        principal: str,
        *,
        meta: RequestMeta,
        truth: bool = False,
        working_dir: str | None = None,
    ) -> dict[str, Any]:
        """Ask every reviewer `prompt` in parallel and read each answer.

        Raises:
            InvalidRequest: no reviewers, too many, or the same one twice.
        """
        if not reviewers:
            raise InvalidRequest("name at least one provider to ask", param="providers")
        if len(reviewers) > MAX_REVIEWERS:
            raise InvalidRequest(f"at most {MAX_REVIEWERS} reviewers", param="providers")
        keys = [(r.provider, r.model) for r in reviewers]
        if len(set(keys)) != len(keys):
            raise InvalidRequest("the same reviewer is named twice", param="providers")
        submitted = await asyncio.gather(
            *(self._submit(r, prompt, principal, meta, working_dir) for r in reviewers)
        )
        results = await asyncio.gather(
            *(
                self._collect(r, s, principal, truth)
                for r, s in zip(reviewers, submitted, strict=True)
            )
        )
        return {"reviewers": results, "summary": summarize(results)}

    async def _submit(
        self, reviewer: Reviewer, prompt: str, principal: str, meta: RequestMeta, wd: str | None
    ) -> str | EngineError:
        params = CallParams(
            prompt=prompt,
            model=reviewer.model,
            create_new_session=True,  # independent reads: never continue a conversation
            permission_mode=READ_ONLY.get(reviewer.provider, "plan"),
            working_dir=wd,
        )
        try:
            return (await self._calls.submit(reviewer.provider, params, principal, meta)).job_id
        except EngineError as error:
            return error

    async def _collect(
        self, reviewer: Reviewer, submitted: str | EngineError, principal: str, truth: bool
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"provider": reviewer.provider, "model": reviewer.model}
        if isinstance(submitted, EngineError):
            return entry | {"status": "failed", "error": submitted.to_dict()}
        view = await self._jobs.wait(submitted, principal, self._deadline_s)
        entry["jobId"] = view.id
        if not view.finished:
            return entry | {"status": "pending"}
        if view.state is not JobState.COMPLETED or view.result is None:
            return entry | {"status": "failed", "error": view.error}
        text = str(view.result.get("text", ""))
        reading: Reading = read_truth(text) if truth else read_review(text)
        status = {"empty": "empty", "unknown": "unreadable"}.get(reading.verdict, "ok")
        return entry | {
            "status": status,
            "model": view.result.get("model") or reviewer.model,
            **reading.to_dict(),
            "answer": text,
            "costUsd": view.result.get("cost_usd"),
        }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Agreement among the reviewers whose verdicts could be read; the rest are listed apart."""
    counted = [r["verdict"] for r in results if r.get("status") == "ok"]
    tally = Counter(counted)
    statuses = Counter(r["status"] for r in results)
    if len(counted) < 2:
        agreement = "insufficient"
    elif len(tally) == 1:
        agreement = "unanimous" if len(counted) == len(results) else "unanimous_among_answered"
    else:
        agreement = "split"
    top = tally.most_common(1)[0] if tally else None
    risks: Counter[str] = Counter()
    for result in results:
        for risk in result.get("risks", []):
            risks[risk.strip().lower()] += 1
    return {
        "agreement": agreement,
        "verdicts": dict(tally),
        "leading": None if top is None else {"verdict": top[0], "count": top[1]},
        "statuses": dict(statuses),
        "sharedRisks": [risk for risk, n in risks.items() if n > 1],
    }


def reviewer_list(providers: list[str] | None, models: dict[str, str] | None) -> list[Reviewer]:
    """Reviewers from a provider list and an optional provider -> model map."""
    models = models or {}
    return [Reviewer(p, models.get(p)) for p in providers or []]
