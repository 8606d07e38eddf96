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
    "FIELDS",
    "INPUT",
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
ASKED, REFUSED, CACHED, CANCELED = 9, 10, 11, 12
FIELDS: Final = 13
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
    # Requests a provider was asked (and answered or failed: `health.asked_provider`), and
    # those the gateway refused before asking any (`refused`, `denied`); the rest of
    # `requests` are neither (canceled, a key being tried, failed before being asked).
    asked: int = 0
    refused: int = 0
    # Requests the response cache answered: no provider was asked, so they are not `asked`.
    cached: int = 0
    # Requests canceled (by their caller, or a job's cancel) before any provider answered:
    # never `asked` (the Overview's traffic line counted them as "other").
    canceled: int = 0

    @property
    def error_rate(self) -> float | None:
        """Failed requests over requests, or None when there were none."""
        return self.errors / self.requests if self.requests else None

    @property
    def hit_rate(self) -> float | None:
        """Share of prompt tokens served from the cache, or None when nothing was sent."""
        return prompt_hit_rate(self.input_tokens, self.cache_read_tokens, self.cache_write_tokens)

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
        )


def prompt_hit_rate(fresh: float, read: float, written: float) -> float | None:
    # Cache writes are prompt tokens not served from the cache, as in cache_state's figure.
    prompt = fresh + read + written
    return read / prompt if prompt else None


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
) -> tuple[float, ...]:
    """One bucket's figures, in the order of the offsets above."""
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
            )
        ):
            sums[offset] += value
    return Totals.of(sums)
