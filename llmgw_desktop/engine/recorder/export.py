"""The recorder's rows written to a file for the desk: every row matching the filters, newest
first, as JSON Lines or CSV.

Streams in chunks, each one read and written on the read lane, so the recorder's writes get
their turn between chunks (on SQLite: between chunks; on PostgreSQL: beside them). The file
appears whole or not at all: it is written beside its name and moved into place at the end.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TextIO

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.recorder.detail import EXPORT_COLUMNS, Execute, public_row
from llmgw_desktop.engine.recorder.filters import PageCursor, RecorderFilters, page_sql
from llmgw_desktop.engine.store import Database

__all__ = ["EXPORT_CHUNK", "ExportFormat", "export_rows"]

EXPORT_CHUNK = 5000

ExportFormat = Literal["jsonl", "csv"]


async def export_rows(
    db: Database,
    execute: Execute,
    filters: RecorderFilters,
    path: Path,
    fmt: ExportFormat,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write every row matching `filters` to `path` (JSON Lines or CSV), newest first; the
    count. `execute` runs a statement on the read lane's connection.

    Raises:
        OSError: the file cannot be written.
    """
    part = path.with_name(path.name + ".part")
    out = await asyncio.to_thread(part.open, "w", encoding="utf-8", newline="")
    written, cursor = 0, None
    try:
        csv_out = csv.writer(out) if fmt == "csv" else None
        if csv_out is not None:
            csv_out.writerow(EXPORT_COLUMNS)
        while True:
            count, cursor = await db.read(
                functools.partial(
                    _export_chunk, db.models.database, execute, filters, cursor, out, csv_out
                )
            )
            written += count
            if on_progress is not None:
                on_progress(written)
            if cursor is None:
                break
        await asyncio.to_thread(out.close)
        await asyncio.to_thread(os.replace, part, path)
    except BaseException:
        out.close()
        part.unlink(missing_ok=True)
        raise
    return written


def _export_chunk(
    database: Any,
    execute: Execute,
    filters: RecorderFilters,
    after: PageCursor | None,
    out: TextIO,
    csv_out: Any,
) -> tuple[int, PageCursor | None]:
    """Read the next chunk of matching rows and write it; the count and where to go on."""
    columns = ", ".join(EXPORT_COLUMNS)
    sql, params = page_sql(database, columns, filters, after, False, EXPORT_CHUNK)
    rows = execute(sql, params).fetchall()
    for row in rows:
        if csv_out is not None:
            csv_out.writerow(row)
        else:
            out.write(jsonio.dumps_text(public_row(row)) + "\n")
    if len(rows) < EXPORT_CHUNK:
        return len(rows), None
    return len(rows), PageCursor(rows[-1][1], rows[-1][0])
