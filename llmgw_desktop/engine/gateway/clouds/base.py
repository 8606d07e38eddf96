"""What every cloud wire offers, and the parts they share: the one refusal a cloud that is not
ready gives (a 503 naming what to install or set), the lazy import of a cloud's library, and a
cache of short-lived access tokens fetched off the event loop."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Protocol

from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.gateway.http_client.signing import (
    ErrorMeaning,
    Prepared,
    SignedCall,
    SignerNotReady,
)

__all__ = [
    "CLOUDS_EXTRA",
    "EMBED",
    "CloudCall",
    "CloudError",
    "CloudNotReady",
    "CloudWire",
    "Prepared",
    "TokenCache",
    "load_library",
]

# What to install for every cloud's library at once (pyproject's optional dependencies).
CLOUDS_EXTRA = "pip install 'llmgw-desktop[clouds]'"
# A token is fetched again this long before it expires: a request must not carry one that
# runs out while it is sent.
TOKEN_MARGIN_S = 300.0


class CloudNotReady(EngineError, SignerNotReady):
    """A cloud provider cannot be asked yet: its library, credential, region or project is
    missing. The message names what to install or set; nothing was sent."""

    code = ErrorCode.CLOUD_NOT_CONFIGURED
    http_status = ErrorCode.CLOUD_NOT_CONFIGURED.http_status  # someone must set it up


# The operation of a call for embeddings (`CloudCall.operation`): the cloud's embedding URL.
EMBED = "embed"


# A cloud request's shapes are the upstream client's (`http_client/signing.py`), which knows no
# cloud: a cloud's wire is one of its signers.
CloudCall = SignedCall
CloudError = ErrorMeaning


class CloudWire(Protocol):
    """One cloud provider's way onto the wire."""

    def problem(self, *, keyed: bool = False) -> str | None:
        """What must be set before the provider can be asked (None: nothing known missing);
        `keyed`: its pool holds keys of its own (which may carry what the environment lacks).
        Reads only the configuration and the environment: never a library or the network."""
        ...

    def endpoint(self, base_url: str) -> str:
        """The endpoint requests go to, for the providers list (no secret in it)."""
        ...

    async def prepare(self, call: CloudCall, body: bytes, headers: Mapping[str, str]) -> Prepared:
        """The request as the cloud wants it, signed or carrying its token.

        Raises:
            CloudNotReady: the library, a credential, the region or the project is missing.
        """
        ...

    def error(self, status: int, headers: Mapping[str, str], raw: bytes) -> CloudError:
        """What an error answer of this cloud means (its throttling, quota, content filter,
        model access)."""
        ...


def load_library(module: str, needed_for: str, *, extra: str = CLOUDS_EXTRA) -> ModuleType:
    """Import `module` (a cloud's library) the first time it is needed.

    Raises:
        CloudNotReady: it is not installed; the message says what to install.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0].replace("_", "-")
        if package == "google":
            package = "google-auth"
        elif package == "azure":
            package = "azure-identity"
        raise CloudNotReady(
            f"{needed_for} needs the {package} library, which is not installed: {extra}"
        ) from None


@dataclass
class TokenCache:
    """A short-lived access token per credential, fetched again shortly before it expires.

    `fetch()` is blocking library code (it may read files and call a token endpoint), so it
    runs on a worker thread; one fetch at a time per cache, so a burst of requests waits for
    one token rather than asking the token endpoint once each.
    """

    fetch: Callable[[], tuple[str, float]]  # -> (token, its expiry as time.time())
    clock: Callable[[], float] = time.time
    _token: str | None = None
    _expires: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def token(self) -> str:
        """A token valid for a while yet.

        Raises:
            Whatever `fetch` raises (the wire turns it into `CloudNotReady`).
        """
        if self._token is not None and self.clock() < self._expires - TOKEN_MARGIN_S:
            return self._token
        async with self._lock:
            if self._token is None or self.clock() >= self._expires - TOKEN_MARGIN_S:
                token, self._expires = await asyncio.to_thread(self.fetch)
                self._token = token
                return token
        return self._token
