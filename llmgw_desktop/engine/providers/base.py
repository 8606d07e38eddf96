"""The shapes every CLI adapter shares: the request in, the result out, the output parser.

An adapter is sans-io: it turns a `ProviderRequest` into an `Invocation` (argv, stdin, env)
and feeds the CLI's stdout through an `OutputParser` into a `ProviderResult`. Running the
process is the runner's job; retrying is the job path's.
"""

from __future__ import annotations

import abc
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llmgw_desktop.config.cli_catalog import ProviderInfo
from llmgw_desktop.config.upstream_mcp import UpstreamServerConfig
from llmgw_desktop.engine.errors import ErrorCode, ProviderFailure
from llmgw_desktop.engine.lines import CappedLines, LineTooLong
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome, RunLimits
from llmgw_desktop.engine.tokens.pricing import Price
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "PERMISSION_MODES",
    "CliAdapter",
    "Held",
    "NdjsonBuffer",
    "NdjsonParser",
    "OutputParser",
    "Prepared",
    "PromptParts",
    "ProviderRequest",
    "ProviderResult",
    "SessionChoice",
]

# The gateway's vocabulary for what a CLI may do without asking; each adapter maps it onto
# its own flags. "bypassPermissions" is only honoured when the operator allows bypass.
PERMISSION_MODES = ("default", "plan", "acceptEdits", "bypassPermissions")


@dataclass(frozen=True)
class Held:
    """A remote caller's grant, as a run is held to it: the workspace's level (`read-only`,
    `edit`, `commands`) and whether the operator lets this caller fetch web addresses
    (`web_fetch` in `[gateway.remote_passthrough]`)."""

    level: str
    may_fetch: bool = False


@dataclass(frozen=True)
class PromptParts:
    """A prompt split into a stable prefix (system, tools, context) and the volatile task.

    Rendering keeps the canonical order system -> tools -> context -> task, so the prefix bytes
    are identical call after call and the provider's prompt cache can hit.
    """

    task: str
    system: str = ""
    tools: str = ""
    context: str = ""

    @property
    def stable_prefix(self) -> str:
        return "\n\n".join(p for p in (self.system, self.tools, self.context) if p)

    def render(self) -> str:
        prefix = self.stable_prefix
        return f"{prefix}\n\n{self.task}" if prefix else self.task


@dataclass(frozen=True)
class SessionChoice:
    """Which CLI conversation to continue: a real CLI session id, the latest, or a new one.

    `resume_id` is always the CLI's own id, never a gateway `gw-` id.
    """

    resume_id: str | None = None
    resume_latest: bool = False
    new_session_id: str | None = None  # a fresh session with this id, where the CLI allows it
    fork: bool = False  # continue from resume_id into a new branch (where the CLI allows it)


@dataclass(frozen=True)
class ProviderRequest:
    """One call to a CLI, in the gateway's terms."""

    prompt: str
    # When the caller sent parts, `prompt` is their rendering; adapters that can mark a cache
    # breakpoint (Claude's stream-json input) use the parts themselves.
    parts: PromptParts | None = None
    model: str | None = None
    # `model` was given the agent in its environment (a pointed agent told a model the
    # gateway answers, `RoutePointing.model`): it is the run's model, not chosen over ACP.
    model_told: bool = False
    session: SessionChoice = field(default_factory=SessionChoice)
    permission_mode: str = "default"
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    working_dir: Path | None = None
    extra_args: tuple[str, ...] = ()
    # Run at the confined flags of `providers/confinement.py` instead of the adapter's own
    # permission flags: a remote caller's call below the `bypass` level, or a managed rung only
    # the table's flags hold.
    confined: bool = False
    # A remote caller's grant the run is held to (None: the local user, or `bypass`): each
    # permission request its agent makes is checked against it (`calls/permission_check.py`).
    held: Held | None = None
    # The dollars a hard budget held for the call: a CLI that can stop itself at a spend
    # (Claude Code's `--max-budget-usd`) is told it, so its many turns stay near the hold.
    max_budget_usd: float | None = None
    # The gateway's price of the model that hold was priced at: a CLI stopped by the costs it
    # prints (OpenCode) has each step counted at no less than its tokens at this price, since
    # its own list may lack the model or a project's config may price it at nothing.
    budget_price: Price | None = None
    # The gateway's MCP servers handed to the CLI for this call (`providers/mcp_handoff.py`),
    # and the private file the runner wrote them to, for a CLI that reads them from one.
    mcp_servers: tuple[UpstreamServerConfig, ...] = ()
    mcp_config: Path | None = None


@dataclass(frozen=True)
class ProviderResult:
    """What a CLI answered, in one shape for every provider."""

    text: str
    provider: str
    session_id: str | None = None
    model: str | None = None
    stop_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    cost_source: str | None = None  # "cli" (reported by the CLI) or "table" (estimated)
    duration_s: float = 0.0
    exit_code: int | None = None
    warnings: tuple[str, ...] = ()
    raw_output: str = ""  # the CLI's stdout, kept for debugging (bounded by the output cap)
    # Codex and Copilot report usage summed over the whole resumed conversation; the engine
    # subtracts the previous totals of that conversation to get this turn's usage.
    usage_is_cumulative: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["usage"]["total_input_tokens"] = self.usage.total_input_tokens
        data["warnings"] = list(self.warnings)
        return data


class OutputParser(Protocol):
    """Consumes a CLI's stdout as it arrives; yields the text so far, then the result."""

    def feed(self, chunk: bytes) -> None: ...

    @property
    def partial_text(self) -> str: ...

    @property
    def events(self) -> int: ...

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        """The result of a run that ended with exit code 0.

        Raises:
            ProviderFailure: the output says the call failed, or cannot be understood.
        """
        ...


@dataclass(frozen=True)
class Prepared:
    """One run made ready: what to execute, and the parser that reads its output."""

    invocation: Invocation
    parser: OutputParser


class CliAdapter(Protocol):
    """Knows one CLI: how to call it headless and how to read what it prints."""

    info: ProviderInfo

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        """The argv, stdin and environment for `request`, and a fresh parser for its output.

        Raises:
            InvalidRequest: the request asks for something this CLI cannot do headless.
        """
        ...

    def version_args(self) -> tuple[str, ...]: ...


# A CLI's line is capped at its run's output cap, by default this (`NdjsonParser.cap_lines`).
MAX_CLI_LINE_BYTES = RunLimits.max_output_bytes


class NdjsonBuffer(CappedLines[dict[str, Any]]):
    """Splits a CLI's output into JSON objects, one per line, by the one capped line reader
    (`engine/lines.py`); lines that are not JSON objects are kept aside (`noise`). A line
    longer than the run's output cap is refused (`LineTooLong`) before it is held."""

    unit = "the CLI printed a line"
    setting = "the output cap"

    def __init__(self, max_line_bytes: int = MAX_CLI_LINE_BYTES) -> None:
        super().__init__(max_line_bytes)
        self.noise: list[str] = []
        self.count = 0

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The objects the lines `chunk` ends hold.

        Raises:
            LineTooLong: a line grew past the cap before it ended.
        """
        return self._lines(chunk)

    def flush(self) -> list[dict[str, Any]]:
        """What is left after the last newline (a final line without one)."""
        return self._lines(b"\n") if self.holds_line else []

    def _read_line(self, line: str, items: list[dict[str, Any]]) -> None:
        self._ended()
        text = line.strip()
        if not text:
            return
        try:
            value = json.loads(text)
        except ValueError:
            self.noise.append(text[:500])
            return
        if isinstance(value, dict):
            self.count += 1
            items.append(value)
        else:
            self.noise.append(text[:500])


class NdjsonParser(abc.ABC):
    """Base of the parsers for newline-delimited JSON output: hands each object to `_take`."""

    def __init__(self) -> None:
        self._lines = NdjsonBuffer()

    @property
    def events(self) -> int:
        return self._lines.count

    def cap_lines(self, max_line_bytes: int) -> None:
        """Refuse a line longer than `max_line_bytes`: the run's output cap
        (`providers.max_output_bytes`), as an ACP agent's lines are capped."""
        self._lines.max_bytes = max_line_bytes

    def feed(self, chunk: bytes) -> None:
        """Take each object the lines `chunk` ends hold.

        Raises:
            ProviderFailure: a line grew past the cap (`output_overflow`).
        """
        try:
            events = self._lines.feed(chunk)
        except LineTooLong as exc:
            raise ProviderFailure(str(exc), code=ErrorCode.OUTPUT_OVERFLOW) from None
        for event in events:
            self._take(event)

    def _drain(self) -> None:
        """Take what is left after the last newline (a final line without one)."""
        for event in self._lines.flush():
            self._take(event)

    @abc.abstractmethod
    def _take(self, event: dict[str, Any]) -> None: ...
