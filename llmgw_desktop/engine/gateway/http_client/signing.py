"""How a provider whose requests follow rules of its own (a cloud: its URLs, its signed or
token-carrying credentials, what its error answers mean) goes through the upstream client
without the client knowing any provider: the shapes a `RequestSigner` is handed and gives
back. The clouds implement them (`engine/gateway/clouds/`); the composition root hands the
client the `Signers` of the providers configured now."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol

from llmgw_desktop.engine.errors import ErrorCode

__all__ = ["ErrorMeaning", "Prepared", "RequestSigner", "SignedCall", "SignerNotReady", "Signers"]


@dataclass(frozen=True)
class SignedCall:
    """One request as the gateway has it before its signer adds its own parts."""

    base_url: str  # the configured endpoint or base URL ("" when the signer derives it)
    model: str  # the model id as the route names it (a deployment, a Bedrock model id ...)
    dialect: str  # the dialect the body is in
    key: str | None  # the pool key (None: the provider's own credential chain)
    stream: bool
    # "" a chat answer; `EMBED` (`clouds/base.py`): an embedding.
    operation: str = ""


@dataclass(frozen=True)
class Prepared:
    """What goes on the wire: the URL, every header, the body; `secret` is the credential the
    request carries (a token or key) and `echoed` what else of it the upstream may echo (a
    SigV4 signature, a session token, an access key id), each scrubbed from whatever the
    upstream answers."""

    url: str
    headers: dict[str, str]
    body: bytes
    secret: str | None = None
    echoed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorMeaning:
    """What an error answer means by the provider's own rules: the code the client is given
    (None: the gateway's usual one for the status) and, when it differs from the status's usual
    meaning, whether another key or target may do better."""

    code: ErrorCode | None = None
    fallback: bool | None = None


class SignerNotReady(Exception):
    """A signer cannot prepare a request yet (a library, credential, region or project is
    missing): `message` names what to install or set; nothing was sent."""

    message: str


class RequestSigner(Protocol):
    """One provider's own way onto the wire."""

    async def prepare(self, call: SignedCall, body: bytes, headers: Mapping[str, str]) -> Prepared:
        """The request as the provider wants it, signed or carrying its token.

        Raises:
            SignerNotReady: a library, a credential, the region or the project is missing.
        """
        ...

    def error(self, status: int, headers: Mapping[str, str], raw: bytes) -> ErrorMeaning:
        """What an error answer of this provider means (its throttling, quota, content
        filter, model access)."""
        ...


class Signers(Protocol):
    """The signers of the providers configured now: `signed` names the providers that have
    one (read at each request, so a provider edited in is signed at once)."""

    @property
    def signed(self) -> AbstractSet[str]: ...

    def wire(self, provider: str) -> RequestSigner | None:
        """`provider`'s signer, made when first asked (None: it has none)."""
        ...
