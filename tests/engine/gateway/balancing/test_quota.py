"""The rate-limit headers of OpenAI-style APIs and of Anthropic, read into what is left."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.engine.gateway.balancing.quota import UNKNOWN_RESET_S, read_quota

NOW, WALL = 1000.0, 1_800_000_000.0


def test_openai_headers_give_requests_and_tokens_left_until_their_resets() -> None:
    reading = read_quota(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-tokens": "6m0s",
        },
        NOW,
        WALL,
    )
    assert reading is not None and reading.requests and reading.tokens
    assert (reading.requests.left, reading.requests.limit) == (59, 60)
    assert reading.requests.until == NOW + 1
    assert reading.tokens.until == NOW + 360
    assert reading.headroom(NOW) == pytest.approx(59 / 60)
    # Once the requests' window resets only the tokens' reading holds.
    assert reading.headroom(NOW + 2) == pytest.approx(149984 / 150000)


def test_anthropic_headers_give_their_resets_as_times() -> None:
    reading = read_quota(
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "2026-01-15T08:00:30Z",
            "anthropic-ratelimit-input-tokens-limit": "40000",
            "anthropic-ratelimit-input-tokens-remaining": "39000",
        },
        NOW,
        1_768_464_000.0,  # 2026-01-15T08:00:00Z
    )
    assert reading is not None and reading.requests and reading.tokens
    assert reading.requests.left == 0 and reading.requests.until == pytest.approx(NOW + 30)
    assert reading.tokens.limit == 40000 and reading.tokens.until == NOW + UNKNOWN_RESET_S
    assert reading.near_limit(NOW, tokens=10, reserve=0.0) is not None


@pytest.mark.parametrize(
    ("reset", "seconds"),
    [("20ms", 0.02), ("2m59.56s", 179.56), ("1h2m3s", 3723.0), ("7", 7.0), ("soon", None)],
)
def test_reset_durations(reset: str, seconds: float | None) -> None:
    headers = {"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": reset}
    reading = read_quota(headers, NOW, WALL)
    assert reading is not None and reading.requests is not None
    waited = UNKNOWN_RESET_S if seconds is None else seconds
    assert reading.requests.until == pytest.approx(NOW + waited)


def test_near_limit_counts_the_reserve_and_this_requests_tokens() -> None:
    headers = {
        "x-ratelimit-limit-requests": "100",
        "x-ratelimit-remaining-requests": "50",
        "x-ratelimit-limit-tokens": "10000",
        "x-ratelimit-remaining-tokens": "3000",
        "x-ratelimit-reset-tokens": "30s",
    }
    reading = read_quota(headers, NOW, WALL)
    assert reading is not None
    assert reading.near_limit(NOW, tokens=1000, reserve=0.05) is None
    assert reading.near_limit(NOW, tokens=2600, reserve=0.05) == pytest.approx(30)
    assert reading.near_limit(NOW + 31, tokens=2600, reserve=0.05) is None  # reset since


def test_headers_without_a_remaining_count_say_nothing() -> None:
    assert read_quota({"x-ratelimit-limit-requests": "60"}, NOW, WALL) is None
    assert read_quota({"x-ratelimit-remaining-requests": "many"}, NOW, WALL) is None


def test_a_mapping_that_is_not_a_plain_dict_is_read_by_its_own_lookup() -> None:
    # A plain dict without any "remaining" name says nothing at once; any other mapping is
    # asked name by name, as its lookup may match differently (here: any case).
    class AnyCase(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:
            return {k.lower(): v for k, v in self.items()}.get(key, default)

    said = {"X-RateLimit-Remaining-Requests": "7", "X-RateLimit-Limit-Requests": "10"}
    assert read_quota(dict(said), NOW, WALL) is None
    reading = read_quota(AnyCase(said), NOW, WALL)
    assert reading is not None and reading.requests is not None
    assert (reading.requests.left, reading.requests.limit) == (7, 10)
    assert read_quota({"content-type": "application/json", "date": "x"}, NOW, WALL) is None
