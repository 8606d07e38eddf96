"""The clouds as API providers: Azure OpenAI, Amazon Bedrock and Google Vertex AI.

A cloud provider is routed, pooled, budgeted and recorded like any API provider; what is its
own is how a request reaches it, which `CloudWire.prepare` decides once the gateway has the
body to send: the URL (a deployment and api-version, a region, a project and location), the
credential (an Azure key or Entra ID token, a SigV4 signature or Bedrock API key, a Google
access token) and, for Vertex's Claude models, the body's own two differences. The bytes go out
through the gateway's own HTTP client (`http1.py`) like every other upstream's; the cloud
libraries (`botocore`, `google-auth`, `azure-identity`) only sign, fetch tokens and parse, and
each is imported the first time its cloud is asked, never at start-up. `CloudWires` holds the
configured clouds' wires: the upstream client's signers (`http_client/signing.py`), which is how
that client sends a cloud's request without knowing any cloud.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
)

__all__ = [
    "EMBED",
    "CloudCall",
    "CloudNotReady",
    "CloudWire",
    "CloudWires",
    "wire_for",
]


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


class CloudWires:
    """The wires of the cloud providers configured now (the upstream client's `Signers`): each
    made when its cloud is first asked (its module loads then), and kept, with its tokens,
    while its provider's settings stay the same; one per gateway."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ  # the credentials' variables, read when a wire asks
        self._specs: dict[str, ApiProviderSpec] = {}
        self._wires: dict[str, CloudWire] = {}
        # The cloud providers configured now (read by the upstream client at each request).
        self.signed: frozenset[str] = frozenset()

    def use_providers(self, specs: Iterable[ApiProviderSpec]) -> None:
        """Take the configured providers' clouds (at start and whenever the providers are
        edited: the next request uses them)."""
        self._specs = {s.id: s for s in specs if s.cloud}
        self._wires = {
            pid: wire
            for pid, wire in self._wires.items()
            if getattr(wire, "spec", None) == self._specs.get(pid)
        }
        self.signed = frozenset(self._specs)

    def wire(self, provider: str) -> CloudWire | None:
        """The wire of a cloud provider (None for any other)."""
        wire = self._wires.get(provider)
        if wire is None and provider in self._specs:
            wire = self._wires[provider] = wire_for(self._specs[provider], self._environ)
        return wire

    def wire_of(self, spec: ApiProviderSpec) -> CloudWire:
        """A wire for a cloud provider not configured yet (the editor's Test), reading the
        same environment as the configured ones.

        Raises:
            ValueError: `spec` is not a cloud provider.
        """
        return wire_for(spec, self._environ)
