"""Key pools (vault, config, environment), base-URL overrides, key order and resting keys."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.gateway_tables import GatewayConfig, gateway_config
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.gateway.keys import KEY_REST, KeyChain, PoolKey
from llmgw_desktop.engine.vault import VaultLocked
from tests.clock import Clock


class FakeVault:
    """A fake, not the real vault (which has its own tests): keys by (provider, project).

    Like the real one, `resolve_keys` answers the project's keys first, then the global ones.
    """

    def __init__(self, keys: dict[tuple[str, str | None], list[str]] | None = None) -> None:
        self.keys = keys or {}
        self.error: EngineError | None = None
        self.version = 0
        self.asked: list[tuple[str, str | None]] = []

    async def resolve_keys(self, provider: str, project: str | None = None) -> list[str]:
        self.asked.append((provider, project))
        if self.error is not None:
            raise self.error
        scoped = self.keys.get((provider, project), []) if project else []
        return scoped + self.keys.get((provider, None), [])


def _config(providers: dict[str, Any] | None = None) -> GatewayConfig:
    return gateway_config(providers=providers or {}, aliases={}, routes={}, fallback=[])


def _chain(
    providers: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    vault: FakeVault | None = None,
    **kw: Any,
) -> tuple[KeyChain, GatewayConfig]:
    config = _config(providers)
    return KeyChain(config, environ=environ or {}, vault=vault, **kw), config


def _pairs(keys: list[PoolKey]) -> list[tuple[str, str | None]]:
    return [(k.label, k.value) for k in keys]


async def test_pool_order_is_vault_project_vault_global_config_env() -> None:
    vault = FakeVault({("openai", "proj"): ["v-proj"], ("openai", None): ["v-global"]})
    chain, config = _chain(
        {"openai": {"api_keys": ["c-1", "c-2"]}}, {"OPENAI_API_KEY": " e-1 "}, vault
    )
    pool = await chain.pool(config.providers["openai"], "proj")
    assert _pairs(pool) == [
        ("vault:openai#1", "v-proj"),
        ("vault:openai#2", "v-global"),
        ("config#1", "c-1"),
        ("config#2", "c-2"),
        ("env:OPENAI_API_KEY", "e-1"),
    ]
    assert _pairs(await chain.pool(config.providers["openai"]))[0] == ("vault:openai#1", "v-global")
    assert chain.vault_problem is None


async def test_sendable_is_every_providers_pool_by_value_with_its_source() -> None:
    """What the outbound guard's answer scan masks: each key a request of the project could
    be sent with, named by where it comes from (a config key by its provider)."""
    vault = FakeVault({("openai", "proj"): ["v-proj"], ("anthropic", None): ["v-global"]})
    chain, _config = _chain({"openai": {"api_keys": ["c-1"]}}, {"GEMINI_API_KEY": "e-1"}, vault)
    assert await chain.sendable("proj") == {
        "v-proj": "vault:openai#1",
        "c-1": "config:openai#1",
        "v-global": "vault:anthropic#1",
        "e-1": "env:GEMINI_API_KEY",
    }
    assert "v-proj" not in await chain.sendable()  # another project's key is not sent


async def test_identical_values_are_kept_once_under_their_first_source() -> None:
    vault = FakeVault({("openai", None): ["same"]})
    chain, config = _chain(
        {"openai": {"api_key": "same", "api_keys": ["same", "other"]}},
        {"OPENAI_API_KEY": "same"},
        vault,
    )
    pool = await chain.pool(config.providers["openai"])
    assert _pairs(pool) == [("vault:openai#1", "same"), ("config#3", "other")]


@pytest.mark.parametrize(
    ("providers", "pid", "expected"),
    [
        ({}, "ollama", [("none", None)]),  # a local server needs no key
        ({"work": {"base_url": "http://127.0.0.1:9/v1"}}, "work", [("none", None)]),
        (
            {"work": {"base_url": "http://127.0.0.1:9/v1", "api_key": "k"}},
            "work",
            [("config#1", "k")],
        ),
        ({}, "openai", []),  # a cloud API without a key has an empty pool
    ],
)
async def test_pool_when_nothing_or_little_is_set(
    providers: dict[str, Any], pid: str, expected: list[tuple[str, str | None]]
) -> None:
    chain, config = _chain(providers)
    assert _pairs(await chain.pool(config.providers[pid])) == expected


WORK_ENV = {"openai": {"api_key_env": "WORK_KEY"}}


@pytest.mark.parametrize(
    ("providers", "pid", "environ", "label"),
    [
        (WORK_ENV, "openai", {"WORK_KEY": "w", "OPENAI_API_KEY": "o"}, "env:WORK_KEY"),
        (WORK_ENV, "openai", {"OPENAI_API_KEY": "o"}, "env:OPENAI_API_KEY"),
        ({}, "google", {"GOOGLE_API_KEY": "g"}, "env:GOOGLE_API_KEY"),
        ({}, "google", {"GEMINI_API_KEY": "a", "GOOGLE_API_KEY": "b"}, "env:GEMINI_API_KEY"),
        ({}, "google", {"GEMINI_API_KEY": "  ", "GOOGLE_API_KEY": "b"}, "env:GOOGLE_API_KEY"),
    ],
)
async def test_one_env_key_is_taken_override_first(
    providers: dict[str, Any], pid: str, environ: dict[str, str], label: str
) -> None:
    chain, config = _chain(providers, environ)
    assert [k.label for k in await chain.pool(config.providers[pid])] == [label]


async def test_locked_vault_still_yields_config_and_env_keys() -> None:
    vault = FakeVault({("openai", None): ["v-1"]})
    vault.error = VaultLocked("the vault is locked: no master key")
    chain, config = _chain({"openai": {"api_key": "c-1"}}, {"OPENAI_API_KEY": "e-1"}, vault)
    pool = await chain.pool(config.providers["openai"])
    assert [k.label for k in pool] == ["config#1", "env:OPENAI_API_KEY"]
    assert chain.vault_problem == "the vault is locked: no master key"

    vault.error = None  # unlocked since: the vault is no longer to blame
    pool = await chain.pool(config.providers["openai"])
    assert [k.label for k in pool] == ["vault:openai#1", "config#1", "env:OPENAI_API_KEY"]
    assert chain.vault_problem is None


@pytest.mark.parametrize(
    ("pid", "stored", "labels"),
    [
        ("google", {("gemini", None): ["g"]}, ["gemini#1"]),
        ("google", {("google", None): ["a"], ("gemini", None): ["b"]}, ["google#1", "gemini#1"]),
        ("xai", {("grok", None): ["x"]}, ["grok#1"]),
        ("openai", {("gpt", None): ["x"]}, []),
    ],
)
async def test_vault_records_under_other_tools_names_count(
    pid: str, stored: dict[tuple[str, str | None], list[str]], labels: list[str]
) -> None:
    chain, config = _chain(vault=FakeVault(stored))
    pool = await chain.pool(config.providers[pid])
    assert [k.label for k in pool] == [f"vault:{label}" for label in labels]


OWN = {"127.0.0.1:4000", "[::1]:4000", "::1:4000", "127.0.0.1:80"}
BASE_URLS = [
    ("no override", {}, {}, "https://api.anthropic.com"),
    (
        "override",
        {},
        {"ANTHROPIC_BASE_URL": "https://proxy.example/a/ "},
        "https://proxy.example/a",
    ),
    ("blank override", {}, {"ANTHROPIC_BASE_URL": "  "}, "https://api.anthropic.com"),
    (
        "points at us",
        {},
        {"ANTHROPIC_BASE_URL": "http://127.0.0.1:4000"},
        "https://api.anthropic.com",
    ),
    (
        "localhost is us",
        {},
        {"ANTHROPIC_BASE_URL": "http://LOCALHOST:4000/v1"},
        "https://api.anthropic.com",
    ),
    (
        "ipv6 loopback is us",
        {},
        {"ANTHROPIC_BASE_URL": "http://[::1]:4000"},
        "https://api.anthropic.com",
    ),
    (
        "default port 80 is us",
        {},
        {"ANTHROPIC_BASE_URL": "http://localhost/"},
        "https://api.anthropic.com",
    ),
    ("other port", {}, {"ANTHROPIC_BASE_URL": "http://localhost:4001"}, "http://localhost:4001"),
    ("https is port 443", {}, {"ANTHROPIC_BASE_URL": "https://localhost"}, "https://localhost"),
    (
        "config base_url beats env",
        {"anthropic": {"base_url": "https://cfg.example"}},
        {"ANTHROPIC_BASE_URL": "https://env.example"},
        "https://cfg.example",
    ),
]


@pytest.mark.parametrize(
    ("providers", "environ", "url"), [b[1:] for b in BASE_URLS], ids=[b[0] for b in BASE_URLS]
)
def test_base_url_env_override_and_self_loop_guard(
    providers: dict[str, Any], environ: dict[str, str], url: str
) -> None:
    chain, config = _chain(providers, environ, own_origins=set(OWN))
    assert chain.base_url(config.providers["anthropic"]) == url


def test_a_base_url_found_before_the_door_opened_is_found_again_for_its_port() -> None:
    # The own origins are a live view (`Engine.listening_on` adds the port the door bound):
    # a URL found before is not kept once it would point the provider at the gateway itself.
    own: set[str] = set()
    chain, config = _chain(environ={"ANTHROPIC_BASE_URL": "http://127.0.0.1:4000"}, own_origins=own)
    spec = config.providers["anthropic"]
    assert chain.base_url(spec) == "http://127.0.0.1:4000"
    own.add("127.0.0.1:4000")
    assert chain.base_url(spec) == "https://api.anthropic.com"


def test_provider_without_base_url_env_ignores_the_environment() -> None:
    chain, config = _chain(environ={"OPENAI_BASE_URL": "https://x.example"})
    assert chain.base_url(config.providers["groq"]) == "https://api.groq.com/openai/v1"


KEYS = [PoolKey("a", "1"), PoolKey("b", "2"), PoolKey("c", "3")]


def _labels(keys: list[PoolKey]) -> str:
    return "".join(k.label for k in keys)


@pytest.mark.parametrize(
    ("strategy", "caller", "orders"),
    [
        ("priority", "", ["abc", "abc", "abc"]),
        ("round-robin", "", ["abc", "bca", "cab", "abc"]),
        ("caller", "", ["abc", "abc"]),  # no caller: no preference
    ],
)
def test_order_strategies(strategy: str, caller: str, orders: list[str]) -> None:
    chain, _ = _chain()
    got = [_labels(chain.order("p", KEYS, strategy=strategy, caller=caller)) for _ in orders]
    assert got == orders


def test_round_robin_turns_are_counted_per_provider() -> None:
    chain, _ = _chain()
    assert _labels(chain.order("p", KEYS, strategy="round-robin")) == "abc"
    assert _labels(chain.order("q", KEYS, strategy="round-robin")) == "abc"
    assert _labels(chain.order("p", KEYS, strategy="round-robin")) == "bca"


def test_caller_strategy_keeps_each_caller_on_one_key() -> None:
    chain, _ = _chain()
    callers = [f"caller-{i}" for i in range(12)]
    firsts = {c: chain.order("p", KEYS, strategy="caller", caller=c)[0] for c in callers}
    for caller in callers:
        again = chain.order("p", KEYS, strategy="caller", caller=caller)
        assert again[0] == firsts[caller]
        assert sorted(_labels(again)) == ["a", "b", "c"]
    assert len(set(firsts.values())) > 1  # callers are spread over the pool


@pytest.mark.parametrize("strategy", ["priority", "round-robin", "caller"])
def test_single_key_is_never_reordered(strategy: str) -> None:
    chain, _ = _chain()
    assert chain.order("p", KEYS[:1], strategy=strategy, caller="x") == KEYS[:1]


@pytest.mark.parametrize(
    ("retry_after", "still_resting_at", "ready_at"),
    [
        (None, 4.9, 5.0),
        (0.0, None, 0.0),
        (30.0, 29.0, 30.0),
        (10_000.0, KEY_REST.longest_s - 1, KEY_REST.longest_s),
    ],
)
def test_rested_key_goes_last_until_the_clock_passes(
    retry_after: float | None, still_resting_at: float | None, ready_at: float
) -> None:
    clock = Clock(1000.0)
    chain, _ = _chain(clock=clock)
    start = clock.now
    chain.rest("p", KEYS[0], retry_after)
    if still_resting_at is not None:
        clock.now = start + still_resting_at
        assert _labels(chain.order("p", KEYS, strategy="priority")) == "bca"
        assert _labels(chain.order("other", KEYS, strategy="priority")) == "abc"
    clock.now = start + ready_at
    assert _labels(chain.order("p", KEYS, strategy="priority")) == "abc"


def test_only_the_resting_key_whose_rest_ends_first_stays_at_the_back() -> None:
    """A 429 storm on every key of a pool is not multiplied by the pool's size: each request
    asks one resting key, not each (tests/transports/gateway/test_rate_limit_storm.py)."""
    clock = Clock(1000.0)
    chain, _ = _chain(clock=clock)
    chain.rest("p", KEYS[1], 30)
    chain.rest("p", KEYS[0], 60)
    assert _labels(chain.order("p", KEYS, strategy="priority")) == "cb"
    chain.rest("p", KEYS[2], 10)
    assert _labels(chain.order("p", KEYS, strategy="priority")) == "c"
    clock.now += 15
    assert _labels(chain.order("p", KEYS, strategy="priority")) == "cb"


def test_pool_key_repr_never_shows_the_value() -> None:
    key = PoolKey("env:OPENAI_API_KEY", "sk-secret-value-123")
    assert "sk-secret" not in repr(key) and "sk-secret" not in str([key])
    assert repr(key) == "PoolKey(env:OPENAI_API_KEY)"
