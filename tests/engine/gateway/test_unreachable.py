"""What `UnreachableHosts` says is rested now, for `/health`, the process health and the window:
each host's provider, origin, failures in a row, seconds left and last error, on a clock the
test moves (the rests themselves, against a real black hole, are in
tests/transports/gateway/test_unreachable_hosts.py)."""

from __future__ import annotations

from llmgw_desktop.engine.gateway.http_client.unreachable import (
    FAILURES_TO_REST,
    REST,
    RestedHost,
    UnreachableHosts,
)
from llmgw_desktop.engine.gateway.shown_urls import origin_of

BASE = "https://api.example.test/v1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_origin_of_keeps_no_user_password_path_or_query() -> None:
    assert origin_of("https://bob:pw@proxy.example.test:8443/v1/t0k?key=abc#x") == (
        "https://proxy.example.test:8443"
    )
    assert origin_of("http://[::1]:8080/v1") == "http://[::1]:8080"
    assert origin_of(BASE) == "https://api.example.test"


def test_a_host_is_listed_while_it_rests_with_why_and_for_how_long() -> None:
    clock = Clock()
    hosts = UnreachableHosts(clock)
    for _ in range(FAILURES_TO_REST - 1):
        hosts.failed("openai", BASE, "cannot connect to openai at https://api.example.test")
    assert hosts.rested() == []  # failures, not yet a rest
    hosts.failed("openai", BASE, "refused (Bearer abcdefgh12345678)")
    clock.now += 2.0
    assert hosts.rested() == [
        RestedHost(
            "openai",
            "https://api.example.test",
            FAILURES_TO_REST,
            REST.first_s - 2.0,
            "refused (Bearer [REDACTED])",
        )
    ]
    assert hosts.rested()[0].to_dict() == {
        "provider": "openai",
        "origin": "https://api.example.test",
        "failuresInARow": FAILURES_TO_REST,
        "secondsLeft": REST.first_s - 2.0,
        "lastError": "refused (Bearer [REDACTED])",
    }
    clock.now += REST.first_s
    assert hosts.rested() == []  # the rest is over: tried again at the next request


def test_the_longest_rest_comes_first_and_a_connection_ends_one() -> None:
    clock = Clock()
    hosts = UnreachableHosts(clock)
    for _ in range(FAILURES_TO_REST):
        hosts.failed("openai", BASE)
    clock.now += 1.0
    for _ in range(FAILURES_TO_REST):
        hosts.failed("groq", "https://api.groq.test/openai/v1")
    assert [h.provider for h in hosts.rested()] == ["groq", "openai"]
    hosts.connected("groq", "https://api.groq.test/openai/v1")
    assert [h.provider for h in hosts.rested()] == ["openai"]


def test_a_long_error_is_masked_whole_then_cut() -> None:
    hosts = UnreachableHosts(Clock())
    key = "sk-proj-" + "a" * 40
    for _ in range(FAILURES_TO_REST):
        hosts.failed("openai", BASE, "x" * 190 + " " + key)
    [host] = hosts.rested()
    assert "aaaaaaaa" not in host.last_error and len(host.last_error) <= 200
