"""Validation across models: the same question to several providers, read into one shape.

Each reviewer is an ordinary provider call run by the `CallRunner`, so each is a durable job:
if the answers take longer than the synchronous deadline, the result lists the job ids still
running and the caller collects them later. A reviewer that failed, answered nothing, or gave
no readable verdict is reported with its status and never counted as agreeing. When the caller
names no providers, the service picks the default panel (`panel`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.words import unknown_names
from llmgw_desktop.engine.calls import Call, CallParams, CallRunner, Deferred, Outcome, RequestMeta
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.validation.api_answer import ApiAnswer, ChatGateway, ask_api_provider
from llmgw_desktop.engine.validation.verdicts import Reading, read_review, read_truth

__all__ = [
    "DEFAULT_PANEL",
    "PANEL_SIZE",
    "Reviewer",
    "ValidationService",
    "summarize",
]

MAX_REVIEWERS = 8
# The providers asked when the caller names none, in this order of preference: the first
# PANEL_SIZE that are installed and switched on.
DEFAULT_PANEL = ("claude", "codex", "gemini", "grok", "copilot", "opencode", "mistral")
PANEL_SIZE = 3
# Reviewers only read: each runs in its CLI's read-only mode.
READ_ONLY: dict[str, str] = {}


# (project, principal, provider or None) -> the model a question naming none is asked of.
ModelToAsk = Callable[[str | None, str, str | None], Awaitable[str]]


@dataclass(frozen=True)
class Reviewer:
    provider: str
    model: str | None = None


class ValidationService:
    """Picks the reviewers, fans a question out to them as jobs and reads their answers."""

    def __init__(
        self,
        runner: CallRunner,
        *,
        discovery: Discovery,
        is_enabled: Callable[[str], bool],
        model_to_ask: ModelToAsk,
        gateway: ChatGateway | None = None,
        is_api_provider: Callable[[str], bool] = lambda _provider: False,
    ) -> None:
        """`gateway` asks API providers and local model servers (`is_api_provider` names
        them); without it only the coding CLIs can be asked. `model_to_ask(project,
        principal, provider)`: the model a question naming none is asked of
        (`ProvidersService.model_to_ask`)."""
        self._runner = runner
        self._discovery = discovery
        self._is_enabled = is_enabled
        self._model_to_ask = model_to_ask
        self._gateway = gateway
        self._is_api_provider = is_api_provider

    async def ask(
        self,
        provider: str | None,
        prompt: str,
        principal: str,
        *,
        model: str | None,
        meta: RequestMeta,
    ) -> Outcome | ApiAnswer:
        """Ask one provider one question in a fresh conversation: a coding CLI as a job (its
        outcome, deferred past the sync deadline), an API provider through the gateway. An
        API provider asked without a model is asked its first model that answers; no provider
        and no model, the model a prompt naming none is asked of (`model_to_ask`); a model
        without a provider, whoever owns it, through the gateway.

        Raises:
            InvalidRequest: `provider` is neither a CLI nor an API provider, or nothing answers
                (code `no_provider_available`).
            EngineError: the call was refused or failed (see `ProviderCalls.submit` and
                `GatewayService.chat`).
        """
        clis = self._discovery.catalog
        if provider is not None and provider in clis:
            params = CallParams(prompt=prompt, model=model, create_new_session=True)
            return await self._runner.run(Call(provider, params, principal, meta))
        if self._gateway is not None and (provider is None or self._is_api_provider(provider)):
            if not model:
                model = await self._model_to_ask(meta.project, principal, provider)
            return await ask_api_provider(self._gateway, provider, model, prompt, principal, meta)
        raise InvalidRequest(
            f"unknown provider {provider!r}: name a coding CLI ({', '.join(clis.ids)}) or an "
            "API provider the gateway knows (GET /v1/providers, or the list_models tool)",
            code=ErrorCode.UNKNOWN_PROVIDER,
            param="provider",
        )

    async def panel(
        self, providers: list[str] | None, models: dict[str, str] | None
    ) -> list[Reviewer]:
        """The reviewers to ask: the providers named, else the default panel.

        Raises:
            InvalidRequest: an unknown provider is named (`param: providers`), or none is
                named and no provider CLI is installed and switched on (`no_reviewers`).
        """
        if providers:
            unknown = [p for p in providers if p not in self._discovery.catalog]
            if unknown:
                known = self._discovery.catalog.ids
                raise InvalidRequest(unknown_names("provider", unknown, known), param="providers")
            chosen = list(providers)
        else:
            statuses = {s.provider: s for s in await self._discovery.statuses()}
            chosen = [p for p in DEFAULT_PANEL if statuses[p].installed and self._is_enabled(p)][
                :PANEL_SIZE
            ]
            if not chosen:
                raise InvalidRequest(
                    "no provider CLI is installed and switched on to ask",
                    code=ErrorCode.NO_REVIEWERS,
                )
        return [Reviewer(p, (models or {}).get(p)) for p in chosen]

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
        results = await asyncio.gather(
            *(self._ask(r, prompt, principal, meta, working_dir, truth) for r in reviewers)
        )
        return {"reviewers": results, "summary": summarize(results)}

    async def _ask(
        self,
        reviewer: Reviewer,
        prompt: str,
        principal: str,
        meta: RequestMeta,
        wd: str | None,
        truth: bool,
    ) -> dict[str, Any]:
        params = CallParams(
            prompt=prompt,
            model=reviewer.model,
            create_new_session=True,  # independent reads: never continue a conversation
            permission_mode=READ_ONLY.get(reviewer.provider, "plan"),
            working_dir=wd,
        )
        entry: dict[str, Any] = {"provider": reviewer.provider, "model": reviewer.model}
        try:
            outcome = await self._runner.run(Call(reviewer.provider, params, principal, meta))
        except EngineError as error:
            return entry | {"status": "failed", "error": error.to_dict()}
        return _read(entry, reviewer, outcome, truth)


def _read(
    entry: dict[str, Any], reviewer: Reviewer, outcome: Outcome, truth: bool
) -> dict[str, Any]:
    """One reviewer's entry: pending, failed, or its answer read into a verdict."""
    view = outcome.view
    entry["jobId"] = view.id
    if isinstance(outcome, Deferred):
        return entry | {"status": "pending"}
    if not outcome.completed or view.result is None:
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
