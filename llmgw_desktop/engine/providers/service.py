"""Every provider the gateway can reach, as the front doors and the desk see it: the CLIs
(installed, version, upgrade plan, circuit breaker), the API providers and local servers (keys,
model lists, stale references), the user's switches, and a one-request check of any of them.

One service, so a page or a tool asks "what about provider X" in one place instead of reaching
into discovery, the call service's breakers and the gateway's directory and routing table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmgw_desktop.config.api_catalog import ApiProviderSpec, switch_id_for
from llmgw_desktop.config.principals import OPERATORS
from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.calls import ProviderCalls
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest
from llmgw_desktop.engine.gateway.balancing.views import RouteView, TargetView
from llmgw_desktop.engine.gateway.desk.live_keys import LiveKey, environment_keys, keys_in_use
from llmgw_desktop.engine.gateway.desk.probe import ProbeResult, probe_provider
from llmgw_desktop.engine.gateway.http_client.unreachable import RestedHost
from llmgw_desktop.engine.gateway.router import Target
from llmgw_desktop.engine.gateway.service import GatewayService
from llmgw_desktop.engine.gateway.shown_urls import origin_of
from llmgw_desktop.engine.gateway.stale_references import StaleReference
from llmgw_desktop.engine.metrics.health import CallHealth
from llmgw_desktop.engine.providers.account_files import vendor_spec
from llmgw_desktop.engine.providers.answering import Answering, answering_of, first_answering
from llmgw_desktop.engine.providers.cli_login import CliLogins
from llmgw_desktop.engine.providers.discovery import CliStatus, Discovery, UpgradeOutcome
from llmgw_desktop.engine.providers.health import ProviderHealth, provider_health, through_vendor
from llmgw_desktop.engine.providers.switches import ProviderState, ProviderSwitches
from llmgw_desktop.engine.providers.trouble import ProviderTrouble, Trouble

__all__ = ["ProvidersService"]


class ProvidersService:
    """What each provider is and may do now, and the user's controls over it."""

    def __init__(
        self,
        *,
        switches: ProviderSwitches,
        discovery: Discovery,
        calls: ProviderCalls,
        gateway: GatewayService,
        trouble: ProviderTrouble,
        logins: CliLogins | None = None,
        call_health: CallHealth,
        target_access: Callable[[str, str, str], EngineError | None],
        project_access: Callable[[str, str | None], None],
    ) -> None:
        """`target_access(principal, provider, model)`: the refusal of a gateway key whose
        scope leaves that target out, so a key's model lists show what it may ask for;
        `project_access(principal, project)` refuses a project its principal was not granted
        (`ProjectGrants.require`); `call_health`, each provider's recent calls (the engine's
        `provider_health`); `logins`, the CLIs asked whether they are logged in before each
        look at what answers."""
        self._target_access = target_access
        self._project_access = project_access
        self._switches = switches
        self._trouble = trouble
        self._logins = logins
        self._call_health = call_health
        self._discovery = discovery
        self._calls = calls
        self._gateway = gateway

    def catalog(self) -> ProviderCatalog:
        """Every coding CLI and ACP agent of this run (the operator's added agents too), with
        its HTTP bridge: what the MCP tools, the switches and the pages list."""
        return self._discovery.catalog

    # -- the user's switches (CLIs, API providers, local servers) ---------------------------

    def states(self) -> list[ProviderState]:
        """Every provider (CLIs, then API providers, then local servers) with its switch."""
        return self._switches.states()

    def switch_of(self, gateway_id: str) -> str | None:
        """The switch id of a provider the HTTP gateway names (`openai`, `claude-cli`)."""
        return self.catalog().engine_id(gateway_id) or self._switches.switch_of(gateway_id)

    def trouble(self, provider: str) -> Trouble | None:
        """What went wrong with `provider` (a switch id) lately and lasts: a failed Test (until
        a later success) or calls failing `auth_required` and the like; None when nothing."""
        return self._trouble.of(provider)

    def refused_key(self, key: str) -> tuple[str, Trouble] | None:
        """The provider (switch id) that refused the key from `key`'s source
        (`env:ANTHROPIC_API_KEY`, a `LiveKey.label`) when its model list was read, with that
        trouble; None."""
        return self._trouble.refused_key(key)

    def is_enabled(self, provider: str) -> bool:
        return self._switches.is_enabled(provider)

    @property
    def paused(self) -> bool:
        return self._switches.paused

    def set_enabled(self, principal: Principal, provider: str, enabled: bool) -> None:
        """See `ProviderSwitches.set_enabled` (operator only; saved to `config.toml`)."""
        self._switches.set_enabled(principal, provider, enabled)

    def set_paused(self, principal: Principal, paused: bool) -> None:
        """See `ProviderSwitches.set_paused` (operator only; until resumed or quit)."""
        self._switches.set_paused(principal, paused)

    async def unavailable_reason(self, provider: str) -> EngineError | None:
        """Why `provider` (a switch id) cannot run now (off, paused, a CLI not installed), or
        None."""
        return await self._switches.unavailable_reason(provider)

    # -- the CLIs --------------------------------------------------------------------------

    async def cli_statuses(
        self, providers: Sequence[str] | None = None, *, refresh: bool = False
    ) -> list[CliStatus]:
        """Installed state and version of each CLI (all by default), checked in parallel."""
        return await self._discovery.statuses(providers, refresh=refresh)

    async def locate_cli(self, provider: str) -> str | None:
        """The CLI's executable path, or None; instant (no version check)."""
        return await self._discovery.locate(provider)

    async def cli_models(self, provider: str) -> list[str]:
        """The models the CLI lists (may run it), else the ones the gateway knows for it."""
        return await self._discovery.models(provider)

    async def cli_models_for(self, provider: str, principal: str) -> list[str] | None:
        """`cli_models` as `principal` may use them: a gateway key sees the models in its
        scope, as `/v1/models` shows it, and None for a CLI it may not reach."""
        models = await self.cli_models(provider)
        access = self._target_access
        # A CLI as the gateway's routes (and so a key's scope) name it: `claude-cli`.
        catalog = self.catalog()
        named = catalog.bridge_of(provider).id if provider in catalog.ids else provider
        kept = [m for m in models if access(principal, named, m) is None]
        if not kept and access(principal, named, "") is not None:
            return None
        return kept

    async def upgrade_cli(
        self, principal: Principal, provider: str, *, dry_run: bool = True
    ) -> UpgradeOutcome:
        """Upgrade the CLI with its package manager; only the plan when `dry_run`.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        return await self._discovery.upgrade(principal, provider, dry_run=dry_run)

    def breakers(self) -> dict[str, dict[str, Any]]:
        """Each CLI's circuit breaker: state, failures in a row, seconds until it retries."""
        return self._calls.breaker_states()

    def health(self, provider: str) -> ProviderHealth:
        """`provider`'s health (a switch id: `claude`, `openai`, `mistral-api`), decided as
        the window, `/health` and `/v1/providers` all show it (`providers/health.py`); an
        agent pointed at the gateway shows its vendor's failing calls (`through_vendor`)."""
        rests = self._rests()
        own = self._own_health(provider, self._calls.breaker_state(provider), rests)
        vendor = self._vendor_of(provider)
        if vendor is None:
            return own
        switch, name = vendor
        return through_vendor(own, self._own_health(switch, None, rests), name)

    def health_all(self) -> list[ProviderHealth]:
        """Every provider switch's health, in the switches' order."""
        breakers = self._calls.breaker_states()
        rests = self._rests()
        own = {
            state.id: self._own_health(state.id, breakers.get(state.id), rests)
            for state in self.states()
        }
        every = []
        for switch, health in own.items():
            vendor = self._vendor_of(switch)
            if vendor is not None and vendor[0] in own:
                health = through_vendor(health, own[vendor[0]], vendor[1])
            every.append(health)
        return every

    def _own_health(
        self, provider: str, breaker: Mapping[str, Any] | None, rests: Mapping[str, RestedHost]
    ) -> ProviderHealth:
        """`provider`'s health from its own circuit (`breaker`: CLIs), host's rest, trouble
        and calls."""
        return provider_health(
            provider,
            breaker=breaker,
            trouble=self._trouble.of(provider),
            calls=self._call_health.of(provider),
            rest=rests.get(provider),
        )

    def _vendor_of(self, provider: str) -> tuple[str, str] | None:
        """(switch id, name) of the API provider whose key `provider`'s model calls go out
        with, where it is an agent the last look found pointed at the gateway; None."""
        if self._logins is None or provider not in self._logins.pointed:
            return None
        spec = vendor_spec(provider)
        return switch_id_for(spec.id), spec.name

    def resting(self) -> list[RestedHost]:
        """The API hosts rested now because no connection could be made to them, the longest
        rest first: their routes are passed over until it ends
        (`gateway/http_client/unreachable.py`)."""
        return self._gateway.unreachable.rested()

    def waiting_for_answers(self) -> tuple[int, float]:
        """How many API calls wait for their answer to begin now, and the longest wait."""
        return self._gateway.balancer.waiting_for_answers()

    def cooling(self, principal: str | None = None) -> list[TargetView]:
        """Every API target cooling down or with its circuit open or half open now (it goes
        behind the others in every route), the longest rest first; for a gateway key, those
        in its scope."""
        views = self._gateway.balancer.cooling()
        if principal is None:
            return views
        access = self._target_access
        return [v for v in views if access(principal, v.provider, v.model) is None]

    def routes(self, principal: str | None = None) -> list[RouteView]:
        """The routes that list targets, with each target's share, latency and cool-down; for
        a gateway key, the targets in its scope (a route with none of them left out)."""
        views = self._gateway.balancer.route_views(self._gateway.registry)
        if principal is None:
            return views
        access = self._target_access
        shown = []
        for view in views:
            targets = tuple(
                t for t in view.targets if access(principal, t.provider, t.model) is None
            )
            if targets:
                shown.append(dataclasses.replace(view, targets=targets))
        return shown

    def _rests(self) -> dict[str, RestedHost]:
        """Each resting provider's rest, by switch id (the longest, should two of its base
        URLs rest: one before an edit of it and one after)."""
        rests: dict[str, RestedHost] = {}
        for host in self.resting():  # the longest first
            rests.setdefault(self._switches.switch_of(host.provider) or host.provider, host)
        return rests

    # -- API providers and local servers (the HTTP gateway's table) ----------------------------

    async def listing(
        self, project: str | None = None, principal: str | None = None
    ) -> list[dict[str, Any]]:
        """Every provider the HTTP gateway routes to, as `/v1/providers` shows it to
        `principal`: a gateway key sees the providers it may reach, with those of their models
        in its scope (SECURITY 46)."""
        rows = [self._listed(row) for row in await self._gateway.directory.providers(project)]
        if principal is None:
            return rows
        if principal not in OPERATORS:
            # Where the operator's providers are is the operator's: a key sees the origin
            # only (SECURITY 74), never a path that may name an account or deployment.
            rows = [
                {**row, "baseUrl": origin_of(row["baseUrl"])} if row.get("baseUrl") else row
                for row in rows
            ]
        access = self._target_access
        shown: list[dict[str, Any]] = []
        for row in rows:
            pid = row["id"]
            models = [
                m
                for m in row.get("models", [])
                if access(principal, pid, str(m).removeprefix(f"{pid}/")) is None
            ]
            listed = row.get("models") or []
            if models or (not listed and access(principal, pid, "") is None):
                shown.append({**row, "models": models})
        return shown

    def _listed(self, row: dict[str, Any]) -> dict[str, Any]:
        """One `/v1/providers` row with its health. A provider in lasting trouble (a key or
        login refused) is not available, as `/v1/models` holds its models back (`_offered`):
        `heldBack` says it is set up and on, `reason` what went wrong."""
        switch = self._recorded_as(row)
        listed = {**row, "health": self.health(switch).to_dict()}
        trouble = self._trouble.of(switch) if row["available"] else None
        if trouble is not None and trouble.holds_back:
            listed |= {"available": False, "heldBack": True, "reason": trouble.describe()}
        return listed

    def _recorded_as(self, row: dict[str, Any]) -> str:
        """The switch id a listing row's calls are recorded under: a CLI's engine id, an API
        provider's switch (`mistral-api`; Mistral Vibe is `mistral`), else its own id."""
        if row.get("type") == "cli":
            return str(row.get("engineProvider") or row["id"])
        return self.switch_of(str(row["id"])) or str(row["id"])

    async def models(
        self, project: str | None = None, principal: str | None = None, *, embeddings: bool = False
    ) -> list[dict[str, Any]]:
        """Every model the HTTP gateway answers for `principal`, as `/v1/models` shows it (with
        `embeddings`, its embedding models too, as Ollama's `/api/tags` lists them): a
        gateway key sees only the models in its scope (SECURITY 46), and nobody the models of
        a provider in lasting trouble (a refused key or login)."""
        if principal is None:
            rows = await self._gateway.directory.models(project, embeddings=embeddings)
        else:
            access = self._target_access
            rows = await self._gateway.directory.models(
                project,
                lambda provider, model: access(principal, provider, model) is None,
                embeddings=embeddings,
            )
        return self._offered(rows)[0]

    def _offered(
        self, rows: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], set[str], dict[str, str]]:
        """The rows offered; the providers (switch ids) whose rows are held back because
        their key or login was refused; and the CLIs held back until a person sets something
        up (a login, a pointed agent's vendor key), with what to do ("Claude Code is not logged
        in: run ..."). Either answers nothing until a person acts, so its models are not
        offered (a call that names one is still tried, and clears it)."""
        offered, refused, to_set_up = [], set(), {}
        for row in rows:
            switch = self._switch_of(row["provider"])
            trouble = self._trouble.of(switch)
            if trouble is None or not trouble.holds_back:
                offered.append(row)
            elif trouble.set_up_wanted:
                to_set_up[switch] = (
                    f"{self.catalog().info(switch).display_name} is {trouble.message}"
                )
            else:
                refused.add(switch)
        return offered, refused, to_set_up

    async def read_answering(self) -> Answering:
        """What can answer a call now (`answering.py`): the models `GET /v1/models` lists
        (read from the cache, never an upstream)."""
        directory = self._gateway.directory
        offered, refused, to_set_up = self._offered(await directory.models())
        return Answering.of(offered, refused, settled=directory.looked, to_set_up=to_set_up)

    async def read_due_lists(self) -> None:
        """Read the model lists that are due now: a key stored or deleted makes its
        provider's due (the directory's own round comes once a minute); and ask the CLIs
        whose login is due whether they are logged in (`cli_login.py`)."""
        if self._logins is not None:
            await self._logins.check()
        await self._gateway.directory.refresh()

    async def read_lists_now(self) -> None:
        """Probe the local servers and read every API provider's model list now, due or not
        (the page's Refresh: a person checking a list the stale-model warning names)."""
        await self._gateway.directory.refresh(force=True)

    async def first_look(self) -> None:
        """Return once the gateway's first look at the providers has ended (local servers
        probed, model lists read, then the CLIs and agents looked at: a key refused while the
        lists were read holds the CLI and the agent that use it)."""
        await self._gateway.directory.first_look()
        if self._logins is not None:
            await self._logins.check()

    async def answering_models(
        self, provider: str, project: str | None, principal: str
    ) -> tuple[tuple[str, ...], str]:
        """`provider`'s models that answer `principal` now under `project`, preferred first,
        as `/v1/models` lists them (`answering.py`), those its own list holds first; where none
        does, why not, as `/v1/providers` says it ("" where it does not say)."""
        rows = await self.models(project, principal)
        models = answering_of(rows).get(provider, ())
        if models:
            # The provider's own list first, where it was read: the catalogue's models are
            # offered beside it, and a server at a base URL of its own may serve none of them.
            own = self._gateway.registry.discovered.get(provider) or ()
            mine = [m for m in models if m.removeprefix(f"{provider}/") in own]
            return (*mine, *[m for m in models if m not in mine]), ""
        listed = [r for r in await self.listing(project, principal) if r["id"] == provider]
        return (), str(listed[0].get("reason") or "") if listed else ""

    async def model_to_ask(
        self, project: str | None, principal: str, provider: str | None = None
    ) -> str:
        """The model a prompt that names none is asked of: `gateway.default_model` where set
        (unless a provider is named), else the first that answers for `principal` under
        `project`, of `provider` when it is named (`answering.py`: API providers first, a
        coding CLI's bridge when none answers).

        Raises:
            ProjectForbidden: `principal` was not granted `project` (whose key pool the
                choice reads).
            InvalidRequest: nothing answers (code `no_provider_available`, naming the fix).
        """
        self._project_access(principal, project)
        configured = self._gateway.registry.config.default_model
        if configured and provider is None:
            return configured
        rows = await self.models(project, principal)
        chosen = first_answering(answering_of(rows, bridges=True), provider)
        if chosen is not None:
            return chosen
        whose = f"provider {provider!r}" if provider else "provider"
        raise InvalidRequest(
            f"no model named, and no {whose} answers on this machine: store an API key "
            "(POST /v1/credentials, or the window's Provider keys page), set its provider's "
            "variable where the gateway runs, or name a model (GET /v1/models lists those that "
            "answer)",
            code=ErrorCode.NO_PROVIDER_AVAILABLE,
            param="provider" if provider else "model",
        )

    def _switch_of(self, gateway_id: str) -> str:
        """The switch (and trouble) id of a provider the gateway names `gateway_id`."""
        return self.catalog().engine_id(gateway_id) or switch_id_for(gateway_id)

    def stale_references(self) -> tuple[StaleReference, ...]:
        """Config entries naming a model its provider does not list, none answered since."""
        return self._gateway.directory.stale_references()

    def api_provider(self, provider: str) -> ApiProviderSpec | None:
        """One configured API provider or local server, or None."""
        return self._gateway.registry.provider(provider)

    def api_providers(self) -> list[ApiProviderSpec]:
        """Every configured API provider and local server."""
        return list(self._gateway.registry.config.providers.values())

    def owner_of(self, model: str) -> Target | None:
        """Who answers `model` and as what: a coding CLI by its engine id (`kind` "cli") or an
        API provider or local server by its gateway id; None when no provider claims it."""
        try:
            target = self._gateway.registry.resolve(model)
        except EngineError:
            return None
        if target.kind == "cli":
            engine_id = self.catalog().engine_id(target.provider)
            return Target(engine_id or target.provider, target.model, "cli")
        return target

    def default_target(self) -> Target | None:
        """Where `gateway.default_model` routes, or None when unset or unroutable now."""
        registry = self._gateway.registry
        configured = registry.config.default_model
        if not configured:
            return None
        try:
            return registry.resolve(configured)
        except EngineError:
            return None

    async def live_keys(self, principal: Principal) -> list[LiveKey]:
        """Every API key the gateway would use now (vault, config, environment), masked, in
        the order each provider tries them (operator only).

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.VAULT)
        return await keys_in_use(self._gateway.keys, self.api_providers())

    async def environment_keys(self, principal: Principal) -> dict[str, str]:
        """The key each API provider reads from an environment variable, by provider, in
        clear (operator only): the desk stores them in the vault when asked.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.VAULT)
        return await environment_keys(self._gateway.keys, self.api_providers())

    async def probe(self, provider: str, model: str = "", *, key: str | None = None) -> ProbeResult:
        """One tiny request to exactly `provider` (a gateway id, never a fallback); never
        raises. Its outcome is the provider's trouble until a later success. With `key` (an
        API key not stored yet) only that key is sent, and the outcome says nothing about the
        provider's own keys, so it is not kept as its trouble."""
        result = await probe_provider(self._gateway, provider, model, key=key)
        switch = self.switch_of(provider)
        if switch is not None and key is None:
            self._trouble.note_test(
                switch, ok=result.ok, code=result.error_code, message=result.error
            )
        return result
