"""The real CLIs through the gateway to models on each cloud, cross-dialect, with the clouds
configured as their own SDKs are (Azure's, AWS's and Google's environment variables) and each
cloud played by the scripted upstream, which checks every Bedrock request's SigV4 signature with
botocore and every Vertex token against what the loopback token endpoint issued to google-auth.

    Claude Code (Anthropic) -> Amazon Bedrock (Converse), Vertex's Claude (rawPredict)
    Codex (Responses)       -> Azure OpenAI (Responses, as sent), Amazon Bedrock (Converse)
    Gemini CLI (Gemini)     -> Vertex's Gemini (as sent), Azure OpenAI (Chat Completions)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import (
    client_environment,
    codex_config,
    run_shell_round_trip,
    say_hello,
    write_codex_config,
)
from tests.fakes.clouds.aws import signature_problem
from tests.fakes.clouds.google import GoogleTokenServer
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.clouds.conftest import (
    AWS_KEY_ID,
    AWS_REGION,
    AWS_SECRET,
    AZURE_API_VERSION,
    AZURE_KEY,
    BEDROCK_MODEL,
    VERTEX_CLAUDE,
    VERTEX_GEMINI,
    VERTEX_LOCATION,
    VERTEX_PROJECT,
)
from tests.transports.gateway.conftest import GatewayFactory

pytestmark = pytest.mark.contract

DEPLOYMENT = "prod-4o"
ALIASES = {
    "azure-4o": f"azure/{DEPLOYMENT}",
    "bedrock-sonnet": f"bedrock/{BEDROCK_MODEL}",
    "vertex-flash": f"vertex/{VERTEX_GEMINI}",
    "vertex-sonnet": f"vertex/{VERTEX_CLAUDE}",
}


@pytest.fixture
async def clouds(
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
) -> AsyncIterator[GatewayRuntime]:
    """A gateway with all three clouds set up in its environment, pointed at the upstream."""
    async with GoogleTokenServer() as google:
        key = google.write(isolated_env / "sa.json", google.service_account(VERTEX_PROJECT))
        for name, value in {
            "AZURE_OPENAI_ENDPOINT": upstream.base_url,
            "AZURE_OPENAI_API_KEY": AZURE_KEY,
            "OPENAI_API_VERSION": AZURE_API_VERSION,
            "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_REGION": AWS_REGION,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": upstream.base_url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key),
            "GOOGLE_CLOUD_PROJECT": VERTEX_PROJECT,
            "GOOGLE_CLOUD_LOCATION": VERTEX_LOCATION,
            "GOOGLE_VERTEX_BASE_URL": upstream.base_url,
        }.items():
            monkeypatch.setenv(name, value)

        def verify(request: web.Request, body: bytes) -> str | None:
            headers = {k.lower(): v for k, v in request.headers.items()}
            if request.path.startswith("/model/"):
                keys: dict[str, tuple[str, str | None]] = {AWS_KEY_ID: (AWS_SECRET, None)}
                return signature_problem("POST", str(request.url), headers, body, keys, AWS_REGION)
            token = headers.get("authorization", "").removeprefix("Bearer ")
            return None if token in google.issued else "not a token Google issued"

        upstream.verify = verify
        yield await start_gateway({"gateway.aliases": ALIASES})


@pytest.fixture
def cli_env(home: Path, clouds: GatewayRuntime) -> dict[str, str]:
    return client_environment(home, clouds.base_url)


def _llm_paths(upstream: ScriptedUpstream, prefix: str) -> set[str]:
    return {r.path for r in upstream.llm_requests if r.path.startswith(prefix)}


async def test_claude_code_on_bedrock_runs_its_shell_tool(
    cli_env: dict[str, str], home: Path, upstream: ScriptedUpstream, clouds: GatewayRuntime
) -> None:
    await run_shell_round_trip(upstream, "claude", "bedrock-sonnet", env=cli_env, cwd=home / "work")
    converse = [r for r in upstream.llm_requests if r.dialect == "bedrock"]
    assert converse and {r.path for r in converse} <= {
        f"/model/{BEDROCK_MODEL}/converse",
        f"/model/{BEDROCK_MODEL}/converse-stream",
    }
    last = converse[-1].body
    result = last["messages"][-1]["content"][0]["toolResult"]
    assert "TOOL-RAN-42" in result["content"][0]["text"]
    rows = await clouds.engine.recorder.recent(limit=20)
    assert ("bedrock", "completed") in {(r["provider"], r["state"]) for r in rows}


async def test_claude_code_on_vertex_claude_goes_as_sent_through_raw_predict(
    cli_env: dict[str, str], home: Path, upstream: ScriptedUpstream, clouds: GatewayRuntime
) -> None:
    await say_hello("claude", "vertex-sonnet", env=cli_env, cwd=home / "work")
    vertex = [r for r in upstream.llm_requests if r.path.startswith("/v1/projects/")]
    assert vertex, [r.path for r in upstream.llm_requests]
    body = vertex[-1].body
    assert "model" not in body and body["anthropic_version"] == "vertex-2023-10-16"
    # Claude Code's own fields reach Vertex as it sent them.
    assert body["context_management"] and "system" in [m["role"] for m in body["messages"][1:]]


async def test_codex_on_azure_sends_its_responses_request_as_is(
    cli_env: dict[str, str], home: Path, upstream: ScriptedUpstream, clouds: GatewayRuntime
) -> None:
    write_codex_config(home, codex_config(clouds.base_url, model="azure-4o"))
    await say_hello("codex", env=cli_env, cwd=home / "work")
    (request,) = [r for r in upstream.llm_requests if r.path == "/openai/responses"]
    assert request.query == {"api-version": AZURE_API_VERSION}
    assert request.body["model"] == DEPLOYMENT and set(request.secrets) == {"api-key"}
    assert {tool["type"] for tool in request.body["tools"]} >= {"function"}


async def test_codex_on_bedrock_runs_its_shell_tool(
    cli_env: dict[str, str], home: Path, upstream: ScriptedUpstream, clouds: GatewayRuntime
) -> None:
    write_codex_config(home, codex_config(clouds.base_url, model="bedrock-sonnet"))
    await run_shell_round_trip(upstream, "codex", env=cli_env, cwd=home / "work")
    assert _llm_paths(upstream, "/model/") == {f"/model/{BEDROCK_MODEL}/converse-stream"}
    result = upstream.llm_requests[-1].body["messages"][-1]["content"][0]["toolResult"]
    assert "TOOL-RAN-42" in result["content"][0]["text"]


async def test_gemini_cli_on_vertex_gemini_sends_its_request_as_is(
    cli_env: dict[str, str], home: Path, upstream: ScriptedUpstream, clouds: GatewayRuntime
) -> None:
    await say_hello("gemini", "vertex-flash", env=cli_env, cwd=home)
    prefix = f"/v1/projects/{VERTEX_PROJECT}/locations/{VERTEX_LOCATION}/publishers/google/models/"
    assert f"{prefix}{VERTEX_GEMINI}:streamGenerateContent" in _llm_paths(upstream, prefix)
    request = [r for r in upstream.llm_requests if r.path.startswith(prefix)][-1]
    assert request.headers["user-agent"].lower().startswith("geminicli")


async def test_gemini_cli_on_azure_runs_its_shell_tool(
    cli_env: dict[str, str], home: Path, upstream: ScriptedUpstream, clouds: GatewayRuntime
) -> None:
    await run_shell_round_trip(upstream, "gemini", "azure-4o", env=cli_env, cwd=home / "work")
    assert _llm_paths(upstream, "/openai/") == {
        f"/openai/deployments/{DEPLOYMENT}/chat/completions"
    }
    last = upstream.llm_requests[-1].body["messages"]
    assert last[-1]["role"] == "tool" and "TOOL-RAN-42" in last[-1]["content"]
