"""Validation tools: ask one model, second opinions, multi-model review, red team, consensus,
local comparison, and a judge over collected results.

The engine's validation service picks the default panel and runs each reviewer; these tools
only build the prompt and translate arguments and results.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import (
    Answer,
    ApiAnswer,
    Engine,
    RequestMeta,
    compare_answers,
    prompts,
    read_review,
)
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.results import outcome_answer, success
from llmgw_desktop.transports.mcp.tools.providers import Project

__all__ = [
    "AnswerInput",
    "AskModelInput",
    "CompareInput",
    "ConsensusInput",
    "RedTeamInput",
    "SecondOpinionInput",
    "SynthesisInput",
    "ValidateInput",
    "ask_model",
    "compare_answers_tool",
    "consensus_check",
    "red_team_review",
    "second_opinion",
    "synthesize_validation",
    "validate_with_models",
]


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


class AskModelInput(BaseModel):
    provider: Annotated[
        str | None,
        Field(
            description="Who to ask: a coding CLI (claude) or an API provider (openai); "
            "default: the model named, else the first model that answers."
        ),
    ] = None
    prompt: Annotated[str, Field(description="The question.")]
    model: Annotated[
        str | None,
        Field(
            description="Model; default: the CLI's own, or the API provider's first that "
            "answers (list_models names them)."
        ),
    ] = None
    project: Project = None


class SecondOpinionInput(BaseModel):
    content: Annotated[str, Field(description="The work or claim to review.")]
    provider: Annotated[str, Field(description="Who gives the second opinion.")]
    question: Annotated[str | None, Field(description="What to judge.")] = None
    context: Annotated[str | None, Field(description="Background the reviewer needs.")] = None
    model: Annotated[str | None, Field(description="Model for that provider.")] = None
    project: Project = None


class ValidateInput(BaseModel):
    claim: Annotated[str, Field(description="The claim or work every model judges.")]
    providers: Providers = None
    models: Models = None
    context: Annotated[str | None, Field(description="Background the reviewers need.")] = None
    question: Annotated[str | None, Field(description="What to judge.")] = None
    workingDir: Annotated[str | None, Field(description="Directory the reviewers may read.")] = None
    project: Project = None


class RedTeamInput(BaseModel):
    content: Annotated[str, Field(description="What to attack.")]
    providers: Providers = None
    models: Models = None
    focus: Annotated[str | None, Field(description="Where to look hardest.")] = None
    project: Project = None


class ConsensusInput(BaseModel):
    claim: Annotated[str, Field(description="A claim that is true or false.")]
    providers: Providers = None
    models: Models = None
    context: Annotated[str | None, Field(description="Evidence to consider.")] = None
    project: Project = None


class CompareInput(BaseModel):
    answers: Annotated[
        list[AnswerInput], Field(description="Two or more answers to compare.", min_length=2)
    ]


class SynthesisInput(BaseModel):
    subject: Annotated[str, Field(description="What was reviewed.")]
    reviews: Annotated[
        list[AnswerInput], Field(description="The reviews collected so far.", min_length=1)
    ]
    judge: Annotated[str, Field(description="The provider that judges.")] = "claude"
    model: Annotated[str | None, Field(description="Model for the judge.")] = None
    project: Project = None


def _meta(caller: Caller, tool: str, project: str | None) -> RequestMeta:
    """How the call arrived, with its project (`Caller.project`: a job's key pins it, else the
    `project` argument, else X-Project) and the credential proven.

    Raises:
        InvalidRequest: the project name is not a plain identifier.
    """
    return RequestMeta(
        transport=caller.transport,
        tool=tool,
        caller=caller.client,
        project=caller.project(project),
        proven=caller.as_principal,
    )


async def _reviewed(
    engine: Engine,
    caller: Caller,
    tool: str,
    providers: list[str] | None,
    models: dict[str, str] | None,
    prompt: str,
    *,
    project: str | None,
    truth: bool = False,
    working_dir: str | None = None,
) -> dict[str, Any]:
    meta = _meta(caller, tool, project)  # a wrong project fails before the panel is chosen
    reviewers = await engine.validation.panel(providers, models)
    return await engine.validation.review(
        reviewers,
        prompt,
        caller.principal,
        meta=meta,
        truth=truth,
        working_dir=working_dir,
    )


async def ask_model(engine: Engine, caller: Caller, inputs: AskModelInput) -> CallToolResult:
    """Just ask one model one question, in a fresh conversation, and wait for the answer."""
    meta = _meta(caller, "ask_model", inputs.project)
    answer = await engine.validation.ask(
        inputs.provider, inputs.prompt, caller.principal, model=inputs.model, meta=meta
    )
    if not isinstance(answer, ApiAnswer):
        return outcome_answer(answer)
    usage = answer.usage
    return success(
        {
            "provider": answer.provider,
            "model": answer.model,
            "state": "completed",
            "text": answer.text,
            "stopReason": answer.stop_reason,
            "usage": {
                "inputTokens": usage.input_tokens,
                "outputTokens": usage.output_tokens,
                "cacheReadTokens": usage.cache_read_tokens,
                "cacheWriteTokens": usage.cache_write_tokens,
                "reasoningTokens": usage.reasoning_tokens,
                "totalInputTokens": usage.total_input_tokens,
            },
            "requestId": answer.request_id,
        }
    )


async def second_opinion(
    engine: Engine, caller: Caller, inputs: SecondOpinionInput
) -> CallToolResult:
    """One independent review with a normalised verdict, rationale and risks."""
    prompt = prompts.review(inputs.content, question=inputs.question, context=inputs.context)
    models = {inputs.provider: inputs.model} if inputs.model else None
    return success(
        await _reviewed(
            engine,
            caller,
            "second_opinion",
            [inputs.provider],
            models,
            prompt,
            project=inputs.project,
        )
    )


async def validate_with_models(
    engine: Engine, caller: Caller, inputs: ValidateInput
) -> CallToolResult:
    """The same claim to several models in parallel (each a durable job); where they agree."""
    prompt = prompts.review(inputs.claim, question=inputs.question, context=inputs.context)
    return success(
        await _reviewed(
            engine,
            caller,
            "validate_with_models",
            inputs.providers,
            inputs.models,
            prompt,
            project=inputs.project,
            working_dir=inputs.workingDir,
        )
    )


async def red_team_review(engine: Engine, caller: Caller, inputs: RedTeamInput) -> CallToolResult:
    """An adversarial pass by several models; risks flagged by more than one are listed."""
    prompt = prompts.red_team(inputs.content, focus=inputs.focus)
    return success(
        await _reviewed(
            engine,
            caller,
            "red_team_review",
            inputs.providers,
            inputs.models,
            prompt,
            project=inputs.project,
        )
    )


async def consensus_check(engine: Engine, caller: Caller, inputs: ConsensusInput) -> CallToolResult:
    """Whether the models agree a claim is true: true, false or uncertain per model."""
    prompt = prompts.consensus(inputs.claim, context=inputs.context)
    return success(
        await _reviewed(
            engine,
            caller,
            "consensus_check",
            inputs.providers,
            inputs.models,
            prompt,
            project=inputs.project,
            truth=True,
        )
    )


async def compare_answers_tool(
    engine: Engine, caller: Caller, inputs: CompareInput
) -> CallToolResult:
    """Compare answers locally (no model is called): verdicts, agreement, differing points."""
    return success(compare_answers([Answer(a.source, a.text) for a in inputs.answers]))


async def synthesize_validation(
    engine: Engine, caller: Caller, inputs: SynthesisInput
) -> CallToolResult:
    """A judge model weighs collected reviews and gives the final verdict."""
    prompt = prompts.synthesis(inputs.subject, [(r.source, r.text) for r in inputs.reviews])
    models = {inputs.judge: inputs.model} if inputs.model else None
    report = await _reviewed(
        engine,
        caller,
        "synthesize_validation",
        [inputs.judge],
        models,
        prompt,
        project=inputs.project,
    )
    report["inputVerdicts"] = {r.source: read_review(r.text).verdict for r in inputs.reviews}
    return success(report)
