"""Google Vertex AI: Gemini models through `generateContent`, Anthropic's Claude models through
`rawPredict`, with Application Default Credentials from google-auth.

- The project is the table's `project`, else `GOOGLE_CLOUD_PROJECT`, else the one the
  credentials name; the location `location`, else `GOOGLE_CLOUD_LOCATION`, else `global`. The
  endpoint is `https://{location}-aiplatform.googleapis.com` (`aiplatform.googleapis.com` for
  `global`) unless `base_url` or `GOOGLE_VERTEX_BASE_URL` names another.
- Gemini models (`vertex/gemini-2.5-pro`) speak the Gemini dialect at
  `/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent` (and
  `:streamGenerateContent?alt=sse`); Claude models (`vertex/claude-sonnet-4-5@20250929`) speak
  Anthropic Messages at `.../publishers/anthropic/models/{m}:rawPredict` (`:streamRawPredict`),
  with the two differences Vertex asks for: no `model` in the body (it is in the URL) and
  `anthropic_version: vertex-2023-10-16` in it.
- The credential, per pool key: a stored service-account key (its JSON) or, without one,
  Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth
  application-default login`, the metadata server), turned into an access token by google-auth
  off the event loop and sent as `Authorization: Bearer` (with the quota project the
  credentials name, as google-auth's own clients send it).
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from llmgw_desktop.config.api_catalog import DIALECT_ANTHROPIC, ApiProviderSpec
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import ErrorCode, first_line
from llmgw_desktop.engine.gateway.clouds.base import (
    EMBED,
    CloudCall,
    CloudError,
    CloudNotReady,
    Prepared,
    TokenCache,
    load_library,
)

__all__ = ["ANTHROPIC_VERSION", "SCOPE", "VertexWire"]

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# What Vertex's Claude models take in the body instead of the `anthropic-version` header.
ANTHROPIC_VERSION = "vertex-2023-10-16"
DEFAULT_LOCATION = "global"
# A location goes into the host name: letters, digits and '-' only.
_LOCATION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# A token whose credentials say nothing of its expiry is used this long.
NO_EXPIRY_S = 3600.0
_NO_CREDENTIALS = (
    "has no Google credentials: run `gcloud auth application-default login`, set "
    "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or store a service-account "
    "key for {id}"
)


class VertexWire:
    """One Google Cloud project's Vertex AI, in one location."""

    def __init__(self, spec: ApiProviderSpec, environ: Mapping[str, str]) -> None:
        self.spec = spec
        self._environ = environ
        # Credential (None: ADC, else a digest of the stored key) -> its token cache, the
        # project it names and the quota project it bills.
        self._tokens: dict[str | None, _Credential] = {}

    def project(self) -> str:
        return self.spec.project or self._environ.get("GOOGLE_CLOUD_PROJECT", "").strip()

    def location(self) -> str:
        return (
            self.spec.location
            or self._environ.get("GOOGLE_CLOUD_LOCATION", "").strip()
            or DEFAULT_LOCATION
        )

    def problem(self, *, keyed: bool = False) -> str | None:
        """None when a project is named, or credentials that may name one are at hand (ADC's
        file, or a stored service-account key: `keyed`)."""
        if not _LOCATION.fullmatch(self.location()):
            return f"{self.spec.name}: the location {self.location()!r} is no Google Cloud location"
        if keyed or self.project() or self._adc_file() is not None:
            return None
        return (
            f"{self.spec.name} has no project: set GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION,"
            f" default {DEFAULT_LOCATION}) or project under [gateway.providers.{self.spec.id}]"
        )

    def _adc_file(self) -> Path | None:
        """Application Default Credentials' file, where google-auth would look for it."""
        given = self._environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
        if given:
            return Path(given).expanduser()
        config = self._environ.get("CLOUDSDK_CONFIG", "").strip()
        root = Path(config).expanduser() if config else Path.home() / ".config" / "gcloud"
        found = root / "application_default_credentials.json"
        return found if found.is_file() else None

    def endpoint(self, base_url: str) -> str:
        if base_url:
            return base_url.rstrip("/")
        location = self.location()
        host = "aiplatform.googleapis.com"
        return f"https://{host}" if location == "global" else f"https://{location}-{host}"

    def url(self, call: CloudCall, project: str) -> str:
        """Where `call` goes: its publisher's model and method."""
        model = quote(call.model, safe="-._~@")
        where = (
            f"{self.endpoint(call.base_url)}/v1/projects/{quote(project, safe='')}"
            f"/locations/{self.location()}/publishers"
        )
        if call.dialect == DIALECT_ANTHROPIC:
            method = "streamRawPredict" if call.stream else "rawPredict"
            return f"{where}/anthropic/models/{model}:{method}"
        if call.operation == EMBED:
            method = "predict"  # Google's embedding models
        else:
            method = "streamGenerateContent?alt=sse" if call.stream else "generateContent"
        return f"{where}/google/models/{model}:{method}"

    async def prepare(self, call: CloudCall, body: bytes, headers: Mapping[str, str]) -> Prepared:
        """The request with Vertex's URL, body and access token.

        Raises:
            CloudNotReady: no project, no credentials, or google-auth is not installed.
        """
        if (problem := self.problem(keyed=call.key is not None)) is not None:
            raise CloudNotReady(problem)
        credential = self._credential(call.key)
        project = self.project() or credential.project
        if not project:
            raise CloudNotReady(
                f"{self.spec.name} has no project: its credentials name none; set "
                "GOOGLE_CLOUD_PROJECT"
            )
        token = await self._token(credential.tokens)
        sent = {k: v for k, v in headers.items() if k != "anthropic-version"}
        sent["authorization"] = f"Bearer {token}"
        if credential.quota_project:
            sent["x-goog-user-project"] = credential.quota_project
        if call.dialect == DIALECT_ANTHROPIC:
            body = _vertex_anthropic_body(body)
        return Prepared(self.url(call, project), sent, body, token)

    def _credential(self, key: str | None) -> _Credential:
        """`key`'s credentials (None: ADC), loaded once (a file read, no network)."""
        slot = None if key is None else hashlib.sha256(key.encode()).hexdigest()
        found = self._tokens.get(slot)
        if found is None:
            credentials, project = self._load(key)
            found = self._tokens[slot] = _Credential(
                TokenCache(lambda: _refreshed(credentials)),
                project,
                str(getattr(credentials, "quota_project_id", None) or ""),
            )
        return found

    def _load(self, key: str | None) -> tuple[Any, str]:
        """google-auth's credentials for `key` (a service-account key's JSON) or ADC.

        Raises:
            CloudNotReady: google-auth is missing, or it finds no usable credentials.
        """
        auth = load_library("google.auth", self.spec.name)
        if key is None:
            try:
                credentials, project = auth.default(scopes=[SCOPE])
            except Exception as exc:  # DefaultCredentialsError, a malformed file
                raise CloudNotReady(
                    f"{self.spec.name} "
                    + _NO_CREDENTIALS.format(id=self.spec.id)
                    + f" ({type(exc).__name__}: {first_line(exc)})"
                ) from None
            return credentials, str(project or "")
        service_account = load_library("google.oauth2.service_account", self.spec.name)
        try:
            info = jsonio.loads(key)
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=[SCOPE]
            )
        except Exception as exc:
            # Never the key's text: only what kind of problem it has.
            raise CloudNotReady(
                f"{self.spec.name}: a stored key is not a service-account key's JSON "
                f"({type(exc).__name__})"
            ) from None
        return credentials, str(info.get("project_id") or "")

    async def _token(self, cache: TokenCache) -> str:
        try:
            return await cache.token()
        except CloudNotReady:
            raise
        except Exception as exc:  # RefreshError, TransportError
            raise CloudNotReady(
                f"{self.spec.name}: Google refused a token for its credentials "
                f"({type(exc).__name__}: {first_line(exc)}); "
                + _NO_CREDENTIALS.format(id=self.spec.id)
            ) from None

    def error(self, status: int, headers: Mapping[str, str], raw: bytes) -> CloudError:
        """Vertex's quota, model access and credential errors (google.rpc statuses)."""
        code, message = _rpc_error(raw)
        lowered = message.lower()
        if code == "RESOURCE_EXHAUSTED" and "quota" in lowered:
            return CloudError(ErrorCode.QUOTA_EXCEEDED, fallback=True)
        if code == "NOT_FOUND" or (code == "FAILED_PRECONDITION" and "model" in lowered):
            return CloudError(ErrorCode.MODEL_NOT_ENABLED, fallback=True)
        if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or status in (401, 403):
            return CloudError(ErrorCode.AUTH_REQUIRED, fallback=True)
        return CloudError()


@dataclass(frozen=True)
class _Credential:
    tokens: TokenCache
    project: str  # the project the credentials name ("" if none)
    quota_project: str  # the project their calls' quota is billed to ("" if theirs)


def _refreshed(credentials: Any) -> tuple[str, float]:
    """A fresh token and its expiry (blocking: google-auth calls its token endpoint)."""
    requests_transport = load_library("google.auth.transport.requests", "Google Vertex AI")
    credentials.refresh(requests_transport.Request())
    expiry = credentials.expiry
    expires = calendar.timegm(expiry.utctimetuple()) if expiry is not None else 0
    return str(credentials.token), float(expires or time.time() + NO_EXPIRY_S)


def _vertex_anthropic_body(body: bytes) -> bytes:
    """A Messages body as Vertex's rawPredict takes it: the model out, its version in."""
    data = jsonio.loads(body)
    if isinstance(data, dict):
        data.pop("model", None)
        data.setdefault("anthropic_version", ANTHROPIC_VERSION)
    return jsonio.dumps(data)


def _rpc_error(raw: bytes) -> tuple[str, str]:
    try:
        body = jsonio.loads(raw)
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        error = body[0].get("error")  # a stream's error comes as an array's first item
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("status") or ""), str(error.get("message") or "")
