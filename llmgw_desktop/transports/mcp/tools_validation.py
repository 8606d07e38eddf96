"""Validation tools: ask one model, second opinions, multi-model review, red team, consensus,
local comparison, and a judge over collected results."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from llmgw_desktop.engine.call_params import CallParams, RequestMeta
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.providers.cli_catalog import PROVIDER_IDS
from llmgw_desktop.engine.validation import prompts
from llmgw_desktop.engine.validation.compare import Answer, compare_answers
from llmgw_desktop.engine.validation.service import Reviewer
from llmgw_desktop.engine.validation.verdicts import read_review
from llmgw_desktop.transports.mcp.caller import caller_of
from llmgw_desktop.transports.mcp.results import failure, guarded, success
from llmgw_desktop.transports.mcp.tools_providers import job_answer

__all__ = ["register_validation_tools"]

DEFAULT_PANEL = ("claude", "codex", "gemini", "grok", "copilot", "opencode", "mistral")
PANEL_SIZE = 3


class AnswerInput(BaseModel):
    source: str = Field(description="Who gave the answer (a model or person).")
    text: str = Field(description="The answer.")


Providers = Annotated[
    list[str] | None,
    Field(description="Providers to ask; default: up to three installed and switched on."),
]
Models = Annotated[
    dict[str, str] | None, Field(description='A model per provider, e.g. {"codex": "gpt-5"}.')
]


def register_validation_tools(server: MCPServer, engine: Engine) -> None:
    async def panel(providers: list[str] | None, models: dict[str, str] | None) -> list[Reviewer]:
        if providers:
            unknown = [p for p in providers if p not in PROVIDER_IDS]
            if unknown:
                raise InvalidRequest(f"unknown provider(s) {unknown}", param="providers")
            chosen = list(providers)
        else:
            statuses = {s.provider: s for s in await engine.discovery.statuses()}
            chosen = [
                p for p in DEFAULT_PANEL if statuses[p].installed and engine.is_provider_enabled(p)
            ][:PANEL_SIZE]
            if not chosen:
                raise InvalidRequest(
                    "no provider CLI is installed and switched on to ask", code="no_reviewers"
                )
        return [Reviewer(p, (models or {}).get(p)) for p in chosen]

    def meta(ctx: Context, tool: str) -> tuple[str, RequestMeta]:
        who = caller_of(ctx)
        return who.principal, RequestMeta(transport=who.transport, tool=tool, caller=who.client)

    @guarded
    async def ask_model(
        ctx: Context,
        provider: Annotated[str, Field(description="Which provider to ask.")],
        prompt: Annotated[str, Field(description="The question.")],
        model: Annotated[str | None, Field(description="Model; default: the CLI's own.")] = None,
    ) -> CallToolResult:
        """Just ask one model one question, in a fresh conversation, and wait for the answer."""
        principal, request_meta = meta(ctx, "ask_model")
        params = CallParams(prompt=prompt, model=model, create_new_session=True)
        submitted = await engine.calls.submit(provider, params, principal, request_meta)
        view = await engine.jobs.wait(
            submitted.job_id, principal, engine.settings.sync_deadline_ms / 1000
        )
        if not view.finished:
            return success({"deferred": True, "jobId": view.id, "state": view.state.value})
        if view.state is not JobState.COMPLETED:
            return failure(view.error or {"code": view.state.value}, jobId=view.id)
        return success(job_answer(view))

    async def reviewed(
        ctx: Context,
        tool: str,
        providers: list[str] | None,
        models: dict[str, str] | None,
        prompt: str,
        *,
        truth: bool = False,
        working_dir: str | None = None,
    ) -> dict[str, Any]:
        principal, request_meta = meta(ctx, tool)
        reviewers = await panel(providers, models)
        return await engine.validation.review(
            reviewers, prompt, principal, meta=request_meta, truth=truth, working_dir=working_dir
        )

    @guarded
    async def second_opinion(
        ctx: Context,
        content: Annotated[str, Field(description="The work or claim to review.")],
        provider: Annotated[str, Field(description="Who gives the second opinion.")],
        question: Annotated[str | None, Field(description="What to judge.")] = None,
        context: Annotated[str | None, Field(description="Background the reviewer needs.")] = None,
        model: Annotated[str | None, Field(description="Model for that provider.")] = None,
    ) -> CallToolResult:
        """One independent review with a normalised verdict, rationale and risks."""
        prompt = prompts.review(content, question=question, context=context)
        models = {provider: model} if model else None
        return success(await reviewed(ctx, "second_opinion", [provider], models, prompt))

    @guarded
    async def validate_with_models(
        ctx: Context,
        claim: Annotated[str, Field(description="The claim or work every model judges.")],
        providers: Providers = None,
        models: Models = None,
        context: Annotated[str | None, Field(description="Background the reviewers need.")] = None,
        question: Annotated[str | None, Field(description="What to judge.")] = None,
        workingDir: Annotated[
            str | None, Field(description="Directory the reviewers may read.")
        ] = None,
    ) -> CallToolResult:
        """The same claim to several models in parallel (each a durable job); where they agree."""
        prompt = prompts.review(claim, question=question, context=context)
        return success(
            await reviewed(
                ctx, "validate_with_models", providers, models, prompt, working_dir=workingDir
            )
        )

    @guarded
    async def red_team_review(
        ctx: Context,
        content: Annotated[str, Field(description="What to attack.")],
        providers: Providers = None,
        models: Models = None,
        focus: Annotated[str | None, Field(description="Where to look hardest.")] = None,
    ) -> CallToolResult:
        """An adversarial pass by several models; risks flagged by more than one are listed."""
        prompt = prompts.red_team(content, focus=focus)
        return success(await reviewed(ctx, "red_team_review", providers, models, prompt))

    @guarded
    async def consensus_check(
        ctx: Context,
        claim: Annotated[str, Field(description="A claim that is true or false.")],
        providers: Providers = None,
        models: Models = None,
        context: Annotated[str | None, Field(description="Evidence to consider.")] = None,
    ) -> CallToolResult:
        """Whether the models agree a claim is true: true, false or uncertain per model."""
        prompt = prompts.consensus(claim, context=context)
        return success(
            await reviewed(ctx, "consensus_check", providers, models, prompt, truth=True)
        )

    @guarded
    async def compare_answers_tool(
        ctx: Context,
        answers: Annotated[
            list[AnswerInput], Field(description="Two or more answers to compare.", min_length=2)
        ],
    ) -> CallToolResult:
        """Compare answers locally (no model is called): verdicts, agreement, differing points."""
        return success(compare_answers([Answer(a.source, a.text) for a in answers]))

    @guarded
    async def synthesize_validation(
        ctx: Context,
        subject: Annotated[str, Field(description="What was reviewed.")],
        reviews: Annotated[
            list[AnswerInput], Field(description="The reviews collected so far.", min_length=1)
        ],
        judge: Annotated[str, Field(description="The provider that judges.")] = "claude",
        model: Annotated[str | None, Field(description="Model for the judge.")] = None,
    ) -> CallToolResult:
        """A judge model weighs collected reviews and gives the final verdict."""
        prompt = prompts.synthesis(subject, [(r.source, r.text) for r in reviews])
        models = {judge: model} if model else None
        report = await reviewed(ctx, "synthesize_validation", [judge], models, prompt)
        report["inputVerdicts"] = {r.source: read_review(r.text).verdict for r in reviews}
        return success(report)

    open_world = ToolAnnotations(open_world_hint=True)
    for fn in (
        ask_model,
        second_opinion,
        validate_with_models,
        red_team_review,
        consensus_check,
        synthesize_validation,
    ):
        server.add_tool(fn, annotations=open_world)
    server.add_tool(
        compare_answers_tool,
        name="compare_answers",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
