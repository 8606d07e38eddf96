"""One team gateway cut off from PostgreSQL while its peer still reaches it (issue 38, item 1).

Two real gateway processes share a database (`tests/e2e/team_gateways.py`). The first reaches
it through a TCP proxy (`tests/fakes/tcp_proxy.py`) that resets, refuses, black-holes or slows
its connections; the peer connects directly. The first runs a synchronous call and five async
ones (three running, two queued) whose fake CLIs log `start <pid>` and `end <pid>` to a file of
their own and wait for a file before answering. Then the first is cut off.

The client does what one would: it asks the peer about each call, and once the peer says
`interrupted` (it took the cut-off gateway for dead) it sends the same call to the peer. Then
every CLI may answer, and later the cut heals. What must hold, whatever the fault:
- no call runs to the end twice, and the cut-off gateway starts nothing after the peer took
  its jobs (each call's log: one start after the re-send, one end in all);
- after the heal every view says what the store says: the job's status and result on both
  gateways (`llm_job_status`, `llm_job_result`), and the recorder rows;
- the synchronous caller is not told `completed` for an answer the store does not hold.
The measured figures are printed (`-s` shows them).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.tcp_proxy import Fault, FaultyProxy, faulty_proxy
from tests.postgres import PostgresCluster
from tests.reliability._crash_support import ANSWER, call, calls

T = TypeVar("T")

SHORT_LEASE_MS = 3000
DEFAULT_LEASE_MS = 30_000  # `jobs.lease_ms`'s default: the gateways are not told a lease
# The async calls: the first RUNNING run at once, the rest wait in the queue (with the sync one,
# the cut-off gateway's whole `jobs.max_concurrent`).
CALLS = 5
RUNNING = 3
SYNC_DEADLINE_MS = 4000
# A chunk through the slow proxy waits this long each way: a renewal (about ten round trips)
# takes longer than the short lease.
SLOW_DELAY_S = 0.4
POLL_S = 0.1
# The client asking the peer about its calls, as one would: twice a second (each round starts
# an MCP session; at POLL_S the default lease's wait cost more CPU than the rest of the test).
ASK_EVERY_S = 0.5
UNSETTLED = ("queued", "running")


def lease_for(lease_ms: int) -> dict[str, str]:
    return {} if lease_ms == DEFAULT_LEASE_MS else {"LLM_GATEWAY_JOB_LEASE_MS": str(lease_ms)}


def poll(check: Callable[[], T | None], timeout_s: float) -> T | None:
    """Poll `check` (bounded) until it returns something truthy; None if it never did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(POLL_S)
    return None


def wait_for(what: str, check: Callable[[], T | None], timeout_s: float) -> T:
    """`poll`, failing the test when `check` never says yes."""
    found = poll(check, timeout_s)
    if found is None:
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
    return found


class RunLogs:
    """Each call's fake CLI log: `start <pid>` and `end <pid>` lines."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / f"runs-{name}.log"

    def lines(self, name: str) -> list[str]:
        path = self.path(name)
        return path.read_text().splitlines() if path.exists() else []

    def count(self, name: str, what: str) -> int:
        return sum(1 for line in self.lines(name) if line.startswith(what + " "))


@pytest.fixture
def proxy(postgres_cluster: PostgresCluster) -> Iterator[FaultyProxy]:
    with faulty_proxy(postgres_cluster.port, delay_s=SLOW_DELAY_S) as found:
        yield found


CASES = [
    pytest.param(SHORT_LEASE_MS, Fault.RESET, id="3s-reset"),
    pytest.param(SHORT_LEASE_MS, Fault.REFUSE, id="3s-refuse"),
    pytest.param(SHORT_LEASE_MS, Fault.BLACKHOLE, id="3s-blackhole"),
    pytest.param(SHORT_LEASE_MS, Fault.SLOW, id="3s-slow"),
    pytest.param(DEFAULT_LEASE_MS, Fault.RESET, id="default-reset"),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("lease_ms", "fault"), CASES)
def test_a_gateway_cut_off_from_the_store_never_runs_a_call_twice_and_heals_to_its_truth(
    team: Team,  # noqa: F811
    proxy: FaultyProxy,
    postgres_cluster: PostgresCluster,
    lease_ms: int,
    fault: Fault,
) -> None:
    lease_s = lease_ms / 1000
    through_proxy = team.db_url.replace(f":{postgres_cluster.port}/", f":{proxy.port}/")
    cut = team.join(
        "cut",
        LLM_GATEWAY_DB_URL=through_proxy,
        LLM_GATEWAY_MAX_CONCURRENT_JOBS=str(RUNNING + 1),
        SYNC_DEADLINE_MS=str(SYNC_DEADLINE_MS),
        **lease_for(lease_ms),
    )
    # Room for every re-sent call at once on the peer (4 per provider by default).
    peer = team.join("peer", LLM_GATEWAY_MAX_CONCURRENT_PER_PROVIDER="8", **lease_for(lease_ms))
    logs, go, go_sync = RunLogs(team.root), team.root / "go", team.root / "go-sync"

    def prompt(name: str, until: Path) -> str:
        return f"logged {logs.path(name)} {until}"

    def store_state(job_id: str) -> tuple[str, Any] | None:
        found = team.query("SELECT state, result_json FROM jobs WHERE id = %s", job_id)
        return found[0] if found else None

    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        sync_answer = pool.submit(call, cut.url, "claude_request", prompt=prompt("sync", go_sync))
        wait_for("the sync call's CLI", lambda: logs.count("sync", "start"), 30)
        names = [f"c{i}" for i in range(CALLS)]
        jobs = {
            name: call(cut.url, "claude_request_async", prompt=prompt(name, go))["jobId"]
            for name in names
        }

        placed: list[object] = []  # what the store and the logs said last, for the failure

        def all_placed() -> bool:
            states = [s and s[0] for s in (store_state(jobs[n]) for n in names)]
            started = [logs.count(n, "start") for n in names]
            placed[:] = [states, started]
            return states == ["running"] * RUNNING + ["queued"] * (CALLS - RUNNING) and all(
                started[:RUNNING]
            )

        # Three CLIs started beside two gateways and PostgreSQL: a loaded CI once took over 30 s.
        try:
            wait_for("three calls running and two queued", all_placed, 60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last seen (states, starts): {placed}") from None

        proxy.set(fault)
        cut_at = time.monotonic()
        go_sync.touch()  # one CLI answers just after the cut, before the lease can lapse
        told = sync_answer.result(timeout=SYNC_DEADLINE_MS / 1000 + 30)
        # The client: each call the peer calls `interrupted` is sent to the peer again.
        resent: dict[str, str] = {}
        starts_at_reap: dict[str, int] = {}
        reap_deadline = time.monotonic() + 2 * lease_s + 30
        while len(resent) < CALLS and time.monotonic() < reap_deadline:
            waiting = [name for name in names if name not in resent]
            statuses = calls(peer.url, "llm_job_status", [{"jobId": jobs[n]} for n in waiting])
            for name, status in zip(waiting, statuses, strict=True):
                if status.get("state") == "interrupted":
                    starts_at_reap[name] = logs.count(name, "start")
                    again = call(peer.url, "claude_request_async", prompt=prompt(name, go))
                    resent[name] = again["jobId"]
            time.sleep(ASK_EVERY_S)
        reaped_after = time.monotonic() - cut_at
        assert len(resent) == CALLS, f"the peer took {sorted(resent)} for dead, not all"
        wait_for(
            "the re-sent calls' CLIs",
            lambda: all(logs.count(n, "start") > starts_at_reap[n] for n in names),
            30,
        )
        go.touch()  # every CLI may answer now
        wait_for(
            "the re-sent calls' answers",
            lambda: all((store_state(j) or ("",))[0] == "completed" for j in resent.values()),
            30,
        )
        # One lease more with the cut in place: room for the cut-off gateway to run a CLI to
        # its end, or to start a queued one, as it did before it fenced itself.
        time.sleep(min(lease_s, 5.0))
        proxy.set(Fault.PASS)
        healed_at = time.monotonic()

        every = {**jobs, "sync": sync_job(told)}

        def adopted() -> dict[str, str] | None:
            stored = {name: store_state(job_id) for name, job_id in every.items()}
            settled = {name: s[0] for name, s in stored.items() if s and s[0] not in UNSETTLED}
            if len(settled) < len(every):  # the cut-off gateway is asked only once it can agree
                return None
            asked = [{"jobId": job_id} for job_id in every.values()]
            on_cut = [status.get("state") for status in calls(cut.url, "llm_job_status", asked)]
            return settled if on_cut == list(settled.values()) else None

        adopted_states = poll(adopted, 2 * lease_s + 30)
        adopted_after = time.monotonic() - healed_at
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        proxy.set(Fault.PASS)

    ran_twice = [n for n in [*names, "sync"] if logs.count(n, "end") > 1]
    started_late = [n for n in names if logs.count(n, "start") - starts_at_reap[n] != 1]
    print(
        f"\n{fault} lease {lease_s:g} s: {len(resent)} calls re-sent (the peer took the cut-off "
        f"gateway for dead {reaped_after:.1f} s into the cut); ran to the end twice: "
        f"{len(ran_twice)}; started on the cut-off gateway after the reap: {len(started_late)}; "
        f"the synchronous caller was told {told.get('state') or 'an error'}"
        f"{' (deferred)' if told.get('deferred') else ''}; "
        + (
            f"its views said what the store says {adopted_after:.1f} s after the heal"
            if adopted_states is not None
            else f"its views still differed from the store {adopted_after:.0f} s after the heal: "
            + str(split_views(cut, every, store_state))
        )
    )
    assert adopted_states is not None, split_views(cut, every, store_state)
    assert ran_twice == [], {n: logs.lines(n) for n in ran_twice}
    assert started_late == [], {n: logs.lines(n) for n in started_late}
    # The cut-off gateway's jobs are interrupted with no result, in the store and on both.
    for name in names:
        assert store_state(jobs[name]) == ("interrupted", None), name
        assert adopted_states[name] == "interrupted"
        assert call(peer.url, "llm_job_status", jobId=jobs[name])["state"] == "interrupted"
        result = call(cut.url, "llm_job_result", jobId=jobs[name])
        assert result["error"]["code"] == "interrupted", result
    for name, job_id in resent.items():
        assert ANSWER in call(peer.url, "llm_job_result", jobId=job_id)["text"], name
    # The synchronous caller was told `completed` only for an answer the store holds.
    sync_stored = store_state(every["sync"])
    assert sync_stored is not None
    if told.get("text") is not None:
        assert sync_stored[0] == "completed" and ANSWER in sync_stored[1], (told, sync_stored)
    assert adopted_states["sync"] == sync_stored[0]
    # The recorder rows say the same as the jobs (they reach the store with the next flush).
    want = {job_id: adopted_states[name] for name, job_id in every.items()}

    def recorded() -> dict[str, str] | None:
        rows = dict(
            team.query("SELECT job_id, state FROM requests WHERE job_id = ANY(%s)", list(want))
        )
        return rows if rows == want else None

    rows = poll(recorded, 15) or dict(
        team.query("SELECT job_id, state FROM requests WHERE job_id = ANY(%s)", list(want))
    )
    assert rows == want, {n: (want[j], rows.get(j)) for n, j in every.items()}
    for member in (cut, peer):
        assert "Traceback" not in member.log(), member.log()


def sync_job(told: dict[str, Any]) -> str:
    """The synchronous call's job id, from its answer (deferred, failed or completed)."""
    return str(told["jobId"])


def split_views(
    member: TeamGateway,
    jobs: dict[str, str],
    store_state: Callable[[str], tuple[str, Any] | None],
) -> dict[str, tuple[str | None, str | None]]:
    """The jobs whose state on `member` differs from the store's: (on the member, stored)."""
    split = {}
    for name, job_id in jobs.items():
        stored = store_state(job_id)
        said = call(member.url, "llm_job_status", jobId=job_id).get("state")
        if stored is None or said != stored[0]:
            split[name] = (said, None if stored is None else stored[0])
    return split
