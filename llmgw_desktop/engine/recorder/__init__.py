"""What the gateway did, kept on disk: a flight-recorder row per provider request, and the
refusals at its door counted per minute.

`flight_recorder` records each request's start and end in memory (`pending`) and `writer` writes
them in batches (`stored_form` is a row as the store holds it, redacted; `spill` keeps what the
store refuses, `journal` a row's end before its answer completes and `journal_replay` reads what
an earlier run left there, `prune` bounds the table); `lookups` reads a row back by correlation
id; `query` and `search` are the desk's reads (keyset pages under `filters`, a row's `detail`,
full-text search, `export`) and `lanes` its per-agent view; `cache_state` turns rows into
prompt-cache views; `attempts` is the rule of which rows are the requests clients sent (an
attempt that failed over is not one); `cost_breakdown` sums their spend per provider, model,
project or agent; `kinds` says which kind of call a row was (chat, embedding, completion)
from its route; `refusals` counts what the edge refused; `bodies` keeps the request and
response bodies a person asked for (`recorder.capture`, off by default). The hand-written SQL
sits in `rows` (the `requests` table), `cost_breakdown` (its spend), `search` (its FTS5
index) and `refusal_rows` (the `refusals` table), each saying why.
"""

from llmgw_desktop.engine.recorder.bodies import (
    CAPTURE_KEYS,
    BodyCapture,
    CapturePolicy,
    KeptBodies,
)
from llmgw_desktop.engine.recorder.cache_state import CacheState
from llmgw_desktop.engine.recorder.cost_breakdown import (
    COST_DIMENSIONS,
    COST_WINDOWS,
    CostBreakdown,
    CostDimension,
    CostGroup,
)
from llmgw_desktop.engine.recorder.detail import RecordDetail
from llmgw_desktop.engine.recorder.export import ExportFormat
from llmgw_desktop.engine.recorder.filters import PageCursor, RecorderFilters
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder, new_record_id
from llmgw_desktop.engine.recorder.journal import RecorderJournal, left_by_an_earlier_run
from llmgw_desktop.engine.recorder.kinds import REQUEST_KINDS
from llmgw_desktop.engine.recorder.lanes import AgentLane, AgentLanes, Lane, SessionLane
from llmgw_desktop.engine.recorder.query import (
    PAGE_SIZE,
    RecorderPage,
    RecorderQuery,
    RecordSummary,
)
from llmgw_desktop.engine.recorder.refusals import RefusalCounter, path_group
from llmgw_desktop.engine.recorder.rows import (
    USAGE_AT_HOLD,
    USAGE_ESTIMATED,
    NotAsked,
    past_calls,
    past_traffic,
)
from llmgw_desktop.engine.recorder.spill import RecorderSpill

__all__ = [
    "CAPTURE_KEYS",
    "COST_DIMENSIONS",
    "COST_WINDOWS",
    "PAGE_SIZE",
    "REQUEST_KINDS",
    "USAGE_AT_HOLD",
    "USAGE_ESTIMATED",
    "AgentLane",
    "AgentLanes",
    "BodyCapture",
    "CacheState",
    "CapturePolicy",
    "CostBreakdown",
    "CostDimension",
    "CostGroup",
    "ExportFormat",
    "FlightRecorder",
    "KeptBodies",
    "Lane",
    "NotAsked",
    "PageCursor",
    "RecordDetail",
    "RecordSummary",
    "RecorderFilters",
    "RecorderJournal",
    "RecorderPage",
    "RecorderQuery",
    "RecorderSpill",
    "RefusalCounter",
    "SessionLane",
    "left_by_an_earlier_run",
    "new_record_id",
    "past_calls",
    "past_traffic",
    "path_group",
]
