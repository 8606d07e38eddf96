"""The Connect page, on the real desktop app's live endpoint (qasync loop, offscreen).

Every Copy button puts exactly the snippet `connect.py` makes on the clipboard, and the SDK
base URLs it shows answer: an SDK configured from them reaches the gateway. With the bearer
lock on, the snippets carry the header with the token masked on screen, and what "Copy with
token" copies runs: the Python snippets, the environment ones and curl reach a locked gateway
whose API providers are the scripted upstream.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import aiohttp
import pytest
import qasync

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.shell.connect_facts import gather
from llmgw_desktop.ui.connect import (
    ANY_KEY,
    TOKEN_PLACEHOLDER,
    Snippet,
    mask_token,
    snippets,
)
from llmgw_desktop.ui.connect_setups import (
    CLIENTS,
    acp_setups,
    model_call_setups,
    sdk_setup,
    setup_for,
)
from llmgw_desktop.ui.pages.connect_auth import AS_KEY, AS_TOKEN
from llmgw_desktop.ui.pages.connect_page import ConnectPage, ShownSnippet, base_url_of
from llmgw_desktop.ui.qt import QGuiApplication, QLabel, QWidget
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.ui.running_app import OnApp, app_running, desktop_app

TOKEN = "connect-page-bearer-token-0123456789-abcdef"


@pytest.fixture
def desktop(request: pytest.FixtureRequest, loaded: LoadedSettings) -> Iterator[DesktopApp]:
    settings = loaded.settings.with_values({"http.port": 0, **getattr(request, "param", {})})
    with desktop_app(replace(loaded, settings=settings)) as app:
        yield app


def _page(desktop: DesktopApp) -> ConnectPage:
    """A Connect page sharing the running window's context (its endpoint and engine)."""
    assert desktop.window is not None
    return ConnectPage(desktop.window.overview.context)


async def _status(url: str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as client, client.get(url, headers=headers) as r:
        return r.status


def _copied(shown: list[ShownSnippet]) -> list[Snippet]:
    """The snippets of one group as its Copy buttons copy them (without a token)."""
    return [s.copied for s in shown]


def _env(snippet_text: str) -> dict[str, str]:
    """`export NAME=value` lines as a mapping."""
    lines = (line.removeprefix("export ") for line in snippet_text.splitlines())
    return dict(line.split("=", 1) for line in lines)


def test_every_copy_button_copies_the_exact_snippet(on_app: OnApp, desktop: DesktopApp) -> None:
    async def body(desktop: DesktopApp) -> None:
        assert desktop.runtime is not None
        page = _page(desktop)
        await page.read_models()
        mcp_url, base = desktop.runtime.mcp_url, desktop.runtime.base_url
        assert page.base_url == base == base_url_of(mcp_url, "/mcp")
        tools = [s for setup in model_call_setups(page.facts) for s in setup.snippets]
        sdks = sdk_setup(page.facts).snippets
        expected = [*tools, *snippets(mcp_url), *sdks, *acp_setups(page.facts)]
        clients = {s.client for s in expected}
        assert {"Claude Code (HTTP)", "Cursor", "VS Code", "Codex", "curl"} <= clients
        assert {"Claude Code (model calls)", "Codex (model calls)", "Zed"} <= clients
        assert "OpenAI SDK (first call)" in clients
        assert "Gemini SDK (Python)" in clients
        assert set(page.copy_buttons) == clients
        # Open to this account: no header, no token to copy.
        assert not any("Authorization" in s.text for s in expected)
        assert page.copy_with_token_buttons == {} and page.copy_token_button is None
        clipboard = QGuiApplication.clipboard()
        for snippet in expected:
            clipboard.clear()
            shown = page.findChild(QLabel, f"snippet:{snippet.client}")
            assert shown is not None and shown.text() == snippet.text
            page.copy_buttons[snippet.client].click()
            assert clipboard.text() == snippet.text, snippet.client
            assert snippet.client in page.copied_label.text()
            # One Copy a block, never two buttons both called "Copy" (the ACP blocks had).
            shown_buttons = [
                b
                for b in (page.copy_buttons[snippet.client], page._full_buttons[snippet.client])
                if not b.isHidden()
            ]
            assert len({b.text() for b in shown_buttons}) == len(shown_buttons), snippet.client
        claude = next(s for s in expected if s.client == "Claude Code (HTTP)")
        assert (
            claude.text == f"claude mcp add --scope user --transport http llmgw-desktop {mcp_url}"
        )

        # The SDK settings copied from the page reach this gateway.
        openai = _env(next(s for s in expected if s.client == "OpenAI SDK (environment)").text)
        assert openai["OPENAI_API_KEY"] == ANY_KEY
        bearer = {"Authorization": f"Bearer {openai['OPENAI_API_KEY']}"}
        assert await _status(openai["OPENAI_BASE_URL"] + "/models", bearer) == 200
        anthropic = _env(
            next(s for s in expected if s.client == "Anthropic SDK (environment)").text
        )
        key = {"x-api-key": anthropic["ANTHROPIC_API_KEY"]}
        assert await _status(anthropic["ANTHROPIC_BASE_URL"] + "/v1/models", key) == 200
        page.deleteLater()

    on_app(desktop, body)


HEADER_CLIENTS = {
    "Claude Code (model calls)",
    "Codex (run it)",
    "Gemini CLI (model calls)",
    "Claude Code (HTTP)",
    "Codex",
    "Cursor",
    "VS Code",
    "curl",
    "OpenAI SDK (environment)",
    "OpenAI SDK (Python)",
    "Anthropic SDK (environment)",
    "Anthropic SDK (Python)",
    "Gemini SDK (Python)",
    "OpenAI SDK (first call)",
}


@pytest.mark.parametrize("desktop", [{"http.auth_token": TOKEN}], indirect=True)
def test_with_a_token_every_snippet_that_can_carry_a_header_sends_the_bearer(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> None:
        assert desktop.runtime is not None
        page = _page(desktop)
        await page.read_models()
        page.auth_choice.choose(AS_TOKEN)  # the master token, chosen (a key is the default)
        assert desktop.actions is not None
        await desktop.actions.read_facts()
        mcp_url = desktop.runtime.mcp_url
        clipboard = QGuiApplication.clipboard()
        # On screen: the header with the token masked; the token itself nowhere.
        masked = mask_token(TOKEN)
        assert masked.endswith(TOKEN[-4:]) and TOKEN not in masked
        for item in [*page.editors, *page.sdks]:
            shown = page.findChild(QLabel, f"snippet:{item.shown.client}")
            assert shown is not None and shown.text() == item.shown.text
            assert TOKEN not in shown.text()
        assert set(page.copy_with_token_buttons) == HEADER_CLIENTS
        for client in HEADER_CLIENTS:
            shown = page.findChild(QLabel, f"snippet:{client}")
            assert shown is not None and masked in shown.text(), client

        # Copy: the placeholder; Copy with token: the token, in the same snippet.
        def tools(token: str) -> list[Snippet]:
            return [s for setup in model_call_setups(page.facts, token) for s in setup.snippets]

        blank = [
            *tools(TOKEN_PLACEHOLDER),
            *snippets(mcp_url, token=TOKEN_PLACEHOLDER),
            *sdk_setup(page.facts, TOKEN_PLACEHOLDER).snippets,
            *acp_setups(page.facts),  # launched by the editor: the relay proves the user
        ]
        placeholder = {s.client: s for s in blank}
        full = {
            s.client: s
            for s in [
                *tools(TOKEN),
                *snippets(mcp_url, token=TOKEN),
                *sdk_setup(page.facts, TOKEN).snippets,
            ]
        }
        for client, button in page.copy_buttons.items():
            clipboard.clear()
            button.click()
            assert clipboard.text() == placeholder[client].text, client
            assert TOKEN not in clipboard.text()
        for client, button in page.copy_with_token_buttons.items():
            clipboard.clear()
            button.click()
            assert clipboard.text() == full[client].text, client
            assert TOKEN in clipboard.text(), client
            assert "with the token" in page.copied_label.text()
        assert "Authorization" in full["Cursor"].text and TOKEN in full["VS Code"].text
        assert page.copy_token_button is not None
        page.copy_token_button.click()
        assert clipboard.text() == TOKEN
        # The tray's "Copy setup for" gives what Copy gives here: the placeholder.
        assert desktop.actions is not None
        for action in desktop.actions.copy_setup:
            clipboard.clear()
            action.trigger()
            assert clipboard.text() == placeholder[action.text()].text, action.text()
        page.deleteLater()

    on_app(desktop, body)


def test_the_page_and_the_tray_copy_every_snippet_connect_prints(
    on_app: OnApp, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`connect TOOL` asks the running gateway which models answer; the page reads the same
    list, so each snippet `connect` prints (Claude Code's and Codex's model calls on a model
    that answers on this machine's keys among them) is one the page copies."""

    async def body(desktop: DesktopApp) -> None:
        assert desktop.runtime is not None and desktop.actions is not None
        page = _page(desktop)
        facts = await page.read_models()
        printed = await asyncio.to_thread(gather, desktop.runtime.settings)
        assert printed.source == "asked the running gateway"
        assert (printed.base_url, dict(printed.answering)) == (facts.base_url, facts.answering)
        assert list(facts.answering) == ["openai"]  # the one key here
        copied = {s.text for s in [*_copied(page.tools), *_copied(page.editors)]}
        copied |= {s.text for s in [*_copied(page.sdks), *_copied(page.acp)]}
        for client in CLIENTS:
            for snippet in setup_for(client, printed).snippets:
                assert snippet.text in copied, (client, snippet.client)
        claude = next(s for s in _copied(page.tools) if s.client == "Claude Code (model calls)")
        assert f"ANTHROPIC_MODEL={facts.answering['openai'][0]}" in claude.text
        codex = next(s for s in _copied(page.tools) if s.client == "Codex (model calls)")
        assert "[model_providers.llmgw]" in codex.text
        assert "no anthropic key was found" in page._notes["tools"].text()
        # The tray's "Copy setup for" has the tools' model calls, and the API base URL.
        await desktop.actions.read_facts()
        tray = {action.text(): action for action in desktop.actions.copy_setup}
        clipboard = QGuiApplication.clipboard()
        tray["Claude Code (model calls)"].trigger()
        assert clipboard.text() == claude.text
        desktop.actions.copy_base_url.trigger()
        assert clipboard.text() == desktop.runtime.base_url + "/v1"
        page.deleteLater()

    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-only-key-eeeeeeee")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # never asked: no call
    on_app(desktop, body)


def _run_python(text: str, call: str) -> str:
    """Run a copied Python snippet, then `call` on the `client` it made; the answer's text."""
    scope: dict[str, object] = {}
    exec(text, scope)  # the snippet under test
    exec(f"answer = {call}", scope)
    return str(scope["answer"])


CALLS = {
    "OpenAI SDK (Python)": 'client.chat.completions.create(model="gpt-4o", '
    'messages=[{"role": "user", "content": "hi"}]).choices[0].message.content',
    "Anthropic SDK (Python)": 'client.messages.create(model="claude-sonnet-4-6", max_tokens=50, '
    'messages=[{"role": "user", "content": "hi"}]).content[0].text',
    "Gemini SDK (Python)": 'client.models.generate_content(model="gemini-2.5-flash", '
    'contents="hi").text',
}
SHELL_CHECKS = {
    "OpenAI SDK (environment)": "from openai import OpenAI; "
    "print(OpenAI(max_retries=0).models.list().data[0].id)",
    "Anthropic SDK (environment)": "from anthropic import Anthropic; "
    "print(Anthropic(max_retries=0).models.list().data[0].id)",
}


def _shell(script: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    return subprocess.run(
        ["/bin/bash", "-c", script], env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("desktop", [{"http.auth_token": TOKEN}], indirect=True)
def test_the_snippets_copied_with_the_token_work_against_the_locked_gateway(
    qloop: qasync.QEventLoop, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with ScriptedUpstream() as upstream:
            # The gateway's own API providers: the scripted upstream, keyed from the environment.
            monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-key-aaaa")
            monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url + "/v1")
            monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-bbbbbbbb")
            monkeypatch.setenv("ANTHROPIC_BASE_URL", upstream.base_url)
            monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key-cc")
            monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", upstream.base_url)
            async with app_running(desktop):
                page = _page(desktop)
                page.auth_choice.choose(AS_TOKEN)  # chosen: a key is the default
                clipboard = QGuiApplication.clipboard()

                def copied(client: str, *, with_token: bool) -> str:
                    clipboard.clear()
                    buttons = page.copy_with_token_buttons if with_token else page.copy_buttons
                    buttons[client].click()
                    return clipboard.text()

                for client, call in CALLS.items():
                    text = copied(client, with_token=True)
                    answer = await asyncio.to_thread(_run_python, text, call)
                    assert answer.startswith(DEFAULT_ANSWER), client
                # The placeholder is refused: the token is what opens the lock.
                refused = copied("OpenAI SDK (Python)", with_token=False)
                with pytest.raises(Exception, match="401"):
                    await asyncio.to_thread(_run_python, refused, CALLS["OpenAI SDK (Python)"])
                for client, check in SHELL_CHECKS.items():
                    script = f"{copied(client, with_token=True)}\n{sys.executable} -c '{check}'"
                    done = await asyncio.to_thread(_shell, script)
                    assert done.returncode == 0 and done.stdout.strip(), (client, done.stderr)
                curl = await asyncio.to_thread(_shell, copied("curl", with_token=True))
                assert curl.returncode == 0 and '"data"' in curl.stdout, curl.stderr
                page.deleteLater()

    qloop.run_until_complete(scenario())


@pytest.mark.parametrize("desktop", [{"http.oauth.enabled": True}], indirect=True)
def test_with_oauth_alone_editors_sign_in_and_the_sdks_name_the_access_token(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> None:
        page = _page(desktop)
        # MCP OAuth clients open the browser: a header would stand in their way.
        assert not any("Authorization" in s.text for s in _copied(page.editors))
        sdks = {s.client: s.text for s in _copied(page.sdks)}
        assert f"Bearer {TOKEN_PLACEHOLDER}" in sdks["curl"]
        assert f"Bearer {TOKEN_PLACEHOLDER}" in sdks["Gemini SDK (Python)"]
        # There is no static token to copy.
        assert page.copy_token_button is None and page.copy_with_token_buttons == {}
        page.deleteLater()

    on_app(desktop, body)


@pytest.mark.parametrize("desktop", [{"http.auth_token": TOKEN}], indirect=True)
def test_the_snippets_default_to_a_new_key_and_the_master_token_only_when_chosen(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    """Gallery review (issue 64), finding 1: with a bearer lock the snippets carried the
    operator's master token by default. The default is a gateway key of the tool's own (New
    key… makes one); the master token is a second choice that says plainly what it gives."""

    async def body(desktop: DesktopApp) -> None:
        page = _page(desktop)
        await page.read_models()
        choice = page.auth_choice
        assert choice.chosen == AS_KEY
        assert choice.new_key.isVisibleTo(page) and choice.key_edit.isVisibleTo(page)
        assert "make one" in choice.note.text()
        assert page.token_row is not None and not page.token_row.isVisibleTo(page)
        assert page.copy_with_token_buttons == {}  # nothing carries the token
        for item in [*page.tools, *page.editors, *page.sdks]:
            for snippet in (item.shown, item.copied):
                assert TOKEN not in snippet.text and mask_token(TOKEN) not in snippet.text
        words = [choice.kind.itemText(i) for i in range(choice.kind.count())]
        assert words == [
            "A new gateway key for this tool (safer)",
            "The master token (full access, shared by every tool)",
        ]
        choice.choose(AS_TOKEN)
        assert page.token_row.isVisibleTo(page)
        assert "everything you can" in choice.note.text()
        assert choice.note.property("tone") == "warning"
        assert set(page.copy_with_token_buttons) == HEADER_CLIENTS
        page.deleteLater()

    on_app(desktop, body)


@pytest.mark.parametrize("desktop", [{"http.auth_token": TOKEN}], indirect=True)
def test_the_page_names_the_static_token_the_master_token_everywhere(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    """Issue 64's leftovers, item 4: the intro said "Gateway token (http.auth_token): set"
    beside the choice's "The master token": one thing, one name, on every label and tooltip
    of the page, the master token chosen or not."""

    async def body(desktop: DesktopApp) -> None:
        page = _page(desktop)
        await page.read_models()
        intro = page.findChild(QLabel, "connectIntro")
        assert intro is not None
        assert "Master token (http.auth_token): set" in intro.text()
        for kind in (AS_KEY, AS_TOKEN):
            page.auth_choice.choose(kind)
            for widget in [page, *page.findChildren(QWidget)]:
                for words in (getattr(widget, "text", lambda: "")(), widget.toolTip()):
                    assert "gateway token" not in str(words).lower(), (kind, words)
        page.deleteLater()

    on_app(desktop, body)
