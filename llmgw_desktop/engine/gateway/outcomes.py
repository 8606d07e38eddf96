"""What became of one target of a route (`Attempt.outcome`): its typed values, one place for the
loop that records them, the rows that keep them and the figures that count them.

An outcome is an `Outcome`, or an upstream's HTTP status as its digits (`"429"`): both are
strings, so the route log, the recorder's rows (`upstream_<outcome>` error codes) and
`/metrics` labels store and export exactly the words they always did.
"""

from __future__ import annotations

import enum

__all__ = ["NOT_ASKED", "Outcome"]


class Outcome(enum.StrEnum):
    """An attempt's outcome other than an upstream's status."""

    OK = "ok"
    # Not asked: the target could not be, or may not be, sent the request.
    DISABLED = "disabled"  # switched off (config.toml, or the user's switch)
    PAUSED = "paused"  # every provider paused
    NO_KEY = "no_key"
    STORE_UNAVAILABLE = "store_unavailable"  # its keys are in a vault that cannot be read now
    OWN_ADDRESS = "own_address"  # a local server whose address is this gateway's own
    NOT_CONFIGURED = "not_configured"  # a cloud lacking its library, credential or region
    RESTING = "resting"  # its host rested after connect failures in a row
    UNTRANSLATABLE = "untranslatable"  # it cannot take what the request asks for
    UNPRICED = "unpriced"  # a hard dollar budget could not count it
    UNMETERED = "unmetered"  # a CLI whose job a hard budget could not stop at its hold
    OUTSIDE_KEY_SCOPE = "outside_key_scope"  # outside the caller's gateway key's scope
    GUARD_BLOCKED = "guard_blocked"  # the outbound guard did not send the request there
    CACHE_HIT = "cache_hit"  # answered from the response cache
    # Asked, and no usable answer came without a status to say why.
    CONNECT = "connect"  # no connection could be made (nothing was sent)
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # the connection failed after it was made
    SHARE = "share"  # the caller's share of the host's connections stayed in use
    HUNG = "hung"  # the host stopped answering at all (`balancing/liveness.py`)
    STREAM_START = "stream_start"  # a stream ended, broke or erred before its first frame
    MALFORMED = "malformed"  # a 2xx whose body is not what its wire says
    TOO_LARGE = "too_large"  # a whole answer past `gateway.max_answer_bytes`
    BROKEN = "broken"  # a whole answer that broke off
    # Its client left (or the gateway stopped) before the answer began, its request written
    # (under a hard budget, on its way): the vendor may answer, and bill, nobody.
    CANCELED = "canceled"
    HTTP = "http"  # an error status (the outcome is then the status itself)


# The outcomes of targets that were never asked because they are not set up or switched off:
# a request all of whose targets say so, for its own content, is refused as it is (400).
NOT_ASKED = (Outcome.UNTRANSLATABLE, Outcome.NO_KEY, Outcome.DISABLED, Outcome.PAUSED)
