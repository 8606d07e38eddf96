"""What loads after start-up (the MCP SDK, in the background) is frozen out of the collector's
walks too, but only in a process that froze its own start-up: a host such as a test runner
keeps its permanent generation to itself. Each case runs in a fresh interpreter, since
freezing is process-wide."""

from __future__ import annotations

from tests.child_python import run_python_ok

LATE_FREEZE = """
import gc
from llmgw_desktop.engine import gc_tuning
gc_tuning.freeze_late_arrivals()
assert gc.get_freeze_count() == 0, "froze in a process that never froze its start-up"
gc_tuning.tune_for_serving()
before = gc.get_freeze_count()
late = [[i] for i in range(20_000)]  # stands for the SDK's objects
gc_tuning.freeze_late_arrivals()
assert gc.get_freeze_count() >= before + 20_000, (before, gc.get_freeze_count())
gc_tuning.note_frozen(False)  # what the desktop's collector does when it unfreezes
gc.unfreeze()
gc_tuning.freeze_late_arrivals()
assert gc.get_freeze_count() == 0
print("ok")
"""


def test_late_arrivals_are_frozen_only_where_start_up_was() -> None:
    assert run_python_ok("-c", LATE_FREEZE).strip() == "ok"
