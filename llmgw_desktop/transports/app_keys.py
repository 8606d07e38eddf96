"""The typed keys of what the HTTP app holds for its handlers (aiohttp's `AppKey`).

Route handlers are module-level functions, importable and testable by name, as in aiohttp's
own examples; they find the engine through their request's app instead of a closure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from llmgw_desktop.engine.api import Engine

if TYPE_CHECKING:  # the OAuth server's modules load only when OAuth is on
    from llmgw_desktop.engine.api import OAuthServer

__all__ = ["ENGINE", "OAUTH"]

# The engine the front door serves; set once, when the routes are added.
ENGINE = web.AppKey("engine", Engine)
# The OAuth server (`engine.oauth`), set only when OAuth is on and its routes are mounted.
OAUTH: web.AppKey[OAuthServer] = web.AppKey("oauth")
