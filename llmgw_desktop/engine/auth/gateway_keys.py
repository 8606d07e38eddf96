"""Gateway keys: a secret per tool or person, each its own principal, scoped and capped.

A key is `llmgw-` and 256 random bits. It is shown once, when made; the store keeps its
SHA-256 (`hashing.token_digest`) and its last four characters for display. Its principal is
`key:<name>`: the recorder, the Agents page and budgets see each key apart. A key carries a
scope (`key_scope.py`), optionally a dollar budget (a `principal=key:<name>` budget in the
ledger, kept with the key in the store), a rate limit (requests per minute, in place of
`http.rate_limit_per_minute`), and an expiry. Rotating makes a new secret under the same name
(same principal, same spend) and revokes the old one at once or after a grace.

Revocation is effective at once, in every process sharing the store: a revocation written by
the CLI, another gateway process or the Access keys page is seen by the next request. On
PostgreSQL a key is looked up in the store on every request (one indexed read on the read
lane); on SQLite its row is remembered until any process writes a key, which every write says
by replacing a marker file beside the database (`key_changes.py`), checked on every request.
Only the operator may make, list, revoke or rotate keys (`Capability.KEYS`), so a key can never
make another."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw_desktop.config.budgets import PERIODS, Budget
from llmgw_desktop.engine.auth import gateway_keys_store as store
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.gateway_keys_store import KeyRecord
from llmgw_desktop.engine.auth.hashing import new_token, secret_bytes, token_digest
from llmgw_desktop.engine.auth.key_changes import MAX_REMEMBERED, KeyChanges, VerifiedKeys
from llmgw_desktop.engine.auth.key_scope import (
    KEY_METHOD,
    TOOL_SCOPE_PREFIX,
    KeyScope,
    is_key_principal,
)
from llmgw_desktop.engine.auth.key_spec import MAX_GRACE_S, KeySpec
from llmgw_desktop.engine.auth.presented import GATEWAY_KEY_PREFIX
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.auth.rate_limit import RateLimiter
from llmgw_desktop.engine.budgets.ledger import BudgetLedger
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest, NotFound
from llmgw_desktop.engine.store import Database

__all__ = [
    "KEY_PREFIX",
    "MAX_LENT_S",
    "MIN_LENT_S",
    "GatewayKeys",
    "KeyVerdict",
    "MadeKey",
    "keys_on_store",
]

log = logging.getLogger(__name__)

KEY_PREFIX = GATEWAY_KEY_PREFIX
# Characters of the secret kept in clear, for a person to tell keys apart.
SHOWN_TAIL = 4

# How long a lent secret (`GatewayKeys.lend`) may live: long enough for a tool that asks again
# every five minutes, short enough that a copy left in a log or a crash report soon ends.
MIN_LENT_S = 60.0
MAX_LENT_S = 86400.0
# "Last used" is written at most this often per key: a busy key is not a write per request.
LAST_USED_EVERY_S = 60.0


@dataclass(frozen=True)
class MadeKey:
    """A key just made: the only time its secret exists outside the client holding it."""

    record: KeyRecord
    secret: str

    def __repr__(self) -> str:  # never the secret, should one end up in a log line
        return f"MadeKey(name={self.record.name!r}, shown={self.record.shown!r})"


@dataclass(frozen=True)
class KeyVerdict:
    """The principal a presented key stands for, or why it is refused (`code`, `problem`)."""

    principal: Principal | None
    code: ErrorCode = ErrorCode.UNAUTHORIZED
    problem: str = ""


class GatewayKeys:
    """Makes, lists, revokes and rotates keys; tells the edge whose a presented key is."""

    def __init__(
        self,
        db: Database,
        *,
        ledger: BudgetLedger | None = None,
        spawn: Callable[[Coroutine[Any, Any, None]], object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`ledger` counts the keys' budgets; `spawn` runs its re-read in the background."""
        self._db = db
        self._ledger = ledger
        self._spawn = spawn
        self._clock = clock
        # What each key principal last proved it may reach: read by the synchronous checks
        # (targets, projects, tools) of the request that just authenticated with it.
        self._scopes: dict[str, KeyScope] = {}
        # Each key's budget as the ledger was last told, by principal.
        self._budgets: dict[str, Budget] = {}
        # One limiter per distinct rate, each keyed by principal.
        self._limiters: dict[int, RateLimiter] = {}
        self._per_minute: dict[str, int] = {}
        self._touched: dict[str, float] = {}
        # The row each principal's scope, rate and budget above were last learnt from, and
        # the verdict each remembered live row was given: while a principal was taught by that
        # same row, it is given that verdict again without learning it again.
        self._taught: dict[str, KeyRecord] = {}
        # (Its principal's id is kept with it: `KeyRecord.principal` makes a new string.)
        self._verdicts: dict[str, tuple[KeyRecord, KeyVerdict, str]] = {}
        # The last secret presented (encoded) and its digest (`_digest_of`).
        self._last_digest: tuple[bytes, str] = (b"", token_digest(""))
        # Rows of verified keys, kept until any process changes a key (SQLite only).
        self._verified = VerifiedKeys(
            KeyChanges.beside(db.path) if db.engine.name == "sqlite" else KeyChanges(None)
        )

    async def start(self, *, untaught_only: bool = False) -> None:
        """Tell the ledger the budgets of the keys not revoked (before serving).
        `untaught_only`: read again while serving (the start's read failed), so a key a
        write or a verify has taught since keeps what that taught: the list read here may
        be older than it."""
        now = self._clock()
        records = await self._db.read(lambda: store.list_keys(self._db.models))
        for record in records:
            if untaught_only and record.principal in self._taught:
                continue
            if record.state(now) in ("live", "retiring"):
                self._learn(record)
        await self._push_budgets()

    # -- the operator's verbs ---------------------------------------------------------------

    async def create(self, principal: Principal, spec: KeySpec) -> MadeKey:
        """Make a key; its secret is in the answer and nowhere else.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: a field is wrong, a key of that name is live, an earlier key had
                it and the spec does not continue that identity (details `identity`), or
                another key's name differs from it only in case (`param` name).
        """
        require(principal, Capability.KEYS)
        spec = spec.checked(self._clock())
        made = self._made(spec, principal.id)
        await self._insert(made, revoke_others_at=None, continues=spec.continues_identity)
        log.info("gateway key %s made by %s", made.record.principal, principal.id)
        return made

    async def rotate(self, principal: Principal, name: str, *, grace_s: float = 0.0) -> MadeKey:
        """A new secret for the key `name` (same principal, scope and limits); the old one is
        revoked at once, or `grace_s` seconds from now.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            NotFound: no live key has that name.
            InvalidRequest: the grace is out of bounds.
        """
        require(principal, Capability.KEYS)
        if not 0 <= grace_s <= MAX_GRACE_S:
            raise InvalidRequest(f"grace: 0 to {int(MAX_GRACE_S)} seconds", param="grace_s")
        now = self._clock()
        # The key of its own: a secret lent from it would give the new one its short life.
        live = await self._db.read(lambda: store.live_keys(self._db.models, name, now, lent=False))
        if not live:
            raise NotFound(f"no live gateway key is named {name!r}", name=name)
        old = max(live, key=lambda r: r.created_at)
        spec = KeySpec(
            name=old.name,
            scope=old.scope,
            budget_usd=old.budget_usd,
            budget_period=old.budget_period or "monthly",
            per_minute=old.per_minute,
            expires_at=old.expires_at,
        )
        made = self._made(spec, principal.id)
        await self._insert(made, revoke_others_at=now + grace_s)
        log.info("gateway key %s rotated by %s", made.record.principal, principal.id)
        return made

    async def lend(self, principal: Principal, name: str, *, ttl_s: float) -> MadeKey:
        """A short-lived secret of the key `name` (Claude Code's `apiKeyHelper` prints one):
        the same principal, so the same scope, budget, spend and rate limit, expiring `ttl_s`
        seconds from now (never after the key itself). Revoking or rotating the key ends it.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            NotFound: no live key has that name.
            InvalidRequest: the lifetime is out of bounds (`param` ttl_s).
        """
        require(principal, Capability.KEYS)
        if not MIN_LENT_S <= ttl_s <= MAX_LENT_S:
            raise InvalidRequest(
                f"ttl: {int(MIN_LENT_S)} to {int(MAX_LENT_S)} seconds", param="ttl_s"
            )
        now = self._clock()
        live = await self._db.read(lambda: store.live_keys(self._db.models, name, now, lent=False))
        # A key in its rotation's grace lends nothing: its holder has the new secret. A lent
        # secret lends nothing either: a loan of a loan would end with the first.
        live = [r for r in live if r.state(now) == "live"]
        if not live:
            raise NotFound(f"no live gateway key is named {name!r}", name=name)
        parent = max(live, key=lambda r: r.created_at)
        ends = now + ttl_s if parent.expires_at is None else min(now + ttl_s, parent.expires_at)
        spec = KeySpec(
            name=parent.name,
            scope=parent.scope,
            budget_usd=parent.budget_usd,
            budget_period=parent.budget_period or "monthly",
            per_minute=parent.per_minute,
            expires_at=ends,
        )
        made = self._made(spec, principal.id)
        await self._insert(made, revoke_others_at=None, lent_from=parent.id)
        log.info("gateway key %s lent for %.0f s by %s", made.record.principal, ttl_s, principal.id)
        return made

    async def revoke(self, principal: Principal, name: str) -> int:
        """Revoke every key of `name` at once (a rotated one in its grace too); how many.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            NotFound: no live key has that name.
        """
        require(principal, Capability.KEYS)
        now = self._clock()
        count = await self._db.run(lambda: store.revoke_name(self._db.models, name, now))
        if not count:
            raise NotFound(f"no live gateway key is named {name!r}", name=name)
        await self._changed()
        self._forget(f"key:{name}")
        log.info("gateway key key:%s revoked by %s", name, principal.id)
        return count

    async def list(self, principal: Principal) -> list[KeyRecord]:
        """Every key, newest first, without secrets.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.KEYS)
        return await self._db.read(lambda: store.list_keys(self._db.models))

    # -- the edge's questions ---------------------------------------------------------------

    async def verify(self, secret: str) -> KeyVerdict:
        """Whose `secret` is: its row as the store holds it now (read again after any change
        to any key, by any process; see `key_changes.py`), judged at this moment."""
        digest, now = self._digest_of(secret), self._clock()
        # Before the read: a change after it is seen next time.
        stamp = self._verified.changes.stamp()
        record = self._verified.get(digest, stamp)
        known = self._verdicts.get(digest) if record is not None else None
        if (
            known is not None
            and known[0] is record
            and self._taught.get(known[2]) is record
            and record.state(now) == "live"
        ):
            # The row the last verdict was made from (no key changed since, in any process),
            # and what its principal was last taught: only expiry and "last used" are of now.
            self._touch_if_due(record.id, now)
            return known[1]
        if record is None:
            record = await self._db.read(lambda: store.by_digest(self._db.models, digest))
            if record is not None:
                self._verified.put(digest, record, stamp)
        if record is None:
            return KeyVerdict(None, problem="the gateway key is not one this gateway made")
        state = record.state(now)
        if state == "revoked":
            self._forget_if_gone(record, now)
            return KeyVerdict(
                None,
                ErrorCode.KEY_REVOKED,
                f"gateway key {record.shown} ({record.principal}) was revoked; ask the "
                "operator for a new one",
            )
        if state == "expired":
            return KeyVerdict(
                None,
                ErrorCode.KEY_EXPIRED,
                f"gateway key {record.shown} ({record.principal}) expired; ask the operator "
                "for a new one",
            )
        # Compared before it is learnt: a key another process made (the CLI, another gateway
        # on the store) or gave a new budget is a budget the ledger must count from now on.
        changed = self._budgets.get(record.principal) != _budget_of(record)
        self._learn(record)
        if changed:
            await self._push_budgets()
        self._touch_if_due(record.id, now)
        tools = frozenset(f"{TOOL_SCOPE_PREFIX}{tool}" for tool in record.scope.tools)
        named = record.scope.caller
        verdict = KeyVerdict(
            Principal(record.principal, KEY_METHOD, tools, caller=named, named_by_operator=named)
        )
        if state == "live":
            if len(self._verdicts) >= MAX_REMEMBERED:
                self._verdicts.clear()
            self._verdicts[digest] = (record, verdict, record.principal)
        return verdict

    def _digest_of(self, secret: str) -> str:
        """`token_digest(secret)`, the last secret's kept: a client presents the same key with
        each request, and SHA-256 through OpenSSL costs about 6,500 instructions where the
        comparison (constant time) costs 800. Only the hash is skipped: what the digest is
        then checked against (the marker, the row, its state) is as for any other."""
        presented = secret_bytes(secret)
        last, digest = self._last_digest
        if hmac.compare_digest(presented, last):
            return digest
        digest = token_digest(secret)
        self._last_digest = (presented, digest)
        return digest

    def _touch_if_due(self, key_id: str, now: float) -> None:
        if now - self._touched.get(key_id, 0.0) >= LAST_USED_EVERY_S:
            self._touched[key_id] = now
            self._later(self._touch(key_id, now))

    def scope_of(self, principal: str) -> KeyScope | None:
        """The scope of a key principal (None for any other principal). A key principal this
        process has not seen prove itself gets an empty scope of nothing: fail closed."""
        if not is_key_principal(principal):
            return None
        return self._scopes.get(principal, _NOTHING)

    def target_refusal(self, principal: str, provider: str, model: str) -> EngineError | None:
        """Why `principal` may not have `model` asked of `provider` (keys only), or None."""
        scope = self.scope_of(principal)
        return None if scope is None else scope.target_refusal(principal, provider, model)

    def projects_of(self, principal: str) -> frozenset[str]:
        """The projects a key principal may name (empty for any other principal)."""
        scope = self.scope_of(principal)
        return frozenset() if scope is None else scope.projects

    def limiter_for(self, principal: str) -> RateLimiter | None:
        """The limiter of a key with its own rate limit (requests a minute), or None (the
        gateway's own limit applies)."""
        per_minute = self._per_minute.get(principal)
        if per_minute is None:
            return None
        limiter = self._limiters.get(per_minute)
        if limiter is None:
            limiter = self._limiters[per_minute] = RateLimiter(
                per_minute=per_minute, burst=per_minute
            )
        return limiter

    # -- inside ---------------------------------------------------------------------------

    def _made(self, spec: KeySpec, by: str) -> MadeKey:
        secret = new_token(KEY_PREFIX)
        record = KeyRecord(
            id=secrets.token_hex(6),
            name=spec.name,
            shown=f"{KEY_PREFIX}…{secret[-SHOWN_TAIL:]}",
            scope=spec.scope,
            budget_usd=spec.budget_usd,
            budget_period=spec.budget_period if spec.budget_usd is not None else None,
            per_minute=spec.per_minute,
            expires_at=spec.expires_at,
            revoked_at=None,
            created_at=self._clock(),
            created_by=by,
            last_used_at=None,
            replaced_by=None,
        )
        return MadeKey(record, secret)

    async def _insert(
        self,
        made: MadeKey,
        *,
        revoke_others_at: float | None,
        continues: bool = False,
        lent_from: str | None = None,
    ) -> None:
        """Store `made`; a rotation revokes the name's other keys, a lent secret sits beside
        them, a create refuses a name another key holds or held (`_refuse_name`).

        Raises:
            InvalidRequest: (create) the name is refused.
        """
        record, models = made.record, self._db.models
        database = models.database
        now = record.created_at

        def insert() -> None:
            with database.atomic():
                # Two gateways making the same name check one after the other: on PostgreSQL
                # through an advisory lock, on SQLite because the insert takes the write lock.
                # The lock is the name in lower case: names differing in case are refused
                # beside one another, so they must not be checked side by side either.
                store.insert_key(models, record, token_digest(made.secret), lent_from=lent_from)
                self._db.engine.serialize(database, f"gateway-key:{record.name.lower()}")
                if revoke_others_at is not None:
                    store.revoke_name(models, record.name, revoke_others_at, replaced_by=record.id)
                    return
                if lent_from is not None:
                    # The name's spent loans go as the next is made (one every few minutes).
                    store.drop_spent_loans(models, record.name, now)
                    return
                others = [r for r in store.live_keys(models, record.name, now) if r.id != record.id]
                if others:
                    raise InvalidRequest(
                        f"name: a live key is already named {record.name!r}; rotate it, "
                        "revoke it first, or choose another name",
                        param="name",
                    )
                _refuse_name(record, store.names_like(models, record.name, record.id), continues)

        await self._db.run(insert)
        await self._changed()
        self._learn(record)
        await self._push_budgets()

    async def _changed(self) -> None:
        """After a key's write committed: forget verified rows here, and tell every process
        sharing the store (its marker, replaced off the loop)."""
        self._verified.forget()
        try:
            await asyncio.to_thread(self._verified.changes.changed)
        except OSError as exc:  # the write stands; other processes may trust a stale row
            log.warning("could not mark a gateway key change beside the store: %s", exc)

    def _learn(self, record: KeyRecord) -> None:
        self._taught[record.principal] = record
        self._scopes[record.principal] = record.scope
        if record.per_minute is None:
            self._per_minute.pop(record.principal, None)
        else:
            self._per_minute[record.principal] = record.per_minute
        budget = _budget_of(record)
        if budget is None:
            self._budgets.pop(record.principal, None)
        else:
            self._budgets[record.principal] = budget

    def _forget(self, principal: str) -> None:
        self._taught.pop(principal, None)
        self._scopes.pop(principal, None)
        self._per_minute.pop(principal, None)

    def _forget_if_gone(self, record: KeyRecord, now: float) -> None:
        """A revoked secret was presented: the principal keeps its scope only while another
        of its keys (a rotation's new one) is live; that key's next request teaches it again."""
        if record.replaced_by is None:
            self._forget(record.principal)

    async def _push_budgets(self) -> None:
        if self._ledger is None:
            return
        wanted = tuple(sorted(self._budgets.values(), key=lambda b: b.value))
        if wanted != self._ledger.key_budgets:
            await self._ledger.replace_key_budgets(wanted)

    async def _touch(self, key_id: str, now: float) -> None:
        try:
            await self._db.run(lambda: store.touch(self._db.models, key_id, now))
        except Exception as exc:  # "last used" is a courtesy: never worth a failed request
            if self._db.is_write_failure(exc):  # an outage: the store says it, once
                log.debug("could not note that gateway key %s was used: %s", key_id, exc)
            else:
                log.warning("could not note that gateway key %s was used", key_id, exc_info=True)

    def _later(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._spawn is None:
            coro.close()
            return
        self._spawn(coro)


def _refuse_name(record: KeyRecord, earlier: set[str], continues: bool) -> None:
    """Refuse a new key's name where it would pass for another key's principal: the very name
    of an earlier key, unless the operator says this key continues that identity; a name
    another key spells in other case (`key:CI-bot` beside `key:ci-bot` on the dashboard).

    Raises:
        InvalidRequest: the name is refused (`param` name; `identity` when it is continuable).
    """
    name = record.name
    alike = sorted(earlier - {name})
    if alike:
        raise InvalidRequest(
            f"name: {name!r} differs from the key name {alike[0]!r} only in case; the two "
            "would pass for one another in the recorder and budgets. Choose another name",
            param="name",
        )
    if name in earlier and not continues:
        # Everything the gateway keeps per principal is keyed by it: the new holder would get
        # the old one's cached answers, sessions, jobs, stored responses and budget spend.
        raise InvalidRequest(
            f"name: an earlier key was named {name!r}, and {record.principal} still owns its "
            "sessions, jobs, recorder rows, cached answers and budget spend. For someone "
            "else, choose another name; for the same holder, continue that identity "
            "(`keys create --continue-identity`, or the Access keys page's checkbox)",
            param="name",
            identity=record.principal,
        )
    if continues and name not in earlier:
        raise InvalidRequest(
            f"name: no earlier key was named {name!r}, so there is no identity to continue",
            param="name",
        )


# No provider and no tool is named "": nothing is in this scope.
_NOTHING = KeyScope(providers=frozenset({""}), tools=frozenset({""}))


def _budget_of(record: KeyRecord) -> Budget | None:
    if record.budget_usd is None:
        return None
    period = record.budget_period if record.budget_period in PERIODS else "monthly"
    return Budget(
        kind="principal",
        value=record.principal,
        unit="usd",
        period=period,
        hard=record.budget_usd,
    )


@asynccontextmanager
async def keys_on_store(
    path: Path, url: str = "", password: str = ""
) -> AsyncIterator[GatewayKeys]:
    """The keys of the store at `path` (or `url`, with `password` when it holds none), for a
    command run beside the gateway (`llmgw-desktop keys`): what it writes, every gateway on
    that store sees at its next request.

    Raises:
        StoreError: the store cannot be opened.
    """
    db = Database(path, url=url, password=password)
    await db.open()
    try:
        yield GatewayKeys(db)
    finally:
        await db.close()
