"""The API providers the gateway knows out of the box, and the CLI providers it bridges.

An API provider is an HTTP endpoint speaking one of the dialects; a CLI provider is one of the
engine's coding CLIs, reached through `engine.calls`. Both are addressed the same way by model
ids: `provider/model` names one explicitly (`groq/llama-3.1-8b-instant`, `claude-cli/sonnet`),
and other ids are matched against listed models and name prefixes (`claude-*` is
Anthropic's). A provider prefix wins over listed ids, so a listed id that starts with another
provider's id is reached through its own provider's prefix: Groq's `openai/gpt-oss-120b` is
`groq/openai/gpt-oss-120b`, OpenRouter's `google/gemini-2.5-flash` is
`openrouter/google/gemini-2.5-flash`. The model lists here are defaults that the providers'
own lists extend at run time. Everything here is a default: `gateway.providers` in
config.toml overrides any field and adds OpenAI-compatible servers of its own.

Three providers are clouds (`cloud` set): Azure OpenAI, Amazon Bedrock and Google Vertex AI.
They are reached through the same routing, keys, budgets and recorder as any API provider,
but their URLs and credentials are their own (`engine/gateway/clouds/`): an Azure endpoint and
api-version, an AWS region and SigV4, a Google project, location and Application Default
Credentials. `ambient` names the credential a cloud finds without a key (the AWS chain, ADC,
Microsoft Entra ID), used when no key is stored or set.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from llmgw_desktop.config.cli_catalog import PROVIDER_IDS

__all__ = [
    "API_PROVIDERS",
    "BUILTIN_SWITCH_IDS",
    "CLI_BRIDGES",
    "CLOUD_ENV_NAMES",
    "CLOUD_KINDS",
    "DIALECT_ANTHROPIC",
    "DIALECT_BEDROCK_CONVERSE",
    "DIALECT_GEMINI",
    "DIALECT_OPENAI_CHAT",
    "DIALECT_OPENAI_RESPONSES",
    "ApiProviderSpec",
    "CliBridgeSpec",
    "recorded_provider",
    "switch_id_for",
]

DIALECT_OPENAI_CHAT = "openai-chat"
DIALECT_OPENAI_RESPONSES = "openai-responses"
DIALECT_ANTHROPIC = "anthropic"
DIALECT_GEMINI = "gemini"
# Amazon Bedrock's Converse API: only ever spoken to an upstream, never by a client.
DIALECT_BEDROCK_CONVERSE = "bedrock-converse"

# The clouds, by the `kind` a provider table names them with.
CLOUD_AZURE = "azure"
CLOUD_BEDROCK = "bedrock"
CLOUD_VERTEX = "vertex"
CLOUD_KINDS = (CLOUD_AZURE, CLOUD_BEDROCK, CLOUD_VERTEX)
# The environment each cloud reads, as its own SDK does (README and docs/CLOUDS.md list them).
CLOUD_ENV_NAMES: tuple[str, ...] = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_API_VERSION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_VERTEX_BASE_URL",
)


@dataclass(frozen=True)
class ApiProviderSpec:
    """How to reach one API provider and which models it owns."""

    id: str
    name: str
    # The dialect requests are sent in; `also_speaks` lists others its API serves natively,
    # so a client speaking one of those is passed through untranslated.
    dialect: str
    base_url: str
    also_speaks: tuple[str, ...] = ()
    # Environment variables of an existing setup, read when nothing else is configured.
    key_env: tuple[str, ...] = ()
    base_url_env: str | None = None
    needs_key: bool = True
    models: tuple[str, ...] = ()
    # Its embedding models: served on the embedding routes, listed where a client looks for
    # them among the models (Ollama's `/api/tags`), never offered as a chat model.
    embedding_models: tuple[str, ...] = ()
    # Bare model ids starting with one of these belong to this provider.
    model_prefixes: tuple[str, ...] = ()
    # A local server: offered when something answers on this loopback port, never assumed.
    local: bool = False
    enabled: bool = True
    # Sent with every request to it (`headers` in its config table), and its own proxy.
    headers: tuple[tuple[str, str], ...] = ()
    proxy: str = ""
    # A cloud (`azure`, `bedrock`, `vertex`): its URLs and credentials are its own.
    cloud: str = ""
    # The label of the credential the cloud finds by itself (the AWS chain, ADC, Entra ID),
    # tried when the pool holds no key.
    ambient: str = ""
    # Cloud settings from the provider's table; empty: the cloud's environment variables.
    region: str = ""  # Bedrock
    project: str = ""  # Vertex
    location: str = ""  # Vertex
    api_version: str = ""  # Azure ("v1", or a dated version for the deployment URLs)
    # Azure: deployment -> the model it serves (for prices and capabilities).
    deployments: tuple[tuple[str, str], ...] = ()
    # The cloud's own guardrail, attached to every request it generates from: a Bedrock
    # guardrail (id or ARN, and version) on Converse; an Azure OpenAI content filter
    # configuration by name (`x-policy-id`). Empty: the account's own defaults.
    guardrail: str = ""
    guardrail_version: str = ""
    content_filter: str = ""
    # Models sent in another dialect than `dialect`, by glob (Vertex's Claude models speak
    # Anthropic Messages through rawPredict).
    model_dialects: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        return "local" if self.local else "api"

    @property
    def chat_output_limit(self) -> str:
        """The member an OpenAI Chat request to it names its output limit by: OpenAI's own
        name, which its reasoning models require (on Azure too); compatible servers know
        only the older `max_tokens`."""
        return (
            "max_completion_tokens"
            if self.id == "openai" or self.cloud == "azure"
            else "max_tokens"
        )

    def dialect_for(self, model: str) -> str:
        """The dialect requests for `model` are sent in."""
        for pattern, dialect in self.model_dialects:
            if fnmatch.fnmatchcase(model.lower(), pattern):
                return dialect
        return self.dialect

    def speaks_for(self, model: str) -> tuple[str, ...]:
        """Every dialect `model`'s API serves natively (its own first)."""
        own = self.dialect_for(model)
        return (own,) if own != self.dialect else (own, *self.also_speaks)


@dataclass(frozen=True)
class CliBridgeSpec:
    """A coding CLI offered as a model provider (`claude-cli/sonnet`)."""

    id: str
    engine_provider: str
    name: str
    models: tuple[str, ...] = ()


API_PROVIDERS: tuple[ApiProviderSpec, ...] = (
    ApiProviderSpec(
        "anthropic",
        "Anthropic",
        DIALECT_ANTHROPIC,
        "https://api.anthropic.com",
        key_env=("ANTHROPIC_API_KEY",),
        base_url_env="ANTHROPIC_BASE_URL",
        models=(
            "claude-opus-4-6",
            "claude-sonnet-4-6",
            "claude-opus-4-5",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
        ),
        model_prefixes=("claude-",),
    ),
    ApiProviderSpec(
        "openai",
        "OpenAI",
        DIALECT_OPENAI_CHAT,
        "https://api.openai.com/v1",
        also_speaks=(DIALECT_OPENAI_RESPONSES,),
        key_env=("OPENAI_API_KEY",),
        base_url_env="OPENAI_BASE_URL",
        models=("gpt-5.1", "gpt-5.1-codex-mini", "gpt-5-mini", "gpt-4.1", "gpt-4o", "gpt-4o-mini"),
        embedding_models=("text-embedding-3-small", "text-embedding-3-large"),
        model_prefixes=("gpt-", "o1", "o3", "o4", "chatgpt-", "codex-", "text-embedding-"),
    ),
    ApiProviderSpec(
        "google",
        "Google Gemini",
        DIALECT_GEMINI,
        "https://generativelanguage.googleapis.com",
        key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        base_url_env="GOOGLE_GEMINI_BASE_URL",
        models=(
            "gemini-3-pro-preview",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
        ),
        embedding_models=("gemini-embedding-001",),
        model_prefixes=("gemini-", "gemma-"),
    ),
    ApiProviderSpec(
        "groq",
        "Groq",
        DIALECT_OPENAI_CHAT,
        "https://api.groq.com/openai/v1",
        key_env=("GROQ_API_KEY",),
        models=(
            "llama-3.3-70b-versatile",
            "llama-3.1-8b-instant",
            # Groq's own ids; clients send groq/openai/gpt-oss-120b ("openai/" means OpenAI).
            "openai/gpt-oss-120b",
            "openai/gpt-oss-20b",
        ),
    ),
    ApiProviderSpec(
        "openrouter",
        "OpenRouter",
        DIALECT_OPENAI_CHAT,
        "https://openrouter.ai/api/v1",
        key_env=("OPENROUTER_API_KEY",),
        models=("deepseek/deepseek-chat", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash"),
    ),
    ApiProviderSpec(
        "mistral",
        "Mistral API",  # not "Mistral": the Vibe CLI is Mistral's too, and both are listed
        DIALECT_OPENAI_CHAT,
        "https://api.mistral.ai/v1",
        key_env=("MISTRAL_API_KEY",),
        models=("mistral-large-latest", "mistral-medium-latest", "codestral-latest"),
        embedding_models=("mistral-embed",),
        model_prefixes=("mistral-", "codestral", "devstral", "magistral", "ministral"),
    ),
    ApiProviderSpec(
        "xai",
        "xAI",
        DIALECT_OPENAI_CHAT,
        "https://api.x.ai/v1",
        key_env=("XAI_API_KEY",),
        models=("grok-4", "grok-4-fast", "grok-code-fast-1"),
        model_prefixes=("grok-",),
    ),
    ApiProviderSpec(
        "azure",
        "Azure OpenAI",
        DIALECT_OPENAI_CHAT,
        "",  # the resource's endpoint: AZURE_OPENAI_ENDPOINT or base_url
        also_speaks=(DIALECT_OPENAI_RESPONSES,),
        key_env=("AZURE_OPENAI_API_KEY",),
        base_url_env="AZURE_OPENAI_ENDPOINT",
        cloud=CLOUD_AZURE,
        ambient="entra-id",
    ),
    ApiProviderSpec(
        "bedrock",
        "Amazon Bedrock",
        DIALECT_BEDROCK_CONVERSE,
        "",  # https://bedrock-runtime.{region}.amazonaws.com unless an endpoint is set
        key_env=("AWS_BEARER_TOKEN_BEDROCK",),
        base_url_env="AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        models=(
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "amazon.nova-pro-v1:0",
            "meta.llama3-3-70b-instruct-v1:0",
            "mistral.mistral-large-2407-v1:0",
        ),
        cloud=CLOUD_BEDROCK,
        ambient="aws-credentials",
    ),
    ApiProviderSpec(
        "vertex",
        "Google Vertex AI",
        DIALECT_GEMINI,
        "",  # https://{location}-aiplatform.googleapis.com unless a base URL is set
        base_url_env="GOOGLE_VERTEX_BASE_URL",
        models=("gemini-2.5-pro", "gemini-2.5-flash", "claude-sonnet-4-5@20250929"),
        cloud=CLOUD_VERTEX,
        ambient="adc",
        model_dialects=(("claude-*", DIALECT_ANTHROPIC),),
    ),
    ApiProviderSpec(
        "ollama",
        "Ollama",
        DIALECT_OPENAI_CHAT,
        "http://127.0.0.1:11434/v1",
        needs_key=False,
        local=True,
        enabled=False,
    ),
    ApiProviderSpec(
        "lmstudio",
        "LM Studio",
        DIALECT_OPENAI_CHAT,
        "http://127.0.0.1:1234/v1",
        needs_key=False,
        local=True,
        enabled=False,
    ),
    ApiProviderSpec(
        "vllm",
        "vLLM",
        DIALECT_OPENAI_CHAT,
        "http://127.0.0.1:8000/v1",
        needs_key=False,
        local=True,
        enabled=False,
    ),
    ApiProviderSpec(
        "llamacpp",
        "llama.cpp server",
        DIALECT_OPENAI_CHAT,
        "http://127.0.0.1:8080/v1",
        needs_key=False,
        local=True,
        enabled=False,
    ),
)

# What Claude Code and Gemini CLI take, whether run as themselves or over ACP.
_CLAUDE_ALIASES = ("sonnet", "opus", "haiku")
_GEMINI_MODELS = ("gemini-2.5-pro", "gemini-2.5-flash")

# Each CLI's one list of models it is known to take (aliases included), the first its default
# here: what `/v1/models` offers as `<id>/<model>`, and what the Providers page and
# `discovery.models` show where the CLI cannot list its own (Codex and OpenCode can: their own
# listing is shown there). An operator's `[providers.acp.NAME] models` replaces
# an agent's. Checked against the pinned CLIs (2026-11-28): Mistral Vibe 3.0.3 ships one model,
# and runs it in place of any other name it is given.
CLI_BRIDGES: tuple[CliBridgeSpec, ...] = (
    CliBridgeSpec("claude-cli", "claude", "Claude Code", (*_CLAUDE_ALIASES, "opusplan")),
    # Codex 0.169's own listing (`codex debug models`) has gpt-5.5 and not the two after it.
    CliBridgeSpec("codex-cli", "codex", "Codex CLI", ("gpt-5.5", "gpt-5.1-codex-mini", "gpt-5.1")),
    CliBridgeSpec("gemini-cli", "gemini", "Gemini CLI", (*_GEMINI_MODELS, "gemini-2.5-flash-lite")),
    CliBridgeSpec(
        "grok-cli", "grok", "Grok CLI", ("grok-code-fast-1", "grok-4", "grok-4.5", "grok-build")
    ),
    CliBridgeSpec(
        "copilot-cli", "copilot", "GitHub Copilot CLI", ("claude-sonnet-4.5", "gpt-5", "gpt-5-mini")
    ),
    CliBridgeSpec("opencode-cli", "opencode", "OpenCode", ("opencode/big-pickle",)),
    CliBridgeSpec("mistral-cli", "mistral", "Mistral Vibe", ("mistral-medium-3.5",)),
    # The ACP agents (`cli_catalog.py`), each answering as `<id>-cli/<model>` too.
    CliBridgeSpec("qwen-cli", "qwen", "Qwen Code", ("qwen3-coder-plus",)),
    CliBridgeSpec("gemini-acp-cli", "gemini-acp", "Gemini CLI (ACP)", _GEMINI_MODELS),
    CliBridgeSpec(
        "opencode-acp-cli",
        "opencode-acp",
        "OpenCode (ACP)",
        ("opencode/big-pickle", "anthropic/claude-sonnet-4-5", "openai/gpt-5"),
    ),
    # What claude-agent-acp 0.23.1 offers over ACP (`sonnet` and `opus` are taken for the
    # `[1m]` variants, the only ones it offers); codex-acp 0.16.0 offers gpt-5.5 and gpt-5.4
    # among others; Gemini CLI over ACP offers no choice (checked 2026-11-28).
    CliBridgeSpec(
        "claude-acp-cli",
        "claude-acp",
        "Claude (ACP)",
        ("default", "sonnet[1m]", "opus[1m]", "haiku"),
    ),
    CliBridgeSpec("codex-acp-cli", "codex-acp", "Codex (ACP)", ("gpt-5.5", "gpt-5.4")),
)


def switch_id_for(gateway_id: str) -> str:
    """The user's switch for an API provider or local server (`providers.disabled`): its
    gateway id, unless a CLI's switch has that id already (Mistral's API and its Vibe CLI are
    both `mistral`), then `<id>-api`."""
    return f"{gateway_id}-api" if gateway_id in PROVIDER_IDS else gateway_id


_ENGINE_ID_OF_BRIDGE = {bridge.id: bridge.engine_provider for bridge in CLI_BRIDGES}


def recorded_provider(gateway_id: str) -> str:
    """The provider a recorder row names for a gateway target: a CLI bridge's engine id
    (`claude-cli` -> `claude`), else the API provider's switch id (`openai`, `mistral-api`), so
    rows, spend and health count Mistral's API and its Vibe CLI apart (once both `mistral`)."""
    return _ENGINE_ID_OF_BRIDGE.get(gateway_id) or switch_id_for(gateway_id)


# Every switch id `providers.disabled` may name without a [gateway.providers] table of its own.
BUILTIN_SWITCH_IDS: tuple[str, ...] = (
    *PROVIDER_IDS,
    *(switch_id_for(spec.id) for spec in API_PROVIDERS),
)
