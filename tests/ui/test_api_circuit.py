"""An API provider's Circuit, in the Providers list and the Overview's health table, from its
models resting for everyone (`provider_rows.api_circuit_text`, fed by `providers.cooling()`,
what `/health`'s `cooling` reads): a review under Xvfb (2026-11-29) found "—" there while the
routes table above said "Circuit open (tried last) until 09:05:15" for the same provider."""

from __future__ import annotations

from llmgw_desktop.engine.api import HUNG_OUTCOME, TargetView
from llmgw_desktop.ui.pages.provider_rows import api_circuit_text, circuit_open


def _view(model: str, state: str, cooling_s: float | None = 30.0) -> TargetView:
    return TargetView(f"openai/{model}", "openai", model, state=state, cooling_s=cooling_s)


def test_an_api_providers_circuit_says_its_models_resting_for_everyone() -> None:
    opened = api_circuit_text([_view("gpt-4o-mini", "open")], "openai")
    assert opened.startswith("gpt-4o-mini tried last until ") and circuit_open(opened), opened
    two = api_circuit_text([_view("gpt-4o", "cooling"), _view("gpt-4o-mini", "open")], "openai")
    assert two.startswith("2 models tried last until ") and two.endswith("(cooling)"), two
    hung = api_circuit_text([_view("gpt-4o", HUNG_OUTCOME, None)], "openai")
    assert hung == "gpt-4o: no answer to the gateway's probe (hung)"
    half = api_circuit_text([_view("gpt-4o", "half_open", None)], "openai")
    assert half == "gpt-4o: one call tries (half open)"
    # Another provider's models, or none resting: nothing to say (closed would claim health).
    assert api_circuit_text([_view("gpt-4o", "open")], "anthropic") == "—"
    assert api_circuit_text([], "openai") == "—"
