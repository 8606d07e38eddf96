"""The name a hard budget's output limit is written under, per provider: one rule
(`ApiProviderSpec.chat_output_limit`) that the translation, the budget's limit and the desk's
probe all read. Azure's deployments of OpenAI's reasoning models refuse `max_tokens` as
OpenAI's do; the budget's limit used to name `max_tokens` for Azure when the client named none.
"""

from __future__ import annotations

import pytest

from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_CHAT, ApiProviderSpec
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
