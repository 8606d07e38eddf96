"""Random identifiers for things made per request: recorder rows, budget holds, reserves, and
the ids of answers the gateway writes itself.

32 hex digits of the operating system's random source: a uuid4's entropy (128 bits here, 122
there), so an id is as hard to guess and as unlikely to repeat, without building a `UUID`
object to print it. `uuid.uuid4().hex` cost 2.2 us against 0.34 us for this (2026-11-25, this
machine), and a request made three of them.
"""

from __future__ import annotations

import os

__all__ = ["random_hex"]


def random_hex() -> str:
    """32 lower-case hex digits, fresh from `os.urandom`."""
    return os.urandom(16).hex()
