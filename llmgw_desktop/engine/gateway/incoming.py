"""A client's request as it came: its bytes, the facts routing needs, and its neutral form,
parsed once and only when a target of another dialect (or a CLI) needs it translated."""

from __future__ import annotations

import dataclasses
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.facts import RequestFacts, request_facts
from llmgw_desktop.engine.gateway.ir import ChatRequest
from llmgw_desktop.engine.gateway.translation import encode_request

__all__ = ["ClientRequest"]


class ClientRequest:
    """One request from a client speaking `dialect`."""

    def __init__(
        self,
        dialect: str,
        body: dict[str, Any],
        raw: bytes | None = None,
        *,
        url_model: str | None = None,
        stream: bool | None = None,
    ) -> None:
        self.dialect: Dialect = DIALECTS[dialect]
        # Its dialect's name: read some eight times a request, an attribute, not a property.
        self.name: str = self.dialect.name
        self.body = body
        # The bytes as they came; made from `body` for callers that have only the object.
        self.raw = raw if raw is not None else jsonio.dumps(body)
        self.url_model = url_model
        self.facts: RequestFacts = request_facts(
            dialect, body, size=len(self.raw), url_model=url_model, stream=stream
        )
        self._neutral: ChatRequest | None = None
        self._refusal: InvalidRequest | None = None
        # The neutral form as last sent to a target (`for_target`): a route builds it again
        # for the same target (with a budget's output limit), and a copy of a frozen request
        # costs a setattr per field.
        self._for_target: ChatRequest | None = None

    def neutral(self) -> ChatRequest:
        """The request in neutral form (parsed on first use, then remembered).

        Raises:
            InvalidRequest: the body is malformed for translation (named field), or nested
                too deeply to be written again.
            Untranslatable: it uses something no other dialect can carry.
        """
        if self._refusal is not None:
            raise self._refusal
        if self._neutral is None:
            try:
                # Nested deeper than JSON is written again, a body could not be sent translated
                # anyway, and the translators' walks of it would recurse as deep (a 500).
                encode_request(self.body)
                parsed = self.dialect.parse_request(self.body, model=self.url_model)
            except InvalidRequest as exc:
                self._refusal = exc
                raise
            self._neutral = dataclasses.replace(parsed, stream=self.facts.stream)
        return self._neutral

    def for_target(self, model: str) -> ChatRequest:
        """The neutral form as a target is asked: its `model`, with usage in a stream (the
        recorder counts it).

        Raises:
            InvalidRequest, Untranslatable: as `neutral`.
        """
        request = self._for_target
        if request is None or request.model != model:
            request = self._for_target = dataclasses.replace(
                self.neutral(), model=model, stream_usage=True
            )
        return request

    def stub(self, model: str) -> ChatRequest:
        """A neutral request with just what a stream encoder needs (for an error frame)."""
        return ChatRequest(
            model=model, messages=(), stream=True, stream_usage=self.facts.stream_usage
        )
