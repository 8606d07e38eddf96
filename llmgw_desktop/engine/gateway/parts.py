"""What the gateway's route asks (`GatewayParts`): each part built once by the composition root
(`composition.build_gateway`), which alone wires them to each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks
from llmgw_desktop.engine.budgets.holds import SpendGuard
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.gateway.api_targets import ApiTargets
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer
from llmgw_desktop.engine.gateway.chat_targets import ChatTargets
from llmgw_desktop.engine.gateway.cli_bridge import CliBridge
from llmgw_desktop.engine.gateway.clouds import CloudWires
from llmgw_desktop.engine.gateway.completions.targets import CompletionTargets
from llmgw_desktop.engine.gateway.counting import TokenCounter
from llmgw_desktop.engine.gateway.embeddings.targets import EmbeddingTargets
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from llmgw_desktop.engine.gateway.keys import KeyChain
from llmgw_desktop.engine.gateway.provider_directory import ProviderDirectory
from llmgw_desktop.engine.gateway.records.capture import GatewayCapture
from llmgw_desktop.engine.gateway.records.first_refusals import FirstRefusals
from llmgw_desktop.engine.gateway.records.recording import RequestRecords
from llmgw_desktop.engine.gateway.router import ModelRegistry
from llmgw_desktop.engine.gateway.semantic_cache import SemanticCache
from llmgw_desktop.engine.guard.service import AnswerScan, OutboundGuard
from llmgw_desktop.engine.response_cache import ResponseCache
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook

__all__ = ["GatewayParts"]


@dataclass(frozen=True)
class GatewayParts:
    """What the route asks, each part built once by the composition root
    (`composition.build_gateway`), which alone wires them to each other."""

    registry: ModelRegistry
    keys: KeyChain
    upstream: UpstreamClient
    clouds: CloudWires  # the configured clouds' wires (the upstream client's signers)
    directory: ProviderDirectory
    # What is known of each target (in flight, latency, quota, cool-downs), and the order
    # each request tries its plan in.
    balancer: Balancer
    records: RequestRecords  # the recorder's rows: the only writer of a gateway row
    api: ApiTargets  # the one attempt loop every kind of call to an API target goes through
    chats: ChatTargets
    embeddings: EmbeddingTargets
    completions: CompletionTargets
    counter: TokenCounter
    capture: GatewayCapture  # the bodies a person chose to keep (`recorder.capture`)
    cli: CliBridge
    # Engine provider id -> None when usable, else the error saying why not.
    cli_available: Callable[[str], Awaitable[EngineError | None]]
    budgets: SpendGuard
    prices: PriceBook  # the engine's: the person's prices on top
    telemetry: Telemetry  # spans of requests and attempts (nothing while export is off)
    cache: ResponseCache | None  # exact repeats answered from earlier answers (`[cache]`)
    # Answers found by a request's meaning (`cache.semantic`, off by default); None: off.
    semantic: SemanticCache | None
    # Secrets in what leaves, read before each target is asked (`[guard]`); None: none; and
    # where answers are read for the operator's own keys from (`guard.scan_answers`).
    guard: OutboundGuard | None
    answer_scan: AnswerScan
    # The first refusal of each kind someone must set up, said on the log and terminal.
    first_refusals: FirstRefusals
    # Which CLI targets' calls would come back through the gateway (a route passes over one
    # a hard budget refuses), and told each refusal with the credential that asked: an
    # agent's routed call refused for a budget ends the job it runs for.
    callbacks: AgentCallbacks
