"""Claude Code 2.1 (`claude -p`, default settings) with `ANTHROPIC_BASE_URL` = the gateway.

Claude Code sends what current clients send: a `role: "system"` message in the middle of the
conversation, beta headers, `context_management`, adaptive thinking, `output_config`. Through
the gateway it must reach an Anthropic upstream unchanged, an OpenAI one translated, and run a
whole tool loop.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from llmgw_desktop.engine.api import LOCAL_CALLER, PICKER_NAMESPACE, KeyScope, KeySpec
from llmgw_desktop.engine.tokens.pricing import price_table
from llmgw_desktop.shell.cli import connect as connect_command
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.connect_setups import LENT_KEY, GatewayFacts, setup_for
from tests.clients.conftest import GATEWAY_KEYS
from tests.clients.harness import (
    CLIENT_KEY,
    LOCK_TOKEN,
    assert_last_call,
    assert_served_as_the_bearer,
    client_environment,
    run_cli,
    run_shell_round_trip,
    say_hello,
)
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.script import Reply
from tests.transports.gateway.conftest import GatewayFactory

pytestmark = pytest.mark.contract

# A run the gateway refuses is bounded, so a client that kept retrying fails, not hangs.
REFUSED_RUN_TIMEOUT_S = 60.0


async def test_claude_code_reaches_anthropic_with_its_request_unchanged(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    await say_hello("claude", env=env, cwd=home / "work")
    request = upstream.llm_requests[-1]
    assert request.path == "/v1/messages"
    assert request.query == {"beta": "true"}  # its `?beta=true` passed through as sent
    body = request.body
    # What the gateway's own parser would once have refused goes through untouched.
    roles = [m["role"] for m in body["messages"]]
    assert "system" in roles[1:], roles
    assert body["context_management"]
    assert body["thinking"] == {"type": "adaptive"}
    assert "mid-conversation-system" in request.headers["anthropic-beta"]
    assert request.headers["user-agent"].startswith("claude-cli/")
    assert "x-claude-code-session-id" in request.headers
    # The upstream sees the gateway's key, never the client's.
    assert (
        request.headers["x-api-key"] == f"<redacted {len(GATEWAY_KEYS['ANTHROPIC_API_KEY'])} chars>"
    )
    assert len(CLIENT_KEY) != len(GATEWAY_KEYS["ANTHROPIC_API_KEY"])
    row = await assert_last_call(gateway, provider="anthropic", caller="claude-code")
    assert row["cache_read_tokens"] > 0
    # Its session id is the row's: the Agents page, the recorder and /metrics group by it.
    assert row["client_session"] == request.headers["x-claude-code-session-id"]


async def test_claude_code_on_an_openai_model_runs_a_shell_tool_round_trip(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    # The model (OpenAI Chat upstream) asks for Claude Code's own Bash tool; Claude Code runs
    # it and sends the result back, translated both ways by the gateway.
    await run_shell_round_trip(upstream, "claude", "gpt-4.1", env=env, cwd=home / "work")
    agent_turns = [r for r in upstream.llm_requests if r.body.get("tools")]
    assert {r.path for r in upstream.llm_requests} == {"/v1/chat/completions"}
    last = agent_turns[-1].body["messages"]
    assert last[-1] == {"role": "tool", "tool_call_id": "call_fake_1", "content": "TOOL-RAN-42"}
    assert last[-2]["tool_calls"][0]["function"]["name"] == "Bash"
    # Claude Code's mid-conversation system message keeps its place as an OpenAI system message.
    assert [m["role"] for m in last[:3]] == ["system", "user", "system"]
    rows = await gateway.engine.recorder.recent(limit=10)
    assert {(r["provider"], r["state"]) for r in rows} == {("openai", "completed")}


async def test_claude_code_on_a_gemini_model(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    await say_hello("claude", "gemini-2.5-flash", env=env, cwd=home / "work")
    assert {r.path for r in upstream.llm_requests} <= {
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "/v1beta/models/gemini-2.5-flash:generateContent",
    }
    agent = [r for r in upstream.llm_requests if r.body.get("tools")][-1].body
    # The adaptive thinking Claude Code asks for becomes Gemini's thinking budget.
    assert agent["generationConfig"]["thinkingConfig"]["thinkingBudget"] > 0


@pytest.mark.parametrize("variable", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
async def test_claude_code_with_the_token_in_its_key_variable_answers_on_a_locked_gateway(
    variable: str, home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    # README: a locked gateway's token goes where Claude Code puts its key, as x-api-key
    # (ANTHROPIC_API_KEY) or as a bearer token (ANTHROPIC_AUTH_TOKEN).
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    env = client_environment(home, locked.base_url)
    del env["ANTHROPIC_API_KEY"]
    env[variable] = LOCK_TOKEN
    await say_hello("claude", env=env, cwd=home / "work")
    await assert_served_as_the_bearer(locked)


async def test_claude_code_carries_a_gateway_key_and_is_held_to_its_scope(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    # Issue 31: a gateway key in ANTHROPIC_API_KEY (sent as x-api-key) is its own principal on
    # a locked gateway; a key whose scope leaves out Claude's models gets nothing upstream.
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    allowed = await locked.engine.keys.create(
        LOCAL_CALLER, KeySpec(name="claude-code", scope=KeyScope.of(models=["claude-*"]))
    )
    env = client_environment(home, locked.base_url) | {"ANTHROPIC_API_KEY": allowed.secret}
    await say_hello("claude", env=env, cwd=home / "work")
    rows = await locked.engine.recorder.recent(limit=5)
    assert {r["owner_principal"] for r in rows} == {"key:claude-code"}
    assert all(allowed.secret not in str(r.headers) for r in upstream.llm_requests)

    asked = len(upstream.llm_requests)
    narrow = await locked.engine.keys.create(
        LOCAL_CALLER, KeySpec(name="openai-only", scope=KeyScope.of(models=["gpt-4o-mini"]))
    )
    env["ANTHROPIC_API_KEY"] = narrow.secret
    refused = await run_cli("claude", "-p", "say hello", env=env, cwd=home / "work")
    assert "FAKE-OK" not in refused.stdout, refused.explain()
    # Refused in Anthropic's shape, which Claude Code reads and shows as it came.
    assert "API Error: 403" in refused.stdout and "outside the scope" in refused.stdout
    assert len(upstream.llm_requests) == asked

    # Revoked from the operator's side: the very next run is refused.
    await locked.engine.keys.revoke(LOCAL_CALLER, "claude-code")
    # Claude Code retries a 401 with backoff for minutes (it takes it for a login to renew):
    # with no retries it shows the refusal at once.
    env |= {"ANTHROPIC_API_KEY": allowed.secret, "CLAUDE_CODE_MAX_RETRIES": "0"}
    revoked = await run_cli(
        "claude", "-p", "say hello", env=env, cwd=home / "work", timeout_s=REFUSED_RUN_TIMEOUT_S
    )
    # Claude Code words a 401 its own way.
    assert revoked.returncode != 0 and "Invalid API key" in revoked.stdout, revoked.explain()
    assert len(upstream.llm_requests) == asked


async def test_claude_code_is_held_to_its_keys_budget(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    # Issue 31: a key's dollar budget holds for Claude Code as for the SDKs: once spent, the
    # next run is refused 402 and Claude Code shows why.
    # Priced so the hold of Claude Code's first call (its prompt and max_tokens) fits in the
    # budget and the scripted upstream's answer (200 cache-read tokens at $1,000 a million)
    # spends past it: the next run finds it used up.
    locked = await start_gateway(
        {
            "http.auth_token": LOCK_TOKEN,
            "gateway.prices": {
                model: {"input": 0.01, "output": 0.01, "cache_read": 1000.0}
                for model in price_table().prices
                if model.startswith("claude")
            },
        }
    )
    made = await locked.engine.keys.create(
        LOCAL_CALLER, KeySpec(name="thrifty-claude", budget_usd=0.1)
    )
    env = client_environment(home, locked.base_url) | {"ANTHROPIC_API_KEY": made.secret}
    first = await run_cli(
        "claude", "-p", "say hello", env=env, cwd=home / "work", timeout_s=REFUSED_RUN_TIMEOUT_S
    )
    assert "FAKE-OK" in first.stdout, first.explain()
    asked = len(upstream.llm_requests)
    spent = await run_cli(
        "claude", "-p", "say hello", env=env, cwd=home / "work", timeout_s=REFUSED_RUN_TIMEOUT_S
    )
    assert "FAKE-OK" not in spent.stdout, spent.explain()
    assert "402" in spent.stdout and "key thrifty-claude" in spent.stdout, spent.explain()
    # It points the holder at the operator, not at a config.toml that does not hold it.
    assert "ask the operator for a key" in spent.stdout, spent.explain()
    assert len(upstream.llm_requests) == asked


async def test_claude_codes_preconnect_to_a_locked_gateway_is_no_refused_request(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    """Without a proxy, Claude Code opens its connection early with `HEAD /` and no key: on a
    locked gateway that was a 401 in /health's refusals, which made a newcomer suspect the key.
    (The other client tests run behind a dead proxy, which this probe skips; here the proxy is
    off and Claude Code's non-essential traffic with it, so only loopback is reached.)"""
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    env = client_environment(home, locked.base_url) | {
        "ANTHROPIC_API_KEY": LOCK_TOKEN,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy)
    run = await run_cli("claude", "-p", "say hello", env=env, cwd=home / "work")
    assert "FAKE-OK" in run.stdout, run.explain()
    assert locked.engine.refusals.health()["total"] == 0, locked.engine.refusals.health()


async def test_claude_code_without_a_key_for_its_models_shows_the_gateways_message_at_once(
    home: Path,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """README's first Claude Code line with only an OpenAI key: Claude Code asks for a Claude
    model, which no key here can answer. Refused with a status it does not retry, it shows the
    gateway's message (what to set, what answers instead) after one refusal, where a 503 kept
    it silent through ten tries over three minutes and then blamed the server."""
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)
    gateway = await start_gateway()
    env = client_environment(home, gateway.base_url)
    run = await run_cli(
        "claude", "-p", "say hello", env=env, cwd=home / "work", timeout_s=REFUSED_RUN_TIMEOUT_S
    )
    assert run.returncode != 0, run.explain()
    assert "has no API key" in run.stdout and "ANTHROPIC_API_KEY" in run.stdout, run.explain()
    assert "llmgw-desktop connect claude-code" in run.stdout, run.explain()
    assert "server-side" not in run.stdout, run.explain()
    rows = await gateway.engine.recorder.recent(limit=20)
    assert [(r["state"], r["error_code"]) for r in rows] == [("refused", "no_api_key")], rows
    assert upstream.llm_requests == []


async def test_claude_code_on_a_locked_gateway_takes_short_lived_keys_from_its_key_helper(
    home: Path,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 68 item 4: `connect claude-code --write` on a locked gateway writes an apiKeyHelper
    # (`keys lend`), never a key; Claude Code runs it and its requests are the parent key's.
    locked = await start_gateway({"http.auth_token": LOCK_TOKEN})
    await locked.engine.keys.create(
        LOCAL_CALLER, KeySpec(name=LENT_KEY, scope=KeyScope.of(models=["claude-*"]))
    )
    env = client_environment(home, locked.base_url) | {"CLAUDE_CONFIG_DIR": str(home / ".claude")}
    del env["ANTHROPIC_API_KEY"]
    config = home / "llmgw.toml"  # the gateway's store, as the helper's settings name it
    config.write_text(f"[store]\ndb_path = {json.dumps(str(locked.settings.database_file))}\n")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    helper = connect_command._key_helper(SimpleNamespace(config_file=config, file_in_use=True))
    facts = GatewayFacts(locked.base_url, True, {"anthropic": ("claude-sonnet-4-6",)}, "test")
    setup = setup_for("claude-code", replace(facts, key_helper=helper))
    assert not isinstance(connect_command.write_setup(setup), str)  # a string says why not
    written = json.loads((home / ".claude" / "settings.json").read_text())
    assert written["apiKeyHelper"] == helper
    assert not {"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"} & set(written["env"])
    assert written["env"]["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"] == "1"

    await say_hello("claude", env=env, cwd=home / "work")
    rows = await locked.engine.recorder.recent(limit=5)
    assert {r["owner_principal"] for r in rows} == {f"key:{LENT_KEY}"}
    # Lent secrets are not listed (they are their key's, not keys of their own): the store's
    # rows say what was lent and for how long.
    with sqlite3.connect(locked.settings.database_file) as db:
        lent = db.execute(
            "SELECT expires_at - created_at FROM gateway_keys WHERE lent_from IS NOT NULL"
        ).fetchall()
    assert lent and all(0 < life <= 15 * 60 for (life,) in lent), lent


async def test_claude_codes_model_discovery_lists_and_reaches_every_gateway_model(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    # Issue 68 item 3: with discovery on, Claude Code keeps the ids of GET /v1/models that
    # begin with claude or anthropic; every other model is listed again as
    # anthropic-gateway/<id>, which its picker keeps and the gateway serves as <id>.
    env |= {"CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"}
    await say_hello("claude", env=env, cwd=home / "work")
    (cached,) = home.rglob("gateway-models.json")
    listed = {m["id"] for m in json.loads(cached.read_text())["models"]}
    assert f"{PICKER_NAMESPACE}gpt-4.1" in listed and "claude-sonnet-4-6" in listed
    assert not any(m.startswith(f"{PICKER_NAMESPACE}claude") for m in listed)

    await say_hello("claude", f"{PICKER_NAMESPACE}gpt-4.1", env=env, cwd=home / "work")
    assert upstream.llm_requests[-1].path == "/v1/chat/completions"
    assert upstream.llm_requests[-1].body["model"] == "gpt-4.1"
    await assert_last_call(gateway, provider="openai", caller="claude-code")


async def test_claude_code_recovers_from_an_overloaded_anthropic_as_against_the_vendor(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    # Issue 68 item 5: Anthropic's 529 reaches Claude Code as Anthropic wrote it, so it
    # retries as it does against api.anthropic.com, and the next answer is shown.
    upstream.script(Reply.error(529, "Overloaded"))
    await say_hello("claude", env=env, cwd=home / "work")
    rows = await gateway.engine.recorder.recent(limit=10)
    states = [r["state"] for r in rows]
    assert "completed" in states and any(r["http_status"] == 529 for r in rows), states


@pytest.mark.parametrize(
    ("cloud", "door"),
    [
        (
            {
                "CLAUDE_CODE_USE_BEDROCK": "1",
                "ANTHROPIC_BEDROCK_BASE_URL": "{url}",
                "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
                "AWS_REGION": "us-east-1",
            },
            "bedrock:",
        ),
        (
            {
                "CLAUDE_CODE_USE_VERTEX": "1",
                "ANTHROPIC_VERTEX_BASE_URL": "{url}/v1",
                "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1",
                "ANTHROPIC_VERTEX_PROJECT_ID": "demo-project",
                "CLOUD_ML_REGION": "us-east5",
            },
            "vertex:",
        ),
    ],
    ids=["bedrock", "vertex"],
)
async def test_claude_code_set_up_for_a_cloud_is_answered_through_its_door(
    cloud: dict[str, str],
    door: str,
    env: dict[str, str],
    home: Path,
    upstream: ScriptedUpstream,
    gateway: GatewayRuntime,
) -> None:
    # Issue 68 item 1: Claude Code as a company set it up for Bedrock or Vertex, pointed at
    # the gateway, is answered (here by Anthropic's API), recorded and grouped by session.
    env |= {name: value.format(url=gateway.base_url) for name, value in cloud.items()}
    await say_hello("claude", env=env, cwd=home / "work")
    rows = await gateway.engine.recorder.recent(limit=5)
    assert any(r["state"] == "completed" and r["provider"] == "anthropic" for r in rows), rows
    assert all((r["tool"] or "").startswith(door) for r in rows), [r["tool"] for r in rows]
    assert len({r["client_session"] for r in rows}) == 1 and rows[0]["client_session"]
