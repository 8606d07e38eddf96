"""One turn with an ACP agent, as its client: initialize, a new (or loaded) session, one
prompt, the agent's updates collected, its permission requests put to whoever decides.

The turn runs inside the process runner (`process.Conversation`), so the agent is started,
timed, capped and killed as every CLI is; the turn only talks. It never raises: how it ended
is kept on the turn (`failure`), and the adapter's parser turns that into a result or a
structured failure. The client offers no file system and no terminal: the agent uses its own
tools, each under its own permission requests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw_desktop.engine.lines import LineTooLong
from llmgw_desktop.engine.providers.acp.framing import NdjsonPipe
from llmgw_desktop.engine.providers.acp.usage import (
    usage_from_chunk_meta,
    usage_from_prompt_result,
)
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "AcpTurn",
    "PermissionAnswer",
    "PermissionAsk",
    "PermissionAsker",
    "TurnFailure",
    "TurnPlan",
]

log = logging.getLogger(__name__)

CLIENT_NAME = "llmgw-desktop"


@dataclass(frozen=True)
class PermissionAsk:
    """An agent's request to run one tool call, as the person deciding sees it."""

    agent: str
    session_id: str
    title: str
    kind: str
    tool_call_id: str
    detail: str  # the tool call's raw input, as JSON, cut short
    options: tuple[tuple[str, str, str], ...]  # (option id, name, kind)
    # The paths the agent says the call touches, and its whole raw input: what the check
    # against the caller's grant reads (`calls/permission_check.py`).
    locations: tuple[str, ...] = ()
    raw_input: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class PermissionAnswer:
    """Whether a permission request is allowed, and why not (for the call's warnings)."""

    allowed: bool
    why: str = ""


PermissionAsker = Callable[[PermissionAsk], Awaitable[PermissionAnswer]]


@dataclass(frozen=True)
class TurnPlan:
    """What one turn asks of the agent."""

    agent: str  # the provider id, for messages
    cwd: Path
    prompt: str
    model: str | None = None
    # The model its environment told it (`ProviderRequest.model_told`): the turn's, not chosen.
    told_model: str | None = None
    resume_id: str | None = None
    init_timeout_s: float = 60.0
    max_line_bytes: int = 8 * 1024 * 1024
    # Options its adapter takes only in `session/new` (and `session/load`), as `_meta`: a
    # confined run's (`providers/confinement.py`).
    session_meta: Mapping[str, Any] = field(default_factory=dict)
    images: tuple[tuple[str, str], ...] = ()  # sent with the prompt, (media type, base64 data)


@dataclass(frozen=True)
class TurnFailure:
    """Why a turn did not end with an answer: `kind` is `no_initialize` (the agent never
    answered), `protocol` (it broke JSON-RPC or ACP), `refused` (it answered an error),
    `ended` (its output ended mid-turn: it crashed or quit)."""

    kind: str
    message: str
    code: int | None = None


@dataclass
class AcpTurn:
    """The client side of one turn; `run` is the process runner's conversation."""

    plan: TurnPlan
    permissions: PermissionAsker | None = None
    # An editor the turn's updates go on to as they come (`peer.AcpPeer`), or None.
    forward: Callable[[Any], Awaitable[None]] | None = None
    text_parts: list[str] = field(default_factory=list)
    events: int = 0
    session_id: str | None = None
    stop_reason: str | None = None
    usage: Usage | None = None
    agent_name: str | None = None
    # The model the agent was set to (its own choice, unnamed, where None).
    model: str | None = None
    failure: TurnFailure | None = None
    warnings: list[str] = field(default_factory=list)
    asked: int = 0
    _loading: bool = False

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    async def run(
        self,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        tap: Callable[[bytes], object],
    ) -> None:
        """Talk to the agent until the prompt is answered or the talk breaks; never raises
        (but for cancellation)."""
        import acp

        pipe = NdjsonPipe(stdout, stdin, max_line_bytes=self.plan.max_line_bytes, tap=tap)
        client: Any = _TurnClient(self)  # the SDK's `Client` protocol, structurally
        conn = acp.connect_to_agent(client, pipe, observers=[self._observe])
        try:
            await self._talk(conn)
        except TimeoutError:
            self.failure = TurnFailure(
                "no_initialize",
                f"the agent did not answer initialize within {self.plan.init_timeout_s:g} s",
            )
        except acp.RequestError as exc:
            self.failure = TurnFailure("refused", _request_error_text(exc), exc.code)
        except (ConnectionError, LineTooLong) as exc:
            why = str(exc) if isinstance(exc, LineTooLong) else "its output ended"
            self.failure = TurnFailure("ended", f"the agent stopped mid-turn: {why}")
        except ValueError as exc:  # the SDK's schema refused what the agent answered
            self.failure = TurnFailure("protocol", f"the agent broke the protocol: {exc}")
        finally:
            if pipe.malformed:
                self.warnings.append(
                    f"the agent printed {pipe.malformed} line(s) that are not JSON-RPC"
                )
            await conn.close()

    async def _talk(self, conn: Any) -> None:
        from acp import PROTOCOL_VERSION, schema

        init = await asyncio.wait_for(
            conn.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=schema.ClientCapabilities(),
                client_info=schema.Implementation(name=CLIENT_NAME, version="1"),
            ),
            self.plan.init_timeout_s,
        )
        if init.agent_info is not None:
            self.agent_name = init.agent_info.name
        cwd = str(self.plan.cwd)
        capabilities = init.agent_capabilities
        if self.plan.images and not _takes_images(capabilities):
            self.failure = TurnFailure(
                "refused", "the agent takes no images (its promptCapabilities): attach text only"
            )
            return
        can_load = capabilities is not None and bool(capabilities.load_session)
        config_options: list[Any] = []
        if self.plan.resume_id and can_load:
            self._loading = True  # the history it replays is not this turn's answer
            loaded = await conn.load_session(
                cwd=cwd, session_id=self.plan.resume_id, mcp_servers=[], **self.plan.session_meta
            )
            self._loading = False
            self.session_id = self.plan.resume_id
            config_options = list(getattr(loaded, "config_options", None) or [])
        else:
            if self.plan.resume_id:
                self.warnings.append("the agent cannot load sessions: a new one was started")
            new = await conn.new_session(cwd=cwd, mcp_servers=[], **self.plan.session_meta)
            self.session_id = new.session_id
            config_options = list(new.config_options or [])
        if self.plan.told_model:
            self.model = self.plan.told_model
        elif self.plan.model:
            await self._choose_model(conn, config_options)
        answer = await conn.prompt(
            session_id=self.session_id,
            prompt=[
                schema.TextContentBlock(type="text", text=self.plan.prompt),
                *(
                    schema.ImageContentBlock(type="image", mime_type=mime, data=data)
                    for mime, data in self.plan.images
                ),
            ],
        )
        self.stop_reason = str(getattr(answer.stop_reason, "value", answer.stop_reason))

    async def _choose_model(self, conn: Any, options: list[Any]) -> None:
        model = self.plan.model
        for option in options:
            inner = getattr(option, "root", option)
            if getattr(inner, "category", None) != "model":
                continue
            values = {getattr(getattr(o, "root", o), "value", None) for o in _flat(inner)}
            # claude-agent-acp 0.23.1 offers "sonnet[1m]" and "opus[1m]", not the bare aliases
            # Claude Code takes: a bare one is the one variant of it offered, said so.
            variants = [v for v in values if isinstance(v, str) and v.split("[", 1)[0] == model]
            if model not in values and len(variants) == 1:
                self.warnings.append(f"the agent offers {model!r} as {variants[0]!r}: taken")
                model = variants[0]
            if model not in values:
                offered = ", ".join(sorted(str(v) for v in values if v))
                self.warnings.append(
                    f"the agent does not offer the model {model!r} (it offers {offered}): it "
                    "used its own"
                )
                return
            await conn.set_config_option(
                config_id=inner.id, session_id=self.session_id, value=model
            )
            self.model = model
            return
        self.warnings.append("the agent offers no model choice over ACP: it used its own")

    def _observe(self, event: Any) -> None:
        """Usage from the raw messages: the agents put it in places the schema leaves open."""
        if event.direction.value != "incoming":
            return
        message = event.message
        result = message.get("result")
        if isinstance(result, dict) and "stopReason" in result:
            self.usage = usage_from_prompt_result(result) or self.usage
            return
        if message.get("method") == "session/update" and not self._loading:
            params = message.get("params") or {}
            update = params.get("update") if isinstance(params, dict) else None
            if isinstance(update, dict):
                found = usage_from_chunk_meta(update)
                if found is not None:
                    self.usage = found

    def on_update(self, session_id: str, update: Any) -> bool:
        """One `session/update`: the answer's text is kept, everything counted; whether it is
        this turn's (not the history a loaded session replays)."""
        if self._loading or session_id != self.session_id:
            return False
        self.events += 1
        if getattr(update, "session_update", None) != "agent_message_chunk":
            return True
        content = getattr(update, "content", None)
        text = getattr(content, "text", None)
        if isinstance(text, str):
            self.text_parts.append(text)
        return True

    async def decide(self, session_id: str, tool_call: Any, options: list[Any]) -> Any:
        """An agent's permission request: the option to answer with (allow once, reject
        once), or a cancelled outcome when nothing fits; never allows for always. Whoever
        `permissions` is decides (`calls/acp_permissions.py`: the caller's grant first)."""
        from acp import schema

        self.asked += 1
        ask = _ask_of(self.plan.agent, session_id, tool_call, options)
        if self.permissions is None:
            answer = PermissionAnswer(False, "nobody can answer permission requests")
        else:
            answer = await self.permissions(ask)
        if not answer.allowed and answer.why:
            self.warnings.append(f"denied {ask.title!r}: {answer.why}")
        kinds = {str(getattr(o.kind, "value", o.kind)): o.option_id for o in options}
        chosen = kinds.get("allow_once") if answer.allowed else kinds.get("reject_once")
        if chosen is None and not answer.allowed:
            chosen = kinds.get("reject_always")
        if chosen is None:
            return schema.RequestPermissionResponse(
                outcome=schema.DeniedOutcome(outcome="cancelled")
            )
        return schema.RequestPermissionResponse(
            outcome=schema.AllowedOutcome(outcome="selected", option_id=chosen)
        )


def _ask_of(agent: str, session_id: str, tool_call: Any, options: list[Any]) -> PermissionAsk:
    """The request as the deciding side sees it: its kind (`other` when none), title, raw
    input and the paths its locations name."""
    kind = str(getattr(tool_call.kind, "value", tool_call.kind) or "other")
    raw = tool_call.raw_input
    locations = tuple(
        str(location.path)
        for location in (getattr(tool_call, "locations", None) or [])
        if getattr(location, "path", None)
    )
    return PermissionAsk(
        agent=agent,
        session_id=session_id,
        title=str(tool_call.title or tool_call.tool_call_id),
        kind=kind,
        tool_call_id=tool_call.tool_call_id,
        detail=json.dumps(raw, default=str)[:2000] if raw is not None else "",
        options=tuple(
            (o.option_id, o.name, str(getattr(o.kind, "value", o.kind))) for o in options
        ),
        locations=locations,
        raw_input=raw,
    )


class _TurnClient:
    """The ACP `Client` the SDK calls: updates and permission requests go to the turn."""

    def __init__(self, turn: AcpTurn) -> None:
        self._turn = turn

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        turn = self._turn
        if turn.on_update(session_id, update) and turn.forward is not None:
            await turn.forward(update)

    async def request_permission(
        self, options: list[Any], session_id: str, tool_call: Any, **_: Any
    ) -> Any:
        return await self._turn.decide(session_id, tool_call, options)

    def on_connect(self, conn: Any) -> None:
        """Nothing to keep: the turn holds the connection."""


def _flat(option: Any) -> list[Any]:
    """A select option's values, whether listed flat or in groups."""
    listed = getattr(option, "options", None) or []
    out: list[Any] = []
    for item in listed:
        inner = getattr(item, "root", item)
        group = getattr(inner, "options", None)
        out.extend(group if group else [inner])
    return out


def _request_error_text(exc: Exception) -> str:
    data = getattr(exc, "data", None)
    details = data.get("details") if isinstance(data, dict) else None
    return f"{exc}" + (f" ({details})" if details else "")


def _takes_images(capabilities: Any) -> bool:
    prompt = getattr(capabilities, "prompt_capabilities", None)
    return bool(getattr(prompt, "image", False))
