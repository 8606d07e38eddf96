"""Which of the vendor's own features a remote caller may use on the operator's account.

A same-dialect request is forwarded as it came, so without a rule anyone who may call a model
could make the vendor search the web, run code, connect to MCP servers, keep or read stored
conversations, or switch on betas, all billed to and seen as the operator. The local user keeps
everything. A remote principal (an OAuth client, a user a trusted proxy names, the holder of
the static bearer) may use only what the operator lists:

    [gateway.remote_passthrough]
    allow = ["web_search"]                          # every remote caller
    principals = { "oauth:ci-bot" = ["code_execution", "container"] }   # one of them, more

Anything else is refused before a target is asked (`VendorFeatureRefused`, 403 in the client's
dialect) naming the field and the setting that would allow it (the names are
`vendor_features.FEATURES`). `previous_response_id` is not a listed feature: it is accepted
only for a response this principal was given through this gateway (`ResponseOwners`), whatever
the list says, since it reads a conversation stored at the vendor. A Responses request that
leaves `store` out is sent with `store: false` (the vendor would otherwise keep it) unless
`store` is allowed.

The check reads the parsed body, where a repeated key's last value wins, while the client's own
bytes are what goes upstream, where a parser may keep the first: `"tools": [server tool],
"tools": []` would pass the check and run the tool. So would a secret the outbound guard was to
block, read past in the earlier value, or `"n": 100, "n": 1` under a hard budget, for the local
user too: bytes that give one key two different values in one object are refused from anyone
(`RepeatedKey`, 400 naming the key).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_RESPONSES
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.gateway.errors import RepeatedKey, VendorFeatureRefused
from llmgw_desktop.engine.gateway.same_dialect.vendor_features import (
    FEATURES,
    fetched_by_vendor,
    vendor_features,
)

__all__ = [
    "MAX_OWNED_RESPONSES",
    "RemotePassthrough",
    "ResponseOwners",
]

# Response ids remembered per principal: one principal's volume never pushes out another's.
MAX_OWNED_RESPONSES = 10_000
_SETTING = "gateway.remote_passthrough"


class ResponseOwners:
    """Which principal was given which Responses id through this gateway (in memory: after a
    restart a remote caller starts a new chain, which fails closed), and how many tokens the
    vendor reads again from each when a call continues it (`previous_response_id`)."""

    def __init__(self, per_principal: int = MAX_OWNED_RESPONSES) -> None:
        self._per_principal = per_principal
        self._owner: dict[str, str] = {}
        self._by_principal: dict[str, OrderedDict[str, int]] = {}

    def record(self, principal: str, response_id: str, carried: int = 0) -> None:
        """`principal` was given `response_id`, whose exchange was `carried` tokens (its input,
        the earlier chain included, and its output); its oldest ids are forgotten past the
        cap."""
        if not response_id or self._owner.get(response_id, principal) != principal:
            return  # an id is its first holder's: a forged echo does not take it over
        ids = self._by_principal.setdefault(principal, OrderedDict())
        ids[response_id] = max(carried, ids.get(response_id, 0))
        ids.move_to_end(response_id)
        self._owner[response_id] = principal
        while len(ids) > self._per_principal:
            old, _ = ids.popitem(last=False)
            self._owner.pop(old, None)

    def owner(self, response_id: str) -> str | None:
        return self._owner.get(response_id)

    def carried(self, principal: str, response_id: str) -> int:
        """The tokens the vendor reads again when `principal` continues `response_id` (0: not
        one of its responses)."""
        ids = self._by_principal.get(principal)
        return 0 if ids is None else ids.get(response_id, 0)


class RemotePassthrough:
    """The operator's list of vendor features remote principals may pass through."""

    def __init__(
        self,
        allow: Iterable[str] = (),
        principals: Mapping[str, Iterable[str]] | None = None,
        owners: ResponseOwners | None = None,
    ) -> None:
        self._allow = frozenset(allow)
        self._principals = {p: frozenset(names) for p, names in (principals or {}).items()}
        self.owners = owners or ResponseOwners()

    def allowed(self, principal: str, feature: str) -> bool:
        """Whether `principal` may use `feature` (a beta header's value, or all of them)."""
        if principal == LOCAL:
            return True
        granted = self._allow | self._principals.get(principal, frozenset())
        header, sep, _ = feature.partition(":")
        return feature in granted or (bool(sep) and header in granted)

    @staticmethod
    def keeps_owner(principal: str, dialect: str) -> bool:
        """Whether the ids of this principal's answers in `dialect` are remembered as its own
        (a remote caller's Responses answers: the only ones it may continue)."""
        return principal != LOCAL and dialect == DIALECT_OPENAI_RESPONSES

    def check(
        self,
        principal: str,
        dialect: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        raw: bytes | None = None,
    ) -> dict[str, Any]:
        """What the request must be sent with on the principal's behalf (`store: false` for a
        Responses request that left it out), after checking what it asks of the vendor (`raw`:
        the bytes that will be sent, when they are the client's own).

        Raises:
            VendorFeatureRefused: a remote principal asked for a feature it is not allowed, or
                named a `previous_response_id` it was not given through this gateway.
            RepeatedKey: `raw` gives a key two values in one object (the guard, the budgets
                and this check read one, the upstream may read the other).
        """
        if raw is not None:
            _refuse_repeated_keys(raw, body)
        if principal == LOCAL:
            return {}
        for feature in vendor_features(dialect, body, headers):
            if not self.allowed(principal, feature.name):
                raise self._refusal(principal, feature.name, feature.where)
        if dialect != DIALECT_OPENAI_RESPONSES:
            return {}
        previous = body.get("previous_response_id")
        if previous is not None and (
            not isinstance(previous, str) or self.owners.owner(previous) != principal
        ):
            raise VendorFeatureRefused(
                f"previous_response_id {str(previous)[:80]!r} is not a response {principal} "
                "was given through this gateway: a remote caller may continue only its own "
                "stored responses (no setting lifts this)",
                param="previous_response_id",
            )
        if body.get("store") is None and not self.allowed(principal, "store"):
            return {"store": False}
        return {}

    def carried_input(self, principal: str, dialect: str, body: Mapping[str, Any]) -> int:
        """The input a Responses call continuing a stored response makes the vendor read
        beyond its own body (the earlier exchange, billed again), where this gateway relayed
        that response to `principal`; 0 otherwise (the local user's own chains are not
        followed)."""
        previous = body.get("previous_response_id") if dialect == DIALECT_OPENAI_RESPONSES else None
        if not isinstance(previous, str) or principal == LOCAL:
            return 0
        return self.owners.carried(principal, previous)

    def check_translated(self, principal: str, dialect: str, body: Mapping[str, Any]) -> None:
        """Check a request translated for another dialect's upstream: vendor features do not
        cross a translation, but an image or document named by its web address does (the
        target vendor fetches it), so that is held to `web_fetch` as on the same-dialect path.

        Raises:
            VendorFeatureRefused: a remote principal not allowed `web_fetch` named an address.
        """
        if principal == LOCAL:
            return
        for feature in fetched_by_vendor(dialect, body):
            if not self.allowed(principal, feature.name):
                raise self._refusal(principal, feature.name, feature.where)

    @staticmethod
    def _refusal(principal: str, name: str, where: str) -> VendorFeatureRefused:
        listed = name.partition(":")[0] if ":" in name else name
        return VendorFeatureRefused(
            f"{where} would have the vendor use {name!r} "
            f"({FEATURES.get(listed, 'a server-side tool')}) on the operator's account, which "
            f"{principal} may not; the operator can allow "
            f'it with {_SETTING}.allow = ["{name}"] (every remote caller) or '
            f'{_SETTING}.principals = {{ "{principal}" = ["{name}"] }}',
            param=where,
            feature=name,
            setting=_SETTING,
        )


class _Repeated(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        first: dict[str, Any] = {}
        for key, value in pairs:
            # The same value twice reads the same either way (compared as JSON: 1 is not true).
            if key in first and jsonio.dumps(first[key]) != jsonio.dumps(value):
                raise _Repeated(key)
            first.setdefault(key, value)
    return out


def _refuse_repeated_keys(raw: bytes, parsed: Any) -> None:
    """Raises `RepeatedKey` when `raw` (JSON the gateway has parsed already, as `parsed`) gives
    a key two different values in one object.

    The standard library's parser, as orjson has no hook that sees an object's pairs; it runs
    for same-dialect bodies only, and only when `_names_each_key_once` cannot
    tell (it costs 0.3-0.6 ms for a coding agent's 41 KB request on a busy two-core machine,
    the count a third of that).
    """
    if _names_each_key_once(raw, parsed):
        return
    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _Repeated as repeated:
        raise RepeatedKey(
            f"the body gives the key {repeated.key[:80]!r} two different values in one object: "
            "the gateway and the upstream could read different ones, so a request must name "
            "each key once",
            param=repeated.key[:80],
        ) from None
    except (ValueError, RecursionError):
        # Parsed already by the gateway's own parser; nested past this one's reach is refused
        # when the body is written again, and nothing else differs that could hide a key.
        return


def _names_each_key_once(raw: bytes, parsed: Any) -> bool:
    """Whether `raw` certainly names each key once in every object (False: it may not, and the
    exact check decides), `parsed` being what the gateway's parser made of it, unchanged.

    JSON has a colon after every key and nowhere else outside strings; orjson's writing of
    `parsed` holds each key once and each string as it reads, a colon as a colon (orjson
    escapes none). A repeated key leaves its earlier member out of `parsed`, and with it at
    least its colon; so the two counts are equal exactly when no key repeats, as long as `raw`
    spells no colon as an escape (which the count of `raw` would miss).
    """
    # One search for the escape's common part, the exact spellings only where it is found
    # (`find`, not `in`, which tries the operand as a byte's value first).
    if raw.find(b"\\u003") >= 0 and (raw.find(b"\\u003a") >= 0 or raw.find(b"\\u003A") >= 0):
        return False
    try:
        written = jsonio.dumps(parsed)
    except TypeError:  # orjson's own error: nested past its depth, or not JSON
        return False
    return _colons(raw) == _colons(written)


def _colons(data: bytes) -> int:
    """How many colons `data` holds. Counted by what deleting them removes: CPython finds each
    with `memchr` there, where `bytes.count` compares every byte in a loop of its own (an
    agent's 41 KB body: about 95 k instructions against 212 k, callgrind)."""
    return len(data) - len(data.replace(b":", b""))
