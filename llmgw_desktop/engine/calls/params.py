"""CallParams: what a caller may ask of a provider call, checked before anything runs.

Every front door (MCP tools, HTTP) builds one of these; `validated()` is the single place the
rules live, so a bad request gets the same clear error whichever door it came through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config.upstream_mcp import SERVER_NAME
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest
from llmgw_desktop.engine.providers.base import PERMISSION_MODES, PromptParts

if TYPE_CHECKING:
    from llmgw_desktop.engine.auth.principals import Principal
    from llmgw_desktop.engine.providers.acp.peer import AcpPeer

__all__ = ["CallParams", "RequestMeta", "checked_working_dir", "record_fields"]

MAX_PROMPT_CHARS = 4_000_000
MAX_MCP_SERVERS = 20
# Values that become separate argv entries must not look like flags to the CLI.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+\[\]=-]{0,199}$")
_SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")


def checked_working_dir(value: str, param: str = "workingDir") -> str:
    """`value` as an absolute, existing, resolved directory.

    Raises:
        InvalidRequest: it is relative or is not an existing directory.
    """
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise InvalidRequest(f"{param} {value!r} must be an absolute path", param=param)
    if not path.is_dir():
        raise InvalidRequest(
            f"{param} {value!r} is not an existing directory",
            code=ErrorCode.INVALID_WORKING_DIR,
            param=param,
        )
    return str(path.resolve())


@dataclass(frozen=True)
class RequestMeta:
    """How a call arrived and what the caller asked of the gateway itself (not of the CLI)."""

    transport: str = "engine"  # "mcp-http", "mcp-stdio", "http", "desktop", ...
    tool: str = ""
    caller: str = ""
    approval_strategy: str = "legacy"
    full_auto: bool = False
    optimize_prompt: bool = False
    optimize_response: bool = False
    compress_response: bool = False
    # The credential scope: vault auth files of this project (then global) reach the CLI.
    project: str | None = None
    # The recorder row id to use, when the front door already promised it to the client (the
    # HTTP bridge's `x-gateway-request-id`); else the recorder makes one.
    record_id: str | None = None
    # The recorder row this call re-sends (the playground's Compare on a CLI bridge model): its
    # row's route names it as `replayOf`, as an API target's route does.
    replay_of: str | None = None
    # The editor an ACP agent's turn talks through (`llmgw-desktop acp --agent`): its updates
    # and permission requests go there. Not part of what makes two calls the same.
    acp_peer: AcpPeer | None = field(default=None, compare=False)
    # The caller as its credential proved it (its scopes included): an agent the gateway starts
    # for the call calls its models back with a connection key standing for it
    # (`auth/agent_callbacks.py`). None where the front door had none to pass.
    proven: Principal | None = field(default=None, compare=False)
    # The outbound guard read this call's prompt already (a CLI behind the gateway: the
    # gateway decided for its request), so the call is not read again.
    guarded: bool = field(default=False, compare=False)
    # The session the client named (a coding tool's own, through the gateway): its rows keep
    # it. Not part of what makes two calls the same.
    client_session: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CallParams:
    """One provider call as the caller described it."""

    prompt: str | None = None
    prompt_parts: PromptParts | None = None
    model: str | None = None
    session_id: str | None = None
    resume_latest: bool = False
    create_new_session: bool = False
    fork: bool = False
    permission_mode: str = "default"
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    working_dir: str | None = None
    timeout_ms: int | None = None
    idle_timeout_ms: int | None = None
    force_refresh: bool = False
    correlation_id: str | None = None
    # A registered workspace to run in, instead of working_dir (the engine resolves it).
    workspace: str | None = None
    # The gateway's MCP servers (`[mcp.servers.NAME]`) the CLI is given for this call.
    mcp_servers: tuple[str, ...] = ()

    @property
    def rendered_prompt(self) -> str:
        """The prompt as one string (prompt parts in their canonical order)."""
        if self.prompt_parts is not None:
            return self.prompt_parts.render()
        return self.prompt or ""

    def validated(self) -> CallParams:
        """This request, checked.

        Raises:
            InvalidRequest: naming the parameter that is wrong and why.
        """
        self._check_prompt()
        if self.permission_mode not in PERMISSION_MODES:
            raise InvalidRequest(
                f"permissionMode must be one of {', '.join(PERMISSION_MODES)}",
                param="permissionMode",
            )
        if self.model is not None and not _NAME.fullmatch(self.model):
            raise InvalidRequest(f"model {self.model!r} is not a valid model name", param="model")
        self._check_conversation()
        self._check_names()
        for name, value in (
            ("timeoutMs", self.timeout_ms),
            ("idleTimeoutMs", self.idle_timeout_ms),
        ):
            if value is not None and value < (1 if name == "timeoutMs" else 0):
                raise InvalidRequest(
                    f"{name} must be a positive number of milliseconds", param=name
                )
        if self.working_dir is not None:
            return replace(self, working_dir=checked_working_dir(self.working_dir))
        return self

    def _check_prompt(self) -> None:
        """Exactly one of `prompt` and `promptParts`, not empty, not too long.

        Raises:
            InvalidRequest: naming which.
        """
        if self.prompt is not None and self.prompt_parts is not None:
            raise InvalidRequest(
                "provide exactly one of `prompt` or `promptParts`, not both", param="prompt"
            )
        if self.prompt is None and self.prompt_parts is None:
            raise InvalidRequest("one of `prompt` or `promptParts` is required", param="prompt")
        if self.prompt_parts is not None and not self.prompt_parts.task.strip():
            raise InvalidRequest("promptParts.task is empty", param="promptParts.task")
        if self.prompt is not None and not self.prompt.strip():
            raise InvalidRequest("prompt is empty", param="prompt")
        if len(self.rendered_prompt) > MAX_PROMPT_CHARS:
            raise InvalidRequest(
                f"the prompt is longer than {MAX_PROMPT_CHARS} characters", param="prompt"
            )

    def _check_conversation(self) -> None:
        """At most one way of choosing the conversation, and a session id of the right form.

        Raises:
            InvalidRequest: naming the parameters that contradict each other.
        """
        if self.session_id is not None and not _SESSION.fullmatch(self.session_id):
            raise InvalidRequest(
                f"sessionId {self.session_id!r} is not a valid session id", param="sessionId"
            )
        if self.session_id and self.create_new_session:
            raise InvalidRequest(
                "sessionId continues a conversation; createNewSession starts one: pick one",
                param="createNewSession",
            )
        if self.session_id and self.resume_latest:
            raise InvalidRequest(
                "sessionId and resumeLatest both choose the conversation: pick one",
                param="resumeLatest",
            )
        if self.resume_latest and self.create_new_session:
            raise InvalidRequest(
                "resumeLatest and createNewSession contradict each other", param="resumeLatest"
            )

    def _check_names(self) -> None:
        """The tool and MCP server names given are names (never a flag for the CLI).

        Raises:
            InvalidRequest: naming the list and the name.
        """
        for name, tools in (
            ("allowedTools", self.allowed_tools),
            ("disallowedTools", self.disallowed_tools),
        ):
            for tool in tools:
                if not tool or tool.startswith("-") or len(tool) > 200:
                    raise InvalidRequest(f"{name} has an invalid tool name {tool!r}", param=name)
        if len(self.mcp_servers) > MAX_MCP_SERVERS:
            raise InvalidRequest(
                f"mcpServers names more than {MAX_MCP_SERVERS} servers", param="mcpServers"
            )
        for server in self.mcp_servers:
            if not SERVER_NAME.fullmatch(server):
                raise InvalidRequest(
                    f"mcpServers has an invalid server name {server!r}", param="mcpServers"
                )

    def canonical(self) -> dict[str, Any]:
        """The arguments that make two calls the same call (for dedup), without bookkeeping."""
        parts = self.prompt_parts
        return {
            "prompt": self.prompt,
            "promptParts": None
            if parts is None
            else {
                "system": parts.system,
                "tools": parts.tools,
                "context": parts.context,
                "task": parts.task,
            },
            "model": self.model,
            "sessionId": self.session_id,
            "resumeLatest": self.resume_latest,
            "createNewSession": self.create_new_session,
            "fork": self.fork,
            "permissionMode": self.permission_mode,
            "allowedTools": list(self.allowed_tools),
            "disallowedTools": list(self.disallowed_tools),
            "workingDir": self.working_dir,
            "timeoutMs": self.timeout_ms,
            "idleTimeoutMs": self.idle_timeout_ms,
            # Only when named: a call without them keeps the key it always had.
            **({"mcpServers": list(self.mcp_servers)} if self.mcp_servers else {}),
        }


def record_fields(
    provider: str, params: CallParams, principal: str, meta: RequestMeta
) -> dict[str, Any]:
    """What every flight-recorder row of a provider call names, whichever step ends it (a
    refusal by the remote-power gate, a budget, the approval gate, or the run itself)."""
    return {
        "record_id": meta.record_id,
        "principal": principal,
        "provider": provider,
        "transport": meta.transport,
        "tool": meta.tool,
        "caller": meta.caller,
        "model": params.model,
        "correlation_id": params.correlation_id,
        "project": meta.project,
        "replay_of": meta.replay_of,
        "client_session": meta.client_session,
    }
