"""The provider editor on a real headless gateway: a provider it saves serves the next request
from the official `openai` SDK without a restart, through the scripted upstream on loopback,
with its headers; the key is in the vault and nowhere in config.toml; the person's comments
survive; bad input is refused naming the field, and then nothing is written.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.engine.api import (
    LOCAL_CALLER,
    ErrorCode,
    InvalidRequest,
    ModelEntries,
    Price,
    ProviderDraft,
)
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.gateways import gateway_starter
from tests.network_fixtures import running_tinyproxy
from tests.sdk_clients import openai_client

KEY = "sk-house-vllm-key-0123456789"
USER_CONFIG = """\
# my gateway, my notes
[log]
level = "INFO"  # keep it quiet

# the box under my desk
[gateway.providers.ollama]
# switched on by hand
enabled = true

# aliases I use every day
[gateway.aliases]
fast = "gpt-4o-mini"  # cheap one
"""


@pytest.fixture
def upstream(upstream: ScriptedUpstream) -> ScriptedUpstream:
    """The suite's scripted upstream, listing the house models as its chat models."""
    upstream.model_ids["chat"] = ["house-coder", "house-chat"]
    return upstream


@pytest.fixture
async def runtime(config_path: Path, isolated_env: Path) -> AsyncIterator[GatewayRuntime]:
    config_path.write_text(USER_CONFIG)
    async with gateway_starter(load_settings()) as start:
        yield await start()


def draft(upstream: ScriptedUpstream, **changes: object) -> ProviderDraft:
    fields: dict[str, object] = {
        "kind": "openai-compatible",
        "base_url": upstream.base_url + "/v1",
        "headers": {"X-Team": "infra"},
        "models": ("house-coder",),
        "api_key": KEY,
    }
    fields.update(changes)
    return ProviderDraft("house", **fields)  # type: ignore[arg-type]


async def test_saved_provider_serves_the_next_request_without_restart(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, config_path: Path
) -> None:
    engine = runtime.engine
    client = openai_client(runtime, "x")
    try:
        with pytest.raises(openai.NotFoundError):  # unknown before the save
            await client.chat.completions.create(
                model="house/house-coder", messages=[{"role": "user", "content": "hi"}]
            )
        entries = ModelEntries(
            aliases={"coder": "house/house-coder"},
            routes={"house/*": {"strategy": "priority", "fallback": ["fast"]}},
            prices={"house-coder": Price(1.0, 2.0, 0.1, 1.0)},
        )
        await engine.provider_editor.save(LOCAL_CALLER, draft(upstream), entries, new=True)

        answer = await client.chat.completions.create(
            model="coder", messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        await client.close()
    assert answer.choices[0].message.content
    (sent,) = upstream.llm_requests
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == "house-coder"
    assert sent.headers.get("x-team") == "infra"
    assert sent.headers.get("authorization")  # the vault's key went (the fake redacts it)
    assert engine.prices.source_of("house-coder") == "config"

    raw = config_path.read_bytes()
    assert KEY.encode() not in raw
    assert await engine.vault.resolve_keys("house") == [KEY]
    text = raw.decode()
    for comment in (
        "# my gateway, my notes",
        "# keep it quiet",
        "# the box under my desk",
        "# switched on by hand",
        "# aliases I use every day",
        "# cheap one",
    ):
        assert comment in text
    data = tomllib.loads(text)
    assert data["gateway"]["providers"]["house"] == {
        "kind": "openai-compatible",
        "base_url": upstream.base_url + "/v1",
        "models": ["house-coder"],
        "headers": {"X-Team": "infra"},
    }
    assert data["gateway"]["aliases"] == {"fast": "gpt-4o-mini", "coder": "house/house-coder"}
    assert data["gateway"]["routes"]["house/*"]["fallback"] == ["fast"]
    # The next start reads what was written.
    again = load_settings()
    assert again.settings.gateway.providers["house"]["headers"] == {"X-Team": "infra"}


async def test_test_lists_models_before_saving_and_says_the_exact_error(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, config_path: Path
) -> None:
    editor = runtime.engine.provider_editor
    before = config_path.read_bytes()
    found = await editor.test(LOCAL_CALLER, draft(upstream))
    assert found.error is None and found.models == ("house-coder", "house-chat")
    (listed,) = [r for r in upstream.requests if r.endpoint == "models"]
    assert listed.headers.get("x-team") == "infra"
    wrong = await editor.test(LOCAL_CALLER, draft(upstream, base_url=upstream.base_url + "/nope"))
    assert wrong.error is not None and "404" in wrong.error
    assert config_path.read_bytes() == before


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"base_url": "127.0.0.1:8001/v1"}, "base_url", "must start with http:// or https://"),
        ({"base_url": "http:///v1"}, "base_url", "names no host"),
        ({"headers": {"X-Team": "a\r\nX-Evil: 1"}}, "headers", "line break"),
        ({"headers": {"Bad Name": "1"}}, "headers", "not a header name"),
        ({"headers": {"Authorization": "Bearer x"}}, "headers", "keys go in the vault"),
        ({"proxy": "socks5://p:1080"}, "proxy", "only http:// proxies"),
        ({"api_key": "two words"}, "api_key", "one line without spaces"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    runtime: GatewayRuntime,
    upstream: ScriptedUpstream,
    config_path: Path,
    changes: dict[str, object],
    field: str,
    words: str,
) -> None:
    before = config_path.read_bytes()
    with pytest.raises(InvalidRequest) as refused:
        await runtime.engine.provider_editor.save(
            LOCAL_CALLER, draft(upstream, **changes), ModelEntries(), new=True
        )
    assert refused.value.details["param"] == field
    assert words in refused.value.message
    assert config_path.read_bytes() == before
    assert await runtime.engine.vault.resolve_keys("house") == []


async def test_a_taken_id_is_refused_and_an_edit_keeps_the_stored_key(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, config_path: Path
) -> None:
    editor = runtime.engine.provider_editor
    for taken in ("openai", "claude-cli"):
        with pytest.raises(InvalidRequest) as builtin:
            await editor.save(
                LOCAL_CALLER,
                ProviderDraft(taken, base_url="http://127.0.0.1:9/v1"),
                ModelEntries(),
                new=True,
            )
        assert builtin.value.code == ErrorCode.PROVIDER_EXISTS
    await editor.save(LOCAL_CALLER, draft(upstream), ModelEntries(), new=True)
    written = config_path.read_bytes()
    with pytest.raises(InvalidRequest) as duplicate:
        await editor.save(LOCAL_CALLER, draft(upstream), ModelEntries(), new=True)
    assert duplicate.value.code == ErrorCode.PROVIDER_EXISTS
    assert duplicate.value.details["param"] == "id"
    assert config_path.read_bytes() == written

    await editor.save(
        LOCAL_CALLER, draft(upstream, api_key=None, proxy=""), ModelEntries(), new=False
    )
    assert await runtime.engine.vault.resolve_keys("house") == [KEY]
    await editor.remove(LOCAL_CALLER, "house")
    assert "house" not in tomllib.loads(config_path.read_text())["gateway"]["providers"]
    assert runtime.engine.gateway.registry.provider("house") is None


async def test_a_providers_own_proxy_carries_its_requests(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """No proxy in the environment, a loopback upstream (which the environment's proxy would
    never see): the provider's own `proxy` carries its calls, and its Test, all the same."""
    with running_tinyproxy(tmp_path) as proxy:
        editor = runtime.engine.provider_editor
        via = draft(upstream, proxy=proxy.url)
        assert (await editor.test(LOCAL_CALLER, via)).models
        await editor.save(LOCAL_CALLER, via, ModelEntries(), new=True)
        async with openai_client(runtime, "x") as client:
            await client.chat.completions.create(
                model="house/house-coder", messages=[{"role": "user", "content": "hi"}]
            )
        await asyncio.to_thread(
            proxy.wait_for_log, rf"Request .*: POST {upstream.base_url}/v1/chat/completions"
        )
        await asyncio.to_thread(
            proxy.wait_for_log, rf"Request .*: GET {upstream.base_url}/v1/models"
        )


async def test_two_saves_at_once_both_land(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, config_path: Path
) -> None:
    editor = runtime.engine.provider_editor
    await asyncio.gather(
        editor.save(
            LOCAL_CALLER, draft(upstream), ModelEntries(aliases={"a1": "house/x"}), new=True
        ),
        editor.save(
            LOCAL_CALLER,
            ProviderDraft("other", base_url=upstream.base_url + "/v1"),
            ModelEntries(aliases={"a2": "other/y"}),
            new=True,
        ),
    )
    data = tomllib.loads(config_path.read_text())["gateway"]
    assert {"house", "other"} <= set(data["providers"])
    assert {"a1", "a2"} <= set(data["aliases"])
    registry = runtime.engine.gateway.registry
    assert registry.provider("house") is not None and registry.provider("other") is not None


async def test_a_saved_routes_fallback_and_pin_steer_the_next_requests(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, config_path: Path
) -> None:
    """The route the editor writes is the one the next requests take: a failing first target
    falls back to the route's next model, and a pinned caller goes to its pin first."""
    route = {"fallback": ["house/house-chat"], "pin": {"ci-bot": "house/house-chat"}}
    entries = ModelEntries(routes={"house/house-coder": route})
    await runtime.engine.provider_editor.save(
        LOCAL_CALLER, draft(upstream, models=("house-coder", "house-chat")), entries, new=True
    )
    hi = [{"role": "user", "content": "hi"}]
    async with openai_client(runtime, "x") as client:
        upstream.script(Reply.error(500, "the coder is down"))
        fell_back = await client.chat.completions.create(model="house/house-coder", messages=hi)
        pinned = await client.chat.completions.create(
            model="house/house-coder", messages=hi, extra_headers={"X-Caller": "ci-bot"}
        )
    assert fell_back.choices[0].message.content and pinned.choices[0].message.content
    asked = [r.body["model"] for r in upstream.llm_requests]
    assert asked == ["house-coder", "house-chat", "house-chat"], asked
    assert (fell_back.model_extra or {})["x_gateway"]["fallbackUsed"] is True
    written = tomllib.loads(config_path.read_text())["gateway"]["routes"]["house/house-coder"]
    assert written == route


async def test_an_edit_from_the_form_keeps_the_route_fields_the_form_does_not_show(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, config_path: Path
) -> None:
    """The window's form edits a route's strategy, fallback and pins; its targets, weights and
    small-request target stay as config.toml has them."""
    pool = {
        "targets": ["house/house-coder", "house/house-chat"],
        "strategy": "weighted",
        "weights": [2, 1],
        "small_request": "house/house-chat",
    }
    both = draft(upstream, models=("house-coder", "house-chat"))
    editor = runtime.engine.provider_editor
    await editor.save(LOCAL_CALLER, both, ModelEntries(routes={"house/*": pool}), new=True)
    form = {"strategy": "weighted", "fallback": ["fast"]}  # what the form sends back
    await editor.save(LOCAL_CALLER, both, ModelEntries(routes={"house/*": form}), new=False)
    written = tomllib.loads(config_path.read_text())["gateway"]["routes"]["house/*"]
    assert written == {**pool, "fallback": ["fast"]}
    assert editor.entries_of("house", both.models).routes["house/*"]["targets"] == pool["targets"]
    # A strategy the kept fields no longer fit is refused, naming the key; nothing is written.
    with pytest.raises(InvalidRequest) as caught:
        await editor.save(
            LOCAL_CALLER,
            both,
            ModelEntries(routes={"house/*": {"strategy": "priority"}}),
            new=False,
        )
    assert "gateway.routes.'house/*'.weights" in caught.value.message
    assert tomllib.loads(config_path.read_text())["gateway"]["routes"]["house/*"] == written


async def test_an_azure_resource_of_ones_own_round_trips_with_its_deployments(
    runtime: GatewayRuntime, upstream: ScriptedUpstream, config_path: Path
) -> None:
    editor = runtime.engine.provider_editor
    azure = ProviderDraft(
        "azure-eu",
        kind="azure",
        base_url=upstream.base_url,
        api_version="2024-10-21",
        deployments={"prod-4o": "gpt-4o"},
        api_key="azure-eu-key-0123456789",
    )
    await editor.save(LOCAL_CALLER, azure, ModelEntries(), new=True)
    table = tomllib.loads(config_path.read_text())["gateway"]["providers"]["azure-eu"]
    assert table == {
        "kind": "azure",
        "base_url": upstream.base_url,
        "api_version": "2024-10-21",
        "deployments": {"prod-4o": "gpt-4o"},
    }
    assert editor.draft_of("azure-eu") == azure.__class__(**{**azure.__dict__, "api_key": None})
    client = openai_client(runtime, "x")
    try:
        await client.chat.completions.create(
            model="azure-eu/prod-4o", messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        await client.close()
    (sent,) = upstream.llm_requests
    assert sent.path == "/openai/deployments/prod-4o/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"} and set(sent.secrets) == {"api-key"}


async def test_a_cloud_draft_is_tested_for_its_settings_and_credential(
    runtime: GatewayRuntime,
) -> None:
    editor = runtime.engine.provider_editor
    no_region = await editor.test(LOCAL_CALLER, ProviderDraft("aws-2", kind="bedrock"))
    assert no_region.error is not None and "AWS_REGION" in no_region.error
    keyed = await editor.test(
        LOCAL_CALLER,
        ProviderDraft(
            "aws-2", kind="bedrock", region="eu-west-1", api_key="ABSK-some-api-key", models=("m",)
        ),
    )
    assert keyed.error is None and keyed.models == ("m",)
    with pytest.raises(InvalidRequest) as caught:
        editor.check(
            ProviderDraft("gcp-2", kind="vertex", api_key='{"type": "user"}'),
            ModelEntries(),
            new=True,
        )
    assert caught.value.details["param"] == "api_key"
    editor.check(
        ProviderDraft("gcp-2", kind="vertex", api_key='{"type": "service_account", "k": "a b"}'),
        ModelEntries(),
        new=True,
    )
    with pytest.raises(InvalidRequest, match="kind = 'vertex'"):
        editor.check(ProviderDraft("aws-3", kind="bedrock", project="p"), ModelEntries(), new=True)


async def test_a_clouds_guardrail_round_trips_through_the_editor(
    runtime: GatewayRuntime, config_path: Path
) -> None:
    """A guardrail named in a cloud provider's table is the editor's to show and keep: an
    edit of that provider from the form never drops it, and one named wrongly is refused."""
    editor = runtime.engine.provider_editor
    bedrock = ProviderDraft(
        "aws-eu",
        kind="bedrock",
        region="eu-west-1",
        guardrail="gr0a1b2c3d",
        guardrail_version="2",
        models=("m",),
    )
    await editor.save(LOCAL_CALLER, bedrock, ModelEntries(), new=True)
    table = tomllib.loads(config_path.read_text())["gateway"]["providers"]["aws-eu"]
    assert table == {
        "kind": "bedrock",
        "region": "eu-west-1",
        "guardrail": "gr0a1b2c3d",
        "guardrail_version": "2",
        "models": ["m"],
    }
    assert editor.draft_of("aws-eu") == bedrock
    with pytest.raises(InvalidRequest, match="needs guardrail_version"):
        editor.check(
            ProviderDraft("aws-4", kind="bedrock", region="eu-west-1", guardrail="gr1"),
            ModelEntries(),
            new=True,
        )
