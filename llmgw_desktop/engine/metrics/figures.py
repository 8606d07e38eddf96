"""One time bucket's figures as the live metrics keep them: a flat list of floats at fixed
offsets (a ring holds a provider's buckets end to end), and `Totals`, the sums a reader gets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ASKED",
    "CACHED",
    "CANCELED",
    "COST",
    "ERRORS",
    "FAILED_OVER",
    "FIELDS",
    "INPUT",
    "MEASURED",
    "OUTPUT",
    "READ",
    "REFUSED",
    "REQUESTS",
    "SAVED",
    "UNPRICED",
    "WRITE",
    "ZEROS",
    "Totals",
    "bucket_values",
    "prompt_hit_rate",
    "sum_totals",
]

# Offsets of the figures inside one bucket.
REQUESTS, INPUT, OUTPUT, READ, WRITE, COST, SAVED, UNPRICED, ERRORS = range(9)
ASKED, REFUSED, CACHED, CANCELED, MEASURED, FAILED_OVER = 9, 10, 11, 12, 13, 14
FIELDS: Final = 15
ZEROS: Final = [0.0] * FIELDS


@dataclass(frozen=True)
class Totals:
    """Sums over a span of time (one provider's, or every provider's)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    # Cache reads priced at (input price - cache-read price) from the list-price table.
    saved_usd: float = 0.0
    # Cache reads on models the price table does not know: saved, but not priced.
    unpriced_cache_read_tokens: int = 0
    # Requests whose provider was asked and failed (`health.provider_failed`); refusals are
    # not errors.
    errors: int = 0
    # Requests a provider was asked (and answered or failed, or whose caller left once the
    # answer had begun: `health.asked_provider`), and those the gateway refused before asking
    # any (`refused`, `denied`); the rest of `requests` are neither (canceled before an
    # answer, a key being tried, failed before being asked).
    asked: int = 0
    refused: int = 0
    # Requests the response cache answered: no provider was asked, so they are not `asked`.
    cached: int = 0
    # Requests canceled (by their caller, or a job's cancel) before any answer began: never
    # `asked` (the Overview's traffic line counted them as "other").
    canceled: int = 0
    # Prompt tokens (fresh, cache reads and writes) of the requests whose upstream reported
    # its usage: the hit rate's whole. An estimate (no usage reported) has no cache figures,
    # so a span of only estimated or failed calls has no hit rate rather than 0 %.
    measured_prompt_tokens: int = 0
    # Of the failed calls, those whose request went on to another attempt (another target,
    # another key), which counts the request: in the bucket and under the provider of the call
    # that failed (`recorder/attempts.py`).
    failed_over: int = 0

    # What clients sent, by the one rule of `recorder/attempts.py` (the store's reads count
    # by the same): the recorded rows are provider calls, the failed-over ones not requests.

    @property
    def client_requests(self) -> int:
        """The requests clients sent: every recorded one, less the attempts that failed over."""
        return max(0, self.requests - self.failed_over)

    @property
    def client_sent(self) -> int:
        """The requests clients sent that a provider was asked for (`asked` less the attempts
        that failed over)."""
        return max(0, self.asked - self.failed_over)

    @property
    def client_failed(self) -> int:
        """The requests sent to providers that failed for their client: no later attempt
        answered (`errors` less the attempts that failed over)."""
        return max(0, self.errors - self.failed_over)

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token: fresh, read from the prompt cache and written to it."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def error_rate(self) -> float | None:
        """Failed requests over requests, or None when there were none."""
        return self.errors / self.requests if self.requests else None

    @property
    def hit_rate(self) -> float | None:
        """Share of the reported prompt tokens served from the cache, or None when no call
        reported its usage."""
        return prompt_hit_rate(self.cache_read_tokens, self.measured_prompt_tokens)

    @classmethod
    def of(cls, figures: list[float]) -> Totals:
        return cls(
            requests=int(figures[REQUESTS]),
            input_tokens=int(figures[INPUT]),
            output_tokens=int(figures[OUTPUT]),
            cache_read_tokens=int(figures[READ]),
            cache_write_tokens=int(figures[WRITE]),
            cost_usd=figures[COST],
            saved_usd=figures[SAVED],
            unpriced_cache_read_tokens=int(figures[UNPRICED]),
            errors=int(figures[ERRORS]),
            asked=int(figures[ASKED]),
            refused=int(figures[REFUSED]),
            cached=int(figures[CACHED]),
            canceled=int(figures[CANCELED]),
            measured_prompt_tokens=int(figures[MEASURED]),
            failed_over=int(figures[FAILED_OVER]),
        )


def prompt_hit_rate(read: float, measured_prompt: float) -> float | None:
    """Cache reads over the prompt tokens of the calls that reported their usage (fresh, read
    and written: writes are prompt tokens not served from the cache, as in cache_state's
    figure), or None when none did."""
    return read / measured_prompt if measured_prompt else None


def bucket_values(
    requests: int,
    fresh: int,
    out: int,
    read: int,
    written: int,
    cost: float,
    discount: float | None,
    errors: int = 0,
    asked: int = 0,
    refused: int = 0,
    cached: int = 0,
    canceled: int = 0,
    measured: int | None = None,
    failed_over: int = 0,
) -> tuple[float, ...]:
    """One bucket's figures, in the order of the offsets above (`measured`: the prompt tokens
    reported, all of them when None)."""
    return (
        float(requests),
        float(fresh),
        float(out),
        float(read),
        float(written),
        cost,
        read * discount if discount is not None else 0.0,
        float(read) if discount is None else 0.0,
        float(errors),
        float(asked),
        float(refused),
        float(cached),
        float(canceled),
        float(fresh + read + written if measured is None else measured),
        float(failed_over),
    )


def sum_totals(parts: Iterable[Totals]) -> Totals:
    sums = [0.0] * FIELDS
    for totals in parts:
        for offset, value in enumerate(
            (
                totals.requests,
                totals.input_tokens,
                totals.output_tokens,
                totals.cache_read_tokens,
                totals.cache_write_tokens,
                totals.cost_usd,
                totals.saved_usd,
                totals.unpriced_cache_read_tokens,
                totals.errors,
                totals.asked,
                totals.refused,
                totals.cached,
                totals.canceled,
                totals.measured_prompt_tokens,
                totals.failed_over,
            )
        ):
            sums[offset] += value
    return Totals.of(sums)
