"""Which provider owns a model id, which route applies, and the order targets are tried in."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.gateway_tables import GatewayConfig, gateway_config
from llmgw_desktop.engine.errors import NotFound
from llmgw_desktop.engine.gateway.errors import AllRoutesFailed
from llmgw_desktop.engine.gateway.records.report import Attempt
from llmgw_desktop.engine.gateway.router import ModelRegistry, Target, plan_request


def _config(
    *,
    providers: dict[str, Any] | None = None,
    aliases: dict[str, str] | None = None,
    routes: dict[str, Any] | None = None,
    fallback: list[str] | None = None,
    small_request_model: str = "",
) -> GatewayConfig:
    return gateway_config(
        providers=providers or {},
        aliases=aliases or {},
        routes=routes or {},
        fallback=fallback or [],
        small_request_model=small_request_model,
    )


def _registry(**kw: Any) -> ModelRegistry:
    return ModelRegistry(_config(**kw))


ALIASES = {
    "sonnet": "claude-sonnet-4-6",
    "fast": "sonnet",
    "cc": "claude-cli/opus",
    "work": "work/qwen3-coder",
    "gflash": "google/gemini-2.5-flash",
}
WORK = {"work": {"base_url": "http://127.0.0.1:8001/v1", "models": ["qwen3-coder"]}}

RESOLVES = [
    ("listed model", "claude-sonnet-4-6", Target("anthropic", "claude-sonnet-4-6")),
    ("alias", "sonnet", Target("anthropic", "claude-sonnet-4-6")),
    ("alias chain", "fast", Target("anthropic", "claude-sonnet-4-6")),
    ("alias to a CLI", "cc", Target("claude-cli", "opus", "cli")),
    ("alias to a custom provider", "work", Target("work", "qwen3-coder")),
    ("CLI bridge model", "claude-cli/sonnet", Target("claude-cli", "sonnet", "cli")),
    ("bare CLI bridge", "claude-cli", Target("claude-cli", "", "cli")),
    ("other CLI bridge", "codex-cli/gpt-5.1", Target("codex-cli", "gpt-5.1", "cli")),
    # An explicit provider prefix wins over ids other providers list.
    (
        "openai/ is OpenAI though Groq lists it",
        "openai/gpt-oss-120b",
        Target("openai", "gpt-oss-120b"),
    ),
    ("Groq's own openai/ id", "groq/openai/gpt-oss-120b", Target("groq", "openai/gpt-oss-120b")),
    (
        "google/ is Google though OpenRouter lists it",
        "google/gemini-2.5-flash",
        Target("google", "gemini-2.5-flash"),
    ),
    (
        "OpenRouter's google/ id",
        "openrouter/google/gemini-2.5-flash",
        Target("openrouter", "google/gemini-2.5-flash"),
    ),
    (
        "anthropic/ is Anthropic",
        "anthropic/claude-sonnet-4.5",
        Target("anthropic", "claude-sonnet-4.5"),
    ),
    # A prefix that is no provider id is part of a listed id.
    (
        "OpenRouter lists it",
        "deepseek/deepseek-chat",
        Target("openrouter", "deepseek/deepseek-chat"),
    ),
    ("alias to a prefixed id", "gflash", Target("google", "gemini-2.5-flash")),
    ("explicit provider", "openai/custom", Target("openai", "custom")),
    ("explicit nested id", "openrouter/meta/llama-4", Target("openrouter", "meta/llama-4")),
    ("explicit off provider", "ollama/qwen3", Target("ollama", "qwen3")),
    ("custom provider model", "qwen3-coder", Target("work", "qwen3-coder")),
    ("claude prefix", "claude-x", Target("anthropic", "claude-x")),
    ("gemini prefix", "gemini-x", Target("google", "gemini-x")),
    ("gemma prefix", "gemma-3", Target("google", "gemma-3")),
    ("grok prefix", "grok-x", Target("xai", "grok-x")),
    ("gpt prefix", "gpt-9", Target("openai", "gpt-9")),
    ("mistral prefix", "devstral-small", Target("mistral", "devstral-small")),
    # A cloud's name of a Claude model its cloud does not list: Anthropic's own.
    (
        "a Bedrock id",
        "eu.anthropic.claude-opus-4-1-20250805-v1:0",
        Target("anthropic", "claude-opus-4-1-20250805"),
    ),
    ("a Vertex id", "claude-opus-4-1@20250805", Target("anthropic", "claude-opus-4-1-20250805")),
]


@pytest.mark.parametrize(
    ("model", "expected"), [r[1:] for r in RESOLVES], ids=[r[0] for r in RESOLVES]
)
def test_resolve(model: str, expected: Target) -> None:
    assert _registry(providers=WORK, aliases=ALIASES).resolve(model) == expected


@pytest.mark.parametrize(
    ("target", "label"),
    [
        (Target("claude-cli", "", "cli"), "claude-cli"),
        (Target("openai", "gpt-4o"), "openai/gpt-4o"),
    ],
)
def test_target_label(target: Target, label: str) -> None:
    assert target.label == label


@pytest.mark.parametrize("model", ["llama-99", "nobody/model-x", "openai/", "custom-model"])
def test_unknown_model_is_not_found_with_a_way_forward(model: str) -> None:
    with pytest.raises(NotFound) as caught:
        _registry().resolve(model)
    assert caught.value.code == "model_not_found"
    assert caught.value.details == {"param": "model"}
    message = caught.value.message
    assert repr(model) in message
    for hint in (f"openai/{model}", "[gateway.aliases]", "GET /v1/models"):
        assert hint in message


@pytest.mark.parametrize(
    ("aliases", "start", "shown"),
    [
        ({"a": "b", "b": "a"}, "a", "a -> b -> a"),
        ({"x": "x"}, "x", "x -> x"),
        ({"a": "b", "b": "c", "c": "b"}, "a", "a -> b -> c -> b"),
        ({f"m{i}": f"m{i + 1}" for i in range(9)}, "m0", "m0 -> m1"),
    ],
)
def test_alias_loop_or_runaway_chain_is_reported(
    aliases: dict[str, str], start: str, shown: str
) -> None:
    with pytest.raises(NotFound) as caught:
        _registry(aliases=aliases).resolve(start)
    assert caught.value.code == "alias_loop"
    assert shown in caught.value.message and "[gateway.aliases]" in caught.value.message


def test_eight_alias_hops_still_resolve() -> None:
    aliases = {f"m{i}": f"m{i + 1}" for i in range(7)} | {"m7": "gpt-4o"}
    assert _registry(aliases=aliases).resolve("m0") == Target("openai", "gpt-4o")


ROUTES = {
    "*": {"strategy": "priority"},
    "claude-*": {"strategy": "round-robin"},
    "claude-sonnet-*": {"strategy": "caller"},
    "claude-sonnet-4-6": {"fallback": ["gpt-4o"]},
}


@pytest.mark.parametrize(
    ("model", "pattern"),
    [
        ("claude-sonnet-4-6", "claude-sonnet-4-6"),  # exact beats every glob
        ("claude-sonnet-4-5", "claude-sonnet-*"),  # longer glob beats shorter
        ("claude-opus-4-6", "claude-*"),
        ("gpt-5.1", "*"),
        ("Claude-opus", "*"),  # globs are case-sensitive
    ],
)
def test_route_for_picks_the_most_specific(model: str, pattern: str) -> None:
    assert _registry(routes=ROUTES).route_for(model).pattern == pattern


def test_route_for_defaults_to_star_when_nothing_matches() -> None:
    route = _registry(routes={"claude-*": {"fallback": ["gpt-4o"]}}).route_for("gpt-5.1")
    assert (route.pattern, route.strategy, route.fallback, dict(route.pin)) == (
        "*",
        "priority",
        (),
        {},
    )


OWNER = "anthropic/claude-sonnet-4-6"
SMALL = "groq/llama-3.1-8b-instant"
PLANS: list[tuple[str, dict[str, Any], dict[str, Any], list[str], str | None, list[str]]] = [
    ("owner only", {}, {}, [OWNER], None, []),
    (
        "pin goes first",
        {"routes": {"claude-*": {"pin": {"codex": "openai/gpt-5.1"}}}},
        {"caller": "codex"},
        ["openai/gpt-5.1", OWNER],
        "pin",
        [],
    ),
    (
        "pin of another caller",
        {"routes": {"claude-*": {"pin": {"codex": "openai/gpt-5.1"}}}},
        {"caller": "aider"},
        [OWNER],
        None,
        [],
    ),
    (
        "small request",
        {"small_request_model": SMALL},
        {"small": True},
        [SMALL, OWNER],
        "small_request",
        [],
    ),
    ("not small", {"small_request_model": SMALL}, {"small": False}, [OWNER], None, []),
    (
        "pin before small",
        {
            "small_request_model": SMALL,
            "routes": {"*": {"pin": {"codex": "gpt-4o"}}},
        },
        {"caller": "codex", "small": True},
        ["openai/gpt-4o", SMALL, OWNER],
        "pin",
        [],
    ),
    (
        "pin is the owner",
        {"routes": {"*": {"pin": {"codex": "claude-sonnet-4-6"}}}},
        {"caller": "codex"},
        [OWNER],
        None,
        [],
    ),
    (
        "route fallback then global",
        {
            "routes": {"claude-*": {"fallback": ["openrouter/x/y", "claude-cli/sonnet"]}},
            "fallback": ["gpt-4o"],
        },
        {},
        [OWNER, "openrouter/x/y", "claude-cli/sonnet", "openai/gpt-4o"],
        None,
        [],
    ),
    (
        "no duplicates",
        {
            "routes": {"*": {"fallback": ["claude-sonnet-4-6", "gpt-4o", "openai/gpt-4o"]}},
            "fallback": ["gpt-4o", "sonnet"],
            "aliases": {"sonnet": "claude-sonnet-4-6"},
        },
        {},
        [OWNER, "openai/gpt-4o"],
        None,
        [],
    ),
    (
        "unresolvable entries skipped",
        {
            "routes": {"*": {"fallback": ["nope-1", "gpt-4o"], "pin": {"codex": "nope-pin"}}},
            "fallback": ["nope-2"],
            "small_request_model": "nope-small",
        },
        {"caller": "codex", "small": True},
        [OWNER, "openai/gpt-4o"],
        None,
        ["nope-pin", "nope-small", "nope-1", "nope-2"],
    ),
]


@pytest.mark.parametrize(
    ("config", "call", "labels", "rule", "skipped"),
    [p[1:] for p in PLANS],
    ids=[p[0] for p in PLANS],
)
def test_plan_request(
    config: dict[str, Any],
    call: dict[str, Any],
    labels: list[str],
    rule: str | None,
    skipped: list[str],
) -> None:
    plan = plan_request(_registry(**config), "claude-sonnet-4-6", **call)
    assert [t.label for t in plan.targets] == labels
    assert plan.rule == rule
    assert list(plan.skipped) == skipped
    assert plan.requested == "claude-sonnet-4-6"


def test_plan_for_an_alias_follows_the_route_of_what_it_names() -> None:
    registry = _registry(
        aliases={"fast": "claude-haiku-4-5"},
        routes={"claude-*": {"fallback": ["gpt-4o-mini"]}},
    )
    plan = plan_request(registry, "fast")
    assert plan.route.pattern == "claude-*"
    assert [t.label for t in plan.targets] == ["anthropic/claude-haiku-4-5", "openai/gpt-4o-mini"]


TEAM = {
    "team": {
        "targets": ["openai/gpt-4o-mini", "nope/x", "openrouter/openai/gpt-4o-mini"],
        "strategy": "weighted",
        "weights": [3, 2, 1],
        "fallback": ["claude-cli/sonnet"],
    }
}


def test_a_route_of_targets_pools_them_between_its_first_and_its_fallbacks() -> None:
    registry = _registry(routes=TEAM, small_request_model="gpt-5-nano")
    plan = plan_request(registry, "team")
    labels = ["openai/gpt-4o-mini", "openrouter/openai/gpt-4o-mini", "claude-cli/sonnet"]
    assert [t.label for t in plan.targets] == labels
    assert [t.label for t in plan.pool] == labels[:2] and plan.pool_at == 0
    assert plan.weights == (3.0, 1.0)  # the unresolvable target's weight goes with it
    assert plan.skipped == ("nope/x",)
    assert plan.small_target == "gpt-5-nano"
    small = plan_request(registry, "team", small=True)
    assert [t.label for t in small.targets][:1] == ["openai/gpt-5-nano"]
    assert small.pool_at == 1 and small.rule == "small_request"


def test_a_routes_own_small_request_target_wins_over_the_global_one() -> None:
    routes = {"team": {"targets": ["openai/gpt-4o"], "small_request": "gpt-5-nano"}}
    plan = plan_request(_registry(routes=routes, small_request_model="gpt-4o-mini"), "team")
    assert plan.small_target == "gpt-5-nano"
    # A route that says nothing keeps the global rule.
    assert plan_request(_registry(small_request_model="gpt-4o-mini"), "gpt-4o").small_target == (
        "gpt-4o-mini"
    )


def test_a_route_whose_targets_all_fail_to_resolve_says_which() -> None:
    routes = {"team": {"targets": ["nope/a", "nope/b"]}}
    with pytest.raises(NotFound) as caught:
        plan_request(_registry(routes=routes), "team")
    assert caught.value.code == "model_not_found"
    assert "nope/a, nope/b" in caught.value.message and "gateway.routes.'team'" in (
        caught.value.message
    )


def test_plan_for_an_unknown_model_raises_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        plan_request(_registry(fallback=["gpt-4o"]), "nope")
    assert caught.value.code == "model_not_found"


def test_discovered_models_of_local_servers_resolve_to_them() -> None:
    registry = ModelRegistry(
        _config(providers={"ollama": {}}),
        discovered={"ollama": ("qwen3", "grok-fake", "claude-sonnet-4-6")},
    )
    assert registry.resolve("qwen3") == Target("ollama", "qwen3")
    # A listed id beats the name-prefix heuristics...
    assert registry.resolve("grok-fake") == Target("ollama", "grok-fake")
    # ...but the catalog's own listing comes first.
    assert registry.resolve("claude-sonnet-4-6") == Target("anthropic", "claude-sonnet-4-6")


def test_models_of_puts_what_the_provider_listed_first_without_repeats() -> None:
    providers = {"work": {"base_url": "http://127.0.0.1:9/v1", "models": ["a", "b"]}}
    registry = ModelRegistry(_config(providers=providers), discovered={"work": ("b", "c")})
    assert registry.models_of("work") == ("b", "c", "a")
    assert registry.models_of("nobody") == ()
    assert registry.provider("nobody") is None


def test_ids_an_api_lists_route_to_it_but_never_beat_a_provider_prefix() -> None:
    registry = _registry()
    with pytest.raises(NotFound):
        registry.resolve("kimi-k2")
    registry.set_discovered("groq", ("kimi-k2", "llama-3.3-70b-versatile"))
    registry.set_discovered("openrouter", ("meta-llama/llama-4", "openai/gpt-4o", "gpt-4o"))
    assert registry.resolve("kimi-k2") == Target("groq", "kimi-k2")
    assert registry.resolve("meta-llama/llama-4") == Target("openrouter", "meta-llama/llama-4")
    assert registry.resolve("openai/gpt-4o") == Target("openai", "gpt-4o")
    # OpenAI's catalogue comes first in config order, so the bare id stays OpenAI's.
    assert registry.resolve("gpt-4o") == Target("openai", "gpt-4o")
    assert registry.listed_by("gpt-4o") == ("openai", "openrouter")


def test_new_discovery_forgets_cached_plans() -> None:
    registry = _registry()
    with pytest.raises(NotFound):
        plan_request(registry, "sora-2")
    assert plan_request(registry, "gpt-5.5").targets == (Target("openai", "gpt-5.5"),)
    # A listed id beats a name prefix...
    registry.set_discovered("openrouter", ("gpt-5.5",))
    assert plan_request(registry, "gpt-5.5").targets == (Target("openrouter", "gpt-5.5"),)
    # ...until OpenAI, earlier in config order, lists it too.
    registry.set_discovered("openai", ("gpt-5.5", "sora-2"))
    assert plan_request(registry, "gpt-5.5").targets == (Target("openai", "gpt-5.5"),)
    assert plan_request(registry, "sora-2").targets == (Target("openai", "sora-2"),)


@pytest.mark.parametrize(
    ("provider", "model", "public"),
    [
        ("openai", "gpt-4o", "gpt-4o"),
        ("groq", "openai/gpt-oss-120b", "groq/openai/gpt-oss-120b"),
        ("openrouter", "google/gemini-2.5-flash", "openrouter/google/gemini-2.5-flash"),
        ("openrouter", "deepseek/deepseek-chat", "deepseek/deepseek-chat"),
    ],
)
def test_public_id_is_what_reaches_that_provider(provider: str, model: str, public: str) -> None:
    registry = _registry()
    assert registry.public_id(provider, model) == public
    assert registry.resolve(public) == Target(provider, model)


def test_a_prefixed_target_without_a_key_hints_at_the_provider_listing_the_id() -> None:
    registry = _registry(fallback=["deepseek/deepseek-chat"])
    plan = plan_request(registry, "google/gemini-2.5-flash")
    hint = "openrouter lists this id: use openrouter/google/gemini-2.5-flash"
    assert plan.hints == {"google/gemini-2.5-flash": hint}
    attempts = [
        Attempt("google/gemini-2.5-flash", "", "no_key"),
        Attempt("openrouter/deepseek/deepseek-chat", "", "no_key"),
    ]
    error = AllRoutesFailed.from_attempts(plan.requested, attempts, None, plan.hints)
    assert f"google/gemini-2.5-flash has no API key ({hint})" in error.message
    assert "openrouter/deepseek/deepseek-chat has no API key;" not in error.message
    tried = [*attempts[:1], Attempt("openrouter/deepseek/deepseek-chat", "env:K", "500")]
    error = AllRoutesFailed.from_attempts(plan.requested, tried, None, plan.hints)
    assert f"google/gemini-2.5-flash: no_key ({hint})" in error.message
    assert "openrouter/deepseek/deepseek-chat: 500)" in error.message  # no hint: it was tried
    # Without hints the message is as it always was.
    plain = AllRoutesFailed.from_attempts(plan.requested, attempts, None)
    assert "lists this id" not in plain.message


def test_the_default_check_model_is_a_catalogue_model_still_listed() -> None:
    registry = _registry()
    assert registry.default_model_of("openai") == "gpt-5.1"
    registry.set_discovered("openai", ("gpt-9", "gpt-4.1", "gpt-5-mini"))
    assert registry.default_model_of("openai") == "gpt-5-mini"
    registry.set_discovered("openai", ("gpt-9",))
    assert registry.default_model_of("openai") == "gpt-9"
    assert registry.default_model_of("ollama") is None


@pytest.mark.parametrize(
    ("model", "cloud"),
    [
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
        ("claude-sonnet-4-5@20250929", "vertex"),
    ],
)
def test_a_cloud_id_its_cloud_lists_falls_back_to_the_same_model_at_anthropic(
    model: str, cloud: str
) -> None:
    """Claude Code set up for Bedrock or Vertex asks by the cloud's names: the gateway's own
    cloud first (when it is set up), else Anthropic's same model, before any fallback."""
    plan = plan_request(_registry(fallback=["gpt-4.1"]), model)
    assert [t.label for t in plan.targets] == [
        f"{cloud}/{model}",
        "anthropic/claude-sonnet-4-5-20250929",
        "openai/gpt-4.1",
    ]


def test_an_alias_of_a_cloud_id_is_the_operators_choice_and_keeps_the_twin() -> None:
    registry = _registry(aliases={"us.anthropic.claude-sonnet-4-5-20250929-v1:0": "gpt-4.1"})
    plan = plan_request(registry, "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert [t.label for t in plan.targets] == ["openai/gpt-4.1"]


def test_a_cloud_id_named_with_its_provider_has_no_implicit_fallback_to_anthropic() -> None:
    """`bedrock/us.anthropic...` asks for Bedrock by name (data kept in the cloud chosen): only
    the operator's fallbacks follow it, never Anthropic's same model on the gateway's own."""
    plan = plan_request(_registry(), "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert [t.label for t in plan.targets] == [
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    ]
