"""The keys in use, as the Credentials page shows them: every source (vault, config, the
environment) in the order a request tries them, each masked, and only for the operator."""

from __future__ import annotations

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.access import AccessDenied
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.gateway.desk.live_keys import describe

ENV_KEY = "sk-env-0123456789abcdefghijkl"
REMOTE = Principal("oauth:editor", "oauth", frozenset({"mcp"}))


@pytest.mark.parametrize(
    ("label", "kind", "words"),
    [
        ("vault:gemini#2", "vault", "vault, global key 2 of gemini"),
        ("config#1", "config", "config.toml [gateway.providers.google], key 1"),
        ("env:GOOGLE_API_KEY", "environment", "environment variable GOOGLE_API_KEY"),
    ],
)
def test_each_source_is_named_in_words(label: str, kind: str, words: str) -> None:
    assert describe(label, "google") == (kind, words)


async def test_the_operator_sees_environment_keys_masked_and_no_one_else_does(
    loaded: LoadedSettings,
) -> None:
    engine = Engine(loaded.settings, environ={"OPENAI_API_KEY": ENV_KEY})
    await engine.start()
    try:
        keys = await engine.providers.live_keys(OPERATOR)
        assert [(k.provider, k.order, k.kind, k.masked_value) for k in keys] == [
            ("openai", 1, "environment", "sk-env...***")
        ]
        assert ENV_KEY not in repr(keys)
        with pytest.raises(AccessDenied):
            await engine.providers.live_keys(REMOTE)
    finally:
        await engine.stop()
