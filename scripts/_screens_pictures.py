"""The pictures: every page in both looks at both sizes, the states a review checks, the tray,
and the README's gallery written from what was taken.

Used by `screenshots.py` after the workload: each picture is `QWidget.grab()` saved under the
output folder (the tray's, a grab of the screen), and every function returns the (title, file)
pairs the gallery lists, in its order.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from _screens_common import (
    DIALOGS,
    FAILED_CALLS,
    FAILING_MODEL,
    FIRST_RUN,
    GUIDE_KEY,
    JOB_TIMEOUT_S,
    LOOKS,
    MAX_RESTING_TRIES,
    NO_PROVIDER,
    OAUTH_REDIRECT,
    PAGE_SETTLE_S,
    README,
    README_END,
    README_START,
    REPLAY_MODEL,
    RESTING_MODEL,
    RESTING_PROVIDER,
    ROOT,
    SIZES,
    STOP,
    STOP_ANSWER,
    STUCK,
    TRAY_MARGIN,
    WINDOW_SIZE,
    WINDOW_WAIT_S,
    until,
)
from _screens_stage import Upstreams
from _screens_workload import chat, consent_dialog

from llmgw_desktop.engine.api import LOCAL_CALLER, MadeKey
from llmgw_desktop.engine.calls.approval import ApprovalRequest
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.decision_dialog import DecisionDialog
from llmgw_desktop.ui.first_run import FirstRunGuide
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.qt import QApplication, QSystemTrayIcon
from llmgw_desktop.ui.theme import apply_theme
from llmgw_desktop.ui.tray import TrayIcon
from tests.fakes.upstream import Reply


def save(widget: Any, path: Path) -> None:
    if not widget.grab().save(str(path)):
        raise RuntimeError(f"could not write {path}")
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def shot_name(key: str, look: str, size: tuple[int, int]) -> str:
    """`providers-dark-1120x740.png`: a page, a look and a window size."""
    return f"{key}-{look}-{size[0]}x{size[1]}.png"


def find_guide() -> FirstRunGuide | None:
    guides = [w for w in QApplication.topLevelWidgets() if isinstance(w, FirstRunGuide)]
    return next((w for w in guides if w.isVisible()), None)


async def capture_guide(out: Path, only: set[str] | None) -> list[tuple[str, Path]]:
    """The first-run guide's key step (a pasted key tested against the scripted upstream) and
    its CLI step; then skipped, so the pages are taken without it."""
    guide = await until(find_guide, "the first-run guide", WINDOW_WAIT_S)
    saved: list[tuple[str, Path]] = []
    if only is None or FIRST_RUN in only:
        keys = guide.keys
        await keys.load()  # the keys stored since the guide opened
        keys.provider_box.setCurrentText("openai")
        keys.value_edit.setText(GUIDE_KEY)
        keys.test_button.click()
        await until(lambda: keys.result_label.text().startswith("OK"), "the key's test", 30.0)
        path = out / f"{FIRST_RUN}-keys.png"
        save(guide, path)
        saved.append(("First-run guide: API keys, its first step", path))
        guide.next()
        await until(lambda: "found." in guide.clis.note.text(), "the CLIs' versions", 30.0)
        save(guide, out / f"{FIRST_RUN}.png")
        saved.append(("First-run guide: coding CLIs", out / f"{FIRST_RUN}.png"))
    guide.reject()  # skipped, as a person may
    return saved


async def capture_no_provider(window: MainWindow, out: Path) -> list[tuple[str, Path]]:
    """Before any key or CLI is given: the header, the Overview's first card and the
    Playground's empty model box saying that no provider can answer, in both looks."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    engine = window.overview.context.engine
    await until(lambda: engine.answering.now().none, "nothing to answer with", WINDOW_WAIT_S)
    window.resize(*WINDOW_SIZE)
    saved: list[tuple[str, Path]] = []
    for look, scheme in LOOKS:
        apply_theme(app, scheme)
        for key, title in (("overview", "Overview"), ("playground", "Playground")):
            window.show_page(key)
            await asyncio.sleep(PAGE_SETTLE_S)
            path = out / f"{NO_PROVIDER}-{key}-{look}.png"
            save(window, path)
            saved.append((f"No provider can answer: header and {title} ({look})", path))
    apply_theme(app)
    return saved


async def capture_stop(
    window: MainWindow, upstreams: Upstreams, out: Path
) -> list[tuple[str, Path]]:
    """The Playground while an answer streams (held halfway by the upstream): Send reads
    Stop, in both looks; then Stop is pressed and the answer ends where it was."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    page = window.pages["playground"]
    window.resize(*WINDOW_SIZE)
    window.show_page("playground")
    page.new_chat()  # type: ignore[attr-defined]
    upstreams.script_api(Reply.ok(STOP_ANSWER, verbatim=True))
    upstreams.hold_streams(True)
    saved: list[tuple[str, Path]] = []
    try:
        page.model_box.choose("claude-sonnet-4-6")  # type: ignore[attr-defined]
        page.prompt.setPlainText("How do sea otters sleep without drifting apart?")  # type: ignore[attr-defined]
        page.send()  # type: ignore[attr-defined]
        await until(lambda: page.answer.text.toPlainText(), "the first half", 20)  # type: ignore[attr-defined]
        for look, scheme in LOOKS:
            apply_theme(app, scheme)
            await asyncio.sleep(PAGE_SETTLE_S)
            path = out / f"{STOP}-playground-{look}.png"
            save(window, path)
            saved.append((f"Playground: an answer streaming, Send is Stop ({look})", path))
        apply_theme(app)
        page.stop()  # type: ignore[attr-defined]
        await until(lambda: page.answer.reply is not None, "the answer stopped", 20)  # type: ignore[attr-defined]
    finally:
        upstreams.hold_streams(False)
    return saved


async def capture(window: MainWindow, out: Path, only: set[str] | None) -> list[tuple[str, Path]]:
    """Every registered page (tabs included) in both looks at both sizes, saved as
    <out>/<key>-<look>-<W>x<H>.png; (title, file)s, the gallery's order."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window.bring_forward()
    saved: list[tuple[str, Path]] = []
    for look, scheme in LOOKS:
        apply_theme(app, scheme)
        for size in SIZES:
            window.resize(*size)
            for key in list(window.pages):
                if only and key not in only:
                    continue
                window.show_page(key)
                await asyncio.sleep(PAGE_SETTLE_S)
                path = out / shot_name(key, look, size)
                save(window, path)
                saved.append((window.pages[key].TITLE, path))
    apply_theme(app)
    window.resize(*WINDOW_SIZE)
    return saved


async def capture_states(
    window: MainWindow, out: Path, only: set[str] | None, made: MadeKey
) -> list[tuple[str, Path]]:
    """The review states: the stuck job, the two question dialogs, a new key's dialog."""
    saved: list[tuple[str, Path]] = []
    window.resize(*WINDOW_SIZE)
    if only is None or STUCK in only:
        window.show_page("jobs")
        jobs = window.pages["jobs"]
        await until(lambda: jobs.model.stuck_count(), "the stuck job", JOB_TIMEOUT_S)  # type: ignore[attr-defined]
        jobs.show_state("Active")  # type: ignore[attr-defined]
        await asyncio.sleep(PAGE_SETTLE_S)
        save(window, out / "jobs-stuck.png")
        saved.append(("Jobs: a stuck job", out / "jobs-stuck.png"))
        jobs.show_state("All jobs")  # type: ignore[attr-defined]
    if only is None or DIALOGS in only:
        saved += await capture_dialogs(window, out)
        saved += await capture_new_key(window, out, made)
    return saved


async def capture_new_key(window: MainWindow, out: Path, made: MadeKey) -> list[tuple[str, Path]]:
    """The dialog a new key ends on (its secret shown once, a tool's setup to copy with it),
    as the Keys page shows it for the key `make_keys` made."""
    window.show_page("keys")
    keys = window.pages["keys"]
    keys.show_secret(made)  # type: ignore[attr-defined]
    dialog = keys.secret_dialog  # type: ignore[attr-defined]
    dialog.client.setCurrentIndex(dialog.client.findText("Cursor"))
    await asyncio.sleep(0.5)
    save(dialog, out / "dialog-new-key.png")
    dialog.accept()
    return [("New key: copy a tool's setup", out / "dialog-new-key.png")]


async def capture_dialogs(window: MainWindow, out: Path) -> list[tuple[str, Path]]:
    """A risky call's approval and an OAuth client's consent, each saved, then denied."""
    engine = next(iter(window.pages.values())).context.engine

    def dialog() -> DecisionDialog | None:
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, DecisionDialog)]
        return next((w for w in shown if w.isVisible()), None)

    risky = ApprovalRequest(
        provider="claude",
        prompt="Clean up the release branch, then git push --force origin main and "
        "sudo rm -rf /srv/app/build so the next deploy starts fresh.",
        permission_mode="acceptEdits",
        full_auto=True,
        allowed_tools=(),
        strategy="mcp_managed",
        principal=LOCAL_CALLER.id,
        caller="claude-code",
        workspace="demo",
    )
    saved: list[tuple[str, Path]] = []
    deciding = asyncio.get_running_loop().create_task(engine.approvals.decide(risky))
    box = await until(dialog, "the approval dialog", WINDOW_WAIT_S)
    await asyncio.sleep(0.5)
    save(box, out / "dialog-approval.png")
    saved.append(("Approval dialog", out / "dialog-approval.png"))
    box.deny_button.click()
    await deciding
    if engine.oauth is not None:
        # A real sign-in: the gateway asks consent (http.oauth.require_consent), denied here.
        query = urlencode(
            {
                "response_type": "code",
                "client_id": "laptop-editor",
                "redirect_uri": OAUTH_REDIRECT,
                "scope": "mcp",
                "code_challenge": "x" * 43,
                "code_challenge_method": "S256",
            }
        )
        facts = next(iter(window.pages.values())).context.facts
        base_url = facts.health_url.removesuffix("/health")
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"{base_url}/oauth/authorize?{query}", allow_redirects=False) as answer,
        ):
            landing = answer.headers.get("Location", "")
        consent_id = urlsplit(landing).path.rsplit("/", 1)[-1]
        box = await until(lambda: consent_dialog(consent_id), "the consent dialog", WINDOW_WAIT_S)
        await asyncio.sleep(0.5)
        save(box, out / "dialog-consent.png")
        saved.append(("Consent dialog", out / "dialog-consent.png"))
        box.deny_button.click()
    return saved


async def capture_replay(
    window: MainWindow, base_url: str, upstreams: Upstreams, out: Path
) -> list[tuple[str, Path]]:
    """User job 6: body capture turned on for Anthropic (as the recorder's "Turn on capture"
    does), one request kept, its detail in the Flight recorder with Replay on… offered, then
    the Playground replaying it on another provider's model, its answer beside the recorded."""
    recorder = window.pages["recorder"]
    engine = recorder.engine
    engine.body_capture.apply("recorder.capture.providers", ["anthropic"])
    upstreams.script_api(
        Reply.ok(
            "Rename `tmp` to `pending_orders`: it holds the orders not yet shipped.", verbatim=True
        ),
        Reply.ok("Call it `unshipped_orders`, since that is what the list holds.", verbatim=True),
    )
    sent = time.time()
    async with aiohttp.ClientSession() as client:
        await chat(client, base_url, FAILING_MODEL, stream=False, caller="cursor", index=3)
    await engine.recorder.flush()
    window.resize(*SIZES[1])
    window.show_page("recorder")
    recorder.apply_filters()  # type: ignore[attr-defined]

    def kept_first() -> bool:
        newest = recorder.model.summary(0)  # type: ignore[attr-defined]
        return newest is not None and newest.started_at >= sent - 1

    await until(kept_first, "the kept request listed first", 10)
    recorder.table.selectRow(0)  # type: ignore[attr-defined]
    replay = recorder.replay  # type: ignore[attr-defined]
    await until(lambda: replay.replay_button.isEnabled(), "Replay on… offered", 10)
    await asyncio.sleep(PAGE_SETTLE_S)
    saved = [("Flight recorder: a kept request, Replay on…", out / "recorder-replay.png")]
    save(window, saved[0][1])
    replay.replay_on(REPLAY_MODEL)
    playground = window.pages["playground"]
    await until(lambda: playground.second.reply is not None, "the replay's answer", 20)  # type: ignore[attr-defined]
    await asyncio.sleep(PAGE_SETTLE_S)
    saved.append(
        ("Playground: the replay beside the recorded answer", out / "playground-replay.png")
    )
    save(window, saved[1][1])
    window.resize(*WINDOW_SIZE)
    return saved


async def capture_failure(
    window: MainWindow, base_url: str, upstreams: Upstreams, out: Path
) -> list[tuple[str, Path]]:
    """Overview after `FAILED_CALLS` upstream 500s in a row for one provider."""
    upstreams.script_api(*[Reply.error(500, "upstream exploded")] * FAILED_CALLS)
    async with aiohttp.ClientSession() as client:
        for index in range(FAILED_CALLS):
            await chat(client, base_url, FAILING_MODEL, stream=False, caller="cursor", index=index)
    window.show_page("overview")
    overview = window.pages["overview"]
    health = overview.health  # type: ignore[attr-defined]
    health.request_refresh()
    await until(
        lambda: health.cell("anthropic", "Status").startswith("Failing"), "the failing row", 10
    )
    await asyncio.sleep(PAGE_SETTLE_S)
    path, table = out / "overview-failing.png", out / "overview-failing-health.png"
    save(window, path)
    save(health, table)
    return [("Overview: a provider failing", path), ("Provider health: failing", table)]


async def capture_resting(window: MainWindow, base_url: str, out: Path) -> list[tuple[str, Path]]:
    """A provider whose host takes no connection, rested: the Providers page on its row,
    Overview's health table, and the tray, each taken while the rest lasts."""
    engine = window.overview.context.engine

    async def rest() -> None:
        # Refused at once, three times: a rest of 5 s; once over, the next refusal doubles it.
        answers: dict[tuple[int, bytes], int] = {}
        async with aiohttp.ClientSession() as client:
            for _ in range(MAX_RESTING_TRIES):
                if engine.providers.resting():
                    return
                answer = await chat(client, base_url, RESTING_MODEL, stream=False, caller="aider")
                answers[answer[0], answer[1][:300]] = (
                    answers.get((answer[0], answer[1][:300]), 0) + 1
                )
        # What the gateway answered says why (a run at 11:14 on 2026-11-25 failed here once
        # and not again; its answers were not kept).
        raise RuntimeError(f"{RESTING_PROVIDER}'s host did not rest; the answers: {answers}")

    saved: list[tuple[str, Path]] = []
    await rest()
    providers = window.pages["providers"]
    window.show_page("providers")
    providers.select_provider(RESTING_PROVIDER)  # type: ignore[attr-defined]
    await until(
        lambda: getattr(providers.selected_row(), "status", "") == "Unreachable",  # type: ignore[attr-defined]
        "the row unreachable",
        10,
    )
    await asyncio.sleep(0.5)
    save(window, out / "providers-resting.png")
    saved.append(("Providers: a provider unreachable, resting", out / "providers-resting.png"))
    await rest()
    window.show_page("overview")
    health = window.overview.health
    await until(
        lambda: health.cell(RESTING_PROVIDER, "Status").startswith("Unreachable"), "health", 10
    )
    await asyncio.sleep(0.5)
    save(window, out / "overview-resting.png")
    saved.append(("Overview: a provider unreachable, resting", out / "overview-resting.png"))
    await rest()
    return saved + await capture_tray(window, out, "resting")


async def capture_tray(
    window: MainWindow, out: Path, state: str = "failing"
) -> list[tuple[str, Path]]:
    """The tray in the failure state (or `state`): its icon and its menu open, as the screen
    shows them."""
    tray = _find_tray()
    if tray is None or not QSystemTrayIcon.isSystemTrayAvailable():
        available = QSystemTrayIcon.isSystemTrayAvailable()
        print(f"no tray picture: the app has no tray (a system tray on the display: {available})")
        return []
    await until(lambda: tray.icon.geometry().width() > 0, "the tray icon", WINDOW_WAIT_S)
    where = tray.icon.geometry()
    window.hide()
    tray.menu.popup(where.bottomLeft())
    await asyncio.sleep(PAGE_SETTLE_S)
    screen = QApplication.primaryScreen()
    # The icon and the whole menu, with a margin, as far as the screen goes.
    seen = where.united(tray.menu.geometry()).adjusted(-TRAY_MARGIN, 0, TRAY_MARGIN, TRAY_MARGIN)
    seen = seen.intersected(screen.geometry())
    shot = screen.grabWindow(0, seen.x(), seen.y(), seen.width(), seen.height())
    tray.menu.hide()
    window.bring_forward()
    path = out / f"tray-{state}.png"
    if not shot.save(str(path)):
        raise RuntimeError(f"could not write {path}")
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return [(f"Tray: a provider {state}", path)]


_STARTED_APPS: list[DesktopApp] = []  # the app `cli.main` builds, to reach its tray


def remember_apps() -> None:
    """Note each DesktopApp as it is made: its tray has no Qt parent to find it by, and the
    app object is held only by the coroutine running it."""
    made = DesktopApp.__init__

    def init(self: DesktopApp, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        _STARTED_APPS.append(self)

    DesktopApp.__init__ = init  # type: ignore[method-assign]


def _find_tray() -> TrayIcon | None:
    tray = getattr(_STARTED_APPS[-1], "tray", None) if _STARTED_APPS else None
    return tray if isinstance(tray, TrayIcon) else None


def update_readme(shots: list[tuple[str, Path]]) -> None:
    """Rewrite the README's gallery (between the screens markers) to show exactly the images
    taken: a row a page (its light look at 1024x700 beside its dark look at 1120x740, links
    to the other two), then the states (a failing provider, the tray, the first-run guide)."""
    text = README.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        print(f"README.md has no {README_START} ... {README_END} markers; left alone")
        return

    def rel(path: Path) -> str:
        return path.relative_to(ROOT).as_posix()

    by_name = {path.name: (title, path) for title, path in shots}
    small, large = SIZES
    rows = [
        f"| Page | Light, {small[0]}x{small[1]} | Dark, {large[0]}x{large[1]} |",
        "|---|---|---|",
    ]
    pages = [p for _t, p in shots if p.name.endswith(f"-light-{small[0]}x{small[1]}.png")]
    for path in pages:
        key = path.name.removesuffix(f"-light-{small[0]}x{small[1]}.png")
        title = by_name[path.name][0]
        others = [
            f"[{look} {w}x{h}]({rel(by_name[shot_name(key, look, (w, h))][1])})"
            for look, (w, h) in (("dark", small), ("light", large))
            if shot_name(key, look, (w, h)) in by_name
        ]
        dark = by_name.get(shot_name(key, "dark", large))
        dark_cell = f"![{title}, dark]({rel(dark[1])})" if dark else " "
        rows.append(
            f"| **{title}**<br>{' · '.join(others)} | ![{title}]({rel(path)}) | {dark_cell} |"
        )
    states = [(t, p) for t, p in shots if not any(p.name.endswith(f"x{s[1]}.png") for s in SIZES)]
    if states:
        rows += ["", "| State | |", "|---|---|"]
        rows += [f"| **{title}** | ![{title}]({rel(path)}) |" for title, path in states]
    gallery = "\n".join([README_START, "", *rows, "", ""])
    README.write_text(text[:start] + gallery + text[end:], encoding="utf-8")
    print("updated the gallery in README.md")
