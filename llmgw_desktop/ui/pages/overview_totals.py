"""The Overview's figures in words: the live traffic's totals and the providers' failed calls.

Overview shows several counts of the same minutes, so each says what it counts, and all come
from one source, the engine's live figures (`engine.metrics`, fed by every finished request):
- **requests**: what clients sent, refused ones included (`Totals.client_requests`: a request
  its route tried at two targets is one, `recorder/attempts.py`);
- **sent to providers**: those a provider was asked (`Totals.client_sent`); a call its caller
  left once the answer had begun is one of them (it reached the provider, and Spend and Agents
  count it);
- **calls to providers**: every attempt a provider was asked (`Totals.asked`), the calls the
  health table lists per provider and the Providers line's "of N"; those that failed and whose
  request another target then took are **failed over** (`Totals.failed_over`), the providers'
  figure, never a request that failed;
- **refused**: those the gateway said no to before asking any provider (a budget, a switch,
  no key, the approval gate), which the Agents page and the Flight recorder's "Unanswered only"
  count with the failed ones;
- **from the response cache**: those it answered, no provider asked (`Totals.cached`);
- **canceled**: those their caller (or a job's cancel) stopped before any answer began;
- **failed**: those sent whose client got no answer (`Totals.client_failed`).
The rest of the requests (a key being tried, one interrupted by a stop) are "other".
Tokens are said as the Agents page says them: the prompt, and of it the fresh tokens (not read
from a prompt cache), which the tokens chart's "fresh in" draws; a review read "2,240 tokens in"
where the SDK had seen 6,240 prompt tokens, 4,000 of them cache reads.
The gateway's calls since start by kind (chat, embedding, completion) are its own count
(`kinds_summary`).
A review saw 301, 302 and 307 requests on one screen, each a different count with one word.
No Qt here.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import PRICES_REVISED, MetricsSeries, Totals, format_usd

__all__ = [
    "describe_savings",
    "describe_totals",
    "failed_over_words",
    "failed_summary",
    "kinds_summary",
    "prompt_words",
    "provider_calls_summary",
    "requests_summary",
]


def requests_summary(total: Totals) -> str:
    """`307 requests (301 sent to providers, 4 from the response cache, 5 refused, 1 canceled,
    1 other)`, or `12 requests` when every one was sent to a provider: what clients sent."""
    requests, sent = total.client_requests, total.client_sent
    other = max(0, requests - sent - total.cached - total.refused - total.canceled)
    noun = "request" if requests == 1 else "requests"
    if not (total.refused or total.cached or total.canceled or other):
        return f"{requests:,} {noun}"
    parts = [f"{sent:,} sent to providers"]
    if total.cached:
        parts.append(f"{total.cached:,} from the response cache")
    if total.refused:
        parts.append(f"{total.refused:,} refused")
    if total.canceled:
        parts.append(f"{total.canceled:,} canceled")
    if other:
        parts.append(f"{other:,} other")
    return f"{requests:,} {noun} ({', '.join(parts)})"


def failed_summary(errors: int, asked: int) -> str:
    """`7 failed (2%)`: of the requests sent to providers, those whose client got no answer
    (`Totals.client_failed` of `client_sent`); `none failed`."""
    if not errors:
        return "none failed"
    return f"{errors:,} failed ({errors / asked:.0%})" if asked else f"{errors:,} failed"


def failed_over_words(count: int) -> str:
    """`3 provider calls failed over`: attempts that failed and whose request another target
    took (`Totals.failed_over`), never said as requests that failed."""
    return f"{count:,} provider call{'s' if count != 1 else ''} failed over"


def provider_calls_summary(total: Totals, minutes: int) -> str:
    """The Providers line's count: `7 of 301 calls to providers failed in 15 min (2%)`, and
    `; 3 failed over to another target` where some did."""
    if total.errors and total.asked:
        words = (
            f"{total.errors:,} of {total.asked:,} calls to providers failed in {minutes} min"
            f" ({total.errors / total.asked:.0%})"
        )
        if total.failed_over:
            words += f"; {total.failed_over:,} failed over to another target"
        return words
    if total.asked:
        return f"none of {total.asked:,} calls to providers failed in {minutes} min"
    return f"no calls to providers in {minutes} min"


def describe_totals(series: MetricsSeries) -> str:
    """One line of window totals: requests (and what became of them), tokens, hit rate and
    cost."""
    total = series.total
    label = series.window.label
    if not total.requests:
        return f"No requests in the last {label}."
    parts = [requests_summary(total), failed_summary(total.client_failed, total.client_sent)]
    if total.failed_over:
        parts.append(failed_over_words(total.failed_over))
    parts += [prompt_words(total), f"{_count(total.output_tokens)} out"]
    if total.hit_rate is not None:
        # "prompt-cache": the vendors' caches, beside Overview's response-cache hit rate.
        parts.append(f"prompt-cache hit rate {total.hit_rate:.0%}")
    if total.cost_usd:
        parts.append(f"cost {format_usd(total.cost_usd)} (reported or estimated)")
    return f"Last {label}: " + " · ".join(parts)


def prompt_words(total: Totals) -> str:
    """`6,257 prompt tokens (2,257 fresh)`: every prompt token, and those not read from or
    written to a prompt cache; `2,257 prompt tokens` when all were fresh."""
    words = f"{_count(total.prompt_tokens)} prompt tokens"
    if total.prompt_tokens == total.input_tokens:
        return words
    return f"{words} ({_count(total.input_tokens)} fresh)"


def describe_savings(series: MetricsSeries) -> str:
    """The estimated savings from cache reads, saying what the figure rests on."""
    total = series.total
    label = series.window.label
    if not total.cache_read_tokens:
        return f"Estimated savings: no prompt-cache reads in the last {label}."
    text = (
        f"Estimated savings from prompt-cache reads in the last {label}: "
        f"{format_usd(total.saved_usd)} "
        f"(list prices of {PRICES_REVISED}, cache-read tokens at input minus cache-read price)"
    )
    if total.unpriced_cache_read_tokens:
        text += (
            f"; plus {_count(total.unpriced_cache_read_tokens)} cache-read tokens on models "
            "without a listed price (not priced)"
        )
    return text + "."


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def kinds_summary(counts: dict[str, int]) -> str:
    """The gateway's requests since start by kind: `120 chat · 40 embedding · 300 completion`
    (a kind with none is left out; `none yet` before the first)."""
    parts = [f"{count:,} {kind}" for kind, count in counts.items() if count]
    return " · ".join(parts) if parts else "none yet"
