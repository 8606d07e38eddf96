"""What has gone wrong with each provider lately, so its status can say so: a failed Test
(until a later success), calls failing in a way waiting will not fix (a login or key the
provider refuses, a CLI that is gone), and a key refused when the provider's model list was
read (at start, before any call: the first thing to know about a wrong key); and a host no
connection could be made to when the model list was read (`UNREACHED_SOURCE`): not a failure
of any call yet, so its provider is said to need a look, never "Ready", until a call answers
or a later list is read.

A CLI that says it is logged out (`cli_login.py`) has its trouble too, from before any call,
until it says otherwise or a call succeeds; so has an ACP agent pointed at the gateway whose
vendor's API provider answers nothing (switched off, no key, its key refused): it has no login
of its own to make, so its trouble is not called a logout.

Transient failures (rate limits, timeouts, 5xx) are the circuit breaker's business and are not
kept here, except a person's Test's, which is said until a later success but holds no model
back (`Trouble.holds_back`). A success of either kind, a call or a Test, clears the provider's
trouble; a model list read with its key clears a refused listing's, and a refused call's or
Test's once the keys changed since; a login look that sees a CLI installed where it was not
(or logged in by a change or its own word) clears a call's `not_installed` (or `auth_required`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.events import EventBus, ModelListRead, RequestFinished
from llmgw_desktop.engine.gateway.desk.probe import KEY_CHECK_CALLER
from llmgw_desktop.engine.states import RecordState

__all__ = [
    "KEY_REFUSED_CODES",
    "LASTING_CODES",
    "LOGIN_SOURCE",
    "MODELS_SOURCE",
    "SET_UP_SOURCES",
    "UNREACHED_SOURCE",
    "VENDOR_SOURCE",
    "ProviderTrouble",
    "Trouble",
]

# The `source` of a trouble found when the provider's model list was read.
MODELS_SOURCE = "models"
# ... and of a host no connection could be made to when the model list was read; its code.
UNREACHED_SOURCE = "unreached"
UNREACHED_CODE = "upstream_connect"
# ... and of a CLI's own word that it is not logged in (`cli_login.py`).
LOGIN_SOURCE = "login"
# ... and of a pointed agent whose vendor's API provider answers nothing (`cli_login.py`).
VENDOR_SOURCE = "vendor"
# The troubles found by looking before any call (a CLI's login, a pointed agent's vendor):
# each look says them again or clears them; they hold a provider back until a person sets
# something up, and are not counted failing.
SET_UP_SOURCES = frozenset({LOGIN_SOURCE, VENDOR_SOURCE})

# The codes of an API provider refusing the key it was sent (the gateway's code for the
# provider's own status).
KEY_REFUSED_CODES = frozenset({"upstream_401", "upstream_403"})
# ... and with the gateway's own code for every key refused (a Test's, a client's answer).
_REFUSED_CODES = KEY_REFUSED_CODES | {ErrorCode.UPSTREAM_KEY_REFUSED.value}
# Error codes of a call that the next call will meet too, until a person acts.
LASTING_CODES = (
    frozenset({ErrorCode.AUTH_REQUIRED.value, ErrorCode.NOT_INSTALLED.value}) | _REFUSED_CODES
)
# Compared for every request: module globals, not enum reads (`engine/states.py`).
_COMPLETED = RecordState.COMPLETED


@dataclass(frozen=True)
class Trouble:
    """The latest lasting problem of one provider."""

    # "test" (a failed Test), "calls" (recent calls failed), "models" (listing), "login" or
    # "vendor" (a pointed agent's vendor answers nothing)
    source: str
    code: str
    message: str  # the Test's or the listing's error, or empty for calls (the code says it)
    since: float  # wall-clock seconds of the first failure of the run
    last: float  # ... and of the latest
    count: int = 1
    # The source of the key refused (`env:OPENAI_API_KEY`), when the model list was read or a
    # call was answered 401 or 403.
    key: str = ""
    # The gateway's keys as they were when it began (`KeyChain.version`): a list read that
    # answers ends a refusal only once they changed since (see `_on_listed`).
    keys_version: int = 0

    @property
    def logged_out(self) -> bool:
        """The CLI said it is not logged in (its message says what to do)."""
        return self.source == LOGIN_SOURCE

    @property
    def set_up_wanted(self) -> bool:
        """Its models are held back until a person sets something up, which its message says:
        a CLI's login, or the key of the vendor a pointed agent's calls go through."""
        return self.source in SET_UP_SOURCES

    @property
    def holds_back(self) -> bool:
        """Its provider's models are not offered (`/v1/models`, `/v1/providers`): the next
        call would meet it too, until a person acts (a set-up wanted, a key or login refused,
        a CLI gone). A Test that met a passing failure (a 529, a timeout) is said on the
        Providers page until a later success, but hides nothing: nothing could clear it if
        no client were offered the models to call."""
        return self.set_up_wanted or self.code in LASTING_CODES

    def refusal_words(self) -> str:
        """How its provider refused `key` ("401 when its model list was read", "401 on 2 calls
        in a row"), as the pages that list keys say it."""
        status = self.code.removeprefix("upstream_")
        if self.source == MODELS_SOURCE:
            return f"{status} when its model list was read"
        calls = "1 call" if self.count == 1 else f"{self.count} calls in a row"
        return f"{status} on {calls}"

    def describe(self) -> str:
        """One line for a status: "Test failed: ..." or "3 calls failed (auth_required)"."""
        if self.source == "test":
            return f"Test failed: {self.message or self.code}"
        if self.source in (MODELS_SOURCE, UNREACHED_SOURCE) or self.source in SET_UP_SOURCES:
            return self.message
        calls = "1 call" if self.count == 1 else f"{self.count} calls in a row"
        at = time.strftime("%H:%M:%S", time.localtime(self.last))
        if self.code in KEY_REFUSED_CODES:
            # The status beside it says "Key refused": the provider's own status is the rest.
            return f"{calls} answered {self.code.removeprefix('upstream_')} (last at {at})"
        return f"{calls} failed with {self.code} (last at {at})"


class ProviderTrouble:
    """Each provider's latest lasting problem, by switch id, fed by finished requests and by
    the dashboard's Tests."""

    def __init__(
        self,
        events: EventBus,
        *,
        switch_ids: Collection[str],
        clock: Callable[[], float] = time.time,
        keys_version: Callable[[], int] = lambda: 0,
    ) -> None:
        """`switch_ids`: every provider switch; a recorder row names its provider by one
        (`claude`, `openai`, `mistral-api`), and rows naming anything else are not kept.
        `keys_version`: the gateway's keys' version (`KeyChain.version`: a key stored, deleted
        or replaced changes it)."""
        self._switch_ids = frozenset(switch_ids)
        self._clock = clock
        self._keys_version = keys_version
        self._troubles: dict[str, Trouble] = {}
        events.subscribe(RequestFinished, self._on_finished, after=True)
        events.subscribe(ModelListRead, self._on_listed)

    def of(self, switch_id: str) -> Trouble | None:
        """What is wrong with the provider lately, or None."""
        return self._troubles.get(switch_id)

    def refused_key(self, key: str) -> tuple[str, Trouble] | None:
        """The provider (switch id) that refused the key from `key`'s source
        (`env:ANTHROPIC_API_KEY`), with that trouble (its model list's read, or its calls:
        `Trouble.refusal_words`); None."""
        for switch_id, trouble in self._troubles.items():
            if trouble.key == key and trouble.code in KEY_REFUSED_CODES:
                return switch_id, trouble
        return None

    def note_test(self, switch_id: str, *, ok: bool, code: str = "", message: str = "") -> None:
        """The outcome of a Test the person ran."""
        if ok:
            self._troubles.pop(switch_id, None)
            return
        now = self._clock()
        self._troubles[switch_id] = Trouble(
            "test", code or "failed", message, now, now, keys_version=self._keys_version()
        )

    def note_login(self, switch_id: str, problem: str | None, *, pointed: bool = False) -> None:
        """A CLI's own word on its login (`pointed`: whether the vendor a pointed agent's calls
        go through answers): `problem` says why it cannot answer, None that it can (or that it
        cannot be told), which clears only a trouble such a look made."""
        before = self._troubles.get(switch_id)
        if problem is None:
            if before is not None and before.source in SET_UP_SOURCES:
                del self._troubles[switch_id]
            return
        if before is not None and before.source not in SET_UP_SOURCES:
            return  # a Test's or the calls' own word stands
        source = VENDOR_SOURCE if pointed else LOGIN_SOURCE
        if before is not None and (before.source, before.message) == (source, problem):
            return
        now = self._clock()
        self._troubles[switch_id] = Trouble(
            source, ErrorCode.AUTH_REQUIRED.value, problem, now, now
        )

    def note_set_right(self, switch_id: str, code: ErrorCode) -> None:
        """A look saw what a call's `code` said set right (`not_installed`: the CLI installed
        where it was not; `auth_required`: logged in since its files changed, or by its own
        word): that trouble is over without waiting for a call to succeed, which no client
        that picks from `/v1/models` would make while it holds the CLI's models back."""
        before = self._troubles.get(switch_id)
        if before is not None and (before.source, before.code) == ("calls", code.value):
            del self._troubles[switch_id]

    def _on_listed(self, event: ModelListRead) -> None:
        if event.provider not in self._switch_ids:
            return
        before = self._troubles.get(event.provider)
        if event.unreached:
            self._note_unreached(event, before)
            return
        if event.refused is None:
            if before is not None and (
                before.source in (MODELS_SOURCE, UNREACHED_SOURCE)
                or self._keys_changed_since(before)
            ):
                del self._troubles[event.provider]
            return
        if before is not None and before.source != MODELS_SOURCE:
            return  # a Test's or the calls' own word stands
        now = self._clock()
        message = (
            f"its key {event.key} was refused ({event.refused}) when its model list was read: "
            f"{event.message}"
        )
        self._troubles[event.provider] = Trouble(
            MODELS_SOURCE, f"upstream_{event.refused}", message, now, now, key=event.key
        )

    def _note_unreached(self, event: ModelListRead, before: Trouble | None) -> None:
        """No connection could be made to the host when the list was read: said until a call
        answers or a list is read; a Test's, the calls' or a refused listing's word stands."""
        if before is not None and before.source != UNREACHED_SOURCE:
            return
        now = self._clock()
        at = time.strftime("%H:%M:%S", time.localtime(now))
        why = event.unreached.removeprefix("cannot connect: ")
        message = f"could not connect when its model list was read (last at {at}): {why}"
        since = now if before is None else before.since
        count = 1 if before is None else before.count + 1
        self._troubles[event.provider] = Trouble(
            UNREACHED_SOURCE, UNREACHED_CODE, message, since, now, count, key=event.key
        )

    def _keys_changed_since(self, trouble: Trouble) -> bool:
        """Whether a list that answered ends `trouble`, a key refused by calls or a Test:
        only once the keys changed since it began (a key replaced keeps its label,
        `vault:openai#1`). The list alone proves little: some servers list models to anyone,
        and a key may list models it may not call."""
        return trouble.code in _REFUSED_CODES and self._keys_version() != trouble.keys_version

    def _on_finished(self, event: RequestFinished) -> None:
        if event.caller == KEY_CHECK_CALLER:
            return  # a key being tried before it is stored: not the provider's own
        code = event.error_code or ""
        switch = event.provider
        if switch not in self._switch_ids:
            return
        if event.state == _COMPLETED:
            self._troubles.pop(switch, None)
        elif code in LASTING_CODES:
            key = event.failed_key if code in KEY_REFUSED_CODES else ""
            self._note_call(switch, code, self._clock(), key)

    def _note_call(self, switch: str, code: str, at: float, key: str) -> None:
        before = self._troubles.get(switch)
        if before is not None and (before.source, before.code, before.key) == ("calls", code, key):
            self._troubles[switch] = replace(before, last=at, count=before.count + 1)
        else:
            self._troubles[switch] = Trouble(
                "calls", code, "", at, at, key=key, keys_version=self._keys_version()
            )
