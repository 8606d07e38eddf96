"""The dialect translators by name (`openai-chat`, `openai-responses`, `anthropic`, `gemini`),
the dialects requests are sent in (those four and Bedrock's Converse, loaded when first asked
for: its stream framing needs botocore), and where a call in one of them goes (`addressed`)."""

from __future__ import annotations

import functools

from llmgw_desktop.config.api_catalog import DIALECT_BEDROCK_CONVERSE
from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.base import Dialect, FrameParser, UpstreamDialect
from llmgw_desktop.engine.gateway.dialects.gemini import GeminiDialect
from llmgw_desktop.engine.gateway.dialects.openai_chat import OpenAIChatDialect
from llmgw_desktop.engine.gateway.dialects.openai_responses import OpenAIResponsesDialect
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamTarget

__all__ = ["DIALECTS", "addressed", "frame_parser", "upstream_dialect"]

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


# Attempts' upstreams kept by what makes them (a route's few targets and keys): each request's
# attempt would otherwise build the same frozen target, its URL and its credential header again.
ADDRESSES_KEPT = 256


@functools.lru_cache(maxsize=ADDRESSES_KEPT)
def addressed(
    provider: str,
    base_url: str,
    dialect: str,
    model: str,
    api_key: str | None,
    key_label: str,
    *,
    stream: bool = False,
    count_tokens: bool = False,
    endpoint: str | None = None,
    operation: str = "",
) -> UpstreamTarget:
    """One attempt's upstream, spoken to in `dialect`: the URL that dialect names for the call
    (or the kind's own `endpoint`: an embedding's, a completion's), and the headers its key goes
    in. A dialect no client speaks (Bedrock's Converse) is a cloud's, whose wire decides both.
    The same arguments give the same (immutable) target: it is made once and kept."""
    found = DIALECTS.get(dialect)
    if found is not None and endpoint is None:
        endpoint = found.upstream_url(base_url, model, stream=stream, count_tokens=count_tokens)
    return UpstreamTarget(
        provider,
        base_url,
        dialect,
        model,
        api_key,
        key_label,
        operation,
        endpoint or "",
        credential=() if found is None else found.credential(api_key),
        defaults=() if found is None else found.default_headers,
    )
