"""What counts as a client's request among the recorder's rows: the one rule every face reads.

The gateway writes a row per attempt: a request its route tried at two targets (or with two
keys) has a row for each. An attempt that failed and whose request went on to another attempt
is marked `failed_over` (when the next attempt's row opens: `FlightRecorder.failed_over`); the
request is counted by the row that took it over, and fails, for its client, only where its
last row did. So:

- the requests clients sent are the rows less those `failed_over`;
- the requests that failed (sent to a provider, no answer for their client) are the failed
  rows less those `failed_over`;
- the rows `failed_over` are the providers' calls that failed over to another target: the
  providers' own figure, beside their calls (every row a provider was asked).

The live figures count the same in memory (`metrics.figures.Totals.client_requests`, with the
failed-over calls in the bucket of the call that failed); the store's reads count it with
`CLIENT_REQUESTS_SQL`, from a column every summing read walks already (no scan of its own).
"""

from __future__ import annotations

from typing import Final

__all__ = ["CLIENT_REQUESTS_SQL", "FAILED_OVER_SQL"]

# In an aggregate over `requests` rows: the provider calls among them that failed over ...
FAILED_OVER_SQL: Final = "coalesce(sum(failed_over), 0)"
# ... and the requests their clients sent.
CLIENT_REQUESTS_SQL: Final = f"count(*) - {FAILED_OVER_SQL}"
