"""Jobs: every provider call, durable in the store, with dedup, limits and deadlines, run by
whichever gateway process on the store holds its lease.

Open `manager` first: `JobManager` turns calls into jobs and runs them within limits. A job's
life: `model` (its states and the moves between them, pure), `queue` (who may join it, the
slots a job waits for), `run` (out of the queue, through its work, to its end), `live` (a job
as its process holds it), `endings` (its end written before anyone is told) and `store` (the
jobs table on the database thread).

Several processes on one store: `leases` (who is alive, and the reaper of those who are not),
`fence` (a job runs only while its lease holds), `ownership` (what another process may do to a
job's row) and `views` (a job as seen from any process).

Around them: `cancels` (a cancel by id, or a caller who left before learning the id), `retry`
(the desk's Retry), `shares` (each remote principal's share of running jobs), `stuck` (a job
showing no sign of life), `upkeep` (the progress flusher and the pruner) and `desk_rows` (the
desk's reads of the jobs table).
"""
