"""AWS's wire for the Bedrock fakes: event-stream messages written as Bedrock writes them, and
SigV4 signatures checked by botocore itself.

The messages are written by the gateway's one encoder (`clouds/eventstream.py`, which its
Bedrock door answers with), checked against botocore's parser in
tests/engine/gateway/clouds/test_eventstream.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from llmgw_desktop.engine.gateway.clouds.eventstream import event_message


def event(kind: str, payload: bytes) -> bytes:
    """A ConverseStream event (`messageStart`, `contentBlockDelta` ...)."""
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return event_message(headers, payload)


def exception(kind: str, message: str) -> bytes:
    """An exception in the stream (`throttlingException` ...), as Bedrock sends one."""
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return event_message(headers, json.dumps({"message": message}).encode())


def signature_problem(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, tuple[str, str | None]],
    region: str,
    service: str = "bedrock",
) -> str | None:
    """None when `Authorization` is a SigV4 signature botocore computes the same for this
    request (the headers it names, the time in X-Amz-Date, the secret of its access key id in
    `credentials`: key id -> (secret, session token)); else what is wrong."""
    authorization = headers.get("authorization", "")
    fields = _fields(authorization)
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or not fields:
        return "not a SigV4 Authorization header"
    key_id, _date, signed_region, signed_service, _ = fields["Credential"].split("/")
    if key_id not in credentials:
        return f"unknown access key id {key_id}"
    if (signed_region, signed_service) != (region, service):
        return f"signed for {signed_region}/{signed_service}, not {region}/{service}"
    secret, token = credentials[key_id]
    if token is not None and headers.get("x-amz-security-token") != token:
        return "the session token is missing or wrong"
    names = fields["SignedHeaders"].split(";")
    if "host" not in names or "x-amz-date" not in names:
        return "host and x-amz-date must be signed"
    request = AWSRequest(
        method=method, url=url, data=body, headers={n: headers[n] for n in names if n != "host"}
    )
    request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(ReadOnlyCredentials(key_id, secret, token), service, region)
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if expected != fields["Signature"]:
        return "the signature does not match"
    return None


def _fields(authorization: str) -> dict[str, Any]:
    _, _, rest = authorization.partition(" ")
    out = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        out[name] = value
    return out if {"Credential", "SignedHeaders", "Signature"} <= out.keys() else {}
