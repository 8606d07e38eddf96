"""The maintained price database beneath the person's prices and the bundled table: per
provider (the clouds' own), embeddings, what it leaves unpriced, and where it and the bundled
table disagree, which is right and why."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pytest

from llmgw_desktop.engine.tokens.maintained import maintained_prices
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.pricing import Price, price_table
from llmgw_desktop.engine.tokens.usage import Usage

# The bundled table's vendors as the gateway names its providers.
VENDOR_PROVIDER = {"anthropic": "anthropic", "openai": "openai", "google": "google", "xai": "xai"}

# Where the table and the database disagreed on 2026-11-26 (genai-prices 0.2.3), and the
# verdict. The table wins a lookup (it is above the database), so each disagreement is decided
# here: where the database was right the table was corrected, and nothing is left to differ.
# A later version of the database that differs again fails `test_the_table_and_the_database_
# agree_on_every_model_both_price` until it is looked at.
DECIDED = {
    "grok-3": "database: xAI's models page lists cached input at $0.75 (the table had input)",
    "grok-3-fast": "database: xAI lists cached input at $1.25",
    "grok-3-mini-fast": "database: xAI lists cached input at $0.15",
    "gemini-2.0-flash-lite": "database: Google offers no context caching for it, so no "
    "discounted cache read (the table had tokencost's $0.01875)",
}
# Where the two still differ and the table is right, in which fields. The database states no
# output price for an embedding model; the shipped copy prices any output of a model without one
# at its input rate (so an output that does come is never free), while the table says 0: an
# embedding answers no tokens, so either way nothing is billed for output.
EMBEDDING = "table: an embedding answers no output tokens, so its output price bills nothing"
TABLE_WINS = {
    "text-embedding-3-small": ({"output"}, EMBEDDING),
    "text-embedding-3-large": ({"output"}, EMBEDDING),
    "text-embedding-ada-002": ({"output"}, EMBEDDING),
    "mistral-embed": ({"output"}, EMBEDDING),
    "gemini-embedding-001": ({"output"}, EMBEDDING),
}
# Prefixes the table leaves unpriced that the database prices, and who is right.
UNPRICED_IN_THE_TABLE = {
    "gpt-5-pro": "database: $15/$120 per million is OpenAI's list price (the table's sources "
    "lacked it; it is not gpt-5's price, which the table's prefix would give)",
    "o3-deep-research": "database: $10/$40, OpenAI's list price",
    "o4-mini-deep-research": "database: $2/$8, OpenAI's list price",
    "gpt-4o-mini-tts": "database: $0.60 per million text tokens in, $12 per million audio "
    "tokens out, which the row counts as its output",
    "gpt-4o-mini-audio": "table (`not_by_tokens`): the database gives text prices only, and "
    "audio tokens, billed at $10/$20, are not told apart in a row; never priced",
}


def test_the_shipped_copy_is_of_the_installed_database() -> None:
    try:
        installed = version("genai-prices")
    except PackageNotFoundError:
        pytest.skip("genai-prices is not installed: the shipped copy stands alone")
    assert maintained_prices().version == installed, (
        "run scripts/maintained_prices.py, then review DECIDED and UNPRICED_IN_THE_TABLE"
    )


def test_the_table_and_the_database_agree_on_every_model_both_price() -> None:
    database = maintained_prices()
    disagree = {}
    for prefix, price in price_table().prices.items():
        vendor = _vendor_of(prefix)
        theirs = database.price_of(prefix, VENDOR_PROVIDER.get(vendor or ""))
        if theirs is None or theirs == price:
            continue
        fields = {k for k in ("input", "output", "cache_read", "cache_write")}
        differ = {k for k in fields if getattr(price, k) != getattr(theirs, k)}
        allowed, _why = TABLE_WINS.get(prefix, (set(), ""))
        if not differ <= allowed:
            disagree[prefix] = (price, theirs)
    assert disagree == {}, f"decide which is right, fix the table, say why in DECIDED: {disagree}"
    for prefix in DECIDED:
        assert database.price_of(prefix) == price_table().prices[prefix]


def test_unpriced_prefixes_of_the_table_are_priced_by_the_database_unless_not_by_tokens() -> None:
    book = PriceBook()
    table = price_table()
    for prefix, verdict in UNPRICED_IN_THE_TABLE.items():
        assert prefix in table.unpriced
        found = book.priced(prefix, "openai")
        if verdict.startswith("table"):
            assert prefix in table.not_by_tokens and found is None
        else:
            assert found is not None and found.source == "maintained", prefix
    # Never the family's price: gpt-5-pro is not gpt-5.
    assert book.price_of("gpt-5-pro", "openai") == Price(15.0, 120.0, 15.0, 15.0)
    assert book.price_of("gpt-5-pro", "openai") != book.price_of("gpt-5", "openai")


@pytest.mark.parametrize(
    ("provider", "model", "price"),
    [
        ("azure", "gpt-4o-mini", Price(0.15, 0.6, 0.075, 0.15)),  # Azure's own entry
        ("bedrock", "claude-sonnet-4-5", Price(3.0, 15.0, 0.3, 3.75)),  # the vendor's, via AWS
        ("vertex", "gemini-2.5-pro", Price(1.25, 10.0, 0.125, 1.25)),  # Vertex as `google`
        ("google", "gemini-2.5-flash", None),  # billed by audio tokens too: left out
        ("groq", "llama-3.1-8b-instant", Price(0.05, 0.08, 0.05, 0.05)),
        ("openrouter", "openai/gpt-4o-mini", Price(0.15, 0.6, 0.075, 0.15)),
        ("mistral", "mistral-embed", Price(0.1, 0.1, 0.1, 0.1)),  # an embedding: input only
        ("openai", "text-embedding-3-small", Price(0.02, 0.02, 0.02, 0.02)),
        ("ollama", "qwen3", None),  # a local server: no price
        ("openai", "made-up-model-7", None),
        ("work-vllm", "gpt-4o-mini", Price(0.15, 0.6, 0.075, 0.15)),  # one's own: the vendor's
    ],
)
def test_the_database_prices_per_provider(provider: str, model: str, price: Price | None) -> None:
    assert maintained_prices().price_of(model, provider) == price


def test_the_person_then_the_table_then_the_database() -> None:
    mine = Price(1.0, 1.0, 1.0, 1.0)
    book = PriceBook(user={"deepseek-chat": mine})
    assert book.priced("deepseek-chat").source == "config"  # type: ignore[union-attr]
    book.replace_user({})
    found = book.priced("deepseek-chat")
    assert found is not None and found.source == "maintained"
    assert book.source_of("gpt-5-mini", "azure") == "table"  # the table is above it
    cost = book.cost_of("text-embedding-3-small", Usage(input_tokens=1_000_000), "openai")
    assert cost == pytest.approx(0.02)
    assert PriceBook(maintained=None).price_of("deepseek-chat") is None


def test_its_version_and_date_are_said() -> None:
    database = maintained_prices()
    assert database.label.startswith(f"genai-prices {database.version} (20")
    assert database.taken.year >= 2026


def _vendor_of(prefix: str) -> str | None:
    import json
    from importlib import resources

    raw = json.loads(
        resources.files("llmgw_desktop.engine.tokens").joinpath("prices.json").read_text()
    )
    vendor = raw["models"].get(prefix, {}).get("vendor")
    return str(vendor) if vendor else None
