"""Azure OpenAI, configured the way the `openai` SDK's `AzureOpenAI` client is.

- The resource's endpoint is `AZURE_OPENAI_ENDPOINT` (or the table's `base_url`), the api
  version `OPENAI_API_VERSION` (or `api_version`), the key `AZURE_OPENAI_API_KEY` (or the vault,
  or `api_key`); without a key, a Microsoft Entra ID token: `AZURE_OPENAI_AD_TOKEN`, else
  `azure-identity`'s `DefaultAzureCredential` when it is installed.
- A dated api version means the deployment URLs, as `AzureOpenAI` builds them: Chat
  Completions at `/openai/deployments/{deployment}/chat/completions?api-version=...`, the
  Responses API at `/openai/responses?api-version=...` (the deployment is the body's model),
  with the key in an `api-key` header and an Entra token as `Authorization: Bearer`.
- `v1` (the default when no version is set), or an endpoint ending in `/openai/v1`, means the
  v1 API: `/openai/v1/chat/completions` and `/openai/v1/responses`, the deployment as the body's
  model and the credential as `Authorization: Bearer`, as the `OpenAI` client sends it there.

An Azure AI Content Safety filter configuration of the operator's (`content_filter` in the
provider's table, made in Azure AI Foundry) is named on every chat and Responses request in an
`x-policy-id` header, so it applies over the deployment's own; a prompt it refuses comes back as
Azure's `content_filter` error (`content_filtered` to the client).

Models are named `azure/DEPLOYMENT`; the table's `deployments` says which model a deployment
serves (for prices and capabilities), else the deployment's own name is taken for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_RESPONSES, ApiProviderSpec
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import ErrorCode, first_line
from llmgw_desktop.engine.gateway.clouds.base import (
    CLOUDS_EXTRA,
    EMBED,
    CloudCall,
    CloudError,
    CloudNotReady,
    Prepared,
    TokenCache,
    load_library,
)

__all__ = ["ENTRA_SCOPE", "POLICY_HEADER", "V1", "AzureWire"]

V1 = "v1"
# The header naming the content filter configuration a request is judged by.
POLICY_HEADER = "x-policy-id"
# The scope an Entra ID token for Azure OpenAI is asked for (Azure's "Cognitive Services").
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
# A token given in the environment says nothing of its expiry: used as given for this long.
STATIC_TOKEN_S = 3600.0
# Azure's error codes (`error.code`, `error.innererror.code`) that have a code of ours.
_CONTENT_FILTER = frozenset({"content_filter", "ResponsibleAIPolicyViolation"})
_NOT_DEPLOYED = frozenset({"DeploymentNotFound", "model_not_found", "ModelNotFound"})
_QUOTA = frozenset({"insufficient_quota", "QuotaExceeded"})


class AzureWire:
    """One Azure OpenAI resource."""

    def __init__(self, spec: ApiProviderSpec, environ: Mapping[str, str]) -> None:
        self.spec = spec
        self._environ = environ
        self.api_version = spec.api_version or environ.get("OPENAI_API_VERSION", "").strip() or V1
        self._entra: TokenCache | None = None

    def problem(self, *, keyed: bool = False) -> str | None:
        """None once an endpoint is known; the key (or Entra ID) is looked for when asked."""
        if self.spec.base_url or self._environ.get("AZURE_OPENAI_ENDPOINT", "").strip():
            return None
        return (
            f"{self.spec.name} has no endpoint: set AZURE_OPENAI_ENDPOINT (such as "
            f"https://my-resource.openai.azure.com) or base_url under "
            f"[gateway.providers.{self.spec.id}]"
        )

    def endpoint(self, base_url: str) -> str:
        root, v1 = self._root(base_url)
        return f"{root}/openai/v1" if v1 else f"{root}/openai (api-version {self.api_version})"

    def _root(self, base_url: str) -> tuple[str, bool]:
        """The resource's origin, and whether the v1 API is used."""
        root = base_url.rstrip("/")
        if root.endswith("/openai/v1"):
            return root.removesuffix("/openai/v1"), True
        return root.removesuffix("/openai"), self.api_version in (V1, "preview", "latest")

    def url(self, call: CloudCall) -> str:
        """Where `call` goes (the deployment quoted as one path segment)."""
        root, v1 = self._root(call.base_url)
        if call.operation == EMBED:
            path = "/embeddings"
        elif call.dialect == DIALECT_OPENAI_RESPONSES:
            path = "/responses"
        else:
            path = "/chat/completions"
        if v1:
            query = "" if self.api_version == V1 else f"?api-version={self.api_version}"
            return f"{root}/openai/v1{path}{query}"
        if path == "/responses":
            return f"{root}/openai{path}?api-version={self.api_version}"
        deployment = quote(call.model, safe="-._~")
        return f"{root}/openai/deployments/{deployment}{path}?api-version={self.api_version}"

    async def prepare(self, call: CloudCall, body: bytes, headers: Mapping[str, str]) -> Prepared:
        """The request with Azure's URL and credential.

        Raises:
            CloudNotReady: no endpoint, or no key and no Entra ID token to be had.
        """
        if (problem := self.problem()) is not None:
            raise CloudNotReady(problem)
        sent = dict(headers)
        if self.spec.content_filter and call.operation != EMBED:
            sent[POLICY_HEADER] = self.spec.content_filter
        _, v1 = self._root(call.base_url)
        if call.key:
            secret = call.key
            if v1:
                sent["authorization"] = f"Bearer {secret}"
            else:
                sent["api-key"] = secret
        else:
            secret = await self._entra_token()
            sent["authorization"] = f"Bearer {secret}"
        return Prepared(self.url(call), sent, body, secret)

    async def _entra_token(self) -> str:
        if self._entra is None:
            given = self._environ.get("AZURE_OPENAI_AD_TOKEN", "").strip()
            if given:
                self._entra = TokenCache(lambda: (given, time.time() + STATIC_TOKEN_S))
            else:
                self._entra = TokenCache(self._fetch_entra_token)
        try:
            return await self._entra.token()
        except CloudNotReady:
            self._entra = None  # installed later, or signed in later: asked again next time
            raise
        except Exception as exc:  # azure-identity's many credential errors
            self._entra = None
            raise CloudNotReady(
                f"{self.spec.name} has no key and Microsoft Entra ID gave no token "
                f"({type(exc).__name__}: {first_line(exc)}): set AZURE_OPENAI_API_KEY, store "
                f"a key for {self.spec.id}, or sign in (az login)"
            ) from None

    def _fetch_entra_token(self) -> tuple[str, float]:
        """An Entra ID access token from `DefaultAzureCredential` (blocking).

        Raises:
            CloudNotReady: azure-identity is not installed.
        """
        identity = load_library(
            "azure.identity",
            f"{self.spec.name} without a key (Microsoft Entra ID)",
            extra=f"set AZURE_OPENAI_API_KEY, or {CLOUDS_EXTRA}",
        )
        token = identity.DefaultAzureCredential().get_token(ENTRA_SCOPE)
        return str(token.token), float(token.expires_on)

    def error(self, status: int, headers: Mapping[str, str], raw: bytes) -> CloudError:
        """Azure's content filter, a missing deployment, a used-up quota, a refused key."""
        codes = _error_codes(raw)
        if codes & _CONTENT_FILTER:
            return CloudError(ErrorCode.CONTENT_FILTERED, fallback=False)
        if codes & _NOT_DEPLOYED:
            return CloudError(ErrorCode.MODEL_NOT_ENABLED)
        if codes & _QUOTA:
            return CloudError(ErrorCode.QUOTA_EXCEEDED, fallback=True)
        if status in (401, 403):
            return CloudError(ErrorCode.AUTH_REQUIRED)
        return CloudError()


def _error_codes(raw: bytes) -> set[str]:
    """`error.code` and `error.innererror.code` of an Azure error body."""
    try:
        body: Any = jsonio.loads(raw)
    except ValueError:
        return set()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    found = {error.get("code")}
    inner = error.get("innererror")
    if isinstance(inner, dict):
        found.add(inner.get("code"))
    return {c for c in found if isinstance(c, str)}
