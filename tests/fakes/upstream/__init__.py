"""A scripted fake LLM upstream (Anthropic, OpenAI Responses/Chat, Gemini) for offline tests.

async with ScriptedUpstream() as up:
    up.script(Reply.error(429, retry_after_s=1), Reply.ok("hello"))
    up.script(Reply.tool_call("get_weather", {"city": "Paris"}))  # then a tool call
    ...point a CLI or SDK at up.base_url...
    first, second = await up.wait_for_requests(2)  # the LLM calls so far
"""

from __future__ import annotations

from .schema import fill_schema
from .script import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    COUNT_TOKENS_ANSWER,
    DEFAULT_ANSWER,
    DEFAULT_CALL_ID,
    GEMINI_CACHED_TOKENS,
    GEMINI_CANDIDATES_TOKENS,
    GEMINI_PROMPT_TOKENS,
    GEMINI_THOUGHTS_TOKENS,
    OPENAI_CACHED_TOKENS,
    OPENAI_OUTPUT_TOKENS,
    OPENAI_PROMPT_TOKENS,
    OPENAI_REASONING_TOKENS,
    Dialect,
    RecordedRequest,
    Reply,
    ReplyKind,
    ToolCall,
)
from .server import ScriptedUpstream

__all__ = [
    "ANTHROPIC_CACHE_CREATION_TOKENS",
    "ANTHROPIC_CACHE_READ_TOKENS",
    "ANTHROPIC_INPUT_TOKENS",
    "ANTHROPIC_OUTPUT_TOKENS",
    "COUNT_TOKENS_ANSWER",
    "DEFAULT_ANSWER",
    "DEFAULT_CALL_ID",
    "GEMINI_CACHED_TOKENS",
    "GEMINI_CANDIDATES_TOKENS",
    "GEMINI_PROMPT_TOKENS",
    "GEMINI_THOUGHTS_TOKENS",
    "OPENAI_CACHED_TOKENS",
    "OPENAI_OUTPUT_TOKENS",
    "OPENAI_PROMPT_TOKENS",
    "OPENAI_REASONING_TOKENS",
    "Dialect",
    "RecordedRequest",
    "Reply",
    "ReplyKind",
    "ScriptedUpstream",
    "ToolCall",
    "fill_schema",
]
