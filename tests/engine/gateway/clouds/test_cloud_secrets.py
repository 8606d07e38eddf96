"""The clouds' credentials and URLs against a caller: no child process gets a cloud credential
from the gateway's environment, and a caller's model id stays one segment of the cloud's URL."""

from __future__ import annotations

import pytest

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.engine.gateway.clouds import CloudCall, wire_for
from llmgw_desktop.engine.providers.child_env import child_environment

CLOUD_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "session-token-value",
    "AWS_BEARER_TOKEN_BEDROCK": "ABSK-bedrock-key",
    "AZURE_OPENAI_API_KEY": "azure-key-value",
    "AZURE_OPENAI_AD_TOKEN": "entra-token-value",
    "AZURE_CLIENT_SECRET": "entra-client-secret",
}


@pytest.mark.parametrize("provider", ["claude", "codex", "gemini", "grok", "opencode", "copilot"])
def test_no_cli_gets_a_cloud_credential(provider: str) -> None:
    env = child_environment(
        provider, environ={"PATH": "/usr/bin", "HOME": "/home/u", **CLOUD_SECRETS}
    )
    assert not set(CLOUD_SECRETS) & set(env)
    assert not set(CLOUD_SECRETS.values()) & set(env.values())


@pytest.mark.parametrize("cloud", ["azure", "bedrock", "vertex"])
@pytest.mark.parametrize("model", ["../../other/models/x", "m?key=1#frag", "a/b:c"])
async def test_a_model_id_stays_one_segment_of_the_url(cloud: str, model: str) -> None:
    spec = next(s for s in API_PROVIDERS if s.id == cloud)
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com",
        "OPENAI_API_VERSION": "2024-10-21",
        "AWS_REGION": "us-east-1",
        "GOOGLE_CLOUD_PROJECT": "p",
    }
    wire = wire_for(spec, env)
    key = '{"type": "service_account"}' if cloud == "vertex" else "api-key-0123456789"
    base = env["AZURE_OPENAI_ENDPOINT"] if cloud == "azure" else ""
    call = CloudCall(base, model, spec.dialect_for(model), key, stream=False)
    # Vertex's URL without its token (the key above is no real service account).
    url = (
        wire.url(call, "p")  # type: ignore[attr-defined]
        if cloud == "vertex"
        else (await wire.prepare(call, b"{}", {})).url
    )
    path = url.split("://", 1)[1].split("?", 1)[0]
    assert "/../" not in path and "#" not in url and "?key" not in url
    assert model not in path  # quoted: its '/', '?', '#' cannot end the segment
