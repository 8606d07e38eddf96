"""A provider's lasting trouble: failed Tests and calls failing in a way waiting will not fix,
kept until a later success; transient failures are left to the circuit breaker."""

from __future__ import annotations

import time

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.events import EventBus, ModelListRead, RequestFinished
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.switches import ProviderSwitches
from llmgw_desktop.engine.providers.trouble import ProviderTrouble


class NoSaver:
    can_save = False


def _switches(events: EventBus) -> ProviderSwitches:
    return ProviderSwitches(
        [],
        api_providers=API_PROVIDERS,
        discovery=Discovery(),
        events=events,
        saver=NoSaver(),  # type: ignore[arg-type]
        tasks=None,  # type: ignore[arg-type]
        saving=lambda: False,
    )


def _finished(provider: str, state: str, code: str | None = None) -> RequestFinished:
    return RequestFinished("r", provider, "m", state, "local", "test", 0.0, 1.0, error_code=code)


def _tracker() -> tuple[EventBus, ProviderTrouble]:
    events = EventBus()
    switches = _switches(events)
    clock = iter(float(n) for n in range(1_000_000, 2_000_000))
    trouble = ProviderTrouble(
        events, switch_ids=[s.id for s in switches.states()], clock=lambda: next(clock)
    )
    return events, trouble


def test_every_api_provider_and_local_server_has_a_switch_and_mistral_api_its_own() -> None:
    states = {s.id: s for s in _switches(EventBus()).states()}
    assert states["claude"].kind == "cli" and states["claude"].gateway_id == "claude-cli"
    assert states["openai"].kind == "api" and states["ollama"].kind == "local"
    assert states["mistral"].kind == "cli" and states["mistral-api"].gateway_id == "mistral"
    assert [s.kind for s in states.values()] == sorted(
        (s.kind for s in states.values()), key=["cli", "api", "local"].index
    )


def test_auth_failures_in_a_row_are_counted_until_a_success() -> None:
    events, trouble = _tracker()
    events.publish(_finished("openai", "failed", "upstream_401"))
    events.publish(_finished("openai", "failed", "upstream_401"))
    found = trouble.of("openai")
    assert found is not None and found.count == 2 and found.source == "calls"
    assert found.describe().startswith("2 calls in a row answered 401 (last at ")
    events.publish(_finished("openai", "completed"))
    assert trouble.of("openai") is None


def test_transient_failures_are_the_breakers_business() -> None:
    events, trouble = _tracker()
    for code in ("upstream_429", "upstream_503", "timeout", "rate_limited"):
        events.publish(_finished("claude", "failed", code))
        events.publish(_finished("anthropic", "failed", code))
    assert trouble.of("claude") is None and trouble.of("anthropic") is None


def test_mistral_api_and_vibe_failures_go_to_their_own_switch() -> None:
    events, trouble = _tracker()
    events.publish(_finished("claude", "failed", "auth_required"))
    events.publish(_finished("mistral-api", "failed", "upstream_403"))  # the API's own row
    assert trouble.of("claude") is not None
    assert trouble.of("mistral-api") is not None and trouble.of("mistral") is None
    events.publish(_finished("mistral", "failed", "auth_required"))  # Vibe's row
    events.publish(_finished("mistral-api", "completed"))
    assert trouble.of("mistral-api") is None and trouble.of("mistral") is not None


def test_a_failed_test_lasts_until_a_later_success() -> None:
    events, trouble = _tracker()
    trouble.note_test("groq", ok=False, code="no_provider_available", message="has no API key")
    found = trouble.of("groq")
    assert found is not None and found.describe() == "Test failed: has no API key"
    events.publish(_finished("groq", "failed", "upstream_429"))  # transient: still the test's
    assert trouble.of("groq") == found
    trouble.note_test("groq", ok=True)
    assert trouble.of("groq") is None


def test_a_key_refused_at_the_model_listing_is_trouble_until_a_listing_or_a_call_answers() -> None:
    events, trouble = _tracker()
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 401, "answered 401: bad key"))
    found = trouble.of("openai")
    assert found is not None and found.source == "models" and found.code == "upstream_401"
    assert found.describe() == (
        "its key env:OPENAI_API_KEY was refused (401) when its model list was read: "
        "answered 401: bad key"
    )
    events.publish(ModelListRead("openai", "vault:openai#1", None))
    assert trouble.of("openai") is None

    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 403, "answered 403"))
    events.publish(_finished("openai", "completed"))
    assert trouble.of("openai") is None


def test_the_key_calls_were_refused_with_is_the_refused_key_as_a_listings_is() -> None:
    """A review: a key refused on calls (not at the listing) was listed on Provider keys and
    in the first-run guide as any other. The calls' trouble keeps the key they ended on."""
    events, trouble = _tracker()
    for _ in range(2):
        events.publish(
            _finished("openai", "failed", "upstream_401")._replace(failed_key="env:OPENAI_API_KEY")
        )
    found = trouble.refused_key("env:OPENAI_API_KEY")
    assert found is not None and found[0] == "openai"
    assert found[1].refusal_words() == "401 on 2 calls in a row"
    assert trouble.refused_key("vault:openai#1") is None
    # Another kind of lasting failure keeps no key; a listing's refusal reads its own way.
    events.publish(_finished("openai", "completed"))
    events.publish(_finished("openai", "failed", "auth_required")._replace(failed_key="x"))
    assert trouble.refused_key("x") is None
    events.publish(_finished("openai", "completed"))
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 403, "answered 403"))
    listed = trouble.refused_key("env:OPENAI_API_KEY")
    assert listed is not None and listed[1].refusal_words() == "403 when its model list was read"


def test_a_listing_does_not_clear_or_hide_what_calls_or_a_test_found() -> None:
    events, trouble = _tracker()
    trouble.note_test("openai", ok=False, code="failed", message="no route")
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 401, "answered 401"))
    events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", None))
    found = trouble.of("openai")
    assert found is not None and found.source == "test"


def test_a_calls_not_installed_or_logged_out_ends_when_a_look_sees_that_set_right() -> None:
    events, trouble = _tracker()
    events.publish(_finished("claude", "failed", "not_installed"))
    trouble.note_set_right("claude", ErrorCode.AUTH_REQUIRED)  # not what the calls said
    assert trouble.of("claude") is not None
    trouble.note_set_right("claude", ErrorCode.NOT_INSTALLED)
    assert trouble.of("claude") is None
    events.publish(_finished("claude", "failed", "auth_required"))
    trouble.note_set_right("claude", ErrorCode.AUTH_REQUIRED)
    assert trouble.of("claude") is None
    trouble.note_test("claude", ok=False, code="auth_required", message="not logged in")
    trouble.note_set_right("claude", ErrorCode.AUTH_REQUIRED)  # a Test's word stands
    assert trouble.of("claude") is not None


def test_a_list_that_answers_ends_a_refusal_its_calls_or_a_test_met_once_the_keys_changed() -> None:
    events, trouble = _tracker()
    keys = {"version": 1}
    trouble = ProviderTrouble(events, switch_ids=["openai"], keys_version=lambda: keys["version"])
    events.publish(_finished("openai", "failed", "upstream_401"))
    # The same keys: some servers list models to anyone, and a key may list what it may not
    # call. The refusal stands.
    events.publish(ModelListRead("openai", "vault:openai#1", None))
    assert trouble.of("openai") is not None
    keys["version"] += 1  # the key replaced (its label stays `vault:openai#1`)
    events.publish(ModelListRead("openai", "vault:openai#1", None))
    assert trouble.of("openai") is None
    trouble.note_test("openai", ok=False, code="upstream_key_refused", message="refused")
    events.publish(ModelListRead("openai", "vault:openai#1", None))
    assert trouble.of("openai") is not None
    keys["version"] += 1
    events.publish(ModelListRead("openai", "vault:openai#1", None))
    assert trouble.of("openai") is None
    trouble.note_test("openai", ok=False, code="upstream_529", message="overloaded")
    events.publish(ModelListRead("openai", "vault:openai#1", None))  # a Test's passing word
    found = trouble.of("openai")
    assert found is not None and not found.holds_back


async def test_a_cli_a_call_found_not_installed_is_a_set_up_wanted_not_failing(
    loaded: LoadedSettings,
) -> None:
    """Two calls to coding CLIs not installed turned the header red, "2 failing", and /health
    said so, beside rows saying "Not installed" (person pass, 2026-11-29). Its models are
    held back still, as a provider with no key has none."""
    engine = Engine(loaded.settings)
    await engine.start()

    def ended(code: str) -> RequestFinished:
        now = time.time()  # its calls' health reads the last 15 min
        finished = ("r", "claude", "m", "failed", "local", "t", now, now)
        return RequestFinished(*finished, error_code=code)

    try:
        for _ in range(3):
            engine.events.publish(ended("not_installed"))
        health = engine.providers.health("claude")
        assert health.state != "failing", health
        assert "claude" not in engine.health()["providers"]["failing"]
        trouble = engine.providers.trouble("claude")
        assert trouble is not None and trouble.holds_back
        for _ in range(3):
            engine.events.publish(ended("provider_error"))
        assert engine.providers.health("claude").state == "failing"  # its own failures count
    finally:
        await engine.stop()
