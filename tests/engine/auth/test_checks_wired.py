"""Finding 103 (issue 62, item 7): access checks that passed when nothing was wired.

The project-access and key-scope checks of the gateway service (and of the token counter, the
provider lists and the CLI calls beside it) defaulted to a `lambda` that allowed everything,
so a composition root that forgot one built a gateway open to every project and every target,
silently. Each is now a required argument: leaving one out fails at start-up (`TypeError`), not
open. Beside it, the real engine wires each to the check that decides (the project grants, the
key chain's scope), which `tests/security/test_project_grants.py` and `tests/security/keys/`
drive over HTTP.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from llmgw_desktop.engine.calls.provider_calls import ProviderCalls
from llmgw_desktop.engine.gateway.composition import build_gateway
from llmgw_desktop.engine.gateway.counting import TokenCounter
from llmgw_desktop.engine.gateway.service import GatewayService
from llmgw_desktop.engine.providers.service import ProvidersService
from llmgw_desktop.engine.upstream_mcp.service import UpstreamServers
from tests.gateways import gateway_starter

# Every constructor that takes an access check, and the checks it takes.
WIRED: tuple[tuple[Callable[..., Any], tuple[str, ...]], ...] = (
    (GatewayService.__init__, ("project_access", "target_access")),
    (build_gateway, ("project_access", "target_access")),
    (TokenCounter.__init__, ("target_access", "remote")),
    (ProvidersService.__init__, ("target_access", "project_access")),
    (ProviderCalls.__init__, ("project_access", "target_access")),
    # The user's MCP servers' tool pins (finding 95): defaulted, they were off.
    (UpstreamServers.__init__, ("pins",)),
)


@pytest.mark.parametrize(("built", "checks"), WIRED, ids=lambda v: getattr(v, "__qualname__", ""))
def test_an_access_check_is_required_never_defaulted_open(
    built: Callable[..., Any], checks: tuple[str, ...]
) -> None:
    parameters = inspect.signature(built).parameters
    for name in checks:
        assert name in parameters, f"{built.__qualname__} no longer takes {name}"
        assert parameters[name].default is inspect.Parameter.empty, (
            f"{built.__qualname__}({name}=...) has a default: a caller that forgets it gets "
            "a check that decides nothing"
        )


def test_leaving_a_check_out_fails_at_construction() -> None:
    # Everything else a gateway service takes (its parts), and one check of the two: refused
    # at once, before any part is read.
    parts: Any = object()
    with pytest.raises(TypeError, match="project_access"):
        GatewayService(parts, target_access=lambda *_: None)  # type: ignore[call-arg]


async def test_the_engine_wires_each_check_to_what_decides(loaded: Any) -> None:
    async with gateway_starter(loaded) as start:
        engine = (await start()).engine
        gateway = engine.gateway
        assert gateway._project_access == engine.project_grants.require
        assert gateway._target_access == engine.keys.target_refusal
        assert engine.calls._project_access == engine.project_grants.require
        assert engine.calls._target_access == engine.keys.target_refusal
        assert engine.providers._target_access == engine.keys.target_refusal
        assert engine.providers._project_access == engine.project_grants.require
