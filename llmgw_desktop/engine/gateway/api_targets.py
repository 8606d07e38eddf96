"""The one attempt loop: how every kind of call an API provider answers (a chat in any dialect,
embeddings, text completions, and any kind to come) asks one target of its route.

A kind supplies its wire (`CallWire`): the upstream address it sends to, the body, and how it
reads the answer (whole or streamed) and counts it. Everything else is here, once, for every
kind:

- `usable`: whether the target may be asked now (switches, a key pool, a cloud's set-up, a
  resting host), each refusal an attempt outcome in the route;
- `hold`: the budget hold of the call's estimate, and the output limit it pays for;
- `ask`: its keys in the route's order until one answers, the upstream refuses the request
  itself (no other key would do), or the failure ends the target (billed on the hold already,
  or the caller's share of the host in use);
- each attempt: its recorder row and span, the upstream asked in the span's trace, the host's
  reachability (a connect failure counts, any answer ends the run), a rate-limited key rested,
  the balancer taught the target's latency, and an attempt its client left counted (under a
  hard budget a request on its way counts as asked: the vendor answers, and bills, whoever is
  listening).

A wire reads its answer only through the `UpstreamAnswer` that `Line.send` returns: its whole
body or its frames, already masked of the key the attempt was sent and of the gateway's own
secrets (SECURITY.md 26), so no kind can forget the masking. Every kind's answer is committed
at the same point: a whole one once it is read, a stream once its first frame has come
(`Line.primed`); a failure before then is an `UpstreamFailure` the route falls back from.
Every kind's answer is counted by the same rule where it gave no usage
(`RequestRecords.answered`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, TypeVar

from llmgw_desktop.config.api_catalog import ApiProviderSpec
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.budgets.holds import CallAsk, Hold, SpendGuard
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer
from llmgw_desktop.engine.gateway.clouds import CloudWires
from llmgw_desktop.engine.gateway.clouds.models import underlying_model
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.errors import UpstreamRejected
from llmgw_desktop.engine.gateway.facts import ONE_ANSWER, Answers
from llmgw_desktop.engine.gateway.http_client.answer import UpstreamAnswer
from llmgw_desktop.engine.gateway.http_client.failure import body_digest
from llmgw_desktop.engine.gateway.http_client.unreachable import RESTING_OUTCOME, UnreachableHosts
from llmgw_desktop.engine.gateway.http_client.upstream import (
    CONNECT_OUTCOME,
    HUNG_OUTCOME,
    NOT_CONFIGURED_OUTCOME,
    SHARE_OUTCOME,
    UpstreamClient,
    UpstreamFailure,
    UpstreamTarget,
)
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.keys import KeyChain, PoolKey
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.records.recording import RequestRecords
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.gateway.router import ModelRegistry, Plan, Target
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "CANDIDATE_KEY_LABEL",
    "OWN_ADDRESS_OUTCOME",
    "ApiCall",
    "ApiTargets",
    "CallWire",
    "Line",
    "PrimedStream",
]

# The route log's outcome of a local server whose address is this gateway's own (not asked).
OWN_ADDRESS_OUTCOME = Outcome.OWN_ADDRESS
# Written for every answer: a module global, not an enum read (`engine/states.py`).
_OK = Outcome.OK
# The route log's name for a key a person is trying before storing it (`serve_exactly(key=)`).
CANDIDATE_KEY_LABEL = "key being tried"

A = TypeVar("A", covariant=True)
# Frames a stream sends that carry no token of its answer (its start and end, a block's
# start and stop, a ping, the usage): room beyond the output held before a stream is taken
# for one whose vendor ignored its max_tokens (`Line.send`).
FRAMES_BEYOND_TOKENS = 64

# An attempt's headers before an answer came (shared: never written to).
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)
class ApiCall:
    """One target of a route that may be asked now: its provider and key pool, and the request
    it is asked for (its route report, caller and plan)."""

    spec: ApiProviderSpec
    base_url: str  # where the provider is reached (`KeyChain.base_url`)
    pool: list[PoolKey]
    target: Target
    route: RouteReport
    caller: CallerInfo
    plan: Plan


class CallWire(Protocol[A]):
    """What one kind of call supplies the attempt loop: its wire. One per call asked."""

    # The attempt span's `gen_ai.operation.name` (`chat`, `embeddings`, `text_completion`).
    operation: str

    @property
    def translated(self) -> bool:
        """Sent in another shape than the client's (the span's `llmgw.translated`)."""
        ...

    @property
    def notice(self) -> str | None:
        """What the route says once an attempt is answered (a translation's notice)."""
        ...

    def address(self, base_url: str, key: PoolKey) -> UpstreamTarget:
        """Where one key's attempt goes: the upstream, its URL and credential
        (`dialects/by_name.addressed`)."""
        ...

    async def exchange(self, line: Line) -> A:
        """Send the call on `line` and read its answer: whole (its row finished) or a stream
        (its row finished when the stream ends, which keeps the call's hold till then:
        `line.hold.moved()`).

        Raises:
            UpstreamFailure: no answer came, or it failed before any of it reached the client.
        """
        ...

    def estimate(self) -> ClientRequest | Usage:
        """What an accepted call that gave no usage is counted at (a chat's request, whose
        estimate the recorder makes; else the estimate itself)."""
        ...

    def relayed_error(self, failure: UpstreamFailure) -> bytes | None:
        """The upstream's error body to relay as it came, where the client speaks its shape."""
        ...

    def estimated(self, written: int) -> Usage:
        """What an answer that gave no usage is counted at: the call's input as estimated,
        and `written` tokens of output (`RequestRecords.answered`)."""
        ...


class PrimedStream(Protocol):
    """A streamed answer as the loop commits it: `prime` reads until its first frame has come
    (keeping it for the reader), `close` lets the upstream go."""

    async def prime(self) -> None:
        """Wait for the first frame.

        Raises:
            UpstreamMalformed, EngineError: the upstream ended, or sent an error, before any.
            OSError, TimeoutError: the connection broke or stalled.
        """
        ...

    def close(self) -> None: ...


def _untold(_waiting: bool) -> None:
    """A waiting call nobody is told of."""


class ApiTargets:
    """Asks API targets key by key, for every kind of call; one per gateway."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        keys: KeyChain,
        upstream: UpstreamClient,
        clouds: CloudWires,
        budgets: SpendGuard,
        records: RequestRecords,
        telemetry: Telemetry,
        balancer: Balancer,
        api_refusal: Callable[[str], str | None],
        agent_waits: Callable[[Principal], Callable[[bool], None]] = lambda _agent: _untold,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`agent_waits(agent)`: what an agent's call tells while it waits for budget room
        (`AgentCallbacks.waits_of`)."""
        self.registry = registry
        self.keys = keys
        self.upstream = upstream
        self.clouds = clouds  # a cloud's set-up is checked before its keys are tried
        # Raises `BudgetExceeded` when calls running hold the rest of a hard budget: a target
        # reserves its estimate before it is sent, so no upstream is asked.
        self.budgets = budgets
        self.records = records  # the recorder's rows: each attempt's
        self.telemetry = telemetry
        # Learns each target's time to first token and quota from its answers.
        self.balancer = balancer
        # API provider id -> None when the user's switches let it run, else the attempt
        # outcome saying why not ("disabled": switched off, "paused": every provider is).
        self._api_refusal = api_refusal
        self._agent_waits = agent_waits
        # Hosts rested after connect failures in a row: their routes are passed over at once.
        self.unreachable = UnreachableHosts(clock)

    # -- before the first key ---------------------------------------------------------------

    async def usable(
        self,
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
        only_key: str | None = None,
    ) -> ApiCall | UpstreamFailure | None:
        """`target`'s call when it may be asked now, with its provider and key pool
        (`only_key`: that key alone); else why not, as an attempt outcome in `route` (with the
        failure to report, when there is one): switched off, no key, a cloud not set up, its
        host resting."""
        spec = self.registry.provider(target.provider)
        # Off in config.toml or by the user's switch: the same outcome, so the route moves on
        # (or the client is told the provider is switched off) either way.
        refusal = (
            Outcome.DISABLED if spec is None or not spec.enabled else self._api_refusal(spec.id)
        )
        if spec is None or refusal is not None:
            route.attempts.append(Attempt(target.label, "", refusal or Outcome.DISABLED))
            return None
        if spec.local and self.keys.points_at_us(spec):
            # This gateway serves that port itself (`http.ollama_port`): not an upstream.
            route.attempts.append(Attempt(target.label, "", OWN_ADDRESS_OUTCOME))
            return None
        if only_key is not None:
            pool = [PoolKey(CANDIDATE_KEY_LABEL, only_key)]
        else:
            pool = await self.keys.pool(spec, caller.project)
        if not pool:
            # Keys may be in the vault, whose database cannot be reached: not "no key".
            outcome = Outcome.STORE_UNAVAILABLE if self.keys.vault_unreachable else Outcome.NO_KEY
            route.attempts.append(Attempt(target.label, "", outcome))
            return None
        cloud = self.clouds.wire(spec.id) if spec.cloud else None
        problem = cloud.problem(keyed=any(k.value for k in pool)) if cloud is not None else None
        if problem is not None:
            # No endpoint, region or project: nothing to send it to (the message says what).
            route.attempts.append(Attempt(target.label, "", NOT_CONFIGURED_OUTCOME))
            code = ErrorCode.CLOUD_NOT_CONFIGURED
            return UpstreamFailure(problem, fallback=True, kind=NOT_CONFIGURED_OUTCOME, code=code)
        base_url = self.keys.base_url(spec)
        resting = self.unreachable.refusal(spec.id, base_url)
        if resting is not None:  # the next route at once, not this one's connect attempt
            route.attempts.append(Attempt(target.label, "", RESTING_OUTCOME))
            return resting
        return ApiCall(spec, base_url, pool, target, route, caller, plan)

    async def hold(
        self,
        caller: CallerInfo,
        route: RouteReport,
        ask: CallAsk,
        *,
        answers: Answers = ONE_ANSWER,
    ) -> tuple[Hold, int | None]:
        """Reserve the call's estimate on the budgets that cover it: the hold, and the output
        limit per answer (of `answers`) it pays for (None: the call goes with the client's own);
        `route` notes what was held.

        Raises:
            BudgetExceeded: calls running hold the rest of a hard budget (nothing was sent).
            InvalidRequest: more answers asked for than a hard budget holds.
        """
        # An agent the gateway runs cannot retry a refusal for room running calls hold (often
        # its own: a side call, a sibling sub-agent): its call waits for them instead.
        proven = caller.proven
        waits = self._agent_waits(proven) if proven is not None and proven.agent else None
        hold = await self.budgets.reserve(
            caller.principal, caller.caller, caller.project, ask, waits=waits
        )
        if hold.output_tokens and answers.asked > answers.held:
            # Held for MAX_ANSWERS_HELD answers: a server that allows more would bill them all.
            hold.release()
            raise InvalidRequest(
                f"{answers.field}: {answers.asked} answers asked for, at most {answers.held} "
                "under a hard budget (each is held at its output limit until the call is "
                "counted)",
                param=answers.field,
            )
        per_answer = None if hold.send_limit is None else hold.send_limit // answers.held
        if per_answer is not None and per_answer < 1:  # not max(): `engine/values.py`
            per_answer = 1
        route.held_output = hold.output_tokens
        route.held_input = ask.input_tokens if hold.bound else 0
        # The limit is said in `x-gateway-max-tokens` where the gateway chose it: the client
        # named none, or the budget had room for less.
        route.max_tokens = per_answer if ask.output_limit is None or hold.lowered else None
        return hold, per_answer

    # -- key by key ---------------------------------------------------------------------------

    async def ask(
        self, call: ApiCall, wire: CallWire[A], hold: Hold
    ) -> tuple[A | None, UpstreamFailure | None]:
        """Send the call with each key of its pool in the route's order until one answers: the
        answer, or the last failure once no other key may be tried. `hold` is released when the
        answer is counted (a stream's when it ends), or at once without one.

        Raises:
            UpstreamRejected: a key's upstream refused the request itself (not worth another key).
            EngineError: the request holds a value our HTTP client will not write (not sent).
        """
        try:
            failure: UpstreamFailure | None = None
            keys = self.keys.order(
                call.spec.id,
                call.pool,
                strategy=call.plan.route.strategy,
                caller=call.caller.caller,
            )
            for key in keys:
                answer, failure = await self._attempt(call, wire, key, hold)
                if failure is None:
                    return answer, None
                if failure.billed and hold.bound:
                    # Billed on this hold already: another key would be a second call the
                    # budget never admitted (another target of the route is admitted anew).
                    return None, failure
                if failure.kind in (SHARE_OUTCOME, HUNG_OUTCOME):
                    # The caller's own share of this host is in use, or the host stopped
                    # answering: no key of it would do.
                    return None, failure
                if not failure.next_key:
                    if failure.fallback:  # the provider's trouble: another target may serve
                        return None, failure
                    raise UpstreamRejected(
                        failure.status or 502,
                        failure.message,
                        raw_body=wire.relayed_error(failure),
                        retry_after_s=failure.retry_after_s,
                        code=failure.code,
                    ) from None
            return None, failure
        finally:
            hold.release()  # nothing, where a stream has moved it (`Line.hold`)

    async def _attempt(
        self, call: ApiCall, wire: CallWire[A], key: PoolKey, hold: Hold
    ) -> tuple[A | None, UpstreamFailure | None]:
        """One key of one target: the answer, or the failure (recorded either way)."""
        target, route = call.target, call.route
        addressed = wire.address(call.base_url, key)
        # The row is opened once the request is written, while the upstream thinks.
        record, open_row = self.records.attempt_to_open(
            route, call.caller, call.spec.id, target.model
        )
        if self.telemetry.enabled:  # the span's name and attributes made only for export
            self._span(call, wire, key, record)
        line = Line(self, call, wire, addressed, key, record, open_row, hold)
        started = time.perf_counter()
        try:
            answer = await wire.exchange(line)
        except UpstreamFailure as exc:
            open_row()  # a request that never went out has its row too
            self._failed(line, exc, started)
            return None, exc
        except asyncio.CancelledError:
            open_row()
            # The client left before the answer began: the row ends now, or it stays open.
            # A request written (under a hard budget, one on its way) may have reached the
            # vendor, which answers and bills whoever is listening: it counts as asked, at its
            # estimate (at its hold), and the route lists the attempt (a review saw "cost
            # none" and no attempt for calls the upstream had received).
            if not line.asked and (line.sent or hold.bound):
                line.took_call()
                route.attempts.append(Attempt(target.label, key.label, Outcome.CANCELED))
            self.records.cut_before_answer(record, route, wire.estimate(), asked=line.asked)
            raise
        except EngineError as exc:
            # Refused on its way out (a value our HTTP client will not write).
            open_row()
            self.records.finish(
                record, route, "refused", Usage(), http_status=exc.http_status, error_code=exc.code
            )
            raise
        # Whole, or its first frame come: the time to first token of a stream.
        took = time.perf_counter() - started
        headers = line.headers or _NO_HEADERS
        if line.streaming:  # its circuits' verdict waits for its end (`Line.stream_ended`)
            self.balancer.first_token(target, took, headers)
        else:
            self.balancer.answered(target, took, headers, principal=call.caller.principal)
        return answer, None

    def _failed(self, line: Line, failure: UpstreamFailure, started: float) -> None:
        """What an attempt's failure changes: the route's log, the host's reachability, the
        attempt's row, a rate-limited key's rest."""
        call, route = line.call, line.call.route
        provider, base_url = call.spec.id, line.addressed.base_url
        if line.ok is not None and route.attempts and route.attempts[-1] is line.ok:
            route.attempts.pop()  # the answer broke after its status was fine
            notice = line.wire.notice
            if notice and route.notices and route.notices[-1] == notice:
                route.notices.pop()
        if not line.asked and line.sent and failure.status is None and line.hold.bound:
            # Written, and no status came back (the gateway's own timeout, a target found hung,
            # a reset): the vendor may be answering nobody and billing it. Under a hard budget
            # it counts at its hold, as a call whose client left does (red team, 2026-11-29:
            # ten calls timed out in a row were $0 against a bill of $0.40).
            line.took_call()
        # After a 2xx the upstream took the call and bills it, whatever became of the body (too
        # large, cut, not JSON): counted as a cut stream is, never at nothing.
        failure.billed = line.asked
        if failure.kind == CONNECT_OUTCOME:
            # Before the row finishes: the window reads the rests when it hears of the row.
            self.unreachable.failed(provider, base_url, failure.message)
        elif failure.status is not None:
            # An answer came back (a 500, a 429): a connection was made, so the connect
            # failures in a row end, as they do with a 200.
            self.unreachable.connected(provider, base_url)
        billed = line.wire.estimate() if line.asked else None
        self.records.note_failure(
            route, call.target, line.key, failure, line.record, started, billed=billed
        )
        if failure.status == 429:
            self.keys.rest(provider, line.key, failure.retry_after_s)
        if not failure.body_digest and line.body:
            # Failed after the send (a whole answer broken off or trickled past its limit
            # after its 2xx): its body told apart as a failed send's is, for whom the failure
            # counts (`balancing/health.py`).
            failure.body_digest = body_digest(line.body)

    def _span(self, call: ApiCall, wire: CallWire[A], key: PoolKey, record: str) -> None:
        """The attempt's span, ended when its row finishes."""
        provider, model = call.spec.id, call.target.model
        self.telemetry.attempt(
            record,
            f"{wire.operation} {model}",
            {
                "gen_ai.operation.name": wire.operation,
                "gen_ai.system": provider,
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
                "llmgw.key": key.label,
                "llmgw.fallback": call.route.fallback_used,
                "llmgw.translated": wire.translated,
            },
        )


@dataclass(slots=True, eq=False)
class Line:
    """One attempt's way to its upstream, as a kind's wire uses it: `send` the call's body (once,
    or once a part), and what the attempt learnt on the way (`asked`: the upstream took the
    call, and bills it)."""

    targets: ApiTargets
    call: ApiCall
    wire: CallWire[object]
    addressed: UpstreamTarget
    key: PoolKey
    record: str  # the attempt's recorder row, which the answer names
    open_row: Callable[[], None]  # opens it (once, however often it is called)
    # The call's budget hold: a stream keeps it until it ends (`hold.moved()`), a whole
    # answer's goes when the loop is done.
    hold: Hold
    asked: bool = False
    # The request was written to the upstream (it may have reached the vendor, answer or not).
    sent: bool = False
    ok: Attempt | None = None  # the attempt's `ok` in the route, once it answered
    # The last body sent, whose digest a failure of the target's is counted by (`health.py`).
    body: bytes = b""
    # Its answer is a stream that began (`primed`): the balancer's verdict waits for its end.
    streaming: bool = False
    # The last answer's headers (its rate limits, for the balancer); None before one came.
    headers: Mapping[str, str] | None = None
    answer: UpstreamAnswer | None = None  # the last 2xx answer, whose stream may be watched

    async def send(
        self,
        body: bytes,
        *,
        stream: bool,
        headers: Mapping[str, str] | None = None,
        query: str = "",
    ) -> UpstreamAnswer:
        """POST `body` to the attempt's upstream (`headers`, `query`: the client's own, for a
        call that goes as it came): its answer once its status is 2xx, read masked (the wire
        reads it whole or frame by frame, or releases it).

        Raises:
            UpstreamFailure: no answer, an error status, or the target found hung (`hung`).
            EngineError: a value our HTTP client will not write (not sent).
        """
        targets = self.targets
        upstream = targets.upstream
        self.body = body
        # The wait for the answer's head is watched by the balancer, which gives it up when a
        # probe finds the target silent (`balancing/liveness.py`): begun and ended here as
        # `async with` would, without the two coroutines it makes a send.
        probe = functools.partial(upstream.answers, self.addressed)
        head_wait = targets.balancer.first_byte(self.call.target, probe).begin()
        try:
            response = await upstream.send(
                self.addressed,
                body,
                stream=stream,
                passthrough_headers=targets.telemetry.upstream_headers(self.record, headers),
                query=query,
                principal=self.call.caller.principal,
                while_waiting=self._written,
            )
        except BaseException as error:
            try:
                head_wait.end(error)
            finally:
                self.open_row()  # a request that never went out has its row too
            raise
        try:
            head_wait.end(None)
        finally:
            self.open_row()
        if not self.asked:
            # The upstream took the call (`took_call`, written out: every answer passes here).
            self.asked = True
            call = self.call
            spec, model, route = call.spec, call.target.model, call.route
            route.provider, route.model, route.kind = spec.id, model, "api"
            route.price_model = underlying_model(spec, model) if spec.cloud else ""
            # Listed before the answer is rendered, so `x_gateway` includes it.
            self.ok = Attempt(call.target.label, self.key.label, _OK)
            route.attempts.append(self.ok)
            notice = self.wire.notice
            if notice:
                route.notices.append(notice)
            targets.unreachable.connected(spec.id, self.addressed.base_url)
        self.headers = response.headers
        self.answer = response
        if stream and self.hold.bound:
            # A vendor that does not keep to the max_tokens it was sent is cut where its frames
            # pass the output held: every frame of answer text is a token or more.
            held = self.call.route.held_output
            if held:
                response.most_frames = held + held // 4 + FRAMES_BEYOND_TOKENS
        return response

    def _written(self) -> None:
        """The request is out (`Http1Client.request`'s `while_waiting`): its row opens while
        the upstream thinks."""
        self.sent = True
        self.open_row()

    async def primed(self, stream: PrimedStream) -> None:
        """Commit a streamed answer, the same way for every kind: wait for its first frame
        (nothing has reached the client before it, so a failure may still fall back), then
        note the attempt's first token on its row, and have the balancer watch the rest for
        silence (`balancing/liveness.py`).

        Raises:
            UpstreamFailure: the stream ended, broke or reported an error before its first
                frame (kind `stream_start`; another key or target may serve).
        """
        try:
            await stream.prime()
        except (OSError, TimeoutError, UpstreamMalformed, EngineError) as exc:
            stream.close()
            raise UpstreamFailure(
                f"{self.call.spec.id} failed before its stream began: {exc}",
                fallback=True,
                kind=Outcome.STREAM_START,
            ) from None
        self.targets.records.first_token(self.record)
        self.streaming = True
        if self.answer is not None:
            # Under way now: a silence in it asks whether its target still answers.
            upstream = self.targets.upstream
            probe = functools.partial(upstream.answers, self.addressed)
            self.targets.balancer.streaming(self.call.target, self.answer.progress, probe)

    def stream_ended(self, *, completed: bool, broke: bool) -> None:
        """The balancer's verdict on the target when its stream ends, before the row does:
        `broke` by the upstream (cut, stalled, malformed), a failure of the target's;
        `completed`, an answer that closes its circuits and counts in its route's share.
        Neither (its client left) says nothing of the target and is no answer of the route's,
        nor does a break while the gateway stops (its own doing)."""
        if not (completed or broke) or (broke and self.targets.records.stopping):
            return
        call = self.call
        digest = body_digest(self.body) if broke else ""
        self.targets.balancer.stream_ended(
            call.target, call.plan, principal=call.caller.principal, broke=broke, body=digest
        )

    def answered(
        self,
        usage: Usage | None,
        written: int,
        *,
        state: str = "completed",
        error_code: str | None = None,
        ended: bool = True,
        server_tools: Mapping[str, int] | None = None,
    ) -> Usage:
        """End the attempt's row as answered, every kind by the same rule: what it is counted
        at, the vendor's `usage` or (none reported) its wire's estimate with the `written`
        tokens it sent (`RequestRecords.answered`)."""
        return self.targets.records.answered(
            self.record,
            self.call.route,
            usage,
            self.wire,
            written,
            state=state,
            error_code=error_code,
            ended=ended,
            server_tools=server_tools,
        )

    def took_call(self) -> None:
        """The upstream took the call (it answered 2xx, or the request was written, under a
        hard budget on its way, when its client left): the route names it, and it is
        billed."""
        self.asked = True
        call = self.call
        spec, model = call.spec, call.target.model
        route = call.route
        route.provider, route.model, route.kind = spec.id, model, "api"
        route.price_model = underlying_model(spec, model) if spec.cloud else ""
