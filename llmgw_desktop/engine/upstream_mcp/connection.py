"""One upstream MCP server: started at its first use, restarted with back-off, stopped with us.

A long-lived task owns the connection, because the SDK's `ClientSession` (an anyio task group)
must be entered and left in one task: it starts the server, says `initialize`, lists what the
server offers, then serves callers from other tasks until the server ends, the gateway stops,
or a call finds the connection broken. A server that ends is started again after a back-off
that doubles from `RESTART.first_s` to `RESTART.longest_s` (reset once a run lasted
`HEALTHY_AFTER_S`, or served `SERVED_S`), so a server that crashes at once does not spin.
Callers waiting while it starts wait at most the start timeout (`mcp.start_timeout_ms`), which
also bounds each reading of its lists (at the start, after a `list_changed`, the desk's Test),
and none while its next start is further off than that (they are told when it is); callers of
a server known not to answer (`silence.py`) are answered at once, while it is asked to start
again.

A server's lists are kept from its last good reading: while it restarts, or when a reading
fails, what it offered last is what it offers. Each list keeps at most `mcp.max_tools_per_server`
entries (the rest are left out, and the status says so): a server listing 20,000 tools made
every list answer 40 MiB.

The SDK is imported here, when the first server starts, never at the gateway's start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config.upstream_mcp import UpstreamServerConfig
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.upstream_mcp.lists import read_listing
from llmgw_desktop.engine.upstream_mcp.oauth import (
    SIGN_IN_TIMEOUT_S,
    OAuthVault,
    SignIn,
    open_in_browser,
)
from llmgw_desktop.engine.upstream_mcp.pins import ToolPins
from llmgw_desktop.engine.upstream_mcp.silence import SharedPing, Silence
from llmgw_desktop.engine.upstream_mcp.transport import (
    HTTP_CLOSE_S,
    SecretLookup,
    ServerDown,
    http_streams,
    resolved,
)

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

    from llmgw_desktop.engine.upstream_mcp.stdio import ServerProcess
    from llmgw_desktop.engine.upstream_mcp.stdio_line import StdioLine

__all__ = ["UpstreamServer"]

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
# The most tools (and prompts, and resources) one server offers (`mcp.max_tools_per_server`).
MAX_TOOLS = 500
RESTART = Backoff(first_s=0.5, longest_s=30.0)
HEALTHY_AFTER_S = 30.0
# A run that served this long (started, answered its `initialize`) ends a run of failed starts:
# its next start is as quick as a first one.
SERVED_S = 5.0
# How a start that got no answer is said (`_describe`): a server known not to answer is still
# not answering (`silence.py`); any other failure means it answers again.
TIMED_OUT = "it did not answer initialize"
# A server's lists are read again after it says they changed at most this often: a server
# saying so over and over has its lists parsed (on the loop) once per this, not endlessly.
REREAD_EVERY_S = 10.0


class UpstreamServer:
    """The connection to one configured server, and what it offers."""

    def __init__(
        self,
        config: UpstreamServerConfig,
        *,
        lifeline: Lifeline,
        tasks: TaskSupervisor,
        secret: SecretLookup,
        on_lists_changed: Callable[[str, str], None] = lambda name, kind: None,
        version: str = "",
        vault: OAuthVault | None = None,
        open_url: Callable[[str], None] = open_in_browser,
        start_timeout_s: float = START_TIMEOUT_S,
        max_tools: int = MAX_TOOLS,
        pins: ToolPins | None = None,
        tell: Callable[[str, str], None],
    ) -> None:
        """`start_timeout_s` bounds `initialize` and each reading of the lists; `max_tools`,
        the entries each list keeps; `pins` hear each listing of the tools (`pins.py`);
        `tell(level, message)` says to the desk that it failed, once a streak, and that it
        runs again (an engine notice: the page is not the only place it shows)."""
        self.config = config
        self._tell = tell
        # It failed (to start, or while it ran) and has not run since: its restarts, each
        # "starting" a moment, do not end that (`/health` counts it, the tray lists it).
        self.failing = False
        self._pins = pins
        self.start_timeout_s = start_timeout_s
        self.max_tools = max_tools
        self._lifeline = lifeline
        self._tasks = tasks
        self._secret = secret
        self._on_lists_changed = on_lists_changed
        self._version = version
        self._vault = vault
        # One per server for the whole run, so the browser opens at the first sign-in only.
        self._sign_in = SignIn(config.name, open_url=open_url, on_url=self._signing_in)
        self.sign_in_url: str | None = None  # while the user is asked to sign in
        self.state = "idle" if config.enabled else "disabled"
        self.last_error = ""
        self.starts = 0
        self.tools: list[Any] = []  # mcp_types.Tool, as the server listed them
        self.prompts: list[Any] = []
        self.resources: list[Any] = []
        self.templates: list[Any] = []  # mcp_types.ResourceTemplate
        # The lists were read at least once (a later failure keeps what was read then).
        self.listed = False
        # Entries the server listed beyond `max_tools`, per list ("tools", ...): left out.
        self.left_out: dict[str, int] = {}
        # Lists do not wait for this server (again): one did not wait once (it did not start in
        # time), or a start of it failed, so it is not starting for the first time; it joins
        # them when it runs (its sessions are told).
        self.waited_out = False
        # A `list_changed` reading under way or waiting its turn, and the last one's time.
        self._rereading = False
        self._reread_at = float("-inf")
        self._changed_kinds: set[str] = set()
        self._session: ClientSession | None = None
        self._process: ServerProcess | None = None
        self._wanted = asyncio.Event()
        self._stopping = False
        self._end = asyncio.Event()  # this run is over: the server ended, a call broke, stop
        self._attempt: asyncio.Future[ClientSession] | None = None
        # When the next start begins, while the owner waits out a back-off (monotonic).
        self._next_start_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._ping = SharedPing(config.name, tasks)
        # Known not to answer (`silence.py`), until it answers `initialize` again.
        self.silence = Silence()

    # -- what the desk and /health show -----------------------------------------------------

    def stderr_tail(self) -> str:
        return self._process.stderr_tail() if self._process is not None else ""

    @property
    def process(self) -> ServerProcess | None:
        """The stdio server's process of the current (or last) run; None over HTTP."""
        return self._process

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def line(self) -> StdioLine | None:
        """Where a tool call may go beside the SDK's session (`stdio_line.py`): the running stdio
        server's pipes; None over HTTP, or while it is not running."""
        process = self._process
        if process is None or process.line is None or not self.connected:
            return None
        return process.line if process.line.open else None

    @property
    def connected(self) -> bool:
        """Running now, its session open."""
        return self._session is not None and not self._end.is_set()

    def status(self) -> dict[str, Any]:
        return {
            "name": self.config.name,
            "transport": self.config.transport,
            "enabled": self.config.enabled,
            "state": self.state,
            # Failed and not run since: a restart under way ("starting") does not end that.
            "failing": self.failing,
            "tools": len(self.tools),
            # What it offers by name (the desk's details list them), as the server named them.
            "toolNames": [str(getattr(tool, "name", "")) for tool in self.tools],
            "promptNames": [str(getattr(prompt, "name", "")) for prompt in self.prompts],
            "prompts": len(self.prompts),
            "resources": len(self.resources) + len(self.templates),
            "starts": self.starts,
            "error": redact(self.silence.said() if self.silence.known else self.last_error) or None,
            "notAnsweringSince": self.silence.since_iso(),
            "needsSignIn": self.sign_in_url is not None,
            # Listed but left out, per list, past mcp.max_tools_per_server.
            "leftOut": dict(self.left_out),
            "maxTools": self.max_tools,
            # Not running, and offering what it listed last.
            "stale": self.listed and not self.connected and self.config.enabled,
        }

    # -- use ----------------------------------------------------------------------------------

    async def session(self) -> ClientSession:
        """The connected session, starting the server first if it is not running.

        Raises:
            ServerDown: it is switched off, would not start in time, or failed to start.
        """
        if not self.config.enabled:
            raise ServerDown(f"it is switched off ({self.config.key('enabled')} = false)")
        if self._stopping:
            raise ServerDown("the gateway is stopping")
        if self._session is not None and not self._end.is_set():
            return self._session
        if self.sign_in_url is not None:
            # A person is being asked already: a caller does not wait on them.
            raise ServerDown(self.needs_sign_in())
        attempt = self.wake()
        if self.silence.known:
            # Its start would hold the caller `start_timeout_s` for nothing. It is asked again
            # in the background, and used once it answers.
            raise ServerDown(self.silence.said())
        backing_off = self._restart_in()
        if backing_off is not None and backing_off >= self.start_timeout_s:
            # Its next start is past the caller's wait: said now, not after the wait.
            raise ServerDown(self._restarting(backing_off))
        try:
            return await asyncio.wait_for(asyncio.shield(attempt), self.start_timeout_s)
        except TimeoutError:
            if self.sign_in_url is not None:
                raise ServerDown(self.needs_sign_in()) from None
            backing_off = self._restart_in()
            if backing_off is not None:  # no start was tried while the caller waited
                raise ServerDown(self._restarting(backing_off)) from None
            raise ServerDown(f"it did not start within {self.start_timeout_s:g} s") from None

    def _restart_in(self) -> float | None:
        """Seconds until its next start, while it waits out a back-off after a failure."""
        at = self._next_start_at
        return None if at is None else max(0.0, at - time.monotonic())

    def _restarting(self, seconds: float) -> str:
        why = f" ({self.last_error})" if self.last_error else ""
        return (
            f"it ended{why} and is started again in {math.ceil(seconds)} s (after failures in "
            "a row it waits longer each time); retry then"
        )

    def wake(self) -> asyncio.Future[ClientSession]:
        """Have the server started if it is not running (without waiting for it): the start
        under way, whose result is its session."""
        if self._stopping:
            stopped: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
            stopped.set_exception(ServerDown("the gateway is stopping"))
            stopped.exception()  # retrieved: nobody need wait on it
            return stopped
        if self._task is None:
            self._task = self._tasks.spawn(self._own(), name=f"mcp-server-{self.config.name}")
        self._wanted.set()
        if self._attempt is None or self._attempt.done():
            self._attempt = asyncio.get_running_loop().create_future()
        return self._attempt

    def needs_sign_in(self) -> str:
        # The address is not in the message: it carries the sign-in's state, and the message
        # may go to a remote caller. The desk has it (`sign_in_url`, the page's Sign in).
        return (
            "it needs sign-in (OAuth): finish it in the browser window the gateway opened, or "
            "press Sign in on the MCP servers page (the address is also in the gateway's log)"
        )

    def _signing_in(self, url: str | None) -> None:
        self.sign_in_url = url
        if url is not None:
            self.state = "needs_sign_in"
            self.last_error = self.needs_sign_in()
        elif self.state == "needs_sign_in":
            self.state = "starting"
            self.last_error = ""

    async def reread(self) -> None:
        """Start the server if it is not running and read its lists again (the desk's Test).

        Raises:
            ServerDown: as `session`.
            Exception: the server failed while listing (the SDK's error as it came).
        """
        session = await self.session()
        await self._refresh(session)

    def ping(self, timeout_s: float) -> asyncio.Future[bool]:
        """Whether the server answers a ping within `timeout_s` (the one in flight, if any:
        `silence.SharedPing`): False only when it runs and does not (hung); one not running is
        being started again already."""
        return self._ping.send(None if self._end.is_set() else self._session, timeout_s)

    def broken(self, why: str) -> bool:
        """A call found the connection broken: end this run so the owner starts another.
        Whether this ended it (it was not ended already)."""
        if self._end.is_set():
            return False
        self.last_error = why
        self._end.set()
        return True

    def hung(self, why: str) -> bool:
        """The server answered no ping: end this run, and (over HTTP, where the next run
        reaches the same server) answer calls at once until it answers again. Whether this
        ended the run."""
        if self.config.transport != "stdio" and not self._end.is_set():
            # The run's end (its session's close) and the first back-off come first.
            self.silence.found("its last ping", HTTP_CLOSE_S + RESTART.first_s)
            self.state = "not_answering"
        return self.broken(why)

    async def stop(self) -> None:
        """Stop the server (bounded by the transport's own grace: a stdio process's exit,
        `transport.HTTP_CLOSE_S` over HTTP) and do not restart it."""
        self._stopping = True
        self._end.set()
        self._wanted.set()
        task, self._task = self._task, None
        if task is not None:
            if self._session is None:
                # Still starting (or waiting for a sign-in): nothing to end gently, and the
                # start would otherwise hold the gateway's stop for its whole timeout.
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._sign_in.close()
        self.sign_in_url = None
        self.state = "stopped" if self.config.enabled else "disabled"
        self.failing = False

    # -- the owner task -----------------------------------------------------------------------

    async def _own(self) -> None:
        delay = 0.0
        while not self._stopping:
            await self._wanted.wait()
            if self._stopping:
                break
            if self._attempt is None or self._attempt.done():
                self._attempt = asyncio.get_running_loop().create_future()
            attempt = self._attempt
            self._end = asyncio.Event()
            began = time.monotonic()
            try:
                await self._run_once(attempt)
                why = self.last_error or "the server ended"
                if not self._stopping:
                    # A run that ended after it served (a crash, a kill, a hang found out):
                    # said with its cause, as a failure to start is below.
                    log.warning("MCP server %s ended: %s", self.config.name, why)
            except Exception as exc:  # any failure to start or serve: said, then retried
                why = _describe(exc)
                process = self._process
                if process is not None and process.returncode is not None:
                    why = f"{why}: {_exit_text(process.returncode)}"
                log.warning("MCP server %s failed: %s", self.config.name, why)
                if not why.startswith(TIMED_OUT):
                    self.silence.ended()  # it answers, with a failure: said as any other
            # A run that served a while (it started, answered, then ended: a crash on a call)
            # starts the back-off over: its failures in a row are over.
            served = self._session is not None and time.monotonic() - began >= SERVED_S
            self._session = None
            self.last_error = why
            # Failed before any list waited for it (a start that timed out under load while no
            # list asked): the next list must not wait `mcp.list_wait_ms` for its restart.
            self.waited_out = True
            if not attempt.done():
                attempt.set_exception(ServerDown(why))
                attempt.exception()  # retrieved: a caller may not be waiting
            if self._attempt is attempt:
                self._attempt = None
            if self._stopping:
                break
            self.state = "not_answering" if self.silence.known else "failed"
            ran = time.monotonic() - began
            delay = RESTART.after(0.0 if ran >= HEALTHY_AFTER_S or served else delay)
            self._say_failing(why)
            self.silence.next_try_in(delay)
            log.info("MCP server %s restarts in %.1f s", self.config.name, delay)
            self._next_start_at = time.monotonic() + delay
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_requested(), delay)
            finally:
                self._next_start_at = None

    def _say_failing(self, why: str) -> None:
        """Tell the desk the server fails, once until it runs again (it is restarted with a
        back-off, each failure logged)."""
        if self.failing:
            return
        self.failing = True
        self._tell(
            "error",
            f"MCP server {self.config.name} failed: {redact(why)}. Calls to its tools fail "
            "until it runs again; it is restarted by itself.",
        )

    async def _stop_requested(self) -> None:
        while not self._stopping:
            await self._end.wait()
            if self._stopping:
                return
            self._end = asyncio.Event()

    async def _run_once(self, attempt: asyncio.Future[ClientSession]) -> None:
        import anyio
        import mcp_types
        from mcp.client.session import ClientSession

        self.state = "not_answering" if self.silence.known else "starting"
        self.starts += 1
        async with contextlib.AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(await self._transport())
            session = await stack.enter_async_context(
                ClientSession(
                    read,
                    write,
                    message_handler=self._on_message,
                    client_info=mcp_types.Implementation(
                        name="llmgw-desktop", version=self._version or "0"
                    ),
                )
            )
            # With OAuth, `initialize` is the first request, the one the sign-in happens in.
            signing = SIGN_IN_TIMEOUT_S if self.config.oauth else 0.0
            with anyio.fail_after(self.start_timeout_s + signing):
                await session.initialize()
                await self._refresh(session)
            self._session = session
            self.state = "running"
            self.last_error = ""
            self.silence.ended()
            if self.failing:
                self.failing = False
                self._tell("info", f"MCP server {self.config.name} runs again.")
            if not attempt.done():
                attempt.set_result(session)
            log.info("MCP server %s is running (%d tools)", self.config.name, len(self.tools))
            if self.waited_out:
                # A list went on without it: the sessions that saw it are told to list again.
                for kind in ("tools", "prompts", "resources"):
                    self._on_lists_changed(self.config.name, kind)
            await self._end.wait()
            if not self._stopping and self._process is not None and self._process.ended.is_set():
                self.last_error = _exit_text(self._process.returncode)

    async def _transport(self) -> contextlib.AbstractAsyncContextManager[tuple[Any, Any]]:
        config = self.config
        if config.transport == "stdio":
            from llmgw_desktop.engine.upstream_mcp.stdio import ServerProcess, stdio_streams

            process = ServerProcess(ended=self._end)
            self._process = process
            env = child_environment() | await resolved(
                config, config.env or {}, "env", self._secret
            )
            cwd = await asyncio.to_thread(lambda: Path(config.cwd or "~").expanduser())
            argv = (config.command, *config.args)
            # One entry past the cap: enough to know the server listed more than it.
            return stdio_streams(
                argv, env, cwd, self._lifeline, process, most_listed=self.max_tools + 1
            )
        return await http_streams(
            config,
            secret=self._secret,
            vault=self._vault,
            sign_in=self._sign_in,
            version=self._version,
        )

    async def _refresh(self, session: ClientSession) -> None:
        """Read what the server offers (`lists.py`), within the start timeout; the lists
        change only once all were read.

        Raises:
            TimeoutError: the server did not answer in time (the lists read last are kept).
        """
        most = self.max_tools
        listing = await read_listing(session, most, self.start_timeout_s)
        self.left_out = listing.left_out
        if self.left_out:
            log.warning(
                "MCP server %s lists more than mcp.max_tools_per_server (%d): %s left out",
                self.config.name,
                most,
                ", ".join(f"at least {n} {kind}" for kind, n in self.left_out.items()),
            )
        if self._pins is not None:
            await self._pins.observe(self.config.name, listing.tools)
        self.tools, self.prompts = listing.tools, listing.prompts
        self.resources, self.templates = listing.resources, listing.templates
        self.listed = True

    async def _on_message(self, message: Any) -> None:
        """Notifications from the server: a changed list is read again, and the change passed
        on by its kind ("tools", "prompts" or "resources")."""
        import mcp_types

        kinds: dict[type[Any], str] = {
            mcp_types.ToolListChangedNotification: "tools",
            mcp_types.PromptListChangedNotification: "prompts",
            mcp_types.ResourceListChangedNotification: "resources",
        }
        kind = kinds.get(type(message))
        if kind is None or self._session is None:
            return
        self._changed_kinds.add(kind)
        if not self._rereading:
            # At most one reading at a time and one each REREAD_EVERY_S: a server saying its
            # lists changed over and over cannot keep the gateway parsing them.
            self._rereading = True
            self._tasks.spawn(self._reread_changed(), name=f"mcp-server-{self.config.name}-lists")

    async def _reread_changed(self) -> None:
        try:
            wait = self._reread_at + REREAD_EVERY_S - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            session = self._session
            kinds, self._changed_kinds = self._changed_kinds, set()
            if session is None or self._end.is_set():
                return
            self._reread_at = time.monotonic()
            try:
                await self._refresh(session)
            except Exception as exc:
                log.warning("MCP server %s: could not re-read its lists: %s", self.config.name, exc)
                return
            for kind in sorted(kinds):
                self._on_lists_changed(self.config.name, kind)
        finally:
            self._rereading = False


def _exit_text(code: int | None) -> str:
    if code is None:
        return "the server ended"
    if code < 0:
        return f"the server was killed by signal {-code}"
    return f"the server exited with status {code}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, TimeoutError):
        return f"{TIMED_OUT} or list what it offers in time (mcp.start_timeout_ms)"
    if isinstance(exc, FileNotFoundError):
        return f"no such program: {exc.filename or exc}"
    return str(exc) or type(exc).__name__
