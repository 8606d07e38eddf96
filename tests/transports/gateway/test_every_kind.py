"""One attempt loop for every kind of call (issue 63, item 1): a chat in each client dialect,
embeddings and text completions are asked of an API target key by key by the same code, so
what an attempt does holds for each kind alike. Each behaviour below once differed between the
kinds (three copies of the loop); each test runs over every kind of `every_kind.KINDS`:

- a failure the upstream bills (a 2xx whose body is not an answer) ends the target's keys under
  a hard budget, and only then;
- any answer (a 500, a 429) ends a host's run of connect failures, as a 200 does;
- a client that leaves once its request is written (under a hard budget, while it is on its
  way) is counted at the call's estimate and its route lists the attempt (the vendor answers,
  and bills, whoever is listening), and so is a request
  the gateway itself stops waiting for (its timeout), which ends the target's keys;
- each attempt is a span, and the upstream is asked in its trace;
- each answer teaches the balancer its target's latency;
- a prompt is held at the most it can be billed (a token a byte), whatever its door;
- a call asking for several answers (`n`, `best_of`, `candidateCount`) is held for each, sent
  with a limit per answer that keeps them all within its hold, and refused past the most a
  hard budget holds (`/v1/completions` held one answer of a hundred it asked for; it answers
  one completion, so an `n` above one is refused there);
- an upstream that fails before its first frame (a 200, then nothing) fails over to the route's
  next target, streamed or whole: every kind commits its answer at the same point, its first
  frame (`Line.primed`), and writes its row and counts missing usage the same way
  (`RequestRecords.answered`);
- a stream that sends more than the output a hard budget held for it (its vendor ignored the
  `max_tokens` it was sent) is cut there, and counted at what it sent;
- a stream that goes silent mid-way has its host probed, and a host that does not answer is
  marked hung while the stream waits on, every kind alike (`Line.primed` hands each stream to
  the balancer's silence watch);
- the gateway's own secrets, and the key the upstream was sent, are masked in every answer,
  whole or streamed, as written or in JSON escapes the client's decoder reads back
  (SECURITY.md 26; the completions' copy of the loop relayed the master key, a whole answer of
  any kind relayed the key it was sent, and an escaped spelling passed every kind). A wire
  reads its answer only through the line's `UpstreamAnswer`, which masks both, so a kind
  cannot forget it (`test_no_wire_reads_the_raw_response`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from pathlib import Path

import pytest

import llmgw_desktop.engine.gateway
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.facts import MAX_ANSWERS_HELD
from llmgw_desktop.engine.gateway.http_client.answer import UpstreamAnswer
from llmgw_desktop.engine.gateway.http_client.unreachable import FAILURES_TO_REST
from llmgw_desktop.engine.recorder.kinds import REQUEST_KINDS
from llmgw_desktop.engine.vault.master_key import encode_key
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.every_kind import (
    KINDS,
    Kind,
    providers,
    rows_settled,
    said,
    sent_key,
)
from tests.transports.gateway.test_otlp_export import (  # noqa: F401 - the receiver fixture
    CLIENT,
    Receiver,
    receiver,
    traced_gateway,
)
from tests.waiting import until

kinds = pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
streamed_kinds = pytest.mark.parametrize(
    "kind", [k for k in KINDS if k.recorded != "embedding"], ids=lambda k: k.name
)
HARD_BUDGET = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_000_000}]
MASTER_KEY = encode_key(secrets.token_bytes(32))
# A budget small enough that its call's output is held well below the runaway's pieces.
RUNAWAY_BUDGET = 3_000
RUNAWAY_PIECES = 6_000


def test_the_kinds_here_are_every_kind_the_engine_serves() -> None:
    assert {k.recorded for k in KINDS} == set(REQUEST_KINDS)
    assert {k.dialect for k in KINDS if k.recorded == "chat"} == set(DIALECTS)


async def _started(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, kind: Kind, **more: object
) -> GatewayRuntime:
    keys = more.pop("keys", 1)
    assert isinstance(keys, int)
    gateway: GatewayRuntime = await start_gateway(
        {**providers(upstream.base_url, kind, keys=keys), **more}
    )
    return gateway


@kinds
async def test_a_billed_failure_under_a_hard_budget_ends_the_targets_keys(
    kind: Kind, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _started(start_gateway, upstream, kind, keys=2, budgets=HARD_BUDGET)
    upstream.script(Reply.malformed())
    answer = await kind.ask(gateway)
    assert answer.status == 502, answer
    # Billed on the call's hold: another key would be a second call the budget never admitted.
    assert len(upstream.llm_requests) == 1
    (row,) = await rows_settled(gateway, 1)
    assert row["state"] == "failed" and row["input_tokens"] > 0, row


@kinds
async def test_without_a_hard_budget_a_billed_failure_tries_the_next_key(
    kind: Kind, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _started(start_gateway, upstream, kind, keys=2)
    upstream.script(Reply.malformed())
    answer = await kind.ask(gateway)
    assert answer.status == 200, answer
    assert len(upstream.llm_requests) == 2


@kinds
async def test_an_answer_of_500_or_429_ends_the_hosts_connect_failures(
    kind: Kind, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _started(start_gateway, upstream, kind)
    service = gateway.engine.gateway
    spec = service.registry.provider(kind.provider)
    assert spec is not None
    base = service.keys.base_url(spec)
    for status in (500, 429):
        for _ in range(FAILURES_TO_REST - 1):
            service.unreachable.failed(kind.provider, base, "connection refused")
        upstream.script(Reply.error(status))
        answer = await kind.ask(gateway)
        assert answer.status >= 400, answer
        # A connection was made: the next connect failure is the first of a new run.
        service.unreachable.failed(kind.provider, base, "connection refused")
        assert service.unreachable.resting(kind.provider, base) is None, status
        service.unreachable.connected(kind.provider, base)


@kinds
@pytest.mark.parametrize("hard", [True, False], ids=["hard_budget", "no_budget"])
async def test_a_client_that_leaves_while_its_request_is_on_its_way_is_counted(
    kind: Kind, hard: bool, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """With or without a hard budget: the request was written, so the vendor has it (a review
    saw such a row read "cost none", its route list no attempt)."""
    budgets = {"budgets": HARD_BUDGET} if hard else {}
    gateway = await _started(start_gateway, upstream, kind, **budgets)
    upstream.script(Reply.slow(5.0))
    asking = asyncio.ensure_future(kind.ask(gateway))
    # The client leaves once the vendor is asked, not after a fixed half second, which a
    # loaded gateway can spend before it has started the row.
    await until(lambda: upstream.llm_requests or asking.done(), "the vendor asked")
    assert not asking.done(), asking.result()
    asking.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asking
    (row,) = await rows_settled(gateway, 1)
    assert row["error_code"] == "client_disconnected", row
    # The request may have reached the vendor, which answers and bills whoever listens.
    assert row["input_tokens"] > 0 and row["cost_usd"], row
    assert row["provider"] == kind.provider, row
    (attempt,) = row["route"]["attempts"]
    assert attempt["outcome"] == "canceled", row


@kinds
async def test_a_request_the_gateway_stopped_waiting_for_is_counted_and_ends_its_keys(
    kind: Kind, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """Its own timeout, under a hard budget: the vendor has the request and may bill it (it
    counted nothing, and the next key was a second call on the same hold)."""
    waits = {"gateway.upstream_timeout_ms": 300}
    gateway = await _started(start_gateway, upstream, kind, keys=2, budgets=HARD_BUDGET, **waits)
    upstream.script(Reply.slow(5.0))
    answer = await kind.ask(gateway)
    assert answer.status == 504, answer
    assert len(upstream.llm_requests) == 1
    (row,) = await rows_settled(gateway, 1)
    assert row["error_code"] == "upstream_timeout" and row["input_tokens"] > 0, row


# Characters of four UTF-8 bytes each that o200k_base reads at about a token a byte (CJK
# Extension B): a thousand of them are about 3,900 tokens.
DENSE = "".join(chr(0x20000 + (i * 7919) % 40000) for i in range(1000))


@kinds
async def test_a_prompt_is_held_at_the_most_it_can_be_billed(
    kind: Kind, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """Its input at a token a byte: held at four bytes a token, a prompt of dense characters
    was held at a quarter of what the vendor billed, and passed a hard budget 3.2 times over
    on every door (red team, 2026-11-29)."""
    budget = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 3000}]
    gateway = await _started(start_gateway, upstream, kind, budgets=budget)
    refused = await kind.ask(gateway, DENSE)
    assert refused.status == 402 and "budget" in refused.text, refused
    assert upstream.llm_requests == []
    answered = await kind.ask(gateway, "hi")  # beside it, a prompt the budget has room for
    assert answered.status == 200, answered


MANY = [(kind, name) for kind in KINDS for name in kind.many]
many_answers = pytest.mark.parametrize(
    ("kind", "field"), MANY, ids=[f"{kind.name}-{name}" for kind, name in MANY]
)
ANSWERS_BUDGET = 3_000


def _limit_sent(body: dict[str, object]) -> int:
    """The output limit per answer a request was sent with, in its dialect's spelling."""
    config = body.get("generationConfig")
    if isinstance(config, dict) and "maxOutputTokens" in config:
        return int(config["maxOutputTokens"])
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        if name in body:
            return int(str(body[name]))
    raise AssertionError(f"no output limit was sent: {body}")


@many_answers
async def test_a_call_asking_for_many_answers_is_held_for_each(
    kind: Kind, field: str, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """A hundred answers under a hard budget: each is sent a limit that keeps the hundred
    within the call's hold; past MAX_ANSWERS_HELD the call is refused naming the field, and
    nothing is sent (the red team's `/v1/completions` with `n` or `best_of` of 100 passed a
    2,000-token budget 8 times over, 2026-11-29)."""
    budget = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": ANSWERS_BUDGET}]
    gateway = await _started(start_gateway, upstream, kind, budgets=budget)
    answered = await kind.ask(gateway, answers=(field, 100))
    assert answered.status == 200, answered
    [sent] = upstream.llm_requests
    assert _limit_sent(sent.body) * 100 <= ANSWERS_BUDGET, sent.body
    refused = await kind.ask(gateway, answers=(field, MAX_ANSWERS_HELD + 1))
    assert refused.status == 400 and field in refused.text, refused
    assert len(upstream.llm_requests) == 1


async def test_a_completion_asking_for_more_than_one_answer_back_is_refused(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """`n` of 100 was held and billed for each, and one completion was relayed (a review,
    2026-11-29): refused, naming `n`, before anything is sent; `best_of` (one sent back) goes."""
    (kind,) = (k for k in KINDS if k.recorded == "completion")
    gateway = await _started(start_gateway, upstream, kind)
    refused = await kind.ask(gateway, answers=("n", 2))
    assert refused.status == 400 and "n: the gateway answers one completion" in refused.text
    assert upstream.llm_requests == []
    assert (await kind.ask(gateway, answers=("n", 1))).status == 200


@kinds
async def test_each_attempt_is_a_span_and_the_upstream_is_asked_in_its_trace(
    kind: Kind,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    receiver: Receiver,  # noqa: F811
) -> None:
    gateway = await traced_gateway(start_gateway, receiver, providers(upstream.base_url, kind))
    answer = await kind.ask(gateway)
    assert answer.status == 200, answer
    await gateway.engine.telemetry.flush()
    (attempt,) = [s for s in receiver.spans if s.kind == CLIENT]
    model = kind.target.split("/", 1)[1]
    assert attempt.name == f"{kind.operation} {model}"
    assert attempt.attributes["gen_ai.operation.name"] == kind.operation
    assert attempt.attributes["gen_ai.provider.name"] == kind.provider
    assert attempt.attributes["gen_ai.request.model"] == model
    (seen,) = upstream.llm_requests
    assert seen.headers["traceparent"].startswith(f"00-{attempt.trace_id}-{attempt.span_id}-")


@kinds
async def test_each_answer_teaches_the_balancer_its_targets_latency(
    kind: Kind, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await _started(
        start_gateway, upstream, kind, **{"gateway.routes": {"fast": {"targets": [kind.target]}}}
    )
    answer = await kind.ask(gateway, model="fast")
    assert answer.status == 200, answer
    service = gateway.engine.gateway
    (view,) = service.balancer.route_views(service.registry)
    (target,) = view.targets
    assert target.latency_s is not None and target.latency_s > 0


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@kinds
async def test_an_upstream_that_fails_before_its_first_frame_fails_over(
    kind: Kind, stream: bool, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    if stream and kind.recorded == "embedding":
        pytest.skip("embeddings are answered whole only")
    second = f"{kind.target}-next"
    route = {"gateway.routes": {"two": {"targets": [kind.target, second]}}}
    gateway = await _started(start_gateway, upstream, kind, **route)
    upstream.script(Reply.empty())
    answer = await kind.ask(gateway, model="two", stream=stream)
    assert answer.status == 200, answer
    assert len(upstream.llm_requests) == 2
    answered, failed = await rows_settled(gateway, 2)
    assert (failed["state"], answered["state"]) == ("failed", "completed"), (failed, answered)
    assert answered["model"] == second.split("/", 1)[1], answered
    (outcome, ok) = [a["outcome"] for a in answered["route"]["attempts"]]
    # Nothing came: a whole answer is not one (502), a stream never began.
    assert (outcome, ok) == ("stream_start" if stream else "502", "ok"), answered


@streamed_kinds
async def test_a_stream_past_the_output_its_hard_budget_held_is_cut_there(
    kind: Kind, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """A fault pass (2026-11-29, F2): an upstream that ignored `max_tokens` streamed 13,409
    events under a hold of 300 tokens, all relayed, the row counted at 300. Now the frames are
    counted as they come (`AnswerFrames`): past the output held, and some room for frames that
    carry no token, the connection goes. The scripted completions stream has two frames, so
    that kind is not run into here; it reads its stream through the same `UpstreamAnswer`."""
    if kind.recorded == "completion":
        pytest.skip("the scripted completions stream sends two frames, whatever its text")
    budget = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": RUNAWAY_BUDGET}]
    gateway = await _started(start_gateway, upstream, kind, budgets=budget)
    # Within what was held, the stream is the client's whole answer.
    upstream.script(Reply.in_pieces(*["tok "] * 20, "end"))
    answer = await kind.ask(gateway, stream=True)
    assert answer.status == 200 and "max_tokens" not in answer.text, answer.text[-400:]
    # As its client reads it: a delta that ends as a secret of the gateway's begins (a random
    # one may begin with `d`) has that end held and sent with the next event.
    assert said(kind, answer, stream=True).endswith("end"), answer.text
    upstream.script(Reply.in_pieces(*["tok "] * RUNAWAY_PIECES))
    answer = await kind.ask(gateway, stream=True)
    # Cut mid-stream (an error event after what was relayed), or, where the runaway's first
    # read already passed the bound, before anything reached the client (a 502 naming it).
    assert answer.status in (200, 502), answer
    assert "max_tokens it was sent" in answer.text, answer.text[-400:]
    relayed = answer.text.count("tok ")  # not the "tok" of the message's max_tokens
    assert relayed < RUNAWAY_BUDGET * 1.25 + 100, relayed
    (row, _legitimate) = await rows_settled(gateway, 2)
    assert row["state"] == "failed", row
    assert row["output_tokens"] >= relayed, row  # at least what it sent, not only the hold


@streamed_kinds
async def test_a_stream_silent_mid_way_on_a_host_that_does_not_answer_marks_it_hung(
    kind: Kind,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The host's silence is the probe's, replaced here (the scripted upstream answers every
    GET; `tests/reliability/test_stream_stall.py` stops a real process instead)."""
    fast = {"gateway.hung_check_after_ms": 200, "gateway.hung_probe_timeout_ms": 200}
    gateway = await _started(start_gateway, upstream, kind, **fast)

    # The stream stops half-way and goes on once a probe went unanswered (a host stopped for a
    # while), whenever a loaded machine gets there; 30 s at most, then the assertion says why.
    upstream.stream_gate = gate = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(30.0, gate.set)

    async def silent(_target: object, timeout_s: float) -> bool:
        await asyncio.sleep(timeout_s)
        loop.call_soon(gate.set)  # after the watch has read this answer
        return False

    monkeypatch.setattr(gateway.engine.gateway.upstream, "answers", silent)
    caplog.set_level("INFO", logger="llmgw_desktop.engine.gateway.balancing.liveness")
    answer = await kind.ask(gateway, stream=True)
    assert answer.status == 200, answer
    said = [r.getMessage() for r in caplog.records]
    assert any(kind.target in m and "does not answer" in m for m in said), said
    # It went on: the probe's next turn sees the target back.
    back = f"{kind.target} answers again"
    await until(lambda: any(back in r.getMessage() for r in caplog.records), back)
    (row,) = await rows_settled(gateway, 1)
    assert row["state"] == "completed", row


@pytest.mark.parametrize("budget", [False, True], ids=["no-budget", "hard-budget"])
@kinds
async def test_an_answer_without_usage_is_counted_at_its_estimate(
    kind: Kind, budget: bool, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    more = {"budgets": HARD_BUDGET} if budget else {}
    gateway = await _started(start_gateway, upstream, kind, **more)
    upstream.script(Reply.ok("an answer of a few words", verbatim=True).without_usage())
    answer = await kind.ask(gateway)
    assert answer.status == 200, answer
    (row,) = await rows_settled(gateway, 1)
    await gateway.engine.recorder.flush()
    detail = await gateway.engine.recorder_query.detail(row["id"])
    assert detail is not None
    # Never at nothing: the input as estimated, and the row says the cost is an estimate.
    assert row["input_tokens"] > 0 and detail.record["cost_source"] == "estimate", detail
    if kind.recorded == "embedding":
        assert row["output_tokens"] == 0, row
    elif budget:
        # Under a hard budget, at the output held for it: the most the vendor could bill.
        held = row["route"].get("maxTokens", 50)  # the Anthropic client names its own 50
        assert row["output_tokens"] == held, row
    else:
        assert row["output_tokens"] > 0, row  # about four bytes a token of the answer


@kinds
async def test_the_gateways_own_secret_in_a_whole_answer_is_masked(
    kind: Kind,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", MASTER_KEY)
    gateway = await _started(start_gateway, upstream, kind)
    key = sent_key(kind)
    reply = Reply.ok(f"it is {MASTER_KEY} there, sent {key}", verbatim=True)
    upstream.script(reply.with_headers(x_debug_authorization=f"Bearer {key}", x_echo=MASTER_KEY))
    answer = await kind.ask(gateway)
    assert answer.status == 200, answer
    assert MASTER_KEY not in answer.text
    assert key not in answer.text, answer
    # Nor in its headers, which a client of the upstream's own dialect is sent (red team,
    # 2026-11-29: relayed whole, and kept with the cached answer).
    assert MASTER_KEY not in str(answer.headers) and key not in str(answer.headers), answer
    if kind.recorded != "embedding":  # an embedding's answer is its vectors alone
        assert "[REDACTED]" in answer.text, answer


@streamed_kinds
async def test_the_gateways_own_secret_in_a_stream_is_masked(
    kind: Kind,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", MASTER_KEY)
    gateway = await _started(start_gateway, upstream, kind)
    # Long after the key, so a stream in two halves carries it whole in the first.
    key = sent_key(kind)
    reply = Reply.ok(f"{MASTER_KEY} {key} {'y' * 60}", verbatim=True)
    upstream.script(reply.with_headers(x_debug_authorization=f"Bearer {key}", x_echo=MASTER_KEY))
    answer = await kind.ask(gateway, stream=True)
    assert answer.status == 200, answer
    assert MASTER_KEY not in answer.text
    assert key not in answer.text, answer
    assert MASTER_KEY not in str(answer.headers) and key not in str(answer.headers), answer
    assert "[REDACTED]" in answer.text, answer


# Another of the gateway's own secrets (`PGPASSWORD`), of characters a JSON encoder escapes:
# `"` always, `/` some (PHP's), `&` others (Go's, which writes it `\u0026`).
STORE_PASSWORD = 'pg/pa"ss&word-0123'
# Long after the secrets, so a stream in two halves (a text completion's) has them whole in its
# first; a stream split at spaces has each whole in one of its three deltas.
AFTER = "y" * 200
whole_or_streamed = pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])


def _escaped(text: str, at: int) -> str:
    """`text` as JSON text, its character at `at` written as a `\\u` escape."""
    return text[:at] + f"\\u{ord(text[at]):04x}" + text[at + 1 :]


@whole_or_streamed
@streamed_kinds
async def test_the_gateways_own_secret_in_json_escapes_is_masked(
    kind: Kind,
    stream: bool,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The upstream writes each secret with a JSON escape in it (`\\u0041` for `A`, `\\/` for
    `/`): the client's decoder reads the secret back, where the byte search saw none of it."""
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("PGPASSWORD", STORE_PASSWORD)
    gateway = await _started(start_gateway, upstream, kind)
    key = sent_key(kind)
    reply = Reply.ok(
        f"it is {MASTER_KEY} sent {key} stored {STORE_PASSWORD} {AFTER}", verbatim=True
    )
    password = json.dumps(STORE_PASSWORD)[1:-1]  # as every encoder writes it: `\\"`
    go_or_php = password.replace("/", "\\/").replace("&", "\\u0026")
    reply = reply.spelled(MASTER_KEY, _escaped(MASTER_KEY, 5)).spelled(key, _escaped(key, 3))
    upstream.script(reply.spelled(password, go_or_php))
    answer = await kind.ask(gateway, stream=stream)
    assert answer.status == 200, answer
    text = said(kind, answer, stream=stream)
    for secret in (MASTER_KEY, key, STORE_PASSWORD):
        assert secret not in text, text
    assert text.startswith("it is [REDACTED] sent [REDACTED] stored [REDACTED] y"), text


@whole_or_streamed
@streamed_kinds
async def test_escapes_of_other_text_and_near_misses_arrive_as_written(
    kind: Kind,
    stream: bool,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beside it: escapes of other text, and text that begins as a secret does but is not it
    (the secret short of its last two characters: without the last, its `=`, it is the key
    in another spelling the vault masks; its first half), reach the client unchanged."""
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", MASTER_KEY)
    gateway = await _started(start_gateway, upstream, kind)
    near = MASTER_KEY[:20]
    text = f'café "said" a/b {MASTER_KEY[:-2]} {near} {AFTER}'
    reply = Reply.ok(text, verbatim=True).spelled("é", "\\u00e9").spelled("a/b", "a\\/b")
    upstream.script(reply.spelled(f"{near} ", f"{_escaped(near, 5)} "))
    answer = await kind.ask(gateway, stream=stream)
    assert answer.status == 200, answer
    assert said(kind, answer, stream=stream).removesuffix("|\n") == text


def test_no_wire_reads_the_raw_response() -> None:
    """An answer reaches a kind's wire only as an `UpstreamAnswer` (masked whole body or masked
    frames): no module of the gateway outside its HTTP client names the raw response or reads
    its bytes, so a kind to come cannot read an answer unmasked."""
    gateway = Path(llmgw_desktop.engine.gateway.__file__).parent
    readers = {
        str(path.relative_to(gateway))
        for path in gateway.rglob("*.py")
        if "http_client" not in path.parts
        and any(word in path.read_text() for word in ("Http1Response", "readany("))
    }
    assert readers == set()
    public = {name for name in dir(UpstreamAnswer) if not name.startswith("_")}
    assert public == {
        "frames",
        "headers",
        "max_answer_bytes",
        "max_event_bytes",
        "most_frames",
        # How much of a stream has come and whether more is awaited, for the balancer's
        # silence watch: counts and flags, never bytes.
        "progress",
        "provider",
        "read_timeout_s",
        "release",
        "status",
        "whole",
    }


def _small_pieces(text: str) -> list[str]:
    """`text` in pieces of 3 to 5 characters, as a model streams it a token at a time."""
    pieces, at = [], 0
    while at < len(text):
        size = 3 + len(pieces) % 3
        pieces.append(text[at : at + size])
        at += size
    return pieces


@streamed_kinds
async def test_the_gateways_own_secret_split_across_a_stream_is_masked(
    kind: Kind,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model streams its text a few characters an event: a secret it repeats comes over many
    events, none of which holds it whole (a text completion's comes in two halves)."""
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", MASTER_KEY)
    gateway = await _started(start_gateway, upstream, kind)
    key = sent_key(kind)
    pieces = ("it is ", *_small_pieces(MASTER_KEY), " sent ", *_small_pieces(key), " end")
    upstream.script(Reply.in_pieces(*pieces))
    answer = await kind.ask(gateway, stream=True)
    assert answer.status == 200, answer
    text = said(kind, answer, stream=True)
    assert MASTER_KEY not in text and key not in text, text
    assert text.removesuffix("|\n") == "it is [REDACTED] sent [REDACTED] end", text


@streamed_kinds
async def test_text_split_across_a_stream_that_begins_as_a_secret_arrives_as_written(
    kind: Kind,
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beside it: pieces that begin as the secret does and go on otherwise, and a stream that
    ends on the secret's first characters, reach the client unchanged."""
    monkeypatch.setenv("LLM_GATEWAY_MASTER_KEY", MASTER_KEY)
    gateway = await _started(start_gateway, upstream, kind)
    pieces = ("it is ", *_small_pieces(MASTER_KEY[:30] + "-not-it"), " and ", MASTER_KEY[:6])
    upstream.script(Reply.in_pieces(*pieces))
    answer = await kind.ask(gateway, stream=True)
    assert answer.status == 200, answer
    assert said(kind, answer, stream=True).removesuffix("|\n") == "".join(pieces)
