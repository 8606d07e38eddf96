"""What the gateway knows of a model besides its price: whether it embeds or chats, how many
tokens it takes in and may answer with, and its display name.

Ollama's clients ask before they use a model (`/api/show`): llm-ollama registers a model as an
embedding model only when it says `embedding`, and LlamaIndex sizes what it sends by the
context length, falling back to 3,900 tokens without one. The kind is read from the model's
name, as the vendors name their embedding models (`text-embedding-3-small`,
`gemini-embedding-001`, `mistral-embed`, Ollama's `nomic-embed-text`, `bge-m3`, `all-minilm`).
The context window is the maintained price database's (`maintained.py`: genai-prices'
`context_window`) at the provider that serves the model; a model it does not know, a local
server's among them, has none here: the gateway says nothing rather than guess. So with the
display name (the database's `name`) and the most output tokens an answer may have (the
bundled price table's `max_output`, the vendor's figure), which `/v1/models` shows as `name`
and `max_tokens` (the fields mcp-llm-bridge's dashboard reads).
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass

from llmgw_desktop.engine.tokens.maintained import maintained_prices
from llmgw_desktop.engine.tokens.pricing import price_table

__all__ = ["ModelFacts", "model_facts"]

# Names of embedding models, lower case: every vendor's has "embed" in it, and the open
# families Ollama and the local servers run under their own names.
_EMBEDDING_NAMES = ("*embed*", "bge-*", "*/bge-*", "*minilm*", "gte-*", "*/gte-*")


@dataclass(frozen=True)
class ModelFacts:
    """One model as a client that sizes its requests, or shows them, needs it."""

    embeds: bool  # an embedding model: it answers embedding requests, not chats
    context_window: int | None  # input tokens it takes, when known
    name: str | None = None  # its display name (`Claude Sonnet 4`), when known
    max_output: int | None = None  # the most output tokens one answer may have, when known


# Distinct (model, provider) pairs remembered: every `/v1/models` asks again for each row.
_MEMO_MODELS = 4096


@functools.lru_cache(maxsize=_MEMO_MODELS)
def model_facts(model: str, provider: str | None = None) -> ModelFacts:
    """The facts of `model` as `provider` serves it (its id with or without the
    `provider/` prefix a client may send). Remembered: what it reads is the package's own
    data, which does not change while the gateway runs."""
    name = model.removeprefix(f"{provider}/") if provider else model
    lowered = name.lower()
    embeds = any(fnmatch.fnmatchcase(lowered, pattern) for pattern in _EMBEDDING_NAMES)
    database = maintained_prices()
    return ModelFacts(
        embeds,
        database.context_of(name, provider),
        database.name_of(name, provider),
        price_table().max_output_of(name),
    )
