"""Write `engine/tokens/maintained_prices.json` from the installed `genai-prices` package.

`genai-prices` (pydantic's, on PyPI) is a maintained database of LLM prices per provider, the
clouds and embeddings included. Importing it costs a process about half a second and 22 MB
(1.6 MB of Python literals), so the gateway reads a compact copy instead: each provider's
models with the clauses that match a model id and the prices in force today (the base of a
tiered price). Run this after upgrading the package (`tests/engine/tokens/
test_maintained_prices.py` fails while the copy is of another version):

    .venv/bin/python scripts/maintained_prices.py
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from genai_prices import data_snapshot, types

OUT = Path(__file__).resolve().parent.parent / "llmgw_desktop/engine/tokens/maintained_prices.json"
# The price kinds the gateway counts (USD per million tokens), by genai-prices' names.
KINDS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
}


def clause(logic: Any) -> Any:
    """A match clause as JSON: {"equals": ...}, {"starts_with": ...}, {"or": [...]} ..."""
    if isinstance(logic, types.ClauseOr):
        return {"or": [clause(c) for c in logic.or_]}
    if isinstance(logic, types.ClauseAnd):
        return {"and": [clause(c) for c in logic.and_]}
    for name in ("equals", "starts_with", "ends_with", "contains", "regex"):
        if hasattr(logic, name):
            return {name: getattr(logic, name)}
    raise ValueError(f"unknown clause {logic!r}")


# Units a row's usage does not tell apart from text tokens (audio, images, video, characters,
# pages, requests, hours, reasoning billed apart): a model billed by any of them is left out, so
# it stays unpriced rather than priced at its text rate, far below what it costs. Server tools
# (web and file searches) are priced per call apart (`prices.json`'s `server_tools`).
UNCOUNTED = frozenset(
    {
        "input_audio_mtok",
        "output_audio_mtok",
        "cache_audio_read_mtok",
        "audio_hours",
        "input_audio_hours",
        "input_image_mtok",
        "output_image_mtok",
        "cache_image_read_mtok",
        "input_video_mtok",
        "output_video_mtok",
        "input_mchars",
        "input_document_kpages",
        "input_annotated_document_kpages",
        "requests_kcount",
        "input_text_messages_kcount",
        "output_reasoning_mtok",
        "output_citation_mtok",
    }
)


def rate(value: Decimal | types.TieredPrices | None) -> float | None:
    if value is None:
        return None
    return float(value.base if isinstance(value, types.TieredPrices) else value)


def model_entry(model: types.ModelInfo, now: datetime) -> dict[str, Any] | None:
    """One model: its id, match and today's prices; None when it has no token price, or is
    billed by units the gateway cannot count (`UNCOUNTED`)."""
    prices = model.get_prices(now)
    billed = {k for k, v in vars(prices).items() if v is not None and not k.startswith("_")}
    found = {kind: rate(getattr(prices, name, None)) for kind, name in KINDS.items()}
    if found["input"] is None or billed & UNCOUNTED:
        return None  # priced by what a row does not count: left unpriced
    entry: dict[str, Any] = {"id": model.id, "match": clause(model.match)}
    entry.update({kind: value for kind, value in found.items() if value is not None})
    if model.context_window:
        # The most input tokens it takes: what Ollama's `/api/show` tells clients
        # (`engine/tokens/model_facts.py`).
        entry["context"] = model.context_window
    if model.name:
        # Its display name (`Claude Sonnet 4`): what `/v1/models` shows beside the id.
        entry["name"] = model.name
    return entry


def snapshot() -> dict[str, Any]:
    now = datetime.now(tz=UTC)
    providers = []
    for provider in data_snapshot.get_snapshot().providers:
        models = [e for m in provider.models if (e := model_entry(m, now)) is not None]
        providers.append(
            {
                "id": provider.id,
                "model_match": None
                if provider.model_match is None
                else clause(provider.model_match),
                "fallback": list(provider.fallback_model_providers or ()),
                "models": models,
            }
        )
    return {
        "about": "Written by scripts/maintained_prices.py from the genai-prices package: USD "
        "per million tokens per provider, the prices in force on `taken` (a tiered price's "
        "base), each model's context window in tokens (`context`) and display name (`name`) "
        "where known. Do not "
        "edit; upgrade the package and run the script.",
        "source": "genai-prices",
        "version": version("genai-prices"),
        "taken": now.date().isoformat(),
        "providers": providers,
    }


def main() -> int:
    OUT.write_text(json.dumps(snapshot(), separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{OUT.relative_to(OUT.parents[3])}: genai-prices {version('genai-prices')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
