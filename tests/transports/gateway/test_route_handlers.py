"""Route handlers are module-level functions (aiohttp's own style): each can be imported, named
and tested alone, and finds the engine through its request's app (`transports/app_keys.py`).
The OAuth and consent routes, mounted only with OAuth on, are checked in
`tests/transports/oauth/`."""

from __future__ import annotations

import sys

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.app_keys import ENGINE


async def test_handlers_are_module_functions_reachable_by_name(gateway: GatewayRuntime) -> None:
    app = gateway.http.app
    assert app[ENGINE] is gateway.engine
    by_module: dict[str, list[str]] = {}
    closures = []
    for route in app.router.routes():
        handler = route.handler
        module = getattr(handler, "__module__", "")
        if not module.startswith("llmgw_desktop."):
            continue  # not ours (none today): a library's own handler is its business
        if "<locals>" in handler.__qualname__:
            closures.append(handler.__qualname__)
            continue
        found = sys.modules[module]
        for name in handler.__qualname__.split("."):  # a function, or a method of a class
            found = getattr(found, name)
        assert found is getattr(handler, "__func__", handler), handler
        by_module.setdefault(module, []).append(handler.__qualname__)
    assert closures == []
    assert len(by_module["llmgw_desktop.transports.gateway.chat_routes"]) >= 5
    assert set(by_module["llmgw_desktop.transports.http_app"]) >= {
        "health",
        "activate",
        "quit_instance",
        "openapi",
    }  # and `metrics` where metrics are on
    assert len(set(by_module["llmgw_desktop.transports.gateway.native_routes"])) == 8
    assert set(by_module["llmgw_desktop.transports.gateway.model_routes"]) == {
        "list_models",
        "get_model",
    }
