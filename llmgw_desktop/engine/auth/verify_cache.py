"""Access-token verifications the OAuth server remembers for a short while.

Verifying a token is a store read; a client sends the same token with every request, so the
answer is remembered (`oauth_tokens.VERIFY_CACHE_S`). The memory is bounded, and bounded
fairly: tokens that stand for a principal and tokens that were refused are kept apart, each
least recently used first out, so a flood of made-up tokens (or of one client's own) pushes out
only its own kind instead of everyone's, as clearing the whole map at 10,000 entries did.
"""

from __future__ import annotations

from collections import OrderedDict

from llmgw_desktop.engine.auth.principals import Principal

__all__ = ["DEFAULT_MAX_ENTRIES", "VerifiedTokens"]

DEFAULT_MAX_ENTRIES = 10_000


class VerifiedTokens:
    """Token digest -> (believed until, principal or None), at most `max_entries` of each kind."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._valid: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._refused: OrderedDict[str, float] = OrderedDict()

    def get(self, digest: str, now: float) -> tuple[bool, Principal | None]:
        """(known, principal): whether an answer for `digest` is still believed, and it."""
        valid = self._valid.get(digest)
        if valid is not None and valid[0] > now:
            self._valid.move_to_end(digest)
            return True, valid[1]
        refused_until = self._refused.get(digest)
        if refused_until is not None and refused_until > now:
            return True, None
        return False, None

    def put(self, digest: str, until: float, principal: Principal | None) -> None:
        """Remember an answer until `until`; the least recently used of its kind goes when full."""
        if principal is None:
            self._valid.pop(digest, None)
            self._refused[digest] = until
            self._refused.move_to_end(digest)
            if len(self._refused) > self.max_entries:
                self._refused.popitem(last=False)
            return
        self._refused.pop(digest, None)
        self._valid[digest] = (until, principal)
        self._valid.move_to_end(digest)
        if len(self._valid) > self.max_entries:
            self._valid.popitem(last=False)

    def clear(self) -> None:
        self._valid.clear()
        self._refused.clear()

    def __len__(self) -> int:
        return len(self._valid) + len(self._refused)
