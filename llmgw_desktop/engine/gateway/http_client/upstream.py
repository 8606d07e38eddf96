"""Calls to upstream LLM APIs over one keep-alive connection pool (see `http1.py`).

`UpstreamClient.send` returns the answer once the status is good (`UpstreamAnswer`, which
reads it masked of the key it was sent and the gateway's own secrets), or raises
`UpstreamFailure` saying whether another route may be tried: connect errors, timeouts before
the answer starts, 429 and 5xx may fall back; 4xx that describe the request itself may not,
because every other route would refuse it the same way. A remote principal holds at most its
share of one upstream host's connections (`FairShare`): beyond it, its request waits for one
of its own, then fails as `share` (not tried on another key of the same host).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Protocol

from llmgw_desktop.config.gateway_tables import DEFAULT_MAX_EVENT_BYTES
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest
from llmgw_desktop.engine.gateway.http_client.answer import UpstreamAnswer
from llmgw_desktop.engine.gateway.http_client.failure import (
    UpstreamFailure,
    body_digest,
    malformed_answer,
)
from llmgw_desktop.engine.gateway.http_client.http1 import (
    DEFAULT_MAX_CONNECTIONS_PER_HOST,
    ConnectError,
    Http1Client,
    PoolTimeout,
    ShareTimeout,
)
from llmgw_desktop.engine.gateway.http_client.http1_response import Http1Response
from llmgw_desktop.engine.gateway.http_client.proxies import Proxy, ProxyRules, parse_proxy_url
from llmgw_desktop.engine.gateway.http_client.signing import (
    RequestSigner,
    SignedCall,
    SignerNotReady,
    Signers,
)
from llmgw_desktop.engine.gateway.http_client.tls import TrustStore
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.shown_urls import origin_of
from llmgw_desktop.engine.redact import redact, spellings_of
from llmgw_desktop.engine.shares import FairShare

__all__ = [
    "CONNECT_OUTCOME",
    "HUNG_OUTCOME",
    "KEY_STATUSES",
    "NOT_CONFIGURED_OUTCOME",
    "RETRYABLE_STATUSES",
    "SHARE_OUTCOME",
    "StatusError",
    "UpstreamClient",
    "UpstreamFailure",
    "UpstreamTarget",
    "malformed_answer",
]

log = logging.getLogger(__name__)

# Statuses where another key or provider may well succeed.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
# A bad or exhausted key: the next key of the same provider may work, another request won't.
KEY_STATUSES = frozenset({401, 402, 403})
MAX_ERROR_BODY = 64 * 1024
# Shorter keys (a local server's "none") are not scrubbed: they would mask ordinary words.
MIN_SCRUBBED_KEY = 8
ERROR_BODY_TIMEOUT_S = 10.0
# The outcome of a request whose principal held its whole share of the host's connections.
SHARE_OUTCOME = Outcome.SHARE
# The outcome of a route whose host no connection could be made to (nothing was sent).
CONNECT_OUTCOME = Outcome.CONNECT
# The outcome of a call that gave up its wait because its host stopped answering at all
# (`balancing/liveness.py`): no other key of the host is tried.
HUNG_OUTCOME = Outcome.HUNG
# What a principal over its share is told to wait: its own calls end, not the upstream's.
SHARE_RETRY_AFTER_S = 1.0
# The outcome of a cloud provider that lacks its library, credential, region or project.
NOT_CONFIGURED_OUTCOME = Outcome.NOT_CONFIGURED
# The headers a key is sent in, whichever the provider's dialect.
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})


@dataclass(frozen=True)
class UpstreamTarget:
    """One concrete attempt: which API, which dialect, which model, which key, and where it
    goes with which credential (the dialect's to say: this client knows none)."""

    provider: str
    base_url: str
    dialect: str
    model: str
    api_key: str | None = None
    key_label: str = ""
    # What is asked of the API: "" a chat answer, or `EMBED` (`clouds/base.py`); and the URL
    # the call goes to, for a provider that is not a cloud (a cloud's wire decides).
    operation: str = ""
    endpoint: str = ""
    # What else of the request's credential the upstream may echo (a cloud's signature,
    # session token, key id), taken out of its answers as the key is.
    echoed: tuple[str, ...] = ()
    # The headers the key goes in (they win over the client's), and those sent unless the
    # client sent its own (Anthropic's version): the dialect's (`Dialect.credential`).
    credential: tuple[tuple[str, str], ...] = ()
    defaults: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def scrubbed(self) -> tuple[str, ...]:
        """The values taken out of whatever this upstream answers, longest first (worked out
        once a target: its answer and its stream's masking each ask, and a target is kept for
        the attempts of many requests, `dialects/by_name.addressed`)."""
        found = (self.api_key or "", *self.echoed)
        return tuple(sorted({v for v in found if len(v) >= MIN_SCRUBBED_KEY}, key=len)[::-1])

    def headers(
        self, *, stream: bool, passthrough: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The request's headers: the client's own for a same-dialect request (`passthrough`,
        lower-case names, already stripped of credentials), then ours, which win."""
        headers = dict(passthrough or {})
        headers["content-type"] = "application/json"
        if stream and "accept" not in headers:
            headers["accept"] = "text/event-stream"
        for name, value in self.defaults:
            headers.setdefault(name, value)
        for name, value in self.credential:
            headers[name] = value
        return headers


# `gateway.max_answer_bytes`' default (settings_gateway.py), for clients built without settings.
DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024


class ProviderWiring(Protocol):
    """What the client reads of a configured provider: its id, the headers its config table
    adds to each request and its own proxy (an `ApiProviderSpec` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def headers(self) -> Iterable[tuple[str, str]]: ...

    @property
    def proxy(self) -> str: ...


class _NoSigners:
    """The signers of a client built without any (no provider signs its requests)."""

    signed: AbstractSet[str] = frozenset()

    def wire(self, provider: str) -> RequestSigner | None:
        return None


def _status_as_sent(status: int, raw: bytes) -> int:
    return status


class UpstreamClient:
    """One keep-alive connection pool for every upstream API call the gateway makes."""

    def __init__(
        self,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        first_byte_timeout_s: float | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        environ: Mapping[str, str] | None = None,
        ca_bundle: str = "",
        max_connections_per_host: int = DEFAULT_MAX_CONNECTIONS_PER_HOST,
        proxy_loopback: bool = False,
        max_sse_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        share: FairShare | None = None,
        signers: Signers | None = None,
        status_of: Callable[[int, bytes], int] = _status_as_sent,
    ) -> None:
        """`share`: how much of each host's connections one principal may hold; `signers`:
        the providers whose requests their own signer prepares (the clouds); `status_of`: what
        an error status stands for by its body (a provider's 400 that means a refused key:
        `key_refusal.refusal_status`)."""
        self._share = share or FairShare()
        # The largest server-sent event a stream may send (the parsers refuse a larger one).
        self.max_sse_event_bytes = max_sse_event_bytes
        # A whole answer must arrive within `read_timeout_s`; a stream may not stall longer.
        self.read_timeout_s = read_timeout_s
        # A stream must begin within this: streaming APIs send their status line at once, so
        # an upstream silent this long is hung, not thinking. A whole answer's status line
        # comes with the answer itself, so only `read_timeout_s` bounds it.
        self.first_byte_timeout_s = min(first_byte_timeout_s or read_timeout_s, read_timeout_s)
        # A whole answer is held in memory to be translated: larger ones are refused.
        self.max_answer_bytes = max_answer_bytes
        # The proxy and CA variables are read here, once: never per request.
        environ = os.environ if environ is None else environ
        self._http = Http1Client(
            connect_timeout_s=connect_timeout_s,
            max_connections_per_host=max_connections_per_host,
            share_per_host=self._share.of(max_connections_per_host),
            proxies=ProxyRules.from_environ(environ, proxy_loopback=proxy_loopback),
            trust=TrustStore.from_environ(environ, ca_bundle=ca_bundle),
        )

        # Provider id -> the headers its config table adds, and its own proxy.
        self._added_headers: dict[str, dict[str, str]] = {}
        self._proxies: dict[str, Proxy] = {}
        # Provider id -> its signer (URLs, credentials, error meanings), for those with one.
        self._signers: Signers = signers or _NoSigners()
        self._status_of = status_of

    def use_providers(self, specs: Iterable[ProviderWiring]) -> None:
        """Take each provider's own headers and proxy (at start and whenever the providers are
        edited: the next request uses them)."""
        self._added_headers = {
            s.id: {name.lower(): value for name, value in s.headers} for s in specs if s.headers
        }
        self._proxies = {
            s.id: parse_proxy_url(s.proxy, source=f"gateway.providers.{s.id}.proxy")
            for s in specs
            if s.proxy
        }

    async def close(self) -> None:
        await self._http.close()

    async def send(
        self,
        target: UpstreamTarget,
        body: dict[str, Any] | bytes,
        *,
        stream: bool,
        passthrough_headers: Mapping[str, str] | None = None,
        query: str = "",
        principal: str | None = None,
        while_waiting: Callable[[], None] | None = None,
    ) -> UpstreamAnswer:
        """POST `body` (an object, or JSON already encoded) and return its answer once its
        status is 2xx (read masked; the caller reads or releases it), for `principal` (held
        to its share of the host's connections unless it is the local user; None: not
        counted). `query`: the
        client's parameters passed on (encoded; not to a cloud, whose URLs are its own).
        `while_waiting`: called once the request is written (`Http1Client.request`).

        Raises:
            UpstreamFailure: no answer, or an error status (with the upstream's message);
                kind `share` when the principal's share stayed in use.
        """
        head_timeout_s = self.first_byte_timeout_s if stream else self.read_timeout_s
        added = self._added_headers.get(target.provider)
        if added:
            passthrough_headers = {**(passthrough_headers or {}), **added}
        data = body if isinstance(body, bytes) else jsonio.dumps(body)
        signers = self._signers
        signer = signers.wire(target.provider) if target.provider in signers.signed else None
        if signer is None:
            url = target.endpoint
            if query:
                url += ("&" if "?" in url else "?") + query
            headers = target.headers(stream=stream, passthrough=passthrough_headers)
        else:
            url, headers, data, target = await self._prepared(
                signer, target, data, stream, passthrough_headers
            )
        try:
            response = await self._http.request(
                "POST",
                url,
                headers=headers,
                body=data,
                head_timeout_s=head_timeout_s,
                owner=principal if principal is not None and self._share.holds(principal) else None,
                proxy=self._proxies.get(target.provider),
                while_waiting=while_waiting,
            )
        except (OSError, ValueError) as exc:  # ConnectError, the pool's timeouts among them
            failure = self._not_answered(exc, target, url, head_timeout_s, stream=stream)
        else:
            if response.status < 400:
                # Positional, as the request path calls classes (`engine/values.py`).
                return UpstreamAnswer(
                    response,
                    target.provider,
                    target.scrubbed,
                    self.read_timeout_s,
                    self.max_answer_bytes,
                    self.max_sse_event_bytes,
                )
            failure = await self._refusal(response, target, signer)
        if isinstance(failure, UpstreamFailure):
            failure.body_digest = body_digest(data)
        raise failure

    async def answers(self, target: UpstreamTarget, timeout_s: float) -> bool:
        """Whether `target`'s host answers a request at all within `timeout_s`: a GET of its
        origin, without its key, on a connection of its own (`Http1Client.answers`). A cloud
        whose URL is its wire's to make is taken as answering (nothing to ask it)."""
        if not target.base_url.startswith(("http://", "https://")):
            return True
        return await self._http.answers(
            origin_of(target.base_url) + "/",
            timeout_s=timeout_s,
            proxy=self._proxies.get(target.provider),
        )

    def _not_answered(
        self,
        exc: OSError | ValueError,
        target: UpstreamTarget,
        url: str,
        head_timeout_s: float,
        *,
        stream: bool,
    ) -> UpstreamFailure | InvalidRequest:
        """What a request the upstream never answered fails as: which routes may serve it
        instead (its kind in the route log), or, for a value our client will not write, the
        client's own error."""
        if isinstance(exc, ConnectError):
            return UpstreamFailure(
                f"cannot connect to {target.provider} at {origin_of(url)}: {exc.strerror or exc}",
                fallback=True,
                kind=CONNECT_OUTCOME,
            )
        if isinstance(exc, ShareTimeout):
            # Another key of the same host would wait on the same share: only another
            # provider's route may serve.
            return UpstreamFailure(
                f"{exc} ({self._share.setting} = {self._share.percent}% of "
                "gateway.max_connections_per_host); retry once one of them ends",
                fallback=True,
                next_key=False,
                retry_after_s=SHARE_RETRY_AFTER_S,
                kind=SHARE_OUTCOME,
            )
        if isinstance(exc, PoolTimeout):
            return UpstreamFailure(str(exc), fallback=True, kind=Outcome.TIMEOUT)
        if isinstance(exc, TimeoutError):
            return UpstreamFailure(
                f"{target.provider} sent nothing for {head_timeout_s:g}s"
                + (" (gateway.first_byte_timeout_ms)" if stream else ""),
                fallback=True,
                kind=Outcome.TIMEOUT,
            )
        if isinstance(exc, OSError):
            return UpstreamFailure(
                f"{target.provider} connection failed: {exc}",
                fallback=True,
                kind=Outcome.CONNECTION,
            )
        # Control characters in a model id or header value.
        return InvalidRequest(f"{exc}; check the model id", param="model")

    async def _refusal(
        self, response: Http1Response, target: UpstreamTarget, signer: RequestSigner | None
    ) -> UpstreamFailure:
        """The failure an error status stands for, with the upstream's message and body
        scrubbed of the key, and whether another key or route may serve (the response is
        released)."""
        try:
            raw = await response.read(timeout_s=ERROR_BODY_TIMEOUT_S)
        except (OSError, TimeoutError):
            raw = b""
        finally:
            response.release()
        # The key is taken out before the body (and then its message) is cut: a key across
        # the cut would be left in part, out of reach of the exact match.
        raw = _without_key(raw, target)[:MAX_ERROR_BODY]
        message = _scrubbed(error_message(raw), target)
        # A provider may refuse an unknown key with a 400 that means 401 (`key_refusal.py`).
        status = self._status_of(response.status, raw)
        # Any 5xx is the provider's trouble, which another provider may not share: a CDN's
        # 520-527 (its origin down or timed out), a server lacking the endpoint (501).
        fallback = status in RETRYABLE_STATUSES or 500 <= status < 600
        next_key = status in RETRYABLE_STATUSES | KEY_STATUSES
        code = None
        if signer is not None:
            meaning = signer.error(response.status, response.headers, raw)
            code = meaning.code
            if meaning.fallback is not None:
                fallback = next_key = meaning.fallback
        return UpstreamFailure(
            f"{target.provider} answered {response.status}: {message}",
            status=status,
            fallback=fallback,
            next_key=next_key,
            code=code,
            retry_after_s=_retry_after(response.headers.get("retry-after")),
            # Relayed as the upstream's JSON: `name: value` pairs are left alone, as masking an
            # unquoted value (`"max_tokens": 100000`) would leave a body that does not parse.
            raw_body=_scrubbed(raw.decode("utf-8", errors="replace"), target, named=False).encode(),
        )

    async def _prepared(
        self,
        signer: RequestSigner,
        target: UpstreamTarget,
        data: bytes,
        stream: bool,
        passthrough: Mapping[str, str] | None,
    ) -> tuple[str, dict[str, str], bytes, UpstreamTarget]:
        """A signed request's URL, headers and body, and the target with the credential it
        carries (what an error answer is scrubbed of).

        Raises:
            UpstreamFailure: the signer is not ready (kind `not_configured`, the message naming
                what to install or set); another key or target may be.
        """
        headers = dict(passthrough or {})
        headers["content-type"] = "application/json"
        if stream and "accept" not in headers:
            headers["accept"] = "text/event-stream"
        call = SignedCall(
            target.base_url,
            target.model,
            target.dialect,
            target.api_key,
            stream,
            operation=target.operation,
        )
        try:
            prepared = await signer.prepare(call, data, headers)
        except SignerNotReady as exc:
            raise UpstreamFailure(
                exc.message,
                fallback=True,
                kind=NOT_CONFIGURED_OUTCOME,
                code=ErrorCode.CLOUD_NOT_CONFIGURED,
            ) from None
        if prepared.secret and prepared.secret != target.api_key:
            target = dataclasses.replace(target, api_key=prepared.secret)
        if prepared.echoed:
            target = dataclasses.replace(target, echoed=prepared.echoed)
        return prepared.url, prepared.headers, prepared.body, target

    async def get_json(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 2.0,
        provider: str | None = None,
        proxy: Proxy | None = None,
    ) -> Any:
        """GET a small JSON document (model lists, local-server probes); `provider` adds that
        provider's own headers and proxy, `proxy` names one outright.

        Raises:
            StatusError: an error status (a ValueError).
            OSError, TimeoutError, ValueError: no usable answer.
        """
        sent = dict(headers or {})
        if provider is not None:
            sent = {**self._added_headers.get(provider, {}), **sent}
            proxy = proxy or self._proxies.get(provider)
        async with asyncio.timeout(timeout_s):
            response = await self._http.request("GET", url, headers=sent, proxy=proxy)
            try:
                raw = await response.read()
            finally:
                response.release()
        if response.status >= 400:
            # Without the key it was sent (as written or JSON-escaped): upstreams echo it back.
            raw = spellings_of(tuple(_credentials(sent))).mask_bytes(raw)
            raise StatusError(
                f"{url} answered {response.status}: {redact(error_message(raw))}",
                self._status_of(response.status, raw),
            )
        return jsonio.loads(raw)


class StatusError(ValueError):
    """`get_json`'s answer was an error status (`status`: what it stands for, as
    `key_refusal.refusal_status` reads it); the message quotes the upstream's, redacted."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def error_message(raw: bytes) -> str:
    """The human part of an upstream error body, whichever envelope it came in."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return text[:500] or "(empty body)"
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str):
            return message[:500]
        if isinstance(error, str):
            return error[:500]
    return text[:500]


def _scrubbed(message: str, target: UpstreamTarget, *, named: bool = True) -> str:
    """An upstream's message without the key it was sent: upstreams sometimes echo it back.
    The exact key is removed whatever its shape, as written or JSON-escaped, then the redactor
    masks other key shapes (and, with `named`, `password=...`-style pairs)."""
    return redact(spellings_of(target.scrubbed).mask(message), named=named)


def _credentials(headers: Mapping[str, str]) -> list[str]:
    """The keys `headers` carry (long enough to be scrubbed without masking ordinary words)."""
    found = [
        value.removeprefix("Bearer ").strip()
        for name, value in headers.items()
        if name.lower() in _CREDENTIAL_HEADERS
    ]
    return [key for key in found if len(key) >= MIN_SCRUBBED_KEY]


def _without_key(raw: bytes, target: UpstreamTarget) -> bytes:
    """An upstream's body without the exact key (or other credential values) it was sent, as
    written or JSON-escaped (`Spellings`)."""
    return spellings_of(target.scrubbed).mask_bytes(raw)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
