from __future__ import annotations

from collections.abc import Callable

import peewee
import pytest

from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.models import ActiveSessionRow, JobRow, StoreMetaRow
from tests.postgres import opened


async def test_two_open_databases_each_write_to_their_own_store(
    new_database: Callable[[str], Database],
) -> None:
    async with (
        opened(new_database("a.db")) as first,
        opened(new_database("b.db")) as second,
    ):
        await first.run(lambda: first.models.StoreMeta.create(key="k", value="first"))
        await second.run(lambda: second.models.StoreMeta.create(key="k", value="second"))
        in_first = await first.run(lambda: first.models.StoreMeta.get_by_id("k").value)
        in_second = await second.run(lambda: second.models.StoreMeta.get_by_id("k").value)
    assert (in_first, in_second) == ("first", "second")


async def test_bound_tables_are_the_module_level_row_types(
    new_database: Callable[[str], Database],
) -> None:
    async with opened(new_database("llmgw.db")) as db:
        assert issubclass(db.models.Job, JobRow)
        assert db.models.Job._meta.table_name == JobRow._meta.table_name == "jobs"
        assert db.models.ActiveSession._meta.primary_key.field_names == (
            ActiveSessionRow._meta.primary_key.field_names
        )
        row = await db.run(lambda: db.models.StoreMeta.create(key="k", value="v"))
        assert isinstance(row, StoreMetaRow)


def test_a_row_type_used_without_a_database_fails_loudly() -> None:
    with pytest.raises(peewee.InterfaceError):
        StoreMetaRow.select().count()


async def test_every_model_column_is_in_the_migrated_schema(
    new_database: Callable[[str], Database],
) -> None:
    db = new_database("llmgw.db")
    await db.open()
    models = [m for m in vars(db.models).values() if isinstance(m, type)]

    def missing() -> dict[str, set[str]]:
        database = db.models.database
        gaps = {}
        for model in models:
            table = model._meta.table_name
            have = {column.name for column in database.get_columns(table)}
            want = {field.column_name for field in model._meta.sorted_fields}
            if want - have:
                gaps[table] = want - have
        return gaps

    try:
        assert len(models) == 15
        assert await db.run(missing) == {}
    finally:
        await db.close()
