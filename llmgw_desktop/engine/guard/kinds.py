"""The guard's decision on the kinds of call besides a chat: what an embedding or a text
completion is sent with its secrets replaced, and a completion's text with them put back (a
chat's are `Decision.request` and `Decision.answer`).

An embedding is of the text with placeholders: a vector has nothing to put back, and is of
the text without the secret, which is what a search over it should find anyway.
"""

from __future__ import annotations

import dataclasses

from llmgw_desktop.engine.gateway.completions.request import FimRequest
from llmgw_desktop.engine.gateway.completions.targets import Completion
from llmgw_desktop.engine.gateway.embeddings.request import EmbedRequest
from llmgw_desktop.engine.guard.restore import TextRestorer
from llmgw_desktop.engine.guard.service import Decision
from llmgw_desktop.engine.guard.stream_text import TextRewriter, rewritten_pieces

__all__ = ["completion_answer", "completion_sent", "embedding_sent"]


def embedding_sent(decision: Decision, request: EmbedRequest) -> EmbedRequest:
    """The embedding request a target is sent (each text with placeholders)."""
    redaction = decision.redaction
    if redaction is None:
        return request
    inputs = tuple(redaction.text(i) if isinstance(i, str) else i for i in request.inputs)
    return dataclasses.replace(request, inputs=inputs, body=redaction.body(request.body))


def completion_sent(decision: Decision, request: FimRequest) -> FimRequest:
    """The text completion a target is sent (its prompt and suffix with placeholders)."""
    redaction = decision.redaction
    if redaction is None:
        return request
    suffix = None if request.suffix is None else redaction.text(request.suffix)
    return dataclasses.replace(
        request,
        prompt=redaction.text(request.prompt),
        suffix=suffix,
        body=redaction.body(request.body),
    )


def completion_answer(decision: Decision, answer: Completion) -> Completion:
    """A text completion as the client gets it: the operator's keys it repeats masked, then
    placeholders put back, a stream's pieces as they go (each `TextRewriter` holds back the end
    of a piece that could begin what it replaces)."""
    if decision.echoes is not None:
        answer = _rewritten(answer, TextRewriter(decision.echoes.rule))
    if decision.redaction is None:
        return answer
    return _rewritten(answer, TextRestorer(decision.redaction.originals()))


def _rewritten(answer: Completion, rewriter: TextRewriter) -> Completion:
    if answer.piece is not None:
        piece = answer.piece
        text = rewriter.feed(piece.text) + rewriter.close()
        return dataclasses.replace(answer, piece=dataclasses.replace(piece, text=text))
    if answer.pieces is None:
        return answer
    return dataclasses.replace(answer, pieces=rewritten_pieces(answer.pieces, rewriter))
