"""The recorder's pending rows: a batch the store was not open for comes back without undoing
what was recorded while it was out."""

from __future__ import annotations

from llmgw_desktop.engine.recorder.pending import PendingRows


def test_a_batch_put_back_keeps_the_fields_recorded_since() -> None:
    pending = PendingRows()
    pending.add("written", {"id": "written", "state": "running"})
    with pending.taken():
        pass  # the first flush stored it
    pending.merge("written", {"state": "running", "output_tokens": 10})
    pending.add("begun", {"id": "begun", "state": "running"})
    with pending.taken() as batch:
        # While the batch is out (the store turns out to be closed), both rows finish.
        pending.merge("written", {"state": "completed", "output_tokens": 42})
        pending.merge("begun", {"state": "completed"})
        pending.put_back(batch)

    with pending.taken() as again:
        # The field only the batch had stays; those set since keep their later values.
        assert again.updates["written"] == {"state": "completed", "output_tokens": 42}
        assert again.new["begun"]["state"] == "running"  # inserted, then
        assert again.updates["begun"] == {"state": "completed"}  # updated after it


def test_a_batch_put_back_with_nothing_since_is_the_batch() -> None:
    pending = PendingRows()
    pending.add("a", {"id": "a"})
    with pending.taken():
        pass
    pending.merge("a", {"state": "failed", "error": "upstream 500"})
    with pending.taken() as batch:
        pending.put_back(batch)
    assert len(pending) == 1
    with pending.taken() as again:
        assert again.updates == {"a": {"state": "failed", "error": "upstream 500"}}
