"""What a recorded request can be replayed with: its messages as the Playground sends them, the
model it went to, and the answer it got, read from what the recorder kept.

A job (a CLI's run) keeps its redacted prompt and answer, so it can always be replayed as one
user message. A gateway request can be replayed only when `recorder.capture` kept its bodies:
the request, in whatever dialect the client spoke (OpenAI chat or Responses, Anthropic,
Gemini), is read by that dialect's own translator and written as OpenAI chat messages (the
Playground's dialect); the answer, whole or streamed, is read back the same way. Only the
messages are replayed (their system prompt included): a request's tools and sampling settings
are not, and `ReplayPlan.note` says so when it had any. No Qt here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    DIALECTS,
    EngineError,
    KeptBodies,
    RecordDetail,
    SseParser,
)

__all__ = ["NOT_CAPTURED", "ReplayPlan", "replay_plan"]

NOT_CAPTURED = "Body not captured"
# The model a Gemini request names in its URL (`/v1beta/models/gemini-2.5-flash:generate...`).
_URL_MODEL = re.compile(r"/models/([^/:?]+)")
_LEFT_OUT = ("tools", "temperature", "top_p", "response_format", "reasoning_effort")


@dataclass(frozen=True)
class ReplayPlan:
    """A recorded request as the Playground can send it again, or why it cannot be."""

    messages: tuple[dict[str, Any], ...] = ()
    model: str = ""  # the model it went to (or was asked for)
    answer: str = ""  # the answer it got, as text ("" without one)
    why_not: str = ""  # "" when it can be replayed
    note: str = ""  # what a replay leaves out ("its tools and settings are not replayed")

    @property
    def possible(self) -> bool:
        return not self.why_not and bool(self.messages)


def replay_plan(detail: RecordDetail) -> ReplayPlan:
    """How to replay the request of `detail` (a job's prompt, or the kept request body)."""
    record = detail.record
    model = str(record.get("model") or record.get("requested_model") or "")
    if record.get("job_id"):
        if not detail.job_found or not detail.prompt:
            return ReplayPlan(model=model, why_not="Its job is no longer kept")
        message = {"role": "user", "content": detail.prompt}
        return ReplayPlan((message,), model, detail.response or "")
    if detail.bodies is None:
        return ReplayPlan(model=model, why_not=NOT_CAPTURED)
    try:
        return _from_bodies(detail.bodies, model)
    except (ValueError, KeyError, EngineError) as exc:
        return ReplayPlan(model=model, why_not=f"Its kept request cannot be read: {exc}")


def _from_bodies(bodies: KeptBodies, model: str) -> ReplayPlan:
    if bodies.request_cut:
        return ReplayPlan(model=model, why_not="Its kept request was cut (too long to keep)")
    dialect = DIALECTS.get(bodies.dialect)
    if dialect is None:
        return ReplayPlan(model=model, why_not=f"Its dialect ({bodies.dialect}) is not read")
    body = json.loads(bodies.request)
    url_model = _URL_MODEL.search(bodies.endpoint)
    request = dialect.parse_request(body, model=url_model.group(1) if url_model else None)
    chat = DIALECTS[DIALECT_OPENAI_CHAT]
    messages = tuple(chat.render_request(request)["messages"])
    left_out = [name for name in _LEFT_OUT if getattr(request, name, None)]
    note = f"Not replayed: its {', '.join(left_out)}." if left_out else ""
    return ReplayPlan(messages, model or request.model, _answer(bodies, request), note=note)


def _answer(bodies: KeptBodies, request: Any) -> str:
    """The answer's text as the client got it, read by its dialect ("" when it cannot be)."""
    dialect = DIALECTS[bodies.dialect]
    chat = DIALECTS[DIALECT_OPENAI_CHAT]
    try:
        if not bodies.stream:
            rendered = chat.render_response(dialect.parse_response(json.loads(bodies.response)))
            return "".join(_contents(rendered))
        # A stream: its events decoded by its own dialect, written again as OpenAI chat
        # chunks, whose text deltas are the answer.
        decoder = dialect.stream_decoder()
        encoder = chat.stream_encoder(request)
        written = b""
        for frame in SseParser().feed(bodies.response.encode("utf-8")):
            for event in decoder.feed(frame):
                written += encoder.encode(event)
        for event in decoder.close():
            written += encoder.encode(event)
        pieces = []
        for _name, data in SseParser().feed(written + b"\n\n"):
            if data.strip() == "[DONE]":
                continue
            chunk = json.loads(data)
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if isinstance(content, str):
                    pieces.append(content)
        return "".join(pieces)
    except (ValueError, KeyError, TypeError, EngineError):
        return ""


def _contents(rendered: dict[str, Any]) -> list[str]:
    found = []
    for choice in rendered.get("choices") or []:
        content = (choice.get("message") or {}).get("content")
        if isinstance(content, str):
            found.append(content)
    return found
