"""The dialect translators by name (`openai-chat`, `openai-responses`, `anthropic`, `gemini`)."""

from __future__ import annotations

from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.dialects.gemini import GeminiDialect
from llmgw_desktop.engine.gateway.dialects.openai_chat import OpenAIChatDialect
from llmgw_desktop.engine.gateway.dialects.openai_responses import OpenAIResponsesDialect

__all__ = ["DIALECTS"]

# The translators keep no state between calls, so one instance of each serves every request.
DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (OpenAIChatDialect(), OpenAIResponsesDialect(), AnthropicDialect(), GeminiDialect())
}
