"""A cloud's own guardrail, attached by name in config (issue 65, item 6): a Bedrock guardrail
(`guardrail`, `guardrail_version`) in every Converse and ConverseStream body, inside what SigV4
signs; an Azure AI Content Safety filter configuration (`content_filter`) named in Azure
OpenAI's `x-policy-id` header on every chat and Responses request. Beside each, the
legitimate path: a provider with none configured sends none, and an embedding goes without.

The real clouds cannot be reached from here: each test's upstream is the scripted one on
loopback, standing in for Bedrock's or Azure's endpoint, and it refuses (403) a generating
request that does not carry the guardrail, so a request that reaches it without one fails the
test where the cloud would have answered unguarded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from llmgw_desktop.config.settings import ConfigError, load_settings
from llmgw_desktop.engine import jsonio
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.sdk_clients import claude_stream, openai_client
from tests.transports.gateway.clouds.conftest import AWS_KEY_ID, AWS_SECRET, BEDROCK_MODEL
from tests.transports.gateway.clouds.test_azure import DEPLOYMENT, MESSAGES, azure_env
from tests.transports.gateway.clouds.test_bedrock import aws_env, verifier
from tests.transports.gateway.conftest import GatewayFactory

__all__ = ["aws_env", "azure_env"]  # the fixtures used here

GUARDRAIL = "gr0a1b2c3d4e5f"
VERSION = "3"
BEDROCK = {"gateway.providers": {"bedrock": {"guardrail": GUARDRAIL, "guardrail_version": VERSION}}}
CONTENT_FILTER = "strict-coding-filter"
AZURE = {"gateway.providers": {"azure": {"content_filter": CONTENT_FILTER}}}


def _bedrock_guardrail_required(upstream: ScriptedUpstream) -> None:
    """The fake Bedrock checks each signature as before, and refuses a Converse body without
    the guardrail."""
    signed = verifier({AWS_KEY_ID: (AWS_SECRET, None)})

    def verify(request: web.Request, body: bytes) -> str | None:
        problem = signed(request, body)
        if problem is not None or "/converse" not in request.path:
            return problem
        given = jsonio.loads(body).get("guardrailConfig")
        wanted = {"guardrailIdentifier": GUARDRAIL, "guardrailVersion": VERSION}
        return None if given == wanted else f"guardrailConfig {given!r}, not {wanted!r}"

    upstream.verify = verify


async def test_a_bedrock_guardrail_rides_every_converse_signed(
    aws_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    _bedrock_guardrail_required(upstream)
    gateway: GatewayRuntime = await start_gateway(BEDROCK)
    whole = await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
    )
    assert (whole.choices[0].message.content or "").startswith(DEFAULT_ANSWER)
    text, _final = await claude_stream(gateway, f"bedrock/{BEDROCK_MODEL}", max_tokens=32)
    assert text.startswith(DEFAULT_ANSWER)
    paths = [r.path for r in upstream.llm_requests]
    assert paths == [f"/model/{BEDROCK_MODEL}/converse", f"/model/{BEDROCK_MODEL}/converse-stream"]
    for seen in upstream.llm_requests:
        assert seen.body["guardrailConfig"] == {
            "guardrailIdentifier": GUARDRAIL,
            "guardrailVersion": VERSION,
        }


async def test_without_a_guardrail_bedrock_is_sent_none(
    aws_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    gateway: GatewayRuntime = await start_gateway()
    await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
    )
    (seen,) = upstream.llm_requests
    assert "guardrailConfig" not in seen.body


async def test_an_azure_content_filter_is_named_on_chat_and_responses_not_embeddings(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    def verify(request: web.Request, _body: bytes) -> str | None:
        given = request.headers.get("x-policy-id")
        if request.path.endswith("/embeddings"):
            return None if given is None else f"x-policy-id on an embedding: {given}"
        return None if given == CONTENT_FILTER else f"x-policy-id {given!r}"

    upstream.verify = verify
    gateway: GatewayRuntime = await start_gateway(AZURE)
    client = openai_client(gateway)
    await client.chat.completions.create(model=f"azure/{DEPLOYMENT}", messages=MESSAGES)
    await client.responses.create(model=f"azure/{DEPLOYMENT}", input="hi")
    await client.embeddings.create(model=f"azure/{DEPLOYMENT}", input="hi")
    kinds = [
        (r.path.rsplit("/", 1)[-1], r.headers.get("x-policy-id")) for r in upstream.llm_requests
    ]
    assert kinds == [
        ("completions", CONTENT_FILTER),
        ("responses", CONTENT_FILTER),
        ("embeddings", None),
    ]


async def test_without_a_content_filter_azure_is_sent_none(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    gateway: GatewayRuntime = await start_gateway()
    await openai_client(gateway).chat.completions.create(
        model=f"azure/{DEPLOYMENT}", messages=MESSAGES
    )
    (seen,) = upstream.llm_requests
    assert "x-policy-id" not in seen.headers


@pytest.mark.parametrize(
    ("provider", "table", "words"),
    [
        ("bedrock", {"guardrail": GUARDRAIL}, "needs guardrail_version"),
        ("bedrock", {"guardrail_version": "1"}, "needs guardrail "),
        ("bedrock", {"guardrail": "Not An Id", "guardrail_version": "1"}, "guardrail's id or"),
        ("bedrock", {"guardrail": GUARDRAIL, "guardrail_version": "v2"}, "version number or"),
        ("azure", {"guardrail": GUARDRAIL, "guardrail_version": "1"}, "kind = 'bedrock'"),
        ("bedrock", {"content_filter": "x"}, "kind = 'azure'"),
        ("azure", {"content_filter": "bad name!"}, "content filter's name"),
    ],
)
def test_a_guardrail_named_wrongly_is_refused_naming_it(
    tmp_path: Path, provider: str, table: dict[str, str], words: str
) -> None:
    config = tmp_path / "config.toml"
    fields = "\n".join(f'{name} = "{value}"' for name, value in table.items())
    config.write_text(f"[gateway.providers.{provider}]\n{fields}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        load_settings(environ={"LLM_GATEWAY_CONFIG": str(config)})


async def test_a_guardrail_by_its_arn_and_draft_is_taken(
    aws_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    arn = f"arn:aws:bedrock:us-west-2:123456789012:guardrail/{GUARDRAIL}"
    providers = {"bedrock": {"guardrail": arn, "guardrail_version": "DRAFT"}}
    gateway: GatewayRuntime = await start_gateway({"gateway.providers": providers})
    await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
    )
    (seen,) = upstream.llm_requests
    assert seen.body["guardrailConfig"] == {
        "guardrailIdentifier": arn,
        "guardrailVersion": "DRAFT",
    }
