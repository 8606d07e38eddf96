"""`llmgw-desktop connect` asks the running gateway which models answer: its `/v1/models`,
with the instance token from its `instance.json` (the vault's keys count, the locked door
lets the local user in)."""

from __future__ import annotations

import asyncio

import pytest

from llmgw_desktop.shell.connect_facts import gather
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.conftest import GatewayFactory


async def test_the_running_gateway_says_which_models_answer_its_vault_s_keys_included(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its /v1/models, asked with the instance token: only Gemini has a key here."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name)
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": "t" * 40})
    facts = await asyncio.to_thread(gather, gateway.settings)
    assert facts.base_url == gateway.base_url
    assert facts.source == "asked the running gateway"
    assert facts.locked
    assert list(facts.answering) == ["google"]
    assert facts.model_for("anthropic") == facts.answering["google"][0]
    assert facts.model_for("google") is None
