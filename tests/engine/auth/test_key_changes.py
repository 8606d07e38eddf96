"""A verified key's row is remembered until any process changes a key (SQLite): no store read
per request, yet a revocation by another process on the same file counts at the next one."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.auth import gateway_keys_store as store
from llmgw_desktop.engine.auth.gateway_keys import GatewayKeys
from llmgw_desktop.engine.auth.key_changes import KeyChanges
from llmgw_desktop.engine.auth.key_scope import KeyScope
from llmgw_desktop.engine.auth.key_spec import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.store import Database
from tests.postgres import opened


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every store read of a key by its digest."""
    seen: list[str] = []
    real = store.by_digest

    def counted(models: object, digest: str) -> object:
        seen.append(digest)
        return real(models, digest)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "by_digest", counted)
    return seen


async def test_a_verified_key_is_not_read_again_until_another_process_revokes_it(
    tmp_path: Path, reads: list[str]
) -> None:
    here, there = Database(tmp_path / "llmgw.db"), Database(tmp_path / "llmgw.db")
    await here.open()
    await there.open()
    try:
        mine, other = GatewayKeys(here), GatewayKeys(there)  # two processes on one file
        made = await other.create(OPERATOR, KeySpec(name="ci"))
        for _ in range(3):
            verdict = await mine.verify(made.secret)
            assert verdict.principal is not None and verdict.principal.id == "key:ci"
        assert len(reads) == 1
        await other.revoke(OPERATOR, "ci")
        refused = await mine.verify(made.secret)
        assert refused.principal is None and refused.code == ErrorCode.KEY_REVOKED
        assert len(reads) == 2
    finally:
        await here.close()
        await there.close()


async def test_expiry_is_judged_at_each_use_of_a_remembered_row(
    tmp_path: Path, reads: list[str]
) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        now = [1_000_000.0]
        keys = GatewayKeys(db, clock=lambda: now[0])
        made = await keys.create(OPERATOR, KeySpec(name="brief", expires_at=now[0] + 60))
        assert (await keys.verify(made.secret)).principal is not None
        now[0] += 61
        expired = await keys.verify(made.secret)
        assert expired.principal is None and expired.code == ErrorCode.KEY_EXPIRED
        assert len(reads) == 1  # judged from the remembered row, at this moment


async def test_without_a_marker_to_trust_every_verification_reads_the_store(
    tmp_path: Path, reads: list[str]
) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        keys = GatewayKeys(db)
        keys._verified.changes = KeyChanges(None)  # as on PostgreSQL: no file is shared
        made = await keys.create(OPERATOR, KeySpec(name="team"))
        for _ in range(3):
            assert (await keys.verify(made.secret)).principal is not None
        assert len(reads) == 3


async def test_the_last_secret_digested_is_told_apart_from_any_other(
    tmp_path: Path, reads: list[str]
) -> None:
    # `verify` skips hashing the secret it hashed last: another key, or the same one with a
    # character changed, is hashed and judged as its own.
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        keys = GatewayKeys(db)
        first = await keys.create(OPERATOR, KeySpec(name="first"))
        second = await keys.create(OPERATOR, KeySpec(name="second"))
        for secret, principal in [(first.secret, "key:first"), (second.secret, "key:second")] * 2:
            verdict = await keys.verify(secret)
            assert verdict.principal is not None and verdict.principal.id == principal
        altered = first.secret[:-1] + ("A" if first.secret[-1] != "A" else "B")
        assert (await keys.verify(altered)).principal is None
        assert (await keys.verify(first.secret)).principal is not None


def test_every_change_leaves_a_new_stamp(tmp_path: Path) -> None:
    changes = KeyChanges.beside(tmp_path / "llmgw.db")
    assert changes.stamp() == "none yet"
    seen = set()
    for _ in range(5):
        changes.changed()
        seen.add(changes.stamp())
    assert len(seen) == 5
    assert KeyChanges.beside(tmp_path / "x.db", url="postgresql://h/db").stamp() is None


async def test_a_remembered_verdict_is_given_only_while_its_row_taught_the_principal(
    tmp_path: Path, reads: list[str]
) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        keys = GatewayKeys(db)
        scope = KeyScope(providers=frozenset({"openai"}))
        made = await keys.create(OPERATOR, KeySpec(name="ci", scope=scope))
        first = await keys.verify(made.secret)
        assert (await keys.verify(made.secret)) is first  # given again, not made again
        assert keys.scope_of("key:ci") == scope
        # Forgotten (a revoked key of the same principal was presented): the next request
        # teaches the principal again from its row, rather than reaching nothing.
        keys._forget("key:ci")
        again = await keys.verify(made.secret)
        assert again.principal is not None and again.principal.id == "key:ci"
        assert keys.scope_of("key:ci") == scope
        assert len(reads) == 1  # the row itself was remembered throughout


async def test_a_principal_taught_by_another_row_is_taught_again_by_this_one(
    tmp_path: Path,
) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        now = [1_000_000.0]
        keys = GatewayKeys(db, clock=lambda: now[0])
        made = await keys.create(OPERATOR, KeySpec(name="ci", per_minute=5))
        await keys.verify(made.secret)
        # A rotation in its grace: the old row (retiring) and the new one both prove "key:ci";
        # each verification must leave the principal as its own row teaches it.
        rotated = await keys.rotate(OPERATOR, "ci", grace_s=60)
        for key in (made, rotated, made, rotated):
            verdict = await keys.verify(key.secret)
            assert verdict.principal is not None and verdict.principal.id == "key:ci"
            assert keys._taught["key:ci"].id == key.record.id
        now[0] += 61  # the old secret's grace is over
        refused = await keys.verify(made.secret)
        assert refused.principal is None and refused.code == ErrorCode.KEY_REVOKED
        assert (await keys.verify(rotated.secret)).principal is not None
