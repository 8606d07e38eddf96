"""Which model a cloud's model id stands for: what prices it and what it accepts.

A cloud names its models its own way: an Azure deployment is whatever its owner called it, a
Bedrock id carries a cross-region prefix, a vendor and a version (`us.anthropic.claude-sonnet-
4-5-20250929-v1:0`, or an inference profile's ARN), a Vertex Claude id a snapshot after `@`.
Prices and capabilities are the underlying model's, so budgets and costs count a cloud's calls
like the vendor's own; and a cloud's name of a Claude model has Anthropic's own name for the same
model (`vendor_twin`), which the router falls back to when the cloud cannot answer (a client set
up for Bedrock or Vertex, such as Claude Code's, asks the gateway by the cloud's names).
"""

from __future__ import annotations

import re

from llmgw_desktop.config.api_catalog import (
    CLOUD_AZURE,
    CLOUD_BEDROCK,
    CLOUD_VERTEX,
    DIALECT_ANTHROPIC,
    ApiProviderSpec,
)

__all__ = ["bedrock_base_id", "capability_provider", "underlying_model", "vendor_twin"]

# Bedrock's cross-region inference profiles put a geography first: `us.`, `eu.`, `apac.` ...
_BEDROCK_GEO = re.compile(r"^(?:us|eu|apac|ap|ca|jp|au|us-gov|global)\.")
# ... then the vendor, and a version after the model's own name: `-v1:0`, `-v2:0`, `:0`.
_BEDROCK_VERSION = re.compile(r"(?:-v\d+)?(?::\d+)?(?::\d+k)?$")
# A Vertex Claude id: the model, an older model's `-v2` and the snapshot (`claude-3-5-sonnet-v2@
# 20241022` is Anthropic's `claude-3-5-sonnet-20241022`).
_VERTEX_CLAUDE = re.compile(r"^(claude-[a-z0-9.-]+?)(?:-v\d+)?@(\d{8})$")
# Bedrock vendors whose models the price table and the capability table know by name.
_BEDROCK_VENDORS = {"anthropic": "anthropic", "openai": "openai", "mistral": "mistral"}


def underlying_model(spec: ApiProviderSpec | None, model: str) -> str:
    """The model `model` of `spec` is, as the price and capability tables name it."""
    if spec is None or not spec.cloud:
        return model
    if spec.cloud == CLOUD_AZURE:
        return dict(spec.deployments).get(model, model)
    if spec.cloud == CLOUD_BEDROCK:
        return bedrock_base_id(model).partition(".")[2] or model
    if spec.cloud == CLOUD_VERTEX:
        return model.partition("@")[0]
    return model


def bedrock_base_id(model: str) -> str:
    """A Bedrock model id without an ARN's path, a geography or a version: the vendor and the
    model (`anthropic.claude-sonnet-4-5-20250929`)."""
    name = model.rsplit("/", 1)[-1]
    name = _BEDROCK_GEO.sub("", name)
    return _BEDROCK_VERSION.sub("", name)


def vendor_twin(model: str) -> str | None:
    """Anthropic's own id of the Claude model a Bedrock or Vertex id names
    (`us.anthropic.claude-sonnet-4-5-20250929-v1:0` and `claude-sonnet-4-5@20250929` are
    `claude-sonnet-4-5-20250929`); None for any other id (an application inference profile's
    ARN names no model)."""
    if found := _VERTEX_CLAUDE.fullmatch(model):
        return f"{found.group(1)}-{found.group(2)}"
    vendor, _, name = bedrock_base_id(model).partition(".")
    if vendor == "anthropic" and name.startswith("claude-"):
        return name
    return None


def capability_provider(spec: ApiProviderSpec | None, model: str, dialect: str) -> str:
    """Whose capability table speaks for `model` of `spec` (the provider id itself for any
    provider that is not a cloud)."""
    if spec is None or not spec.cloud:
        return spec.id if spec is not None else ""
    if spec.cloud == CLOUD_AZURE:
        return "openai"
    if spec.cloud == CLOUD_VERTEX:
        return "anthropic" if dialect == DIALECT_ANTHROPIC else "google"
    vendor = bedrock_base_id(model).partition(".")[0]
    return _BEDROCK_VENDORS.get(vendor, vendor)
