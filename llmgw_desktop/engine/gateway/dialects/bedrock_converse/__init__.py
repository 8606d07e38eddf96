"""Amazon Bedrock's Converse API (`POST /model/{modelId}/converse`, `/converse-stream`), to and
from the neutral form; spoken only to Bedrock, never by a client.

Requests are rendered from any client's dialect, answers parsed back, and ConverseStream's
events decoded once the AWS event-stream framing has been taken off (by botocore's parser, in
`clouds/eventstream.py`). Usage keeps Bedrock's cache reads and writes apart, as the neutral
form does.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.dialects.bedrock_converse.request import render_request
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.response import parse_response
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.stream import ConverseStreamDecoder
from llmgw_desktop.engine.gateway.ir import ChatRequest, ChatResponse
from llmgw_desktop.engine.gateway.translation import TargetModel

__all__ = ["ConverseDialect"]


class ConverseDialect:
    """Bedrock Converse: rendered for Bedrock, its answers parsed back."""

    name = "bedrock-converse"

    def render_request(
        self,
        request: ChatRequest,
        *,
        target: TargetModel | None = None,
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """The Converse body (the model and whether it streams are in the URL).

        Raises:
            Untranslatable: a part has no form in Converse (an image by URL).
        """
        return render_request(request, target=target, notes=notes)

    def parse_response(self, body: Any) -> ChatResponse:
        """A Converse answer.

        Raises:
            UpstreamMalformed: the body is not a Converse answer.
        """
        return parse_response(body)

    def stream_decoder(self) -> ConverseStreamDecoder:
        return ConverseStreamDecoder()
