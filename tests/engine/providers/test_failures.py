"""What a CLI printed when it failed, read into one failure (`providers/failures.py`)."""

from __future__ import annotations

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.providers.failures import failure_from_text

# What the real Qwen Code 0.x prints on stderr when a prompt fails (Node's dump of the
# JSON-RPC request and error objects), beside its error answer's words.
QWEN_STDERR = """Error handling request {
  jsonrpc: '2.0',
  id: 2,
  method: 'session/prompt',
  params: { sessionId: '520acc48', prompt: [ [Object] ] }
} {
  code: -32603,
  message: 'Internal error',
  data: { details: "401 openai refused the gateway's key env:OPENAI_API_KEY" }
}"""
ITS_ANSWER = "Internal error (401 openai refused the gateway's key env:OPENAI_API_KEY)"


def test_an_agents_own_answer_is_quoted_where_its_stderr_is_a_protocol_dump() -> None:
    """A job's error quoted the whole dump; the agent's own answer says it in words."""
    failure = failure_from_text(QWEN_STDERR, "qwen", said=ITS_ANSWER)
    assert failure.code == ErrorCode.AUTH_REQUIRED  # the stderr still decides the kind
    assert ITS_ANSWER in failure.message and "jsonrpc" not in failure.message, failure.message


def test_with_no_answer_of_its_own_the_stderr_is_quoted_as_before() -> None:
    failure = failure_from_text(QWEN_STDERR, "qwen")
    assert failure.code == ErrorCode.AUTH_REQUIRED
    assert "session/prompt" in failure.message
    # The answer's words alone do not make a rate limit of what its stderr calls a refusal.
    limited = failure_from_text("HTTP 429 Too Many Requests", "qwen", said="Internal error")
    assert (limited.code, limited.retryable) == (ErrorCode.RATE_LIMITED, True)
    assert "Internal error" in limited.message
