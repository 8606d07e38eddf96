"""Where the agents the gateway starts call their models: back through the gateway, as the caller.

An agent the gateway knows how to point (`providers/acp/gateway_env.py`, the one table) gets the
gateway's own loopback address as its model endpoint and a connection key
(`connection_keys.py`) standing for the call's principal, lane and project. Its model calls are
then requests to the gateway: routed, recorded, held to the caller's budgets and key scope, and
the agent never sees the operator's vendor key.

Which runs are pointed (`AgentCallbacks.choose`):

- An ACP agent, from every front door: an editor's socket (the key its connection holds), an
  MCP tool, the HTTP bridge (a key for the run, revoked when the run ends).
- A coding CLI's job under a hard budget (Claude Code, Codex, Gemini CLI, OpenCode): its calls
  are held and counted at the gateway one by one, so the budget is never passed by a step the
  CLI had sent before its last one was counted. The gateway's key for the CLI's vendor pays
  (OpenCode: the vendor its model names); where the gateway has none, or the CLI's own settings
  choose another route, or the door is not open, `RouteChoice.why_not` says so and the job is
  refused as one the gateway cannot meter (`calls/cli_spend.unmetered`). Without a hard budget,
  or where the operator accepts that the CLI may pass one (`providers.unmetered_clis`), a CLI's
  job runs on the CLI's own login, as the person set it up.

Before the HTTP door is bound (a gateway with no door), or for a call whose credential the front
door did not pass (a desk retry of a remote caller's job), there is nowhere to call back as the
caller: the agent runs with its own endpoint, and the call says so.

A routed call the gateway refuses for a budget is told to its job (`refused`, from the gateway's
one place a request is refused): the job ends `budget_exceeded` with the gateway's words.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.engine.auth.connection_keys import ConnectionKeys
from llmgw_desktop.engine.auth.principals import LOCAL, LOCAL_CALLER, Principal
from llmgw_desktop.engine.errors import EngineError, ErrorCode, ProviderUnavailable
from llmgw_desktop.engine.providers.acp.gateway_env import (
    ROUTES,
    RoutePointing,
    own_route,
    vendor_of,
)
from llmgw_desktop.engine.providers.acp.peer import AcpPeer

__all__ = ["AgentCallbacks", "Callback", "RouteChoice", "RunFor", "loopback_url"]

_WILDCARD_V4 = ("", "0.0.0.0", "127.0.0.1", "localhost")  # noqa: S104 - names, not a bind
_WILDCARD_V6 = ("::", "::1")
# The gateway's API providers a routed CLI can be paid by, in the order OpenCode is offered them.
_VENDORS = ("anthropic", "openai", "google", "xai")

# (principal, caller, project) -> whether a hard budget covers such a call.
Covered = Callable[[str, str, "str | None"], bool]
# (API provider id, project) -> whether the gateway holds a key for it.
Keyed = Callable[[str, "str | None"], Awaitable[bool]]
# (API provider id, project, principal id) -> its models that answer now, preferred first, and
# why none does where none does.
Answering = Callable[[str, "str | None", str], Awaitable[tuple[tuple[str, ...], str]]]


@dataclass
class Callback:
    """Where one run's model calls go, the key they carry, the gateway's API providers with a
    key (OpenCode is given only those), and the budget refusal of one of its calls, if any."""

    url: str
    key: str
    vendors: tuple[str, ...] = ()
    refused: EngineError | None = None
    model: str = ""  # the model it is told to ask for (`RoutePointing.model`)
    # Its model calls the gateway answered with an error, and the last: a CLI that retries
    # them quietly is seen failing while it does (`on_failure`, the job's progress).
    failed_calls: int = 0
    last_failure: EngineError | None = None
    on_failure: Callable[[Callback], None] | None = None
    # Its model calls waiting now for room running calls hold in a hard budget (at most a
    # minute each: `budgets/ledger.WAIT_FOR_ROOM_S`), told to `on_wait` as each begins and ends.
    waiting_calls: int = 0
    on_wait: Callable[[Callback], None] | None = None

    @property
    def pointing(self) -> RoutePointing:
        return RoutePointing(self.url, self.key, self.vendors, self.model)


@dataclass(frozen=True)
class RouteChoice:
    """Whether a run's model calls come back through the gateway; where a hard budget wants
    them to and they cannot, why not (a clause for the refusal)."""

    routed: bool
    why_not: str | None = None
    vendors: tuple[str, ...] = ()
    model: str = ""  # the model it is told to ask for ("": its own choice)


@dataclass(frozen=True)
class RunFor:
    """The run a route is chosen for."""

    provider: str
    model: str | None
    who: str  # the call's principal id
    principal: Principal | None  # who its calls stand for (`principal_of`); None: nobody
    caller: str
    project: str | None
    peer: AcpPeer | None = None
    acp: bool = False
    executable: str | None = None  # the program that will run, once located
    # The operator accepts that this CLI may pass a hard budget (`providers.unmetered_clis`):
    # it runs on its own login, as it was set up.
    accepted: bool = False


def loopback_url(host: str, port: int) -> str:
    """The gateway's own address for an agent on this machine: loopback where the door listens
    there (or everywhere), else the address it is bound to."""
    if host in _WILDCARD_V4:
        return f"http://127.0.0.1:{port}"
    if host in _WILDCARD_V6:
        return f"http://[::1]:{port}"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class AgentCallbacks:
    """The gateway's door for its agents (known once bound), their connection keys, and which
    runs are pointed at it."""

    def __init__(self, keys: ConnectionKeys, *, covered: Covered, keyed: Keyed) -> None:
        """`covered` says whether a hard budget covers a call (`BudgetLedger.covers`), `keyed`
        whether the gateway holds a key for an API provider (`KeyChain.has_key`)."""
        self._keys = keys
        self._covered = covered
        self._keyed = keyed
        self.url = ""  # set when the HTTP door is bound (`Engine.listening_on`)
        # What each API provider answers (`ProvidersService.answering_models`), set once the
        # providers are built: the model an agent that must be told one asks for.
        self.answering: Answering | None = None
        self._jobs: dict[str, Callback] = {}  # a job key's token -> its run's callback

    def principal_of(self, principal: str, proven: Principal | None) -> Principal | None:
        """Who a run's model calls stand for: the credential the front door proved (`proven`),
        the local user by its id, else None (nobody to stand for)."""
        if proven is not None and proven.id == principal:
            return proven
        return LOCAL_CALLER if principal == LOCAL else None

    async def choose(self, run: RunFor) -> RouteChoice:
        """Whether `run`'s model calls come back through the gateway: an ACP agent's wherever
        they can, a CLI's under a hard budget covering the call; `why_not` where they cannot
        (for the refusal of a job a hard budget covers)."""
        if not run.acp and (run.accepted or not self._covered(run.who, run.caller, run.project)):
            return RouteChoice(False)  # the CLI's own login, as set up
        # Off the loop: the agent's own settings are files.
        why = await asyncio.to_thread(self._why_not_pointable, run)
        if why is not None:
            return RouteChoice(False, why)
        if run.acp:
            return RouteChoice(True, model=await self._model_to_ask(run))
        vendors = tuple([v for v in _VENDORS if await self._keyed(v, run.project)])
        wanted = vendor_of(run.provider, run.model)
        if wanted is None:
            return RouteChoice(False, _unknown_vendor(run.provider, run.model))
        if (wanted and wanted not in vendors) or not vendors:
            return RouteChoice(False, _no_key(wanted))
        return RouteChoice(True, vendors=vendors, model=await self._model_to_ask(run))

    async def _model_to_ask(self, run: RunFor) -> str:
        """The model a routed agent whose row names a variable for it asks for: the run's own
        where the gateway answers it on the vendor's key, else the one the environment names
        there, else the vendor's first that answers; "" where the row names none.

        Raises:
            ProviderUnavailable: the vendor answers no model now (its key refused, none
                stored): the agent, told none, would refuse to start as if logged out.
        """
        route = ROUTES[run.provider]
        if not route.model_variable or self.answering is None:
            return ""
        answering, why_not = await self.answering(route.vendor, run.project, run.who)
        for wanted in (run.model, os.environ.get(route.model_variable)):
            if wanted and wanted in answering:
                return wanted
        if answering:
            return answering[0]
        agent = provider_info(run.provider).display_name
        vendor = next((s.name for s in API_PROVIDERS if s.id == route.vendor), route.vendor)
        raise ProviderUnavailable(
            f"{agent}'s model calls go through the gateway's {vendor} provider, which answers "
            f"no model now{': ' + why_not if why_not else ''}",
            code=ErrorCode.NO_PROVIDER_AVAILABLE,
            provider=run.provider,
        )

    def _why_not_pointable(self, run: RunFor) -> str | None:
        """Why `run`'s agent cannot be pointed at the gateway at all, or None (blocking I/O)."""
        route = ROUTES.get(run.provider)
        if route is None:
            return "the gateway cannot point its model calls at itself"
        program = (run.executable or "").replace("\\", "/").rsplit("/", 1)[-1]
        if route.binary and run.executable is not None and not program.startswith(route.binary):
            return f"{program} cannot be pointed at the gateway"
        if run.peer is None and run.principal is None:
            return (
                "this call carries no credential its model calls could stand for (a retry from "
                "the desk of another caller's job)"
            )
        if not (self.url if run.peer is None else run.peer.gateway_url):
            return "the gateway's HTTP door is not open for its model calls to come back through"
        elsewhere = own_route(run.provider)
        if elsewhere is not None:
            return f"its own settings send its model calls elsewhere: {elsewhere}"
        return None

    @contextmanager
    def opened(self, run: RunFor, choice: RouteChoice) -> Iterator[Callback | None]:
        """The callback of one run (None: its model calls go to its own endpoint): an editor's
        connection key, or one issued for the run and revoked when the block ends.

        Raises:
            RuntimeError: too many connection keys are live (`connection_keys.MAX_LIVE_KEYS`).
        """
        if not choice.routed:
            yield None
            return
        if run.peer is not None:
            yield Callback(
                run.peer.gateway_url, run.peer.gateway_key, choice.vendors, model=choice.model
            )
            return
        assert run.principal is not None  # `choose` said so
        token = secrets.token_urlsafe(16)
        key = self._keys.issue(run.principal, run.caller, job=token, project=run.project)
        callback = Callback(self.url, key, choice.vendors, model=choice.model)
        self._jobs[token] = callback
        try:
            yield callback
        finally:
            self._keys.revoke(key)
            self._jobs.pop(token, None)

    def waits_of(self, proven: Principal) -> Callable[[bool], None]:
        """What a call of an agent (`proven`) tells while it waits for room in a hard budget
        (`BudgetLedger.reserve`): its job counts it, so the job does not read quiet for no
        reason while it waits (an editor's session has no job: nothing is told)."""
        callback = self._jobs.get(proven.job) if proven.job else None

        def told(waiting: bool) -> None:
            if callback is None:
                return
            callback.waiting_calls += 1 if waiting else -1
            if callback.on_wait is not None:
                callback.on_wait(callback)

        return told

    def refused(self, proven: Principal | None, error: EngineError) -> None:
        """A request `proven` made ended in `error` (`GatewayService`): a job's routed call
        is counted for that job (its progress says so), and a budget's refusal of one is kept,
        to end the job with."""
        if proven is None or not proven.job:
            return
        callback = self._jobs.get(proven.job)
        if callback is None:
            return
        callback.failed_calls += 1
        callback.last_failure = error
        if error.code == ErrorCode.BUDGET_EXCEEDED and callback.refused is None:
            callback.refused = error
        if callback.on_failure is not None:
            callback.on_failure(callback)


def _unknown_vendor(provider: str, model: str | None) -> str:
    named = (model or "").split("/", 1)[0]
    return (
        f"its model {model!r} is of the provider {named!r}, which the gateway does not stand "
        f"in for (a routed {provider} may name an anthropic/, openai/ or google/ model)"
    )


def _no_key(vendor: str) -> str:
    if not vendor:
        return "the gateway holds a key for none of the vendors it could call its models with"
    return (
        f"the gateway holds no {vendor} key to make its model calls with (set one where the "
        "gateway runs, or store one in the vault)"
    )
