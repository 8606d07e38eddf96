"""The Bedrock wire and its event-stream framer alone: URLs, which credential goes how, what
Bedrock's errors mean, and clear refusals when botocore, a region or a credential is missing."""

from __future__ import annotations

import json
import sys

import pytest

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.gateway.clouds import CloudCall, CloudNotReady
from llmgw_desktop.engine.gateway.clouds.bedrock import BedrockWire
from llmgw_desktop.engine.gateway.clouds.eventstream import EventStreamFramer
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from tests.fakes.clouds.aws import event, exception

SPEC = next(s for s in API_PROVIDERS if s.id == "bedrock")
ENV = {"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent/config"}
ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-v1:0"


def call(
    key: str | None, *, model: str = "amazon.nova-pro-v1:0", stream: bool = False
) -> CloudCall:
    return CloudCall("", model, "bedrock-converse", key, stream)


async def test_the_url_is_the_regions_and_the_model_one_segment() -> None:
    wire = BedrockWire(SPEC, ENV)
    prepared = await wire.prepare(call("ABSK-api-key-value", model=ARN, stream=True), b"{}", {})
    assert prepared.url == (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-v1%3A0"
        "/converse-stream"
    )
    assert prepared.headers["authorization"] == "Bearer ABSK-api-key-value"
    assert prepared.headers["accept"] == "application/vnd.amazon.eventstream"


async def test_a_stored_key_pair_signs_with_sigv4() -> None:
    wire = BedrockWire(SPEC, ENV)
    prepared = await wire.prepare(call("AKIAIOSFODNN7EXAMPLE:secret/with+chars:tok"), b"{}", {})
    auth = prepared.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
    assert "/us-east-1/bedrock/aws4_request" in auth
    assert prepared.headers["x-amz-security-token"] == "tok"
    assert prepared.secret == "secret/with+chars"


def test_without_a_region_the_problem_names_aws_region() -> None:
    problem = BedrockWire(SPEC, {"AWS_CONFIG_FILE": "/nonexistent/config"}).problem()
    assert problem is not None and "AWS_REGION" in problem


async def test_without_botocore_the_refusal_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "botocore.session", None)
    with pytest.raises(CloudNotReady) as caught:
        await BedrockWire(SPEC, ENV).prepare(call(None), b"{}", {})
    assert "botocore" in caught.value.message and "llmgw-desktop[clouds]" in caught.value.message


@pytest.mark.parametrize(
    ("kind", "message", "code", "fallback"),
    [
        ("ThrottlingException", "Too many requests", None, None),
        ("ServiceQuotaExceededException", "quota", ErrorCode.QUOTA_EXCEEDED, True),
        (
            "AccessDeniedException",
            "You don't have access to the model",
            ErrorCode.MODEL_NOT_ENABLED,
            True,
        ),
        ("AccessDeniedException", "not authorized to perform", ErrorCode.AUTH_REQUIRED, True),
        (
            "ValidationException",
            "The provided model identifier is invalid.",
            ErrorCode.MODEL_NOT_ENABLED,
            True,
        ),
        ("ValidationException", "messages: field required", None, None),
        (
            "ExpiredTokenException",
            "The security token included in the request is expired",
            ErrorCode.AUTH_REQUIRED,
            True,
        ),
    ],
)
def test_bedrock_error_types_mean_our_codes(
    kind: str, message: str, code: ErrorCode | None, fallback: bool | None
) -> None:
    headers = {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    meaning = BedrockWire(SPEC, ENV).error(400, headers, json.dumps({"message": message}).encode())
    assert (meaning.code, meaning.fallback) == (code, fallback)


def test_the_framer_hands_on_whole_messages_however_the_bytes_arrive() -> None:
    data = event("messageStart", b'{"role":"assistant"}') + exception("throttlingException", "slow")
    framer = EventStreamFramer()
    frames = [f for i in range(len(data)) for f in framer.feed(data[i : i + 1])]
    assert frames == [
        ("messageStart", '{"role":"assistant"}'),
        ("exception:throttlingException", '{"message": "slow"}'),
    ]
    assert framer.close() == [] and framer.unfinished_bytes == 0


def test_the_framer_refuses_a_broken_checksum_and_a_cut_message() -> None:
    data = bytearray(event("messageStart", b"{}"))
    data[-1] ^= 0xFF
    with pytest.raises(UpstreamMalformed):
        EventStreamFramer().feed(bytes(data))
    framer = EventStreamFramer()
    framer.feed(bytes(data[:10]))
    with pytest.raises(UpstreamMalformed):
        framer.close()
    with pytest.raises(UpstreamMalformed):
        EventStreamFramer(max_event_bytes=8).feed(bytes(data[:10]))
