"""Forward an editor's stdio MCP connection to the running gateway's Streamable HTTP endpoint.

When the desktop app already runs, `llmgw-desktop mcp` does not start a second engine: it relays
JSON-RPC messages between stdin/stdout and the app's `/mcp`, so the editor's jobs show in the
app and share its store. The relay speaks both protocol eras: for the 2025 handshake it carries
the `Mcp-Session-Id` and protocol version the app negotiated and keeps the server-to-client
event stream open; for 2026-07-28 requests it adds the routing headers the spec requires
(`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) from each message's own envelope. Requests
run concurrently, so a long tool call does not hold up the others.

The editor's own `initialize` (its `clientInfo`) is what reaches the app, so the app records
the editor's name (`claude-code`, `cursor`, ...), never the relay's. The relay also sends that
name as `X-Caller` on every later request: a gateway serving MCP without sessions
(`mcp.stateless`) keeps no `initialize` to read it from. An editor that quits
while answers are on their way is a normal end, said in one line: the answers are dropped,
and every task the relay started is awaited or has its failure logged, never left for the
garbage collector to report.

The gateway may be restarted under a relay (a crash, an update, the desktop app quit and
started again). A request in flight then is answered with a JSON-RPC error, as is one while it
is down; once it runs again, the first request it refuses without running it (401: the token of
the instance that died; 404: a session it never had) makes the relay find the instance running
now (`locate`, the shell's reading of `instance.json`), say the editor's own `initialize` to it
again, and send that request once more, so the editor is served again without starting its MCP
server anew. Before, every later request was refused for good. A request the gateway may have
started is never sent twice.

A notification the gateway sends while no event stream is open is lost (the 2025 era keeps
none to replay): so each time the stream opens again after it was lost (a restart, or the stream
cut), the relay tells the editor that the lists the gateway declared `listChanged` for may have
changed, and the editor reads them again. Before, a server's tool added while the relay was
reopening its stream stayed unknown to the editor.

A gateway that is stopped or hung answers nothing and fails nothing: each wait on it is bounded
by its silence (`gateway_watch.py`: its /health is asked meanwhile), and a request it leaves
unanswered that long is answered with an error saying so; a long call on a gateway that
answers is not cut. Before, the editor's call waited for ever.

It imports neither the MCP SDK nor aiohttp (`loopback_http` is its HTTP client): editors spawn
it on every start, and those imports alone took over a second before `initialize` was answered.
`tests/test_startup_imports.py` keeps it that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.transports.gateway.callers import CALLER_HEADER, clean_caller
from llmgw_desktop.transports.mcp import loopback_http
from llmgw_desktop.transports.mcp import stdio_wire as wire
from llmgw_desktop.transports.mcp.gateway_watch import GatewaySilent, GatewayWatch
from llmgw_desktop.transports.mcp.stdio_in_flight import InFlight

__all__ = ["Locate", "StdioForwarder"]

log = logging.getLogger(__name__)

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
EVENT_STREAM_RETRY_S = 1.0
EVENT_STREAM_RETRIES = 30
# What the editor is told, per capability declaring `listChanged`, when the stream opens again.
LIST_CHANGED = {
    "tools": "notifications/tools/list_changed",
    "prompts": "notifications/prompts/list_changed",
    "resources": "notifications/resources/list_changed",
}
GATEWAY_GONE = -32000
# How long a request waits on a gateway that shows no sign of life (`mcp.stdio_relay_silence_ms`).
SILENCE_S = 15.0
# The id of the editor's `initialize` said again to a restarted gateway (its answer is ours).
REJOIN_ID = "llmgw-relay-rejoin"

# Where the gateway runs now: its MCP URL and the headers that prove the local user to it
# (None: no instance runs). Called in a thread: it reads a file.
Locate = Callable[[], tuple[str, dict[str, str]] | None]


class _NotRun(OSError):
    """The gateway refused a request without running it (an instance token or a session it
    does not know): it may be sent again once the relay has rejoined the gateway."""


@dataclass
class _Exchange:
    """One message's exchange with the gateway: whether its answer was written to the editor."""

    answered: bool = False


class StdioForwarder:
    """Relays one stdio connection to `url` until stdin closes."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        locate: Locate | None = None,
        silence_s: float = SILENCE_S,
    ) -> None:
        """`locate`: where the gateway runs now, asked after it refused a request it never ran
        (None: the relay never rejoins a restarted gateway). `silence_s`: how long a request
        waits on a gateway that shows no sign of life."""
        self.url = url
        self._base_headers = headers or {}
        self._locate = locate
        # The editor's `initialize`, said again to a restarted gateway.
        self._initialize: dict[str, Any] | None = None
        # Bumped at each rejoin: a request refused under an older one is sent again at once.
        self._epoch = 0
        self._rejoining = asyncio.Lock()
        # Set (and replaced) at each rejoin: the event stream, lost for good, waits for it.
        self._rejoined = asyncio.Event()
        self._session_id: str | None = None
        self._version: str | None = None
        self._editor_name = ""  # from the editor's `initialize`, sent as X-Caller
        # The lists the gateway said it announces changes of (its `initialize` result).
        self._list_kinds: tuple[str, ...] = ()
        self._write_lock = asyncio.Lock()
        self._out: asyncio.StreamWriter | None = None
        self._initialized = asyncio.Event()  # the handshake is done: the event stream may open
        # Set when the editor's latest `initialize` has its answer (None: it sent none yet).
        self._initialize_answered: asyncio.Event | None = None
        self._editor_gone = False
        # Requests go on kept connections (loopback_http); the event stream has its own.
        self._http = loopback_http.KeptConnections(url)
        self.watch = GatewayWatch(self._probe, silence_s)
        # The editor's requests awaiting an answer: its cancel or departure ends them.
        self._in_flight = InFlight()

    async def run(self, reader: asyncio.StreamReader, writer: Any) -> None:
        """Relay until `reader` reaches end of input; `writer` has `write()` and `drain()`."""
        self._out = writer
        try:
            # Every task the relay starts lives in these two groups and ends with `run`.
            async with asyncio.TaskGroup() as streams:
                listening = streams.create_task(self._listen_once_initialized())
                watching = streams.create_task(self.watch.run())
                async with asyncio.TaskGroup() as relays:
                    async for message, raw in wire.messages(reader):
                        if self._in_flight.cancels_modern(message):
                            continue
                        relay = self._relay(message, raw, *self._handshake_place(message))
                        self._in_flight.note(message, relays.create_task(relay))
                    await self._in_flight.give_up_after_grace(self._fail)
                # Every message has been answered; the event stream ends with the editor.
                listening.cancel()
                watching.cancel()
        except ExceptionGroup as failed:
            # Only reading stdin can fail here (the tasks log their own failures; a line past
            # the door's cap is `LineTooLong`): raise its error itself, out of both groups.
            first: BaseException = failed
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        try:
            if self._session_id is not None:
                # Bounded too: an editor that quits while the gateway is stopped is not held.
                with contextlib.suppress(OSError, GatewaySilent):
                    async with (
                        self.watch.waiting(),
                        self._http.request("DELETE", headers=self._headers()) as reply,
                    ):
                        await reply.read()
        finally:
            await self._http.close()

    def _handshake_place(
        self, message: dict[str, Any]
    ) -> tuple[asyncio.Event | None, asyncio.Event | None]:
        """What `message` waits for before it is sent, and what it ends: the messages read
        after an `initialize` wait for its answer, which carries the session they are sent in
        (an editor waits for it too; a script writing its lines at once, or a file, does not,
        and its next request was refused for want of a session)."""
        if message.get("method") == "initialize":
            self._initialize_answered = asyncio.Event()
            return None, self._initialize_answered
        return self._initialize_answered, None

    async def _relay(
        self,
        message: dict[str, Any],
        raw: bytes,
        after: asyncio.Event | None = None,
        ends: asyncio.Event | None = None,
    ) -> None:
        """Relay one message (once `after` is set), then set `ends`; a failure is logged
        here, so the other messages carry on."""
        try:
            if after is not None:
                await after.wait()
            await self._send(message, raw)
        except Exception:
            log.exception("relaying a message failed")
        finally:
            if ends is not None:
                ends.set()

    async def _listen_once_initialized(self) -> None:
        """The event stream, opened after the handshake; its failure is logged here."""
        await self._initialized.wait()
        try:
            await self._listen()
        except Exception:
            log.exception("relaying the event stream failed")

    def _headers(self, message: dict[str, Any] | None = None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **self._base_headers,
        }
        modern = wire.modern_version(message) if message is not None else None
        if modern is not None and message is not None:
            headers[VERSION_HEADER] = modern
            headers["Mcp-Method"] = str(message.get("method", ""))
            field = wire.NAME_BEARING_METHODS.get(str(message.get("method")))
            value = (message.get("params") or {}).get(field) if field else None
            if isinstance(value, str):
                headers["Mcp-Name"] = wire.encode_header_value(value)
            return headers
        if self._editor_name:
            headers[CALLER_HEADER] = self._editor_name
        if self._session_id is not None:
            headers[SESSION_HEADER] = self._session_id
        if self._version is not None:
            headers[VERSION_HEADER] = self._version
        return headers

    async def _send(self, message: dict[str, Any], body: bytes) -> None:
        """Post `message` (whose JSON, as the editor wrote it, is `body`) and deliver what the
        gateway answers."""
        is_request = "method" in message and "id" in message
        if message.get("method") == "initialize":
            self._editor_name = _editor_name(message)
            self._initialize = message
        epoch, exchange = self._epoch, _Exchange()
        try:
            async with self.watch.waiting():
                try:
                    answered = await self._post(message, body, exchange)
                except _NotRun:
                    if not await self._rejoin(epoch, message):
                        raise
                    answered = await self._post(message, body, exchange)
        except GatewaySilent:
            log.warning("the gateway at %s is not answering (%s)", self.url, message.get("method"))
            # An answer already written (the stream then stalled) is not followed by a second.
            if is_request and not exchange.answered:
                await self._fail(message["id"], self._silent())
                if wire.modern_version(message) is None:
                    # Left alone, it would run the call on once it wakes. (A 2026-era call ends
                    # with its connection, closed by now.)
                    cancel = _cancelled(message["id"])
                    await self._send(cancel, wire.line(cancel))
            return
        except (OSError, ValueError) as exc:
            log.warning("relay to %s failed: %s", self.url, exc)
            if is_request and not exchange.answered:
                await self._fail(message["id"], f"the llmgw-desktop gateway did not answer ({exc})")
            return
        if answered is None:
            return  # an accepted notification
        if is_request and not answered:
            # Every request gets an answer: without one the editor waits for it forever.
            log.warning("the gateway's reply to %s held no answer", message.get("method"))
            await self._fail(message["id"], "the llmgw-desktop gateway's reply held no answer")
            return
        if message.get("method") == "notifications/initialized":
            self._initialized.set()

    async def _post(self, message: dict[str, Any], body: bytes, exchange: _Exchange) -> bool | None:
        """Post `message` and deliver what the gateway answers: whether that held the answer
        to it (None: a notification the gateway accepted), noted in `exchange` as it is
        written.

        Raises:
            _NotRun: the gateway refused it without running it (see `_rejoin`).
            OSError, ValueError: the gateway did not answer, or not as the MCP endpoint does.
        """
        sent = self._headers(message)
        async with self._http.request("POST", headers=sent, body=body) as reply:
            session = reply.header(SESSION_HEADER)
            if session and self._session_id is None:
                self._session_id = session
            if reply.status == 202:
                # An accepted notification; after `notifications/initialized` the
                # handshake is done and the event stream may open.
                if message.get("method") == "notifications/initialized":
                    self._initialized.set()
                return None
            if reply.status == 401 or (reply.status == 404 and SESSION_HEADER in sent):
                # The auth edge's refusal, or a session the gateway does not have: nothing
                # of the request ran.
                raise _NotRun(f"HTTP {reply.status}: {wire.excerpt(await reply.read())}")
            kind = reply.header("Content-Type") or ""
            if kind.startswith("text/event-stream"):
                async for event, data in wire.sse_events(reply):
                    delivered = await self._deliver(event, message.get("id"), data)
                    exchange.answered = delivered or exchange.answered
            else:
                answer = await reply.read()
                if not 200 <= reply.status < 300:
                    # The MCP endpoint's own JSON-RPC error for this request goes through;
                    # anything else (the auth edge's envelope, a redirect, a proxy's page)
                    # becomes a JSON-RPC error, never that body.
                    mine = wire.responses_to(answer, message.get("id"))
                    if not mine:
                        raise OSError(f"HTTP {reply.status}: {wire.excerpt(answer)}")
                    exchange.answered = await self._deliver(mine, message.get("id"))
                elif answer:
                    exchange.answered = await self._deliver(
                        wire.loads(answer), message.get("id"), answer.strip()
                    )
        return exchange.answered

    async def _probe(self) -> None:
        """Ask the gateway's /health, on a connection of its own (see `GatewayWatch`).

        Raises:
            OSError: it did not answer.
        """
        headers = {"User-Agent": self._base_headers.get("User-Agent", "llmgw-desktop-stdio")}
        async with loopback_http.request("GET", _health_url(self.url), headers=headers) as reply:
            await reply.read()

    def _silent(self) -> str:
        return (
            f"the llmgw-desktop gateway at {_health_url(self.url).removesuffix('/health')} is not "
            f"answering: nothing for {self.watch.silence_s:g} s, not even its /health (its "
            "process may be stopped or hung). The call was given up here and may still run "
            "there. Resume or restart the gateway (the desktop app, or llmgw-desktop "
            "--headless); this connection serves again once it answers. "
            "mcp.stdio_relay_silence_ms sets how long a call waits on a silent gateway."
        )

    async def _rejoin(self, epoch: int, message: dict[str, Any]) -> bool:
        """After the gateway refused a request without running it: find the instance running
        now and, for a session of the 2025 era, say the editor's `initialize` to it again.
        Whether the request may be sent again (False: nothing changed, it would be refused
        alike)."""
        async with self._rejoining:
            if self._epoch != epoch:
                return True  # another request rejoined it meanwhile
            found = await asyncio.to_thread(self._locate) if self._locate is not None else None
            if found is None:
                return False
            url, headers = found
            moved = (url, headers) != (self.url, self._base_headers)
            if url != self.url:
                await self._http.close()
                self._http = loopback_http.KeptConnections(url)
            self.url, self._base_headers = url, headers
            again = self._initialize is not None and message is not self._initialize
            if self._session_id is not None and again:
                self._session_id = None
                if not await self._handshake():
                    return False
            elif not moved:
                return False
            self._epoch += 1
            rejoined, self._rejoined = self._rejoined, asyncio.Event()
            rejoined.set()
            log.info("the gateway at %s was restarted: relaying the editor to it again", url)
            return True

    async def _handshake(self) -> bool:
        """Say the editor's `initialize` (under an id of ours: the answer is not the editor's)
        and `notifications/initialized` to the gateway; whether it opened a session."""
        assert self._initialize is not None
        initialize = {**self._initialize, "id": REJOIN_ID}
        headers = self._headers()
        headers.pop(VERSION_HEADER, None)  # as the editor's first request, before any was agreed
        async with self._http.request("POST", headers=headers, body=wire.line(initialize)) as reply:
            session = reply.header(SESSION_HEADER)
            if (reply.header("Content-Type") or "").startswith("text/event-stream"):
                answers = [event async for event, _ in wire.sse_events(reply)]
            else:
                answers = wire.responses_to(await reply.read(), REJOIN_ID)
            if reply.status != 200 or not session:
                return False
        for answer in answers:
            if isinstance(answer, dict) and isinstance(answer.get("result"), dict):
                self._list_kinds = _announced_lists(answer["result"])
        self._session_id = session
        done = wire.line({"jsonrpc": "2.0", "method": "notifications/initialized"})
        async with self._http.request("POST", headers=self._headers(), body=done) as reply:
            await reply.read()
            return 200 <= reply.status < 300

    async def _deliver(self, message: Any, request_id: Any = None, raw: bytes = b"") -> bool:
        """Write each JSON-RPC message of `message` to the editor; whether one of them is the
        response to request `request_id`. `raw`, the JSON `message` was read from, is written
        as it came when it is one message on one line (the gateway's are), rather than written
        out again."""
        answered = False
        whole = raw if isinstance(message, dict) and raw and b"\n" not in raw else b""
        for item in message if isinstance(message, list) else [message]:
            if isinstance(item, dict):
                result = item.get("result")
                if isinstance(result, dict) and "protocolVersion" in result and "id" in item:
                    self._version = str(result["protocolVersion"])
                    self._list_kinds = _announced_lists(result)
                if request_id is not None and item.get("id") == request_id:
                    answered = answered or "result" in item or "error" in item
                    if answered:
                        self._in_flight.answered(request_id)
                await self._write(item, whole)
        return answered

    async def _fail(self, request_id: Any, text: str) -> None:
        await self._write(
            {"jsonrpc": "2.0", "id": request_id, "error": {"code": GATEWAY_GONE, "message": text}}
        )

    async def _listen(self) -> None:
        """The 2025-era server-to-client stream (notifications, server requests). Lost for good
        (the gateway gone, or its session), it is opened again once the relay has rejoined
        the gateway (`_rejoin`)."""
        tries, epoch, opened = 0, self._epoch, False
        while not self._editor_gone:
            if tries >= EVENT_STREAM_RETRIES:
                if self._epoch == epoch:
                    await self._rejoined.wait()  # the event of the rejoin still to come
                tries, epoch = 0, self._epoch
            tries += 1
            rejoined = self._rejoined
            try:
                headers = self._headers()
                headers["Accept"] = "text/event-stream"
                async with loopback_http.request("GET", self.url, headers=headers) as reply:
                    if reply.status == 405:
                        return  # the server offers no stream
                    if reply.status in (401, 404):
                        tries = EVENT_STREAM_RETRIES  # not this gateway's session: wait
                        continue
                    if 200 <= reply.status < 300:
                        if opened:
                            await self._tell_lists_may_have_changed()
                        opened = True
                    async for event, data in wire.sse_events(reply):
                        await self._deliver(event, raw=data)
            except (OSError, ValueError):
                pass
            # A rejoin meanwhile opens the stream on the new session at once.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rejoined.wait(), EVENT_STREAM_RETRY_S)

    async def _tell_lists_may_have_changed(self) -> None:
        """The stream opened again: what the gateway announced while it was lost is gone, so
        the editor is told each list it may have missed a change of, to read them again."""
        kinds = self._list_kinds
        for kind in kinds:
            await self._write({"jsonrpc": "2.0", "method": LIST_CHANGED[kind]})
        if kinds:
            log.info("the event stream opened again: told the editor to read %s anew", kinds)

    async def _write(self, message: dict[str, Any], raw: bytes = b"") -> None:
        assert self._out is not None
        if self._editor_gone:
            return
        line = raw + b"\n" if raw else wire.line(message)
        async with self._write_lock:
            try:
                self._out.write(line)
                await self._out.drain()
            except (ConnectionError, RuntimeError) as exc:
                # The editor closed our stdout: it has quit. (asyncio says so at the drain;
                # uvloop, once it has seen the pipe close, refuses the write itself with a
                # RuntimeError naming the closed handle.)
                transport = getattr(self._out, "transport", None)
                if isinstance(exc, RuntimeError) and not (transport and transport.is_closing()):
                    raise
                if not self._editor_gone:
                    log.info("the editor closed the connection (%s); dropping its answers", exc)
                self._editor_gone = True


def _cancelled(request_id: Any) -> dict[str, Any]:
    reason = "the llmgw-desktop stdio relay gave it up: the gateway was not answering"
    params = {"requestId": request_id, "reason": reason}
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}


def _announced_lists(result: dict[str, Any]) -> tuple[str, ...]:
    """The lists an `initialize` result declares `listChanged` for (of those the relay knows)."""
    capabilities = result.get("capabilities")
    if not isinstance(capabilities, dict):
        return ()
    return tuple(
        kind
        for kind in LIST_CHANGED
        if isinstance(capabilities.get(kind), dict) and capabilities[kind].get("listChanged")
    )


def _health_url(url: str) -> str:
    """The gateway's /health, beside its MCP endpoint `url`."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/health"


def _editor_name(initialize: dict[str, Any]) -> str:
    """The `clientInfo` name of an editor's `initialize`, if it can travel in a header."""
    info = (initialize.get("params") or {}).get("clientInfo") or {}
    name = info.get("name") if isinstance(info, dict) else None
    cleaned = clean_caller(name) if isinstance(name, str) else ""
    # Header values travel as Latin-1: a name beyond ASCII stays in `initialize` alone.
    return cleaned if cleaned.isascii() else ""
