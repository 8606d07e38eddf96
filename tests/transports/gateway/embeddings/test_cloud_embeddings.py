"""Embeddings on the clouds through the gateway: Azure OpenAI deployments (where the real
`AzureOpenAI` client sends them), Bedrock's Titan and Cohere models (SigV4 by botocore, checked
by botocore on the fake's side), and Vertex AI's `:predict` (a google-auth token the fake's
token server issued)."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.clouds.google import GoogleTokenServer
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.embeddings import TOKENS_PER_TEXT, fake_vector
from tests.sdk_clients import openai_client
from tests.transports.gateway.clouds.conftest import AWS_KEY_ID, AWS_SECRET, VERTEX_PROJECT
from tests.transports.gateway.clouds.test_azure import DEPLOYMENT, _wire, azure_env
from tests.transports.gateway.clouds.test_bedrock import aws_env
from tests.transports.gateway.clouds.test_vertex import google, vertex_env
from tests.transports.gateway.conftest import GatewayFactory

__all__ = ["aws_env", "azure_env", "google", "vertex_env"]  # fixtures used here

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


async def test_azure_deployment_embeds_where_azure_openai_sends_it(
    azure_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    sdk = openai.AsyncAzureOpenAI(max_retries=0)  # endpoint, key and version from the env
    await sdk.embeddings.create(model=DEPLOYMENT, input="hello")
    gateway = await start_gateway()
    answer = await openai_client(gateway).embeddings.create(
        model=f"azure/{DEPLOYMENT}", input="hello"
    )
    theirs, ours = upstream.llm_requests
    assert _wire(ours) == _wire(theirs)
    assert ours.path == f"/openai/deployments/{DEPLOYMENT}/embeddings"
    assert answer.data[0].embedding == fake_vector("hello")


async def test_bedrock_titan_is_asked_once_a_text_signed(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    answer = await openai_client(gateway).embeddings.create(
        model=f"bedrock/{TITAN}", input=["alpha", "beta"], dimensions=4
    )
    assert [d.embedding for d in answer.data] == [fake_vector("alpha", 4), fake_vector("beta", 4)]
    assert answer.usage.prompt_tokens == 2 * TOKENS_PER_TEXT
    first, second = upstream.llm_requests
    assert first.path == f"/model/{TITAN}/invoke"
    assert first.body == {"inputText": "alpha", "dimensions": 4}
    assert second.body["inputText"] == "beta"
    assert first.headers["authorization"].startswith("<redacted")  # signed (and checked)
    rows = await gateway.engine.recorder.recent(limit=1)
    assert rows[0]["provider"] == "bedrock" and rows[0]["input_tokens"] == 2 * TOKENS_PER_TEXT
    assert rows[0]["cost_usd"] is not None and rows[0]["cost_usd"] > 0
    assert AWS_SECRET not in repr(rows) and AWS_KEY_ID not in repr(rows)


async def test_bedrock_cohere_takes_every_text_at_once_and_counts_from_its_header(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    answer = await openai_client(gateway).embeddings.create(
        model=f"bedrock/{COHERE}", input=["a", "b", "c"], encoding_format="float"
    )
    assert [d.embedding for d in answer.data] == [fake_vector(t) for t in "abc"]
    assert answer.usage.prompt_tokens == 3 * TOKENS_PER_TEXT
    (seen,) = upstream.llm_requests
    assert seen.body == {"texts": ["a", "b", "c"], "input_type": "search_document"}


async def test_a_bedrock_chat_model_is_refused_as_no_embedding_model(
    aws_env: None, gateway: GatewayRuntime
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(gateway).embeddings.create(
            model="bedrock/amazon.nova-pro-v1:0", input="x"
        )
    assert "bedrock/amazon.nova-pro-v1:0 is not an embedding model" in str(refused.value)


async def test_vertex_embeds_through_predict_with_a_google_token(
    vertex_env: Path, google: GoogleTokenServer, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    answer = await openai_client(gateway).embeddings.create(
        model="vertex/text-embedding-005", input=["q1", "q2"], dimensions=3
    )
    assert [d.embedding for d in answer.data] == [fake_vector("q1", 3), fake_vector("q2", 3)]
    assert answer.usage.prompt_tokens == 2 * TOKENS_PER_TEXT
    (seen,) = upstream.llm_requests
    assert seen.path == (
        f"/v1/projects/{VERTEX_PROJECT}/locations/us-east5/publishers/google/models/"
        "text-embedding-005:predict"
    )
    assert seen.body == {
        "instances": [{"content": "q1"}, {"content": "q2"}],
        "parameters": {"outputDimensionality": 3},
    }
