"""The name a hard budget's output limit is written under, per provider: one rule
(`ApiProviderSpec.chat_output_limit`) that the translation, the budget's limit and the desk's
probe all read. Azure's deployments of OpenAI's reasoning models refuse `max_tokens` as
OpenAI's do; the budget's limit used to name `max_tokens` for Azure when the client named none.
"""

from __future__ import annotations

import pytest

from llmgw_desktop.config.api_catalog import (
    API_PROVIDERS,
    DIALECT_BEDROCK_CONVERSE,
    DIALECT_OPENAI_CHAT,
    ApiProviderSpec,
)
from llmgw_desktop.engine.gateway.output_limit import limit_changes


def _spec(provider: str, cloud: str = "") -> ApiProviderSpec:
    return ApiProviderSpec(
        id=provider, name=provider, dialect=DIALECT_OPENAI_CHAT, base_url="http://x", cloud=cloud
    )


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        (_spec("openai"), "max_completion_tokens"),
        (_spec("work-azure", cloud="azure"), "max_completion_tokens"),
        (_spec("groq"), "max_tokens"),
        (_spec("lmstudio"), "max_tokens"),
    ],
)
def test_a_budgets_limit_is_written_in_the_providers_own_name(
    spec: ApiProviderSpec, named: str
) -> None:
    assert spec.chat_output_limit == named
    changes = limit_changes(DIALECT_OPENAI_CHAT, {}, 300, chat_limit=spec.chat_output_limit)
    assert changes == {named: 300}


def test_a_limit_the_client_named_keeps_its_name() -> None:
    body = {"max_tokens": 5000}
    changes = limit_changes(DIALECT_OPENAI_CHAT, body, 300, chat_limit="max_completion_tokens")
    assert changes == {"max_tokens": 300}


def test_every_dialect_a_provider_is_sent_in_carries_the_limit() -> None:
    """One rule for every upstream dialect, enumerated from the providers' catalog: Bedrock's
    Converse had no case, so a translated call to Bedrock went with the client's limit (or 4,096)
    while the budget held less (a review of 2026-11-29)."""
    dialects = {spec.dialect for spec in API_PROVIDERS} | {
        also for spec in API_PROVIDERS for also in spec.also_speaks
    }
    for dialect in sorted(dialects):
        changes = limit_changes(dialect, {}, 300, chat_limit="max_tokens")
        assert 300 in _values(changes), (dialect, changes)


def test_converse_gets_its_limit_and_a_thinking_budget_that_fits() -> None:
    body = {
        "inferenceConfig": {"maxTokens": 8192, "temperature": 0.2},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 4096}},
    }
    changes = limit_changes(DIALECT_BEDROCK_CONVERSE, body, 2000, chat_limit="max_tokens")
    assert changes["inferenceConfig"] == {"maxTokens": 2000, "temperature": 0.2}
    thinking = changes["additionalModelRequestFields"]["thinking"]
    assert thinking == {"type": "enabled", "budget_tokens": 1999}


def _values(found: object) -> list[object]:
    """Every value in a nest of dicts."""
    if isinstance(found, dict):
        return [v for value in found.values() for v in _values(value)]
    return [found]
