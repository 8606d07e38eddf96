"""Issue 12, finding 2: what changes the host or the gateway itself is the operator's alone.

An OAuth client with scope `mcp` ran `npm install -g` through `cli_upgrade`. These tests walk
every MCP tool, resource and prompt (from the server's own lists) and every HTTP route (from
the app's router) as every principal kind against a running, locked gateway, and check each
answer against the engine's access table: refused exactly where the table says so, and still
working for those it admits. A new entry point without a table entry fails here. The engine
methods behind the operator's capabilities are then called directly with each principal, to
show the engine refuses by itself, whatever front door asks.
"""

from __future__ import annotations

import re
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from llmgw_desktop.engine.auth.access import (
    ACCESS,
    AccessDenied,
    Capability,
    allowed,
    kind_of,
)
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.workspaces.registry import ADMIN_OPT_IN
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.doors import door_of
from llmgw_desktop.transports.mcp.access import (
    FORBIDDEN_RPC_CODE,
    PROMPTS,
    RESOURCES,
    TOOLS,
    capability_of_resource,
)
from tests.security._operator_support import (
    Caller,
    FakeNpm,
    callers,
    fake_npm,  # noqa: F401 - a fixture
    locked_gateway,
    mcp_client,
)
from tests.transports.auth.conftest import (
    MCP_ACCEPT,
    Start,
    mcp_post,
    send,
    start,  # noqa: F401 - a fixture
)

WALK_KEY = "sk-proj-operator-walk-000000000000"
# Arguments that make an admitted call really do its work; every other tool gets {} (an
# admitted call then fails its argument check, which is not a refusal).
ARGUMENTS: dict[str, dict[str, Any]] = {
    "cli_upgrade": {"provider": "claude", "dryRun": False},
    "vault_store": {"provider": "openai", "apiKey": WALK_KEY, "keyName": "walk"},
    "vault_list": {},
    "list_models": {"provider": "claude"},
}
ACCESS_CODES = {"operator_only", "forbidden", "unauthorized", "not_offered"}
OPERATOR_KINDS = {"local", "bearer"}
# Path parameters for the route walk.
PATH_VALUES = {
    "id": "no-such-record",
    "model": "gpt-4o",
    "target": "gemini-2.5-flash:countTokens",
    "resource": "mcp",
    # Claude Code's Vertex door (`/v1/projects/{project}/locations/{location}/...`).
    "project": "my-project",
    "location": "us-east5",
}


def _refused(result: CallToolResult) -> dict[str, Any] | None:
    """The access refusal in a tool result, or None."""
    if not result.is_error or result.structured_content is None:
        return None
    error = result.structured_content.get("error", {})
    if error.get("code") in ACCESS_CODES and "capability" in error.get("details", {}):
        return dict(error)
    return None


async def test_every_mcp_tool_resource_and_prompt_follows_the_access_table(
    start: Start,  # noqa: F811
    fake_npm: FakeNpm,  # noqa: F811
) -> None:
    gateway = await locked_gateway(start)
    everyone = await callers(gateway)
    walked: set[str] = set()
    for caller in everyone.values():
        if not allowed(caller.principal, Capability.GATEWAY_USE):
            # Not even the endpoint: the edge refuses before MCP sees the request.
            answer = await mcp_post(gateway, caller.headers)
            assert answer.status in (401, 403), (caller.label, answer.status, answer.text)
            if answer.status == 403:
                assert Capability.GATEWAY_USE.value in answer.text, answer.text
            continue
        async with mcp_client(gateway, caller.headers) as client:
            walked |= await _walk_tools(client, caller)
            walked |= await _walk_resources(client, caller)
            walked |= await _walk_prompts(client, caller)
    # Every kind that reaches MCP saw the same lists, all of them covered by the table.
    assert walked == {f"tool:{n}" for n in TOOLS} | {f"prompt:{n}" for n in PROMPTS} | {
        f"resource:{u}" for u in RESOURCES
    }
    # cli_upgrade with dryRun false ran the (fake) npm for the two operator kinds, and never
    # for anyone else.
    assert fake_npm.runs() == ["install -g @anthropic-ai/claude-code@latest"] * 2
    # Only the operators' key went into the vault.
    operator = everyone["bearer"].principal
    assert operator is not None
    stored = await gateway.engine.vault.list_keys(operator)
    assert [(k["provider"], k["keyName"]) for k in stored] == [("openai", "walk")]


async def _walk_tools(client: Any, caller: Caller) -> set[str]:
    listed = (await client.list_tools()).tools
    names = {tool.name for tool in listed}
    assert names <= set(TOOLS), f"tools without an access rule: {names - set(TOOLS)}"
    for name in sorted(names):
        capability = TOOLS[name]
        result = await client.call_tool(name, ARGUMENTS.get(name, {}))
        refused = _refused(result)
        if allowed(caller.principal, capability):
            assert refused is None, (caller.label, name, refused)
            if name in ARGUMENTS:  # these must really work for those admitted
                assert not result.is_error, (caller.label, name, result.structured_content)
        else:
            assert refused is not None, (caller.label, name, result.structured_content)
            assert refused["details"]["capability"] == capability.value
            expected = "operator_only" if ACCESS[capability].operator_only else "forbidden"
            assert refused["code"] == expected, (caller.label, name, refused)
    return {f"tool:{n}" for n in names}


async def _walk_resources(client: Any, caller: Caller) -> set[str]:
    uris = [str(r.uri) for r in (await client.list_resources()).resources]
    listed = (await client.list_resource_templates()).resource_templates
    templates = [t.uri_template for t in listed]
    walked = set()
    for declared in uris + templates:
        assert declared in RESOURCES, f"resource without an access rule: {declared}"
        uri = re.sub(r"\{\w+\}", "0123456789abcdef", declared)
        capability = capability_of_resource(uri)
        assert capability is RESOURCES[declared]
        try:
            await client.read_resource(uri)
            refused = False
        except MCPError as exc:  # "no recorded requests" is an answer, not a refusal
            refused = exc.code == FORBIDDEN_RPC_CODE
        assert refused is not allowed(caller.principal, capability), (caller.label, uri)
        walked.add(f"resource:{declared}")
    return walked


async def _walk_prompts(client: Any, caller: Caller) -> set[str]:
    walked = set()
    for prompt in (await client.list_prompts()).prompts:
        assert prompt.name in PROMPTS, f"prompt without an access rule: {prompt.name}"
        arguments = {a.name: "x" for a in prompt.arguments or [] if a.required}
        try:
            await client.get_prompt(prompt.name, arguments)
            refused = False
        except MCPError as exc:
            refused = exc.code == FORBIDDEN_RPC_CODE
        assert refused is not allowed(caller.principal, PROMPTS[prompt.name]), prompt.name
        walked.add(f"prompt:{prompt.name}")
    return walked


async def test_every_http_route_follows_the_access_table(start: Start) -> None:  # noqa: F811
    gateway = await locked_gateway(start)
    everyone = await callers(gateway)
    mcp_path = gateway.settings.http.path
    routes = sorted(
        {
            (route.method, route.resource.canonical)
            for route in gateway.http.app.router.routes()
            if route.resource is not None
        }
    )
    doors = {route: door_of(*route, mcp_path=mcp_path) for route in routes}
    unlisted = [route for route, door in doors.items() if door is None]
    assert not unlisted, f"routes without an access rule: {unlisted}"
    for method, canonical in routes:
        door = doors[method, canonical]
        assert door is not None
        capability = door.capability
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], canonical)
        answers = {
            label: await _knock(gateway, method, path, caller) for label, caller in everyone.items()
        }
        where = f"{method} {canonical}"
        if capability is Capability.PUBLIC:
            # The same answer whoever asks: access plays no part (the route checks its own
            # credential, if any, in the request itself; a guessing throttle may answer 429).
            statuses = {a[0] for a in answers.values()} - {429}
            assert len(statuses) <= 1, (where, answers)
            continue
        for label, (status, text) in answers.items():
            principal = everyone[label].principal
            if allowed(principal, capability):
                assert status not in (401, 403), (where, label, status, text)
            elif principal is None or capability is Capability.INSTANCE_ACTIVATE:
                # The hand-off knows the local user only by the instance token.
                assert status == 401, (where, label, status, text)
            else:
                assert status == 403, (where, label, status, text)
                if method == "HEAD":
                    continue  # no body to read the reason from
                assert capability.value in text, (where, label, text)
                if ACCESS[capability].operator_only:
                    assert "operator_only" in text, (where, label, text)


async def _knock(
    gateway: GatewayRuntime, method: str, path: str, caller: Caller
) -> tuple[int, str]:
    headers = dict(caller.headers)
    kwargs: dict[str, Any] = {}
    if method == "*":
        method, headers = "POST", MCP_ACCEPT | headers
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    answer = await send(gateway, method, path, headers=headers, **kwargs)
    return answer.status, answer.text


async def test_the_engine_refuses_non_operators_by_itself(
    start: Start,  # noqa: F811
    fake_npm: FakeNpm,  # noqa: F811
    monkeypatch: Any,
) -> None:
    """No front door involved: each operator-only engine method, called with each principal."""
    monkeypatch.setenv(ADMIN_OPT_IN, "1")
    gateway = await locked_gateway(start, {"workspaces.allowed_roots": []})
    engine = gateway.engine
    oauth = engine.auth.oauth
    assert oauth is not None
    everyone = await callers(gateway)
    operator = everyone["bearer"].principal
    assert operator is not None
    stored = await engine.vault.store_key(operator, "openai", WALK_KEY)

    def calls(principal: Principal) -> dict[Capability, list[Any]]:
        return {
            Capability.VAULT: [
                lambda: engine.vault.store_key(principal, "openai", WALK_KEY),
                lambda: engine.vault.list_keys(principal),
                lambda: engine.vault.delete_key(principal, "no-such-record-0"),
                lambda: engine.vault.store_file(principal, "codex", "auth.json", "{}"),
                lambda: engine.vault.list_files(principal),
                lambda: engine.vault.delete_file(principal, "no-such-record-0"),
            ],
            Capability.CLI_UPGRADE: [
                lambda: engine.providers.upgrade_cli(principal, "claude", dry_run=False)
            ],
            Capability.PROVIDER_SWITCHES: [
                lambda: _sync(engine.providers.set_enabled, principal, "claude", True),
                lambda: _sync(engine.providers.set_paused, principal, False),
            ],
            Capability.SETTINGS: [
                lambda: engine.settings_saver.save(principal, "ui.start_hidden", False)
            ],
            Capability.OAUTH_GRANTS: [
                lambda: oauth.grants(principal),
                lambda: oauth.clients(principal),
                lambda: oauth.revoke_grant(principal, "no-such-grant"),
            ],
        }

    for label, caller in everyone.items():
        principal = caller.principal
        if principal is None:
            continue
        for capability, attempts in calls(principal).items():
            for attempt in attempts:
                if allowed(principal, capability):
                    await _answered(attempt)
                    continue
                try:
                    await attempt()
                except AccessDenied as refused:
                    assert refused.code == "operator_only", (label, capability)
                    assert refused.details["capability"] == capability.value
                else:
                    raise AssertionError(f"{label} was let through {capability}")
        # Workspace admin: the operator and OAuth clients granted workspace:admin pass the
        # table (and then find no allowed roots); everyone else is refused by it.
        try:
            await engine.workspaces.create(principal, "walk")
        except AccessDenied as refused:
            assert not allowed(principal, Capability.WORKSPACE_ADMIN), label
            assert "workspace:admin" in refused.message
        except Exception as other:
            assert allowed(principal, Capability.WORKSPACE_ADMIN), (label, other)
            assert "allowed_roots" in str(other)
    assert kind_of(operator).value == "bearer"
    assert fake_npm.runs() == ["install -g @anthropic-ai/claude-code@latest"] * 2
    remaining = await engine.vault.list_keys(operator)
    assert [k["id"] for k in remaining] == [stored["id"]]


async def _sync(method: Any, *args: Any) -> None:
    method(*args)


async def _answered(attempt: Any) -> None:
    """An admitted call gets its real answer; 'not found' for a made-up id counts as one."""
    try:
        await attempt()
    except AccessDenied:
        raise
    except Exception as other:
        assert getattr(other, "code", "") in ("not_found", "invalid_request"), other
