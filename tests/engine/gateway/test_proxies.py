"""Which upstreams go through which proxy: the environment's variables, read as curl reads them."""

from __future__ import annotations

import base64

import pytest

from llmgw_desktop.engine.gateway.http_client.proxies import (
    ProxyRules,
    is_local_host,
    parse_proxy_url,
)

PROXY = "http://proxy.corp:3128"


def route(environ: dict[str, str], url_host: str, *, scheme: str = "https", port: int = 443) -> str:
    """The label of the proxy `scheme://url_host:port` goes through, or "direct"."""
    proxy = ProxyRules.from_environ(environ).select(scheme, url_host, port)
    return "direct" if proxy is None else proxy.label


def test_each_scheme_uses_its_own_variable() -> None:
    env = {"HTTPS_PROXY": "http://secure:1", "HTTP_PROXY": "http://plain:2"}
    assert route(env, "api.openai.com") == "http://secure:1"
    assert route(env, "api.openai.com", scheme="http", port=80) == "http://plain:2"


def test_lowercase_variable_wins_over_uppercase() -> None:
    env = {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"}
    assert route(env, "api.openai.com") == "http://lower:1"


def test_all_proxy_serves_schemes_without_their_own() -> None:
    env = {"ALL_PROXY": "http://every:1", "HTTP_PROXY": "http://plain:2"}
    assert route(env, "api.openai.com") == "http://every:1"
    assert route(env, "api.openai.com", scheme="http", port=80) == "http://plain:2"


def test_no_variables_means_direct() -> None:
    assert route({}, "api.openai.com") == "direct"
    assert route({"HTTPS_PROXY": ""}, "api.openai.com") == "direct"


def test_proxy_url_without_scheme_or_port_is_http_on_port_80() -> None:
    assert route({"HTTPS_PROXY": "proxy.corp"}, "api.openai.com") == "http://proxy.corp:80"


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "127.9.9.9", "::1", "0.0.0.0"]
)
def test_loopback_upstreams_never_go_through_a_proxy(host: str) -> None:
    # Not even when NO_PROXY is set to something else: local servers see every prompt.
    assert route({"HTTPS_PROXY": PROXY, "NO_PROXY": "example.com"}, host) == "direct"
    assert is_local_host(host)


def test_proxy_loopback_sends_loopback_through_the_proxy() -> None:
    rules = ProxyRules.from_environ({"HTTPS_PROXY": PROXY}, proxy_loopback=True)
    proxy = rules.select("https", "127.0.0.1", 8443)
    assert proxy is not None and proxy.label == PROXY


@pytest.mark.parametrize("host", ["10.0.0.1", "example.com", "127.0.0.1.example.com", "::2"])
def test_other_hosts_are_not_local(host: str) -> None:
    assert not is_local_host(host)


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "expected"),
    [
        ("*", "api.openai.com", 443, "direct"),
        ("openai.com", "api.openai.com", 443, "direct"),
        ("openai.com", "openai.com", 443, "direct"),
        (".openai.com", "api.openai.com", 443, "direct"),
        (".openai.com", "openai.com", 443, "direct"),
        ("*.openai.com", "api.openai.com", 443, "direct"),
        ("openai.com", "notopenai.com", 443, PROXY),
        ("OpenAI.COM.", "api.openai.com", 443, "direct"),
        ("example.com, openai.com", "api.openai.com", 443, "direct"),
        ("example.com openai.com", "api.openai.com", 443, "direct"),
        ("openai.com:443", "api.openai.com", 443, "direct"),
        ("openai.com:8443", "api.openai.com", 443, PROXY),
        ("10.1.2.3", "10.1.2.3", 443, "direct"),
        ("10.1.2.3", "10.1.2.4", 443, PROXY),
        ("10.0.0.0/8", "10.200.0.1", 443, "direct"),
        ("10.0.0.0/8", "11.0.0.1", 443, PROXY),
        ("10.1.2.3:8443", "10.1.2.3", 8443, "direct"),
        ("10.1.2.3:8443", "10.1.2.3", 443, PROXY),
        ("fd00::/8", "fd12::1", 443, "direct"),
        ("[fd12::1]:443", "fd12::1", 443, "direct"),
        ("fd12::1", "fd12::1", 443, "direct"),
        # A name is compared as written: an address in a network is not its DNS name.
        ("10.0.0.0/8", "internal.corp", 443, PROXY),
        ("", "api.openai.com", 443, PROXY),
    ],
)
def test_no_proxy_entries(no_proxy: str, host: str, port: int, expected: str) -> None:
    assert route({"HTTPS_PROXY": PROXY, "NO_PROXY": no_proxy}, host, port=port) == expected


def test_lowercase_no_proxy_wins() -> None:
    env = {"HTTPS_PROXY": PROXY, "no_proxy": "openai.com", "NO_PROXY": "example.com"}
    assert route(env, "api.openai.com") == "direct"
    assert route(env, "api.example.com") == PROXY


def test_credentials_become_basic_authorization_and_stay_out_of_the_label() -> None:
    proxy = parse_proxy_url("http://alice:s%40cret@proxy.corp:3128", source="HTTPS_PROXY")
    assert proxy.label == "http://proxy.corp:3128"
    assert proxy.authorization == "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert "cret" not in repr(proxy.label) and proxy.problem is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("socks5://user:hunter2@proxy.corp:1080", "only http:// proxies"),
        ("https://user:hunter2@proxy.corp:3128", "only http:// proxies"),
        ("http://user:hunter2@proxy.corp:notaport", "not a valid proxy URL"),
        ("http://user:hunter2@:3128", "names no proxy host"),
    ],
)
def test_unusable_proxy_is_kept_with_its_problem_and_no_password(value: str, words: str) -> None:
    rules = ProxyRules.from_environ({"HTTPS_PROXY": value})
    proxy = rules.select("https", "api.openai.com", 443)
    # Kept, so requests fail saying why instead of quietly going around the proxy.
    assert proxy is not None and proxy.problem is not None
    assert words in proxy.problem
    assert "hunter2" not in proxy.problem and "hunter2" not in proxy.label
