"""`llmgw-desktop acp --agent NAME`: a coding agent the gateway runs, fronted for an editor.

The editor speaks ACP to this `Agent` (over the `/acp` socket, `socket_route.py`); every
`session/prompt` is one turn of the agent, run by the engine as a provider call
(`engine.runner`): the switches, budgets, the remote-power gate and workspaces, a job (the Jobs
page), a recorder row on the editor's lane (its `clientInfo` name; the Agents page), the
agent spawned under the child-environment and lifeline rules. The agent's updates stream to the
editor as they come and its permission requests are put to the editor, mirrored on the desk
(`engine.AcpPeer`). `session/cancel` cancels the turn's job, which kills the agent's process
group. An editor session continues the agent's own session from turn to turn (loaded by the
agent where it can); `session/load` replays what this gateway process holds of it. The editor
can switch the agent and the model inside a session (config options `agent` and `model`).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import acp
from acp import schema

from llmgw_desktop.engine.api import (
    AcpPeer,
    Call,
    CallParams,
    Engine,
    EngineError,
    InvalidRequest,
    PermissionAsk,
    Principal,
    RequestMeta,
)
from llmgw_desktop.transports.acp.front_sessions import FrontSession, FrontSessions
from llmgw_desktop.transports.acp.prompt_blocks import initialize_response, read_prompt

__all__ = ["AgentFront"]

AGENT_OPTION, MODEL_OPTION = "agent", "model"
OWN_MODEL = "default"  # the model option that sends none: the agent uses its own
GATEWAY_ERROR = -32000  # JSON-RPC's server-error range: the gateway refused or failed a turn
WAIT_STEP_S = 3600.0  # a turn is waited on in steps this long (the job has its own timeouts)
# The permission options an editor is offered: an answer holds for the one call it is for.
ONCE_KINDS = frozenset({"allow_once", "reject_once"})


class AgentFront:
    """The ACP `Agent` the SDK calls for one editor connection."""

    def __init__(
        self,
        engine: Engine,
        principal: Principal,
        agent: str,
        *,
        sessions: FrontSessions,
        gateway_url: str,
        version: str,
        caller: str = "acp-editor",
        recheck: Callable[[], Awaitable[Principal | EngineError]] | None = None,
        charge: Callable[[], EngineError | None] | None = None,
    ) -> None:
        """`recheck` checks the credential the editor connected with again (each turn);
        `charge` charges a turn to its rate limit (its refusal when over)."""
        self._engine = engine
        self._recheck = recheck
        self._charge = charge
        self._turns = 0
        self._principal = principal
        self._agent = agent
        self._sessions = sessions
        self._gateway_url = gateway_url
        self._version = version
        self._caller = caller
        self._key = ""
        self._mine: set[str] = set()
        self._conn: Any = None

    def on_connect(self, conn: Any) -> None:
        """The editor's side of the connection, for updates and permission requests."""
        self._conn = conn

    async def close(self) -> None:
        """The editor left: its running turns are cancelled, its key revoked."""
        for session_id in self._mine:
            session = self._sessions.get(self._principal.id, session_id)
            if session is not None and session.job_id is not None:
                await self._cancel_job(session)
        if self._key:
            self._engine.auth.revoke_connection_key(self._key)
            self._key = ""

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: Any = None,
        client_info: Any = None,
        **_: Any,
    ) -> schema.InitializeResponse:
        # The editor's own name, unless the key carries one (`Principal.lane`).
        if client_info is not None and client_info.name:
            self._caller = self._principal.lane(str(client_info.name)[:80])
        name = self._engine.providers.catalog().info(self._agent).display_name
        return initialize_response(
            protocol_version, f"{name} through the LLM gateway", self._version
        )

    async def authenticate(self, method_id: str, **_: Any) -> None:
        """Nothing to sign in to: the agent uses its own login, its model calls the gateway."""

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> Any:
        session_id = f"gw-acp-{uuid.uuid4().hex}"
        session = FrontSession(self._agent, cwd)
        self._sessions.add(self._principal.id, session_id, session)
        self._mine.add(session_id)
        return schema.NewSessionResponse(
            session_id=session_id, config_options=self._options(session)
        )

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: Any = None, **_: Any
    ) -> Any:
        session = self._sessions.get(self._principal.id, session_id)
        if session is None:
            raise acp.RequestError.resource_not_found(session_id)
        self._mine.add(session_id)
        for update in list(session.replay):
            await self._conn.session_update(session_id=session_id, update=update)
        return schema.LoadSessionResponse(config_options=self._options(session))

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **_: Any
    ) -> Any:
        session = self._session(session_id)
        catalog = self._engine.providers.catalog()
        if config_id == AGENT_OPTION and isinstance(value, str) and value in catalog:
            session.agent, session.model = value, None
        elif config_id == MODEL_OPTION and isinstance(value, str) and value:
            session.model = None if value == OWN_MODEL else value
        else:
            raise acp.RequestError.invalid_params({"configId": config_id, "value": value})
        return schema.SetSessionConfigOptionResponse(config_options=self._options(session))

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> Any:
        session = self._session(session_id)
        await self._still_proven()
        self._charge_turn()
        text, images = await self._read(session, prompt)
        if session.job_id is not None:
            raise acp.RequestError.invalid_request({"prompt": "a turn is still running"})
        for block in prompt:
            session.replay.append(acp.update_user_message(_replayed(block)))
        session.cancelled.clear()
        resume = session.agent_sessions.get(session.agent)
        workspace = None if resume else await self._workspace_at(session.cwd)
        params = CallParams(
            prompt=text,
            model=session.model,
            session_id=resume,
            create_new_session=resume is None,
            working_dir=None if resume or workspace else session.cwd,
            workspace=workspace,
            force_refresh=True,  # the same words twice are two turns, never one job
        )
        meta = RequestMeta(
            transport="acp",
            tool="session/prompt",
            caller=self._caller,
            acp_peer=AcpPeer(
                ask=lambda question: self._ask_editor(session_id, question),
                update=lambda update: self._forward(session_id, update),
                gateway_url=self._gateway_url,
                gateway_key=self._connection_key(),
                images=images,
            ),
            proven=self._principal,
        )
        call = Call(session.agent, params, self._principal.id, meta)
        try:
            started = await self._engine.runner.start(call)
        except EngineError as exc:
            raise _editor_error(exc) from None
        session.job_id = started.job_id
        try:
            view = await self._finished(session, started.job_id)
        except asyncio.CancelledError:
            # The editor's connection went mid-turn: the agent must not run on unseen.
            await asyncio.shield(self._cancel_job(session))
            raise
        finally:
            session.job_id = None
        if view is None:
            return schema.PromptResponse(stop_reason="cancelled")
        if view.error:
            error = view.error
            raise acp.RequestError(
                GATEWAY_ERROR, f"the turn failed: {error.get('message', '')}", error
            )
        return await self._answered(session_id, session, view.result or {})

    async def cancel(self, session_id: str, **_: Any) -> None:
        session = self._sessions.get(self._principal.id, session_id)
        if session is not None:
            session.cancelled.set()

    def _charge_turn(self) -> None:
        """Charge this turn to the editor's rate limit, as its next HTTP request would be: the
        first turn is the socket's opening, charged at the edge. Over the limit the turn is
        refused and the connection stays (its agent's running turns go on).

        Raises:
            acp.RequestError: `rate_limited`, with the wait.
        """
        self._turns += 1
        if self._charge is None or self._turns == 1:
            return
        refused = self._charge()
        if refused is not None:
            raise _editor_error(refused)

    async def _still_proven(self) -> None:
        """Refuse a turn once the editor's credential no longer proves its principal: the
        socket was authenticated when it opened, and a key revoked since (by any process), an
        access token expired or revoked, must stop it as they stop the next HTTP request. The
        agent's connection key is revoked with it, so its callbacks stop too.

        Raises:
            acp.RequestError: the gateway's refusal (`key_revoked`, `unauthorized`, ...).
        """
        if self._recheck is None:
            return
        now = await self._recheck()
        if isinstance(now, Principal) and now.id == self._principal.id:
            return
        if self._key:
            self._engine.auth.revoke_connection_key(self._key)
            self._key = ""
        if isinstance(now, Principal):  # the same credential names another caller now
            raise acp.RequestError(
                GATEWAY_ERROR,
                f"the gateway refused the turn: this connection was opened as "
                f"{self._principal.id}; reconnect",
                {"code": "unauthorized"},
            )
        raise _editor_error(now)

    async def _read(
        self, session: FrontSession, prompt: list[Any]
    ) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The prompt's text with its text files in it, and its images: linked files read
        inside the session's folder, and only where the caller may read it (a remote caller:
        a workspace it is granted).

        Raises:
            acp.RequestError: an attachment refused (outside, too large, not text nor an
                image), images for a CLI that takes none, or an empty prompt.
        """
        granted = not self._principal.remote or await self._workspace_at(session.cwd)
        folder = Path(session.cwd) if granted else None
        limit = self._engine.settings.providers.max_attached_bytes
        catalog = self._engine.providers.catalog()
        try:
            read = await read_prompt(prompt, folder, limit)
            text = read.as_text()
            if read.images and not catalog.info(session.agent).speaks_acp:
                raise InvalidRequest(
                    f"{session.agent} takes no images through the gateway: attach text only",
                    param="prompt",
                )
        except InvalidRequest as exc:
            raise _editor_error(exc) from None
        images = tuple((i.mime, base64.b64encode(i.data).decode("ascii")) for i in read.images)
        return text, images

    def _connection_key(self) -> str:
        """The key the agent's model calls come back with: the caller's principal and lane
        (issued at the first turn, once the editor has said its name)."""
        if not self._key:
            self._key = self._engine.auth.issue_connection_key(self._principal, self._caller)
        return self._key

    async def _workspace_at(self, cwd: str) -> str | None:
        """A remote caller runs in a registered workspace only, named, never a path it gives:
        the one the editor's folder is (else the path goes on, and is refused with why)."""
        if not self._principal.remote:
            return None
        found = await self._engine.workspaces.at_directory(self._principal.id, cwd)
        return found.name if found is not None else None

    async def _finished(self, session: FrontSession, job_id: str) -> Any:
        """The turn's job once it ended, or None when the editor cancelled it."""
        principal = self._principal.id
        while True:
            async with asyncio.TaskGroup() as group:
                waiting = group.create_task(
                    self._engine.runner.collect(job_id, principal, WAIT_STEP_S)
                )
                stop = group.create_task(session.cancelled.wait())
                await asyncio.wait({waiting, stop}, return_when=asyncio.FIRST_COMPLETED)
                cancelled = stop.done() and not waiting.done()
                waiting.cancel()
                stop.cancel()
            if cancelled:
                await self._cancel_job(session)
                return None
            outcome = waiting.result()
            if outcome.view.finished:
                return outcome.view

    async def _cancel_job(self, session: FrontSession) -> None:
        if session.job_id is not None:
            # The job's process group is killed: the agent and every child it started.
            await self._engine.jobs.cancel(session.job_id, self._principal.id)

    async def _answered(
        self, session_id: str, session: FrontSession, result: dict[str, Any]
    ) -> Any:
        agent_session = result.get("session_id")
        if isinstance(agent_session, str) and agent_session:
            session.agent_sessions[session.agent] = agent_session
        if not self._engine.providers.catalog().info(session.agent).speaks_acp:
            # A CLI without ACP streams nothing: its whole answer comes at the end.
            await self._forward(session_id, acp.update_agent_message_text(result.get("text", "")))
        stop = result.get("stop_reason") or "end_turn"
        known = {"end_turn", "max_tokens", "max_turn_requests", "refusal", "cancelled"}
        return schema.PromptResponse(stop_reason=cast(Any, stop if stop in known else "end_turn"))

    async def _forward(self, session_id: str, update: Any) -> None:
        session = self._sessions.get(self._principal.id, session_id)
        if session is not None:
            session.replay.append(update)
        await self._conn.session_update(session_id=session_id, update=update)

    async def _ask_editor(self, session_id: str, question: PermissionAsk) -> bool:
        """The editor's answer to one permission request of the agent, for this call only,
        asked only once the caller's grant allows it (`calls/acp_permissions.py`).

        The editor is offered the agent's once-options alone: the answer goes to the agent as
        allow once or reject once (`turn.decide`), so an "Always allow" would be asked again at
        the next call. An option id the editor was not offered is a denial.
        """
        offered = [(i, name, kind) for i, name, kind in question.options if kind in ONCE_KINDS]
        if not any(kind == "allow_once" for _i, _name, kind in offered):
            return False  # nothing the editor could choose would allow it
        answer = await self._conn.request_permission(
            options=[
                schema.PermissionOption(option_id=option_id, name=name, kind=cast(Any, kind))
                for option_id, name, kind in offered
            ],
            session_id=session_id,
            tool_call=schema.ToolCallUpdate(
                tool_call_id=question.tool_call_id,
                title=question.title,
                kind=cast(Any, question.kind if question.kind in _TOOL_KINDS else "other"),
                raw_input=question.raw_input,
                locations=[schema.ToolCallLocation(path=p) for p in question.locations] or None,
            ),
        )
        chosen = getattr(answer.outcome, "option_id", None)
        kinds = {option_id: kind for option_id, _name, kind in offered}
        return kinds.get(str(chosen)) == "allow_once"

    def _options(self, session: FrontSession) -> list[Any]:
        catalog = self._engine.providers.catalog()
        agents = [session.agent, *(p.id for p in catalog if p.id != session.agent)]
        spec, bridge = catalog.spec(session.agent), catalog.bridge_of(session.agent)
        models = [OWN_MODEL, *dict.fromkeys(spec.models or bridge.models)]
        current = session.model or OWN_MODEL
        if current not in models:
            models.append(current)
        return [
            _select(
                AGENT_OPTION,
                "Agent",
                "mode",
                session.agent,
                [(a, catalog.info(a).display_name) for a in agents],
            ),
            _select(MODEL_OPTION, "Model", "model", current, [(m, m) for m in models]),
        ]

    def _session(self, session_id: str) -> FrontSession:
        session = self._sessions.get(self._principal.id, session_id)
        if session is None:
            raise acp.RequestError.resource_not_found(session_id)
        self._mine.add(session_id)
        return session


_TOOL_KINDS = {
    "read",
    "edit",
    "delete",
    "move",
    "search",
    "execute",
    "think",
    "fetch",
    "switch_mode",
    "other",
}


def _select(
    option_id: str, name: str, category: str | None, current: str, values: list[tuple[str, str]]
) -> Any:
    return schema.SessionConfigOptionSelect(
        id=option_id,
        name=name,
        category=cast(Any, category),
        type="select",
        current_value=current,
        options=[schema.SessionConfigSelectOption(value=v, name=n) for v, n in values],
    )


def _replayed(block: Any) -> Any:
    """A prompt block as `session/load` replays it: text and links as sent, an image or an
    embedded file named rather than held (a replay keeps 500 updates a session)."""
    if getattr(block, "type", None) in ("text", "resource_link"):
        return block
    resource = getattr(block, "resource", None)
    name = getattr(resource, "uri", None) or getattr(block, "uri", None) or "an image"
    return acp.text_block(f"[attached: {name}]")


def _editor_error(exc: EngineError) -> acp.RequestError:
    """A refusal before the turn ran (off, over budget, outside the workspace ...), for the
    editor: the gateway's own words and code."""
    return acp.RequestError(
        GATEWAY_ERROR, f"the gateway refused the turn: {exc.message}", exc.to_dict()
    )
