"""The clouds as API providers: Azure OpenAI, Amazon Bedrock and Google Vertex AI.

A cloud provider is routed, pooled, budgeted and recorded like any API provider; what is its
own is how a request reaches it, which `CloudWire.prepare` decides once the gateway has the
body to send: the URL (a deployment and api-version, a region, a project and location), the
credential (an Azure key or Entra ID token, a SigV4 signature or Bedrock API key, a Google
access token) and, for Vertex's Claude models, the body's own two differences. The bytes go out
through the gateway's own HTTP client (`http1.py`) like every other upstream's; the cloud
libraries (`botocore`, `google-auth`, `azure-identity`) only sign, fetch tokens and parse, and
each is imported the first time its cloud is asked, never at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmgw_desktop.config.api_catalog import (
    CLOUD_AZURE,
    CLOUD_BEDROCK,
    CLOUD_VERTEX,
    ApiProviderSpec,
)
from llmgw_desktop.engine.gateway.clouds.base import (
    EMBED,
    CloudCall,
    CloudNotReady,
    CloudWire,
    Prepared,
)

__all__ = ["EMBED", "CloudCall", "CloudNotReady", "CloudWire", "Prepared", "wire_for"]


def wire_for(spec: ApiProviderSpec, environ: Mapping[str, str]) -> CloudWire:
    """The wire of `spec`'s cloud (its module is imported here, its library later).

    Raises:
        ValueError: `spec` is not a cloud provider.
    """
    if spec.cloud == CLOUD_AZURE:
        from llmgw_desktop.engine.gateway.clouds.azure import AzureWire

        return AzureWire(spec, environ)
    if spec.cloud == CLOUD_BEDROCK:
        from llmgw_desktop.engine.gateway.clouds.bedrock import BedrockWire

        return BedrockWire(spec, environ)
    if spec.cloud == CLOUD_VERTEX:
        from llmgw_desktop.engine.gateway.clouds.vertex import VertexWire

        return VertexWire(spec, environ)
    raise ValueError(f"{spec.id} is not a cloud provider")
