"""Counting a request's input tokens: by the provider that owns the model where it has an
endpoint for it (for a cloud's name of a Claude model whose cloud is not set up here,
Anthropic's, where its chat goes), else an estimate that says it is one.

Anthropic (`/v1/messages/count_tokens`), Gemini (`:countTokens`) and OpenAI
(`/v1/responses/input_tokens`) count exactly. A request in the provider's own dialect is sent as
it came, after the same check of what a remote caller asks of the operator's vendor account as a
chat request passes (`remote_passthrough.py`); one in another dialect is translated first (the
same translation a chat request gets). A gateway key is held to its scope here as on a chat
request: a model outside it is refused before anything is sent or estimated (`key_scope.py`).
Other providers (OpenAI-compatible servers, CLIs) get the tokenizer-free estimate of
`request_tokens.py`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_RESPONSES,
    ApiProviderSpec,
)
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.capabilities import target_model
from llmgw_desktop.engine.gateway.clouds import CloudWires
from llmgw_desktop.engine.gateway.clouds.models import vendor_twin
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS, addressed
from llmgw_desktop.engine.gateway.http_client.upstream import (
    UpstreamClient,
    UpstreamFailure,
)
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.keys import KeyChain
from llmgw_desktop.engine.gateway.request_tokens import estimate_tokens
from llmgw_desktop.engine.gateway.results import CallerInfo, TokenCount
from llmgw_desktop.engine.gateway.router import ModelRegistry, Target
from llmgw_desktop.engine.gateway.same_dialect.passthrough import GATEWAY_FIELDS, forwardable_query
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.guard.policy import stays_local
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN

if TYPE_CHECKING:
    from llmgw_desktop.engine.guard.service import OutboundGuard

__all__ = ["TokenCounter", "estimated_input_tokens"]

log = logging.getLogger(__name__)

# Keys tried before settling for an estimate (a count is not worth a long fallback chain).
COUNT_TOKENS_KEYS = 2
# What each counting endpoint takes of a rendered request; the rest (sampling, limits) it refuses.
_ANTHROPIC_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")
_RESPONSES_COUNT_FIELDS = (
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "reasoning",
    "text",
    "parallel_tool_calls",
)
# Where each dialect's counting endpoint puts the number.
_COUNT_FIELD = {
    DIALECT_ANTHROPIC: "input_tokens",
    DIALECT_GEMINI: "totalTokens",
    DIALECT_OPENAI_RESPONSES: "input_tokens",
}


class TokenCounter:
    """Counts input tokens for the count_tokens / countTokens front doors."""

    def __init__(
        self,
        registry: ModelRegistry,
        keys: KeyChain,
        upstream: UpstreamClient,
        remote: RemotePassthrough,
        target_access: Callable[[str, str, str], EngineError | None],
        *,
        guard: OutboundGuard | None = None,
        clouds: CloudWires | None = None,
    ) -> None:
        """`target_access(principal, provider, model)` is the refusal of a gateway key whose
        scope leaves that target out (None: allowed), as `GatewayService` checks it; `guard`
        reads what a count would send (a count goes to the vendor as a chat would)."""
        self._guard = guard
        self._registry = registry
        self._keys = keys
        self._upstream = upstream
        self._clouds = clouds or CloudWires({})  # a cloud's set-up, before it is asked to count
        # What a remote caller may ask of the operator's vendor account (as on a chat call).
        self._remote = remote
        self._target_access = target_access

    async def count(self, incoming: ClientRequest, caller: CallerInfo) -> TokenCount:
        """The count for `incoming`, exact where the owner of its model can count.

        Raises:
            InvalidRequest: the body is malformed.
            NotFound: the model is unknown.
            VendorFeatureRefused: the request would be sent as it came, and a remote caller
                asked the vendor for a feature it is not allowed (nothing was sent).
            OutsideKeyScope: the caller's gateway key does not reach the model (nothing sent).
        """
        requested = incoming.facts.model or self._registry.config.default_model
        if not requested:
            raise InvalidRequest("model: required (or set gateway.default_model)", param="model")
        target = self._registry.resolve(requested)
        counted = await self._count_at(incoming, caller, target)
        if isinstance(counted, TokenCount):
            return counted
        twin = vendor_twin(self._registry.unalias(requested))
        if twin is not None and not await self._ready(target, caller):
            # A cloud's name of a Claude model whose cloud is not set up here is counted
            # where its chat would go: Anthropic's same model (`router.py`).
            found = await self._count_at(incoming, caller, self._registry.resolve(twin))
            if isinstance(found, TokenCount):
                return found
        return TokenCount(estimated_input_tokens(incoming), exact=False, source=counted)

    async def _ready(self, target: Target, caller: CallerInfo) -> bool:
        """Whether `target`'s provider could be asked now: switched on, a key (or its cloud's
        own credentials) in its pool, and its cloud set up."""
        spec = self._registry.provider(target.provider) if target.kind == "api" else None
        if spec is None or not spec.enabled:
            return False
        pool = await self._keys.pool(spec, caller.project)
        cloud = self._clouds.wire(spec.id) if spec.cloud else None
        keyed = any(key.value for key in pool)
        return bool(pool) and (cloud is None or cloud.problem(keyed=keyed) is None)

    async def _count_at(
        self, incoming: ClientRequest, caller: CallerInfo, target: Target
    ) -> TokenCount | str:
        """`target`'s count of `incoming`, or why it gave none.

        Raises:
            VendorFeatureRefused, OutsideKeyScope: as `count`.
        """
        # Counting sends the request to the model's owner on the operator's account: a key
        # may not have a provider outside its scope asked, even to count (SECURITY 46).
        outside = self._target_access(caller.principal, target.provider, target.model)
        if outside is not None:
            raise outside
        spec = self._registry.provider(target.provider) if target.kind == "api" else None
        reason = f"{target.label} has no token-counting endpoint"
        if spec is not None and spec.enabled:
            dialect = _counting_dialect(spec, incoming.name)
            sent: ClientRequest | None = incoming
            if dialect is not None and self._guard is not None:
                local = stays_local(self._keys.base_url(spec))
                decision = await self._guard.for_count(incoming, caller, spec.id, local)
                if decision.refusal is None:
                    sent = decision.request(incoming)
                else:  # counted here instead: a count is no reason to refuse the request
                    sent = None
                    reason = f"not sent to {target.label}: the outbound guard found secrets"
            if dialect is not None and sent is not None:
                counted = await self._count_upstream(sent, target, spec, dialect, caller)
                if counted is not None:
                    return counted
                reason = f"{target.label} could not count it"
        return reason

    async def _count_upstream(
        self,
        incoming: ClientRequest,
        target: Target,
        spec: ApiProviderSpec,
        dialect: str,
        caller: CallerInfo,
    ) -> TokenCount | None:
        if dialect == incoming.name:
            # Sent as it came, with the caller's beta headers and the operator's key: the
            # features it names are checked as a chat request's are (raises, nothing is sent).
            for asked in _requests_counted(incoming.body):
                self._remote.check(
                    caller.principal, dialect, asked, caller.passthrough_headers or {}
                )
        try:
            body, headers = self._count_body(incoming, target, spec, dialect, caller)
        except EngineError as exc:
            log.info("count_tokens: %s cannot take this request (%s)", target.label, exc)
            return None
        own = dialect == incoming.name
        query = forwardable_query(dialect, caller.passthrough_query) if own else ""
        pool = (await self._keys.pool(spec, caller.project))[:COUNT_TOKENS_KEYS]
        for key in pool:
            upstream = addressed(
                spec.id,
                self._keys.base_url(spec),
                dialect,
                target.model,
                key.value,
                key.label,
                count_tokens=True,
            )
            try:
                response = await self._upstream.send(
                    upstream,
                    body,
                    stream=False,
                    passthrough_headers=headers,
                    query=query,
                    principal=caller.principal,
                )
                answer = jsonio.loads(await response.whole())
                tokens = int(answer[_COUNT_FIELD[dialect]])
            except (UpstreamFailure, OSError, TimeoutError, ValueError, KeyError, TypeError) as exc:
                log.info("count_tokens: %s with key %s failed: %s", target.label, key.label, exc)
                continue
            upstream_body = answer if dialect == incoming.name else None
            return TokenCount(tokens, exact=True, source=target.label, body=upstream_body)
        return None

    def _count_body(
        self,
        incoming: ClientRequest,
        target: Target,
        spec: ApiProviderSpec,
        dialect: str,
        caller: CallerInfo,
    ) -> tuple[dict[str, Any], dict[str, str] | None]:
        """The counting request for `dialect`, and the client's headers when it is its own.

        Raises:
            InvalidRequest: the request cannot be translated for this provider.
        """
        if dialect == incoming.name:
            body = {k: v for k, v in incoming.body.items() if k not in GATEWAY_FIELDS}
            if dialect != DIALECT_GEMINI:
                body["model"] = target.model
            return body, dict(caller.passthrough_headers)
        request = dataclasses.replace(incoming.neutral(), model=target.model, stream=False)
        rendered = DIALECTS[dialect].render_request(
            request, target=target_model(spec.id, target.model, dialect)
        )
        if dialect == DIALECT_ANTHROPIC:
            return {k: v for k, v in rendered.items() if k in _ANTHROPIC_COUNT_FIELDS}, None
        if dialect == DIALECT_GEMINI:
            inner = {"model": f"models/{target.model}", **rendered}
            return {"generateContentRequest": inner}, None
        return {k: v for k, v in rendered.items() if k in _RESPONSES_COUNT_FIELDS}, None


def estimated_input_tokens(incoming: ClientRequest) -> int:
    """The tokenizer-free estimate of `incoming`'s input tokens (at least 1)."""
    try:
        return estimate_tokens(incoming.neutral())
    except InvalidRequest:
        # Not translatable is not uncountable: fall back to the size of what was sent.
        return incoming.facts.estimated_tokens if incoming.facts.size else CHARS_PER_TOKEN


def _requests_counted(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request a count names: the body, and Gemini's `generateContentRequest` inside it
    (whose tools and cached content the vendor reads as a call's)."""
    inner = body.get("generateContentRequest", body.get("generate_content_request"))
    return [body, inner] if isinstance(inner, dict) else [body]


def _counting_dialect(spec: ApiProviderSpec, client: str) -> str | None:
    """The dialect to count in with `spec`'s API, or None where it has no counting endpoint
    (a cloud's counting endpoints are not used: its requests are estimated)."""
    if spec.cloud:
        return None
    if client in (DIALECT_ANTHROPIC, DIALECT_GEMINI) and client in (
        spec.dialect,
        *spec.also_speaks,
    ):
        return client
    if spec.dialect in (DIALECT_ANTHROPIC, DIALECT_GEMINI):
        return spec.dialect
    if spec.id == "openai":
        return DIALECT_OPENAI_RESPONSES
    return None
