"""The dialect translators by name (`openai-chat`, `openai-responses`, `anthropic`, `gemini`),
and the dialects requests are sent in: those four and Bedrock's Converse, loaded when first
asked for (its stream framing needs botocore)."""

from __future__ import annotations

from llmgw_desktop.config.api_catalog import DIALECT_BEDROCK_CONVERSE
from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.base import Dialect, FrameParser, UpstreamDialect
from llmgw_desktop.engine.gateway.dialects.gemini import GeminiDialect
from llmgw_desktop.engine.gateway.dialects.openai_chat import OpenAIChatDialect
from llmgw_desktop.engine.gateway.dialects.openai_responses import OpenAIResponsesDialect

__all__ = ["DIALECTS", "frame_parser", "upstream_dialect"]

# The translators keep no state between calls, so one instance of each serves every request.
DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (OpenAIChatDialect(), OpenAIResponsesDialect(), AnthropicDialect(), GeminiDialect())
}


def upstream_dialect(name: str) -> UpstreamDialect:
    """The dialect an upstream is sent `name` in (a client's, or Bedrock's Converse).

    Raises:
        KeyError: no dialect has that name.
    """
    found = DIALECTS.get(name)
    if found is not None:
        return found
    if name == DIALECT_BEDROCK_CONVERSE:
        from llmgw_desktop.engine.gateway.dialects.bedrock_converse import ConverseDialect

        return ConverseDialect()
    raise KeyError(name)


def frame_parser(name: str, max_event_bytes: int) -> FrameParser | None:
    """The parser of an upstream's stream in dialect `name` when it is not server-sent events
    (None: SSE, the stream relay's own).

    Raises:
        CloudNotReady: botocore, which parses Bedrock's event stream, is not installed.
    """
    if name != DIALECT_BEDROCK_CONVERSE:
        return None
    from llmgw_desktop.engine.gateway.clouds.eventstream import EventStreamFramer

    return EventStreamFramer(max_event_bytes)
