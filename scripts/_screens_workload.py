"""What the app is given to show: traffic through the gateway, CLI jobs, OAuth sign-ins,
budgets, keys, a Playground comparison and tested MCP servers.

Used by `screenshots.py` once the window is up, before any picture is taken: a few hundred chat
requests in waves from several callers, projects and credentials (some refused, some failing
over), a few repeated at temperature 0 so the response cache answers some, CLI jobs through the
bridge (one left running), then what a person would set at the desk on seeing the spend.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from _screens_common import (
    BEARER,
    CACHE_ASKS,
    CACHED_ASKS,
    CALLERS,
    CLI_MODEL,
    CONCURRENCY,
    DAY_BUDGET,
    JOB_TIMEOUT_S,
    MODELS,
    OAUTH_CLIENTS,
    OAUTH_REDIRECT,
    OAUTH_SECRET,
    PROJECTS,
    PROMPTS,
    SUB_CENT_BUDGET,
    UNCONFIGURED_MODEL,
    WAVE_PAUSE_S,
    WAVES,
    WORKLOAD_TIMEOUT_S,
    until,
)
from _screens_stage import Upstreams

from llmgw_desktop.engine.api import LOCAL_CALLER, KeyScope, KeySpec, MadeKey
from llmgw_desktop.ui.decision_dialog import DecisionDialog
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.mcp_servers import McpServersPage
from llmgw_desktop.ui.pages.playground import PlaygroundPage
from llmgw_desktop.ui.qt import QApplication
from tests.fakes.upstream import Reply


async def chat(
    client: aiohttp.ClientSession,
    base_url: str,
    model: str,
    *,
    stream: bool,
    caller: str,
    token: str = BEARER,
    index: int = 0,
) -> tuple[int, bytes]:
    """One chat request; its HTTP status and body. `index` picks the prompt and project."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
        "stream": stream,
    }
    if project := PROJECTS[index % len(PROJECTS)]:
        body["project"] = project
    headers = {"X-Caller": caller, "Authorization": f"Bearer {token}"}
    async with client.post(
        base_url + "/v1/chat/completions", json=body, headers=headers
    ) as response:
        return response.status, await response.read()


async def api_traffic(base_url: str, total: int) -> dict[int, int]:
    """`total` chat requests in waves, with the static token and each OAuth client's; the
    count of each HTTP status."""
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    callers = itertools.cycle(CALLERS)
    timeout = aiohttp.ClientTimeout(total=JOB_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        signed_in = [await sign_in(client, base_url, c) for c in OAUTH_CLIENTS]
        tokens = itertools.cycle([BEARER, *signed_in])

        async def one(index: int) -> None:
            model = UNCONFIGURED_MODEL if index % 60 == 59 else MODELS[index % len(MODELS)]
            async with gate:
                status = await chat(
                    client,
                    base_url,
                    model,
                    stream=index % 3 == 0,
                    caller=next(callers),
                    token=next(tokens),
                    index=index,
                )
            statuses[status[0]] = statuses.get(status[0], 0) + 1

        per_wave = max(1, total // WAVES)
        for start in range(0, total, per_wave):
            await asyncio.gather(*(one(i) for i in range(start, min(total, start + per_wave))))
            await asyncio.sleep(WAVE_PAUSE_S)
    return statuses


async def cache_repeats(base_url: str) -> list[str]:
    """Each of `CACHED_ASKS` asked `CACHE_ASKS` times at temperature 0, one after another; the
    `x-gateway-cache` of each answer (`miss`, then `hit`s)."""
    said: list[str] = []
    headers = {"X-Caller": CALLERS[0], "Authorization": f"Bearer {BEARER}"}
    async with aiohttp.ClientSession() as client:
        for model, stream in CACHED_ASKS:
            body = {
                "model": model,
                "messages": [{"role": "user", "content": "Explain this stack trace."}],
                "temperature": 0,
                "stream": stream,
            }
            for _ in range(CACHE_ASKS):
                async with client.post(
                    base_url + "/v1/chat/completions", json=body, headers=headers
                ) as response:
                    await response.read()
                    said.append(response.headers.get("x-gateway-cache", ""))
    return said


async def cli_jobs(base_url: str, upstreams: Upstreams) -> asyncio.Task[tuple[int, bytes]]:
    """Jobs through the CLI bridge: two complete, one fails, and one is left running (its
    request's task is returned, to cancel at the end)."""

    async def job(caller: str, index: int) -> tuple[int, bytes]:
        timeout = aiohttp.ClientTimeout(total=WORKLOAD_TIMEOUT_S * 5)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            return await chat(client, base_url, CLI_MODEL, stream=False, caller=caller, index=index)

    for index, caller in enumerate(("claude-code", "codex")):
        status, body = await job(caller, index)
        if status != 200:
            raise RuntimeError(f"a CLI job through the gateway answered {status}: {body[:300]!r}")
    running = asyncio.get_running_loop().create_task(job("cursor", 2))
    await until(lambda: upstreams.cli_requests() >= 3, "the long job", JOB_TIMEOUT_S)
    await job("aider", 3)  # the upstream fails from here on
    return running


async def sign_in(client: aiohttp.ClientSession, base_url: str, client_id: str) -> str:
    """An OAuth authorization-code flow with PKCE, as an editor runs it; the access token.

    Raises:
        RuntimeError: the gateway did not hand out a code or a token.
    """
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": OAUTH_REDIRECT,
            "scope": "mcp",
            "state": "screens",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    url = f"{base_url}/oauth/authorize?{query}"
    async with client.get(url, allow_redirects=False) as response:
        landing = response.headers.get("Location", "")
    if "/oauth/consent/" in landing:  # waits for consent: approved at the desk, as a person
        consent_id = urlsplit(landing).path.rsplit("/", 1)[-1]
        box = await until(lambda: consent_dialog(consent_id), "the consent dialog", 10)
        box.approve_button.click()
        async with client.get(base_url + landing, allow_redirects=False) as response:
            landing = response.headers.get("Location", "")
    code = parse_qs(urlsplit(landing).query).get("code", [""])[0]
    if not code:
        raise RuntimeError(f"no authorization code for {client_id}: {landing}")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": OAUTH_REDIRECT,
        "code_verifier": verifier,
        "client_id": client_id,
        "client_secret": OAUTH_SECRET,
    }
    async with client.post(f"{base_url}/oauth/token", data=form) as response:
        body = await response.json()
    if "access_token" not in body:
        raise RuntimeError(f"no token for {client_id}: {body}")
    return str(body["access_token"])


def consent_dialog(consent_id: str) -> DecisionDialog | None:
    """The desk's dialog asking consent `consent_id`, once it is shown."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, DecisionDialog) and widget.objectName() == f"consent:{consent_id}":
            return widget if widget.isVisible() else None
    return None


async def set_budgets(window: MainWindow) -> None:
    """Budgets set after the workload, as a person would on seeing the spend: one near its
    hard limit (past its soft one), one comfortably inside, one exceeded, and a dollar limit
    for the whole day (what the header's spend chip is said against). Each is measured
    against what the workload really spent, read back from the store by the engine."""
    budgets = next(iter(window.pages.values())).context.engine.budgets
    probe = [
        {"scope": "project=web", "unit": "tokens", "period": "daily", "hard": 1e12},
        {"scope": "agent=cursor", "unit": "tokens", "period": "monthly", "hard": 1e12},
        {"scope": "agent=aider", "unit": "tokens", "period": "daily", "hard": 1e12},
    ]
    await budgets.replace(LOCAL_CALLER, probe)
    spent = {status.budget.scope: max(1, round(status.spent)) for status in budgets.statuses()}
    near, inside, over = (spent[table["scope"]] for table in probe)
    await budgets.replace(
        LOCAL_CALLER,
        [
            {**probe[0], "soft": round(near * 0.75), "hard": round(near / 0.88)},
            {**probe[1], "soft": inside * 3, "hard": inside * 4},
            {**probe[2], "hard": over},
            # A dollar budget below a cent: its amounts must not read "$0.00".
            SUB_CENT_BUDGET,
            # The day's limit for everything, so the header says today's spend against it.
            DAY_BUDGET,
        ],
    )


async def make_keys(window: MainWindow, base_url: str) -> MadeKey:
    """Gateway keys as a team would have them: one per tool, one used, one revoked; the first
    (its secret, for the new-key dialog's picture)."""
    keys = next(iter(window.pages.values())).context.engine.keys
    made = await keys.create(
        LOCAL_CALLER,
        KeySpec(
            name="ci-bot",
            scope=KeyScope.of(models=["gpt-4o-mini", "claude-*"], projects=["web"]),
            budget_usd=5.0,
            per_minute=60,
        ),
    )
    await keys.create(
        LOCAL_CALLER, KeySpec(name="cursor-alice", expires_at=time.time() + 30 * 86400)
    )
    await keys.create(
        LOCAL_CALLER, KeySpec(name="old-laptop", scope=KeyScope.of(tools=["ask_model"]))
    )
    await keys.revoke(LOCAL_CALLER, "old-laptop")
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {made.secret}", "X-Project": "web"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(base_url + "/v1/chat/completions", json=body, headers=headers) as answer,
    ):
        await answer.read()
    return made


async def stage_playground(window: MainWindow, upstreams: Upstreams) -> None:
    """A question asked in the Playground and compared with a second model, as a person
    would try two models before choosing one (the answers are the upstream's, scripted)."""
    page = window.pages.get(PlaygroundPage.KEY)
    if not isinstance(page, PlaygroundPage):
        return
    upstreams.script_api(
        Reply.ok(
            "Sea otters hold paws while they sleep, so the current does not carry them apart. "
            "A group resting together is called a raft.",
            verbatim=True,
        ),
        Reply.ok(
            "They link paws (and sometimes wrap themselves in kelp) so that they stay together "
            "while asleep on the water.",
            verbatim=True,
        ),
    )
    page.model_box.choose("claude-sonnet-4-6")
    page.compare_box.choose("openai/gpt-4o-mini")  # as a person types it
    page.prompt.setPlainText("Why do sea otters hold hands?")
    page.send()
    await until(lambda: page.answer.reply is not None, "the playground's answer", 20)
    page.compare()
    await until(lambda: page.second.reply is not None, "the playground's comparison", 20)


async def stage_mcp_servers(window: MainWindow) -> None:
    """Each configured MCP server tested once (it starts and lists what it offers), the first
    one selected, as a person checks a server just added."""
    page = window.pages.get(McpServersPage.KEY)
    if not isinstance(page, McpServersPage) or not page.names:
        return
    for name in page.names:
        result = await page.engine.upstream_mcp.test(name)
        print(f"MCP server {name}: {'works' if result['ok'] else 'failed'}: {result['message']}")
    page.table.selectRow(0)
    page.test_selected()
    await until(lambda: page.test_button.isEnabled(), "the MCP server test", 30)
