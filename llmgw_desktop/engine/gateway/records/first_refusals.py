"""The first refusal of each kind, said where the person running the gateway looks.

A refusal someone must set up (`Cure.SET_UP`: no key for the model's provider, a CLI not
installed, a model no provider lists) is what a newcomer meets first, and the client that got
it may word it its own way, or show nothing while it retries. The first one of each kind (its
code and the provider it names) goes to the log and to the terminal the gateway runs in, with
the fix its message names: the `TERMINAL_LOG` logger, which `shell/logging_setup.py` mirrors to
stderr verbose or not. Once per kind and run: the flight recorder keeps every refusal, and a
tool retrying in a loop must not fill the terminal.
"""

from __future__ import annotations

import logging

from llmgw_desktop.engine.errors import Cure, EngineError, ErrorCode
from llmgw_desktop.engine.gateway.records.report import RouteReport

__all__ = ["TERMINAL_LOG", "FirstRefusals"]

# The logger whose records a person at the terminal needs at once: the log file has them, and
# the shell's logging puts them on stderr too (`shell/logging_setup.py`).
TERMINAL_LOG = "llmgw_desktop.terminal"

log = logging.getLogger(TERMINAL_LOG)


class FirstRefusals:
    """Says the first refusal of each kind on `TERMINAL_LOG`; one per gateway service."""

    def __init__(self) -> None:
        # (code, provider) already said. Codes and provider ids are few: it stays small.
        self._said: set[tuple[str, str]] = set()

    def note(self, caller: str, route: RouteReport, error: EngineError, status: int) -> bool:
        """Say `error` (answered with `status` to `caller`) if it is the first refusal of its
        kind someone must set up; whether it was said."""
        known = ErrorCode.parse(error.code)
        if not isinstance(known, ErrorCode) or known.cure is not Cure.SET_UP:
            return False
        provider = route.attempts[0].target.partition("/")[0] if route.attempts else ""
        kind = (known.value, provider)
        if kind in self._said:
            return False
        self._said.add(kind)
        who = caller or "a client"
        log.warning(
            "refused %s's request for %r (%d %s): %s. (Said once for this kind of refusal; "
            "the Flight recorder lists each one.)",
            who,
            route.requested_model,
            status,
            known.value,
            error.message.rstrip("."),
        )
        return True
