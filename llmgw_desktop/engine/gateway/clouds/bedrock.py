"""Amazon Bedrock through its Converse and ConverseStream APIs, signed by botocore.

- The region is `AWS_REGION` (or `AWS_DEFAULT_REGION`, the table's `region`, or the profile's),
  the endpoint `https://bedrock-runtime.{region}.amazonaws.com` unless
  `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (or `AWS_ENDPOINT_URL`, or `base_url`) names another, as
  botocore decides it.
- The credential, per pool key: a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`, or one stored)
  goes as `Authorization: Bearer`; a stored `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`
  signs with SigV4; without a key, the standard AWS credential chain (environment, profiles,
  SSO, roles), found by botocore off the event loop and refreshed by it, signs with SigV4.
- A guardrail of the operator's (`guardrail`, `guardrail_version` in the provider's table) goes
  in every Converse and ConverseStream body as `guardrailConfig`, before it is signed: Bedrock
  applies it to the prompt and the answer (an intervention ends the answer with the stop
  reason `guardrail_intervened`, a refusal to the client). An embedding's InvokeModel goes
  without it: guardrails judge text a model generates.
- Models are named `bedrock/MODEL_ID`: a foundation model (`anthropic.claude-...-v1:0`,
  `amazon.nova-pro-v1:0`, `meta.llama3-...`, `mistral.mistral-large-...`), a cross-region
  inference profile (`us.anthropic.claude-...`) or its ARN, each one path segment of the URL.

botocore signs and, for streams, parses the event-stream framing (`eventstream.py`); the
request goes out through the gateway's own HTTP client.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from llmgw_desktop.config.api_catalog import ApiProviderSpec
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import ErrorCode, first_line
from llmgw_desktop.engine.gateway.clouds.base import (
    EMBED,
    CloudCall,
    CloudError,
    CloudNotReady,
    Prepared,
    load_library,
)

__all__ = ["SIGNING_NAME", "BedrockWire"]

# The signature in a SigV4 Authorization header.
_SIGNATURE = re.compile(r"Signature=([0-9a-f]+)")
# The service name SigV4 signs Bedrock's runtime requests for.
SIGNING_NAME = "bedrock"
EVENT_STREAM = "application/vnd.amazon.eventstream"
# A stored access key pair: ACCESS_KEY_ID:SECRET_ACCESS_KEY, with :SESSION_TOKEN for a
# temporary one. Anything else stored for Bedrock is a Bedrock API key.
_KEY_PAIR = re.compile(r"^((?:AKIA|ASIA)[A-Z0-9]{12,}):([^:\s]+)(?::(\S+))?$")
_NO_CREDENTIALS = (
    "has no AWS credentials: set AWS_PROFILE (after `aws sso login` for SSO), "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a Bedrock API key in "
    "AWS_BEARER_TOKEN_BEDROCK (or store one for {id})"
)
# What Bedrock's error types mean (`x-amzn-ErrorType`), with whether another key or target
# may do better.
_ERRORS: dict[str, CloudError] = {
    "ServiceQuotaExceededException": CloudError(ErrorCode.QUOTA_EXCEEDED, fallback=True),
    "ResourceNotFoundException": CloudError(ErrorCode.MODEL_NOT_ENABLED, fallback=True),
    "UnrecognizedClientException": CloudError(ErrorCode.AUTH_REQUIRED, fallback=True),
    "InvalidSignatureException": CloudError(ErrorCode.AUTH_REQUIRED, fallback=True),
    "IncompleteSignatureException": CloudError(ErrorCode.AUTH_REQUIRED, fallback=True),
    "ExpiredTokenException": CloudError(ErrorCode.AUTH_REQUIRED, fallback=True),
    "MissingAuthenticationTokenException": CloudError(ErrorCode.AUTH_REQUIRED, fallback=True),
    "ModelErrorException": CloudError(fallback=True),
}


class BedrockWire:
    """Amazon Bedrock in one region."""

    def __init__(self, spec: ApiProviderSpec, environ: Mapping[str, str]) -> None:
        self.spec = spec
        self._environ = environ
        self._session: Any = None  # botocore's session, made on first use
        self._chain: Any = None  # the credential chain's credentials, found once
        self._lock: asyncio.Lock | None = None

    def region(self) -> str:
        """The region from the table or the environment ("" if neither names one)."""
        env = self._environ
        return (
            self.spec.region
            or env.get("AWS_REGION", "").strip()
            or env.get("AWS_DEFAULT_REGION", "").strip()
        )

    def problem(self, *, keyed: bool = False) -> str | None:
        """None when a region is named, or a profile file may name one (read when asked)."""
        if self.region() or self._config_file().is_file():
            return None
        return (
            f"{self.spec.name} has no region: set AWS_REGION (such as us-east-1) or region "
            f"under [gateway.providers.{self.spec.id}]"
        )

    def _config_file(self) -> Path:
        given = self._environ.get("AWS_CONFIG_FILE", "").strip()
        return Path(given).expanduser() if given else Path.home() / ".aws" / "config"

    def endpoint(self, base_url: str, region: str | None = None) -> str:
        """The runtime endpoint: the configured one, else the region's."""
        given = base_url or self._environ.get("AWS_ENDPOINT_URL", "").strip()
        if given:
            return given.rstrip("/")
        return f"https://bedrock-runtime.{region or self.region() or '{region}'}.amazonaws.com"

    async def prepare(self, call: CloudCall, body: bytes, headers: Mapping[str, str]) -> Prepared:
        """The Converse request (InvokeModel for an embedding), signed (or with its API key).

        Raises:
            CloudNotReady: no region, no credential, or botocore is not installed.
        """
        region = self.region() or await self._profile_region()
        if not region:
            raise CloudNotReady(self.problem() or f"{self.spec.name} has no region")
        if call.operation == EMBED:
            action = "invoke"  # InvokeModel: an embedding model's own body
        else:
            action = "converse-stream" if call.stream else "converse"
            body = self._guarded(body)
        # The model id (or an ARN, with its '/' and ':') is one path segment, as botocore
        # writes it.
        url = f"{self.endpoint(call.base_url, region)}/model/{quote(call.model, safe='')}/{action}"
        sent = {k: v for k, v in headers.items() if k != "accept"}
        if call.stream:
            load_library("botocore.eventstream", f"{self.spec.name}'s streams")
            sent["accept"] = EVENT_STREAM
        else:
            sent["accept"] = "application/json"
        key = call.key
        pair = _KEY_PAIR.fullmatch(key) if key else None
        if key and pair is None:
            sent["authorization"] = f"Bearer {key}"
            return Prepared(url, sent, body, key)
        if pair is not None:
            credentials = self._static(pair.group(1), pair.group(2), pair.group(3))
            secret = pair.group(2)
        else:
            credentials = await self._chain_credentials()
            secret = credentials.secret_key
        signed = self._signed(url, sent, body, credentials, region)
        return Prepared(url, signed, body, secret, _echoable(signed, credentials))

    def _guarded(self, body: bytes) -> bytes:
        """A Converse body with the operator's guardrail in it (as it came without one)."""
        spec = self.spec
        if not spec.guardrail:
            return body
        converse = jsonio.loads(body)
        converse["guardrailConfig"] = {
            "guardrailIdentifier": spec.guardrail,
            "guardrailVersion": spec.guardrail_version,
        }
        return jsonio.dumps(converse)

    def _signed(
        self, url: str, headers: dict[str, str], body: bytes, credentials: Any, region: str
    ) -> dict[str, str]:
        """`headers` with SigV4's (Authorization, X-Amz-Date, X-Amz-Security-Token)."""
        auth = load_library("botocore.auth", self.spec.name)
        awsrequest = load_library("botocore.awsrequest", self.spec.name)
        request = awsrequest.AWSRequest(method="POST", url=url, data=body, headers=headers)
        auth.SigV4Auth(credentials, SIGNING_NAME, region).add_auth(request)
        return {name.lower(): str(value) for name, value in request.headers.items()}

    def _static(self, key_id: str, secret: str, token: str | None) -> Any:
        credentials = load_library("botocore.credentials", self.spec.name)
        return credentials.ReadOnlyCredentials(key_id, secret, token)

    def _botocore_session(self) -> Any:
        if self._session is None:
            session = load_library("botocore.session", self.spec.name)
            self._session = session.Session()
        return self._session

    async def _profile_region(self) -> str:
        """The profile's region, read by botocore (from ~/.aws/config) off the loop."""
        session = self._botocore_session()
        try:
            found = await asyncio.to_thread(session.get_config_variable, "region")
        except Exception as exc:  # botocore's profile errors
            raise CloudNotReady(f"{self.spec.name}: the AWS profile is unusable: {exc}") from None
        return str(found or "")

    async def _chain_credentials(self) -> Any:
        """Frozen credentials from the AWS chain; found once, refreshed by botocore when they
        run out (both can mean files or a network call, so they run off the loop)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._chain is None:
                session = self._botocore_session()
                try:
                    found = await asyncio.to_thread(session.get_credentials)
                except Exception as exc:  # an SSO token run out, a profile that is missing
                    raise CloudNotReady(
                        f"{self.spec.name}: the AWS credential chain failed "
                        f"({type(exc).__name__}: {first_line(exc)})"
                    ) from None
                if found is None:
                    raise CloudNotReady(
                        f"{self.spec.name} " + _NO_CREDENTIALS.format(id=self.spec.id)
                    )
                self._chain = found
            chain = self._chain
        refresh = getattr(chain, "refresh_needed", None)
        try:
            if refresh is not None and refresh():
                return await asyncio.to_thread(chain.get_frozen_credentials)
            return chain.get_frozen_credentials()
        except Exception as exc:
            self._chain = None  # found again next time (a new SSO login, say)
            raise CloudNotReady(
                f"{self.spec.name}: the AWS credentials could not be refreshed "
                f"({type(exc).__name__}: {first_line(exc)})"
            ) from None

    def error(self, status: int, headers: Mapping[str, str], raw: bytes) -> CloudError:
        """Bedrock's throttling, quotas, model access and credential errors."""
        kind = _error_type(headers, raw)
        found = _ERRORS.get(kind)
        if found is not None:
            return found
        message = _message(raw).lower()
        if kind == "AccessDeniedException":
            # Model access not granted in this account, or a role without the permission.
            if "model" in message:
                return CloudError(ErrorCode.MODEL_NOT_ENABLED, fallback=True)
            return CloudError(ErrorCode.AUTH_REQUIRED, fallback=True)
        if kind == "ValidationException" and (
            "model identifier is invalid" in message or "throughput" in message
        ):
            # An unknown model id, or one served only through an inference profile.
            return CloudError(ErrorCode.MODEL_NOT_ENABLED, fallback=True)
        return CloudError()


def _error_type(headers: Mapping[str, str], raw: bytes) -> str:
    """Bedrock's error type: the `x-amzn-ErrorType` header (before its ':'), else the body's
    `__type` (after its '#')."""
    given = headers.get("x-amzn-errortype") or headers.get("X-Amzn-ErrorType") or ""
    if given:
        return given.split(":", 1)[0]
    try:
        body = jsonio.loads(raw)
    except ValueError:
        return ""
    kind = body.get("__type") if isinstance(body, dict) else None
    return str(kind).rsplit("#", 1)[-1] if isinstance(kind, str) else ""


def _message(raw: bytes) -> str:
    try:
        body = jsonio.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")
    if isinstance(body, dict):
        return str(body.get("message") or body.get("Message") or "")
    return ""


def _echoable(signed: Mapping[str, str], credentials: Any) -> tuple[str, ...]:
    """What of a signed request AWS echoes in a signature error (the signature it was given,
    the access key id, a session token): never relayed to the caller."""
    found = _SIGNATURE.search(signed.get("authorization", ""))
    values = (
        found.group(1) if found else "",
        str(getattr(credentials, "access_key", "") or ""),
        signed.get("x-amz-security-token", ""),
    )
    return tuple(value for value in values if value)
