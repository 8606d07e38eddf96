"""Qwen Code over ACP, pointed at the gateway's OpenAI key, asks for a model that key answers.

Pointed at the gateway (`providers/acp/gateway_env.py`), the real Qwen Code is given the
gateway's address as its OpenAI endpoint and a connection key. Without `OPENAI_MODEL` in its
environment it refused to start a session ("Authentication required: Use Qwen Code CLI to
authenticate first"), which the job reported as a login the person had not made, beside a
Providers page that read Qwen Code Ready (its vendor's key answers). Given a model, it would
ask for its own vendor's `qwen3-coder-plus`, which no OpenAI key serves. The gateway now names
the model it asks for: the caller's, where the gateway answers it on that key, else the first
that answers.

The real Qwen Code at `.ci/acp-agents`' version, the scripted upstream as OpenAI, through the
MCP tool a gateway key calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security._power_support import (  # noqa: F401 - fixtures
    StartRecording,
    headers_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import TOKEN, start  # noqa: F401

pytestmark = pytest.mark.contract


async def _asked(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    **arguments: str,
) -> tuple[GatewayRuntime, str, list[str]]:
    """One Qwen Code turn, its environment naming no model: the gateway, the key's principal,
    and the models Qwen Code asked the upstream for."""
    require("qwen")
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    # The gateway's OpenAI provider answers from the scripted upstream.
    monkeypatch.setenv("OPENAI_BASE_URL", f"{upstream.base_url}/v1")
    work = tmp_path / "ws"
    work.mkdir()
    gateway, _ = await start_recording(
        {
            "http.auth_token": TOKEN,
            "providers.timeout_ms": 120_000,
            "workspaces.registry": {"work": {"path": str(work), "remote_level": "read-only"}},
        }
    )
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="editor"))
    upstream.default = Reply.ok("QWEN-ANSWERED")
    async with headers_mcp(gateway, {"Authorization": f"Bearer {key.secret}"}) as client:
        failed, body = await request(client, "qwen", workspace="work", **arguments)
    assert not failed, body
    assert body["state"] == "completed" and "QWEN-ANSWERED" in body["text"], body
    models = [r.body["model"] for r in upstream.llm_requests if isinstance(r.body, dict)]
    return gateway, key.record.principal, models


async def test_qwen_asks_for_the_first_model_the_gateways_openai_key_answers(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway, principal, models = await _asked(start_recording, tmp_path, upstream, monkeypatch)
    answering = await gateway.engine.providers.answering_models("openai", None, principal)
    assert models and set(models) == {answering[0]}, (models, answering[:3])


async def test_qwen_asks_for_the_model_its_caller_named_where_the_gateway_answers_it(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, models = await _asked(start_recording, tmp_path, upstream, monkeypatch, model="gpt-4.1")
    assert models and set(models) == {"gpt-4.1"}, models
