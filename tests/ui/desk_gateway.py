"""A real desktop-mode gateway for the dashboard's page tests, its API providers pointed at the
scripted upstream on loopback: what a page needs to be built on (bridge, actions, the window's
facts) and the upstream to script; the dashboard window and the tray on it (`desk_window`,
`desk_tray`), closed as closing them does. The fixtures of `conftest.py` (`on_gateway`,
`on_window`, `on_desk`) run a test's body on these.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
import anthropic
import openai
import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.base import Page, WindowFacts
from llmgw_desktop.ui.tray import TrayIcon
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.gateways import start_runtime

__all__ = [
    "Desk",
    "OnDesk",
    "OnGateway",
    "OnWindow",
    "RunDesk",
    "chat_request",
    "close_window",
    "desk_faces",
    "desk_gateway",
    "desk_tray",
    "desk_window",
    "messages_request",
    "no_clis_on_path",
    "page_parts",
    "post_messages",
    "shown_page",
]

T = TypeVar("T")
P = TypeVar("P", bound=Page)


def page_parts(
    engine: Engine,
    mcp_url: str = "http://127.0.0.1:9/mcp",
    health_url: str = "http://127.0.0.1:9/health",
) -> tuple[EngineBridge, GatewayActions, WindowFacts]:
    """What a dashboard page is built on, for a started engine (its front door at `mcp_url`,
    or nowhere); the caller detaches the bridge when done."""
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge,
        endpoint=lambda: mcp_url,
        open_dashboard=lambda: None,
        quit_app=lambda: None,
    )
    data = engine.settings.data_path
    return bridge, actions, WindowFacts(mcp_url, health_url, data, data / "log")


def desk_faces(runtime: GatewayRuntime) -> tuple[EngineBridge, GatewayActions, WindowFacts]:
    """`page_parts` for a running desktop-mode gateway."""
    return page_parts(runtime.engine, runtime.mcp_url, runtime.base_url + "/health")


@dataclass(frozen=True)
class Desk:
    runtime: GatewayRuntime
    bridge: EngineBridge
    actions: GatewayActions
    facts: WindowFacts
    upstream: ScriptedUpstream


@asynccontextmanager
async def desk_gateway(
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    replies: tuple[Reply, ...] = (),
    also_upstream: tuple[str, ...] = (),
    keyed: bool = True,
    own_providers: Mapping[str, Mapping[str, Any]] | None = None,
    values: Mapping[str, Any] | None = None,
) -> AsyncIterator[Desk]:
    """Start the gateway (Anthropic, and the API providers named in `also_upstream`, on the
    upstream, which answers `replies` first; `keyed=False`: Anthropic without a key, so no
    provider can answer), yield what a page is built from; stop it all afterwards.
    `own_providers`: providers of the user's own (their tables), each pointed at the upstream
    too; `values`: other settings (routes, say)."""
    no_clis_on_path(tmp_path, monkeypatch)
    async with ScriptedUpstream() as upstream:
        upstream.script(*replies)
        if keyed:
            monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-bbbbbbbb")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", upstream.base_url)
        pointed: dict[str, Any] = {
            provider: {"api_key": f"{provider}-test-key-cccccccc", "base_url": upstream.base_url}
            for provider in also_upstream
        }
        for provider, table in (own_providers or {}).items():
            pointed[provider] = {
                "api_key": f"{provider}-test-key-dddddddd",
                "base_url": upstream.base_url,
                **table,
            }
        settings = loaded.settings.with_values(
            {
                "http.port": 0,
                "gateway.providers": {**loaded.settings.gateway.providers, **pointed},
                **(values or {}),
            }
        )
        runtime, lock = await start_runtime(loaded, settings, mode="desktop")
        bridge, actions, facts = desk_faces(runtime)
        try:
            yield Desk(runtime, bridge, actions, facts, upstream)
        finally:
            bridge.detach()
            await runtime.stop()
            lock.release()


async def messages_request(
    runtime: GatewayRuntime, who: Mapping[str, str], *, project: str = "", status: int = 200
) -> None:
    """One Anthropic Messages request through the gateway, sent by the official `anthropic`
    SDK, naming its caller with the headers in `who` (`X-Caller`, or a `user-agent`), in
    `project` when given; it must answer `status`."""
    # The SDK sends its own User-Agent; a caller named by one replaces it (same key).
    headers = {("User-Agent" if k.lower() == "user-agent" else k): v for k, v in who.items()}
    if project:
        headers["X-Project"] = project
    # No SDK retries: each call is one request, so the counts on the pages are exact.
    client = anthropic.AsyncAnthropic(
        base_url=runtime.base_url, api_key="unused", max_retries=0, default_headers=headers
    )
    try:
        await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
        )
        answered = 200
    except anthropic.APIStatusError as refused:
        answered = refused.status_code
        assert answered == status, refused.message
    finally:
        await client.close()
    assert answered == status


async def chat_request(runtime: GatewayRuntime, model: str) -> str | None:
    """One OpenAI chat completion ("hi") through the gateway, sent by the official `openai`
    SDK without retries, for `model`; the answer's text."""
    async with openai.AsyncOpenAI(
        base_url=runtime.base_url + "/v1", api_key="x", max_retries=0
    ) as client:
        answer = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )
    return answer.choices[0].message.content


async def post_messages(
    runtime: GatewayRuntime,
    *,
    content: str = "hi",
    headers: Mapping[str, str] | None = None,
    expect: int | None = 200,
) -> None:
    """One Anthropic Messages request through the gateway as raw HTTP (no SDK and no retry),
    with `headers` added; it must answer `expect` (None: any status)."""
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": content}],
    }
    sent = {"anthropic-version": "2023-06-01", "x-api-key": "unused", **(headers or {})}
    async with (
        aiohttp.ClientSession() as client,
        client.post(runtime.base_url + "/v1/messages", json=body, headers=sent) as response,
    ):
        if expect is not None:
            assert response.status == expect, await response.text()


def no_clis_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one empty folder for the rest of the test: the desk's CLI version checks answer
    at once instead of running whatever CLIs this machine has. Returns the folder."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))
    return empty


@contextmanager
def desk_window(
    desk: Desk,
    qtbot: QtBot,
    *,
    size: tuple[int, int] | None = None,
    show: bool = True,
    facts: WindowFacts | None = None,
) -> Iterator[MainWindow]:
    """The dashboard window on `desk` (its `facts` unless others are given), resized to `size`
    and shown; with `show=False` the test shows it itself (a page opened on a hidden window
    brings it forward on that page). Closed as closing it does when the block ends."""
    window = MainWindow(
        desk.bridge, desk.actions, facts or desk.facts, close_quits=False, on_quit=lambda: None
    )
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    if show:
        window.show()
    try:
        yield window
    finally:
        close_window(window)


@contextmanager
def desk_tray(desk: Desk, **options: Any) -> Iterator[TrayIcon]:
    """The tray icon on `desk` (`options` go to `TrayIcon`), shown as in a system tray,
    hidden when the block ends."""
    tray = TrayIcon(desk.bridge, desk.actions, desk.facts.endpoint, **options)
    tray.show()
    try:
        yield tray
    finally:
        tray.hide()


def shown_page(window: MainWindow, page_type: type[P]) -> P:
    """The window on its page of `page_type` (shown as a click on its place shows it)."""
    window.show_page(page_type.KEY)
    page = window.pages[page_type.KEY]
    assert isinstance(page, page_type)
    return page


def close_window(window: MainWindow) -> None:
    """Hide the dashboard the way the app's shutdown does: every page built so far stops its
    refreshes and work (a page never built never started any)."""
    for each in window.built_pages():
        each.page_hidden()
        each.tasks.cancel_all()
    window.hide()


class OnGateway(Protocol):
    """`on_gateway(body, loaded=..., replies=..., also_upstream=..., keyed=...)`: `await
    body(desk)` on a fresh desk gateway (`desk_gateway`, on `loaded` when given) on the
    desktop's loop; what `body` returns."""

    def __call__(
        self,
        body: Callable[[Desk], Awaitable[T]],
        *,
        loaded: LoadedSettings | None = None,
        replies: tuple[Reply, ...] = (),
        also_upstream: tuple[str, ...] = (),
        keyed: bool = True,
        own_providers: Mapping[str, Mapping[str, Any]] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> T: ...


class OnWindow(Protocol):
    """`on_window(body, size=..., show=..., loaded=..., replies=..., also_upstream=...)`:
    `await body(desk, window)` with the dashboard window (`desk_window`) on a fresh desk
    gateway; what `body` returns."""

    def __call__(
        self,
        body: Callable[[Desk, MainWindow], Awaitable[T]],
        *,
        size: tuple[int, int] | None = None,
        show: bool = True,
        loaded: LoadedSettings | None = None,
        replies: tuple[Reply, ...] = (),
        also_upstream: tuple[str, ...] = (),
        keyed: bool = True,
        own_providers: Mapping[str, Mapping[str, Any]] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> T: ...


# Runs `body(desk, page)` with a page of the given type shown on a fresh desk gateway.
OnDesk = Callable[..., None]
# Runs `body(runtime, page)` with the Flight recorder page shown on one (`run_desk`).
RunDesk = Callable[..., None]
