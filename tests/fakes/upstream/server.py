"""ScriptedUpstream: an in-process aiohttp server that answers LLM calls as scripted."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import (
    anthropic,
    bedrock,
    completions,
    embeddings,
    gemini,
    openai_chat,
    openai_common,
    openai_responses,
)
from .answer import drop_connection, empty_answer, write_reply
from .script import (
    COUNT_TOKENS_ANSWER,
    Dialect,
    RecordedRequest,
    Reply,
    offered_tools,
    redact_headers,
    redact_query,
    secret_digests,
    without_usage,
)
from .sse import DialectCodec, JsonObject

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# CLIs send whole conversations plus tool schemas; real APIs accept tens of MiB.
MAX_BODY_BYTES = 64 * 1024 * 1024
# Upper bound on waiting for in-flight handlers at close; delays end at once on close anyway.
SHUTDOWN_TIMEOUT_S = 1.0
DEFAULT_WAIT_TIMEOUT_S = 5.0

_GEMINI_LLM_METHODS = frozenset({"generateContent", "streamGenerateContent"})
# The endpoint a request refused for its key is recorded as (`ScriptedUpstream.refused_keys`).
KEY_REFUSED = "key_refused"


class ScriptedUpstream:
    """A fake Anthropic/OpenAI/Gemini upstream on loopback whose LLM answers are scripted.

    Use as `async with ScriptedUpstream() as up:`; queue replies with `up.script(...)`.
    """

    def __init__(self, default: Reply | None = None) -> None:
        self.default: Reply = default or Reply.ok()
        """What every LLM call gets once the scripted replies are used up."""
        self.by_dialect: dict[str, Reply] = {}
        """A standing reply per dialect ("anthropic", "responses", "chat", "gemini"), taking
        precedence over `default`: one provider fails while the others answer."""
        self.requests: list[RecordedRequest] = []
        """Every request seen, in arrival order."""
        self.model_ids: dict[str, list[str]] = {}
        """The ids GET .../models lists per dialect ("chat", "anthropic", "gemini"); a dialect
        not set lists a few fake ids."""
        self.models_page_size: int | None = None
        """At most this many models per page of the paged lists (Anthropic, Gemini), whatever
        the client asks for: set it low to make them page."""
        self.models_gate: asyncio.Event | None = None
        """When set, model lists are answered only once it is set (a slow upstream)."""
        self.stream_gate: asyncio.Event | None = None
        """When set, a streamed answer stops halfway until it is set (text arrives in two
        parts, with as long a pause between them as the test wants)."""
        self.frame_gap_s = 0.0
        """Seconds between a stream's frames (0: written back to back, so the gateway usually
        reads them at once; a model's tokens arrive apart)."""
        self.hung_up = asyncio.Event()
        """Set when a client hung up on a completion stream held at `stream_gate`."""
        self.verify: Callable[[web.Request, bytes], str | None] | None = None
        """When set, checks each LLM call's credential (a cloud's signature or token) before
        it is answered: a problem it names is answered 403 and the call is not counted."""
        self.refused_keys: set[str] = set()
        """Keys refused as their vendor refuses an unknown key, on every route (model lists
        included): OpenAI and Anthropic with a 401, Gemini with its 400 `API_KEY_INVALID`.
        Each refusal is recorded with the endpoint `KEY_REFUSED` and answers no LLM call."""
        self._pending: deque[Reply] = deque()
        self._when_offered: dict[str, deque[Reply]] = {}
        self._arrived = asyncio.Condition()
        # Set on close so delayed replies stop waiting instead of holding shutdown.
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ public API

    @property
    def base_url(self) -> str:
        """http(s)://127.0.0.1:PORT, without a trailing slash or API version.

        Raises:
            RuntimeError: the server is not running.
        """
        if self._port is None:
            raise RuntimeError("ScriptedUpstream is not started")
        return f"{self._scheme}://{LOOPBACK}:{self._port}"

    @property
    def llm_requests(self) -> list[RecordedRequest]:
        """The recorded requests that were LLM calls (each consumed one reply)."""
        return [r for r in self.requests if r.is_llm]

    @property
    def pending_replies(self) -> int:
        """How many scripted replies are still queued."""
        return len(self._pending)

    def script(self, *replies: Reply) -> None:
        """Queue replies, consumed one per LLM call in order, after those already queued."""
        self._pending.extend(replies)

    def script_when_offered(self, tool: str, *replies: Reply) -> None:
        """Queue replies for the LLM calls that offer a tool named `tool`, in order.

        Real clients make side calls (titles, summaries, routing) without their tools; this
        gives the agent's own turns the scripted answers, e.g. a call of the client's shell
        tool, whatever else it asks in between. They take precedence over `script`.
        """
        self._when_offered.setdefault(tool, deque()).extend(replies)

    def script_tool_round_trip(
        self, tool: str, arguments: JsonObject, answer: str = "ALL-DONE"
    ) -> None:
        """The agent's turns that offer `tool` call it once with `arguments`, then answer
        `answer` word for word (`script_when_offered`): a client's whole tool loop."""
        self.script_when_offered(
            tool, Reply.tool_call(tool, arguments), Reply.ok(answer, verbatim=True)
        )

    async def wait_for_requests(
        self,
        n: int,
        # A parameter rather than asyncio.timeout() at the call site: every wait is bounded.
        timeout: float = DEFAULT_WAIT_TIMEOUT_S,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Wait until at least n LLM calls have arrived; return the LLM requests.

        Raises:
            TimeoutError: fewer than n arrived within timeout seconds.
        """
        return await self._wait_for(n, lambda: self.llm_requests, timeout)

    async def wait_for_model_lists(self, n: int) -> list[RecordedRequest]:
        """`wait_for_requests` for model-list requests (held ones included)."""
        return await self._wait_for(
            n, lambda: [r for r in self.requests if r.endpoint == "models"], DEFAULT_WAIT_TIMEOUT_S
        )

    async def _wait_for(
        self, n: int, seen: Callable[[], list[RecordedRequest]], timeout_s: float
    ) -> list[RecordedRequest]:
        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(lambda: len(seen()) >= n)
        return seen()

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> None:
        """Listen on 127.0.0.1 on a port the OS picks, in the running loop (TLS with a context)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._key_check])
        self._add_routes(app)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        await web.TCPSite(runner, LOOPBACK, 0, ssl_context=ssl_context).start()
        self._scheme = "https" if ssl_context is not None else "http"
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening, end delayed replies and close every connection."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ScriptedUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ routing

    def _add_routes(self, app: web.Application) -> None:
        add = app.router.add_route
        add("POST", "/v1/messages", self._anthropic_messages)
        add("POST", "/v1/messages/count_tokens", self._anthropic_count_tokens)
        add("POST", "/v1/responses", self._responses)
        add("POST", "/v1/responses/input_tokens", self._responses_input_tokens)
        add("GET", "/v1/responses", self._responses_websocket)
        add("POST", "/v1/chat/completions", self._chat)
        add("POST", "/chat/completions", self._chat)
        # Embeddings in each provider's own wire (`embeddings.py`).
        for path in (
            "/v1/embeddings",
            "/embeddings",
            "/openai/deployments/{deployment}/embeddings",
            "/openai/v1/embeddings",
        ):
            add("POST", path, self._openai_embeddings)
        add("POST", "/model/{model:.+}/invoke", self._bedrock_embeddings)
        add("POST", "/api/embed", self._ollama_embed)
        # Text completions (fill in the middle) in each provider's wire (`completions.py`).
        for path, wire in (
            ("/v1/completions", "openai"),
            ("/completions", "openai"),
            ("/v1/fim/completions", "mistral"),
            ("/api/generate", "ollama"),
        ):
            add("POST", path, functools.partial(self._completion, wire=wire))
        for path in ("/v1/models", "/models", "/v1beta/models"):
            add("GET", path, self._models)
        # Azure OpenAI: the deployment URLs (`AzureOpenAI` with a dated api-version) and the
        # v1 API, answering as OpenAI does.
        add("POST", "/openai/deployments/{deployment}/chat/completions", self._chat)
        add("POST", "/openai/responses", self._responses)
        add("POST", "/openai/v1/chat/completions", self._chat)
        add("POST", "/openai/v1/responses", self._responses)
        # Amazon Bedrock's Converse and ConverseStream (the model id is one encoded segment).
        add("POST", "/model/{model:.+}/converse", self._bedrock)
        add("POST", "/model/{model:.+}/converse-stream", self._bedrock)
        # Google Vertex AI: Gemini models in the Gemini dialect, Claude models through
        # rawPredict in Anthropic's.
        vertex = "/v1/projects/{project}/locations/{location}/publishers"
        add("POST", vertex + "/google/models/{call}", self._vertex_gemini)
        add("POST", vertex + "/anthropic/models/{call}", self._vertex_anthropic)
        add("POST", "/v1beta/models/{call}", self._gemini)
        add("POST", "/v1/models/{call}", self._gemini)
        add("*", "/{anything:.*}", self._unknown)

    @web.middleware
    async def _key_check(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Refuse a key of `refused_keys` as its vendor would; pass anything else on."""
        key, vendor = _credential(request)
        if key is None or key not in self.refused_keys:
            return await handler(request)
        await self._record(request, vendor, KEY_REFUSED, llm=False)
        if vendor == "anthropic":
            status, body = anthropic.key_refused()
        elif vendor == "gemini":
            status, body = gemini.key_refused()
        else:
            status, body = openai_common.key_refused(key)
        return web.json_response(body, status=status)

    async def _anthropic_messages(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request, "anthropic", "messages")
        return await self._answer_llm(
            request, record, anthropic, self._model(record, "claude-fake")
        )

    async def _anthropic_count_tokens(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "anthropic", "count_tokens", llm=False)
        return web.json_response(anthropic.count_tokens_answer(COUNT_TOKENS_ANSWER))

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request, "responses", "responses")
        return await self._answer_llm(
            request, record, openai_responses, self._model(record, "gpt-fake")
        )

    async def _responses_input_tokens(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "responses", "input_tokens", llm=False)
        answer = {"object": "response.input_tokens", "input_tokens": COUNT_TOKENS_ANSWER}
        return web.json_response(answer)

    async def _responses_websocket(self, request: web.Request) -> web.StreamResponse:
        # Codex tries a websocket first when the provider allows it; 426 makes it fall back.
        await self._record(request, "responses", "websocket", llm=False)
        body, _ = openai_common.error(426, "websockets are not supported by the fake upstream")
        return web.json_response(body, status=426)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request, "chat", "chat.completions")
        return await self._answer_llm(request, record, openai_chat, self._model(record, "gpt-fake"))

    async def _bedrock(self, request: web.Request) -> web.StreamResponse:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        record = await self._record(request, "bedrock", "converse")
        # The path, not a body flag, says whether Converse streams.
        record.stream = request.path.endswith("/converse-stream")
        return await self._answer_llm(request, record, bedrock, request.match_info["model"])

    async def _vertex_gemini(self, request: web.Request) -> web.StreamResponse:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        if request.match_info["call"].endswith(":predict"):
            record = await self._record(request, "gemini", "embeddings")
            return await self._embedding(
                request, record, embeddings.vertex_predict_answer, gemini.error
            )
        return await self._gemini(request)

    async def _openai_embeddings(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request, "chat", "embeddings")
        model = self._model(record, "text-embedding-fake")
        return await self._embedding(
            request, record, lambda body: embeddings.openai_answer(body, model), openai_common.error
        )

    async def _bedrock_embeddings(self, request: web.Request) -> web.StreamResponse:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        record = await self._record(request, "bedrock", "embeddings")
        model = request.match_info["model"]
        answer, headers = embeddings.bedrock_invoke_answer(model, record.body or {})
        return await self._embedding(request, record, lambda _body: answer, bedrock.error, headers)

    async def _ollama_embed(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request, "ollama", "embeddings")
        return await self._embedding(request, record, embeddings.ollama_embed_answer, _ollama_error)

    async def _completion(self, request: web.Request, *, wire: str) -> web.StreamResponse:
        """A completion, whole or streamed in two parts (with `stream_gate` between them: a
        client that hangs up there is seen, and `hung_up` set)."""
        record = await self._record(
            request, "ollama" if wire == "ollama" else "chat", "completions"
        )
        body: JsonObject = record.body if isinstance(record.body, dict) else {}
        record.stream = body.get("stream") is True or (wire == "ollama" and "stream" not in body)
        reply = record.reply or self.default
        if reply.delay_s > 0 and not await self._quiet_for(reply.delay_s):
            return drop_connection(request)
        if reply.kind == "error":
            error = _ollama_error if wire == "ollama" else openai_common.error
            payload, extra = error(reply.status, reply.message)
            return web.json_response(payload, status=reply.status, headers=extra)
        if reply.kind == "empty":
            return empty_answer(request, {})
        if reply.kind == "malformed":
            return web.Response(body=b'{"choices": [', content_type="application/json")
        text = completions.fim_text(body, reply.text)
        if not record.stream:
            whole = {"openai": completions.openai_whole, "mistral": completions.mistral_whole}
            answer = whole.get(wire, completions.ollama_whole)(body, text)
            payload = json.dumps(answer if reply.usage else without_usage(answer)).encode()
            return web.Response(body=reply.on_wire(payload), content_type="application/json")
        kind = "application/x-ndjson" if wire == "ollama" else "text/event-stream"
        response = web.StreamResponse(headers={"Content-Type": kind})
        await response.prepare(request)
        first, second = completions.halves(text)
        for frame in completions.stream_events(wire, body, first, last=False):
            await response.write(reply.on_wire(frame))
        gate = self.stream_gate
        if gate is not None and not await self._held_until(gate, request):
            self.hung_up.set()
            return response
        for frame in completions.stream_events(wire, body, second, last=True):
            await response.write(reply.on_wire(frame))
        await response.write_eof()
        return response

    async def _held_until(self, gate: asyncio.Event, request: web.Request) -> bool:
        """Wait for `gate` while the client stays (bounded); False once the client hung up."""
        async with asyncio.timeout(DEFAULT_WAIT_TIMEOUT_S * 2):
            while not gate.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    return False
                await asyncio.sleep(0.01)
        return True

    async def _embedding(
        self,
        request: web.Request,
        record: RecordedRequest,
        answer: Callable[[JsonObject], JsonObject],
        error: Callable[[int, str], tuple[JsonObject, dict[str, str]]],
        headers: dict[str, str] | None = None,
    ) -> web.StreamResponse:
        """An embedding answer, or the scripted reply's error (or its delay first)."""
        reply = record.reply or self.default
        if reply.delay_s > 0 and not await self._quiet_for(reply.delay_s):
            raise web.HTTPServiceUnavailable()
        if reply.kind == "error":
            body, extra = error(reply.status, reply.message)
            return web.json_response(body, status=reply.status, headers=extra)
        if reply.kind == "empty":
            return empty_answer(request, headers or {})
        if reply.kind == "malformed":
            return web.Response(body=b'{"data": [', content_type="application/json")
        vectors = answer(record.body or {})
        return web.json_response(
            vectors if reply.usage else without_usage(vectors), headers=headers
        )

    async def _vertex_anthropic(self, request: web.Request) -> web.StreamResponse:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        model, _, method = request.match_info["call"].partition(":")
        record = await self._record(request, "anthropic", method)
        record.stream = method == "streamRawPredict"
        return await self._answer_llm(request, record, anthropic, model)

    async def _refused(self, request: web.Request) -> web.StreamResponse | None:
        """A 403 when `verify` finds the request's credential wrong (the call is recorded as
        not an LLM call)."""
        if self.verify is None:
            return None
        problem = self.verify(request, await request.read())
        if problem is None:
            return None
        await self._record(request, None, "refused", llm=False)
        headers = {"x-amzn-ErrorType": "InvalidSignatureException:"}
        return web.json_response({"message": problem}, status=403, headers=headers)

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].partition(":")
        if method == "countTokens":
            await self._record(request, "gemini", method, llm=False)
            return web.json_response(gemini.count_tokens_answer(COUNT_TOKENS_ANSWER))
        if method == "batchEmbedContents":
            record = await self._record(request, "gemini", "embeddings")
            return await self._embedding(
                request, record, embeddings.gemini_batch_answer, gemini.error
            )
        if method not in _GEMINI_LLM_METHODS:
            await self._record(request, "gemini", method or "unknown", llm=False)
            body, _ = gemini.error(404, f"fake upstream: unknown method {method!r}")
            return web.json_response(body, status=404)
        record = await self._record(request, "gemini", method)
        # The method, not a body flag, says whether Gemini streams.
        record.stream = method == "streamGenerateContent"
        return await self._answer_llm(request, record, gemini, model)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.path.startswith("/v1beta"):
            dialect: Dialect = "gemini"
            listing = gemini.models_list(
                self.model_ids.get(dialect),
                page_token=query.get("pageToken"),
                page_size=self._models_page(query.get("pageSize")),
            )
        elif "anthropic-version" in request.headers:
            dialect = "anthropic"
            listing = anthropic.models_list(
                self.model_ids.get(dialect),
                after_id=query.get("after_id"),
                limit=self._models_page(query.get("limit")),
            )
        else:
            dialect = "chat"
            listing = openai_common.models_list(self.model_ids.get(dialect))
        await self._record(request, dialect, "models", llm=False)
        gate = self.models_gate
        if gate is not None and not await self._opened(gate):
            return drop_connection(request)
        return web.json_response(listing)

    def _models_page(self, asked: str | None) -> int | None:
        sizes = [n for n in (self.models_page_size, _number(asked)) if n is not None]
        return min(sizes) if sizes else None

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request, None, "unknown", llm=False)
        log.warning("fake upstream: no route for %s %s", record.method, record.path)
        message = f"fake upstream: no route {request.method} {request.path}"
        body = {"error": {"message": message, "type": "not_found", "param": None, "code": 404}}
        return web.json_response(body, status=404)

    # ------------------------------------------------------------------ recording

    async def _record(
        self, request: web.Request, dialect: Dialect | None, endpoint: str, *, llm: bool = True
    ) -> RecordedRequest:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=redact_query(request.query),
            headers=redact_headers(request.headers),
            body=body,
            raw_body=raw,
            dialect=dialect,
            endpoint=endpoint,
            arrived_at=time.monotonic(),
            stream=isinstance(body, dict) and bool(body.get("stream")),
            secrets=secret_digests(request.headers),
        )
        if llm:
            # Taken on arrival, so replies follow arrival order even when answers overlap.
            standing = self.by_dialect.get(dialect or "", self.default)
            record.reply = self._offered_reply(body) or (
                self._pending.popleft() if self._pending else standing
            )
        async with self._arrived:
            self.requests.append(record)
            self._arrived.notify_all()
        return record

    def _offered_reply(self, body: Any) -> Reply | None:
        offered = offered_tools(body)
        for tool, replies in self._when_offered.items():
            if replies and tool in offered:
                return replies.popleft()
        return None

    @staticmethod
    def _model(record: RecordedRequest, fallback: str) -> str:
        body = record.body if isinstance(record.body, dict) else {}
        return str(body.get("model") or fallback)

    # ------------------------------------------------------------------ answering

    async def _answer_llm(
        self, request: web.Request, record: RecordedRequest, codec: DialectCodec, model: str
    ) -> web.StreamResponse:
        reply = record.reply or self.default
        if reply.delay_s > 0 and not await self._quiet_for(reply.delay_s):
            return drop_connection(request)
        body: JsonObject = record.body if isinstance(record.body, dict) else {}
        gate = self.stream_gate
        midway = None if gate is None else (lambda: self._opened(gate))
        return await write_reply(
            request,
            codec,
            reply,
            body,
            model,
            stream=record.stream,
            midway=midway,
            gap_s=self.frame_gap_s,
        )

    async def _opened(self, gate: asyncio.Event) -> bool:
        """Wait for `gate`; False if the server closed first."""
        opened = asyncio.ensure_future(gate.wait())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({opened, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            closing.cancel()
        return gate.is_set() and not self._closing.is_set()

    async def _quiet_for(self, seconds: float) -> bool:
        """Wait `seconds` before the first byte; False if the server closed meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
            return False
        return True


def _ollama_error(status: int, message: str) -> tuple[JsonObject, dict[str, str]]:
    """Ollama's error body: `{"error": message}`."""
    return {"error": message}, {}


def _credential(request: web.Request) -> tuple[str | None, Dialect]:
    """The key a request carries and the vendor whose header carries it."""
    if "x-api-key" in request.headers:
        return request.headers["x-api-key"], "anthropic"
    gemini_key = request.headers.get("x-goog-api-key") or request.query.get("key")
    if gemini_key:
        return gemini_key, "gemini"
    bearer = request.headers.get("authorization", "")
    return (bearer.removeprefix("Bearer ") or None), "chat"


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
