"""The Bedrock fakes' own AWS wire is AWS's: their event-stream messages parse with botocore,
and their signature check refuses what botocore would not sign the same way."""

from __future__ import annotations

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.eventstream import EventStreamBuffer

from tests.fakes.clouds.aws import event, exception, signature_problem

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
URL = "https://bedrock-runtime.us-west-2.amazonaws.com/model/m%3A0/converse"


def test_event_messages_parse_with_botocore() -> None:
    buffer = EventStreamBuffer()
    data = event("messageStart", b'{"role":"assistant"}') + exception("throttlingException", "slow")
    buffer.add_data(data[:7])
    assert list(buffer) == []
    buffer.add_data(data[7:])
    first, second = list(buffer)
    assert first.headers[":event-type"] == "messageStart"
    assert first.payload == b'{"role":"assistant"}'
    assert second.headers[":message-type"] == "exception"
    assert second.headers[":exception-type"] == "throttlingException"


def _signed(body: bytes) -> dict[str, str]:
    request = AWSRequest(
        method="POST", url=URL, data=body, headers={"content-type": "application/json"}
    )
    SigV4Auth(ReadOnlyCredentials(KEY_ID, SECRET, None), "bedrock", "us-west-2").add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()} | {
        "host": "bedrock-runtime.us-west-2.amazonaws.com"
    }


def test_the_signature_check_accepts_botocores_signature_and_nothing_else() -> None:
    keys: dict[str, tuple[str, str | None]] = {KEY_ID: (SECRET, None)}
    headers = _signed(b'{"messages":[]}')
    assert signature_problem("POST", URL, headers, b'{"messages":[]}', keys, "us-west-2") is None
    assert signature_problem("POST", URL, headers, b'{"messages":[1]}', keys, "us-west-2")
    assert signature_problem(
        "POST", URL.replace("m%3A0", "n%3A0"), headers, b'{"messages":[]}', keys, "us-west-2"
    )
    assert signature_problem(
        "POST", URL, headers, b'{"messages":[]}', {KEY_ID: ("wrong", None)}, "us-west-2"
    )
    assert signature_problem("POST", URL, headers, b'{"messages":[]}', keys, "eu-west-1")
