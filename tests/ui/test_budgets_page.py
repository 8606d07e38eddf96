"""The Budgets page and the tray on a running gateway (qasync, offscreen): a project's hard
budget refuses the next call; the page shows the true spend, a red bar and the reset time,
the tray's burn-down line says it is exceeded, and edits are checked like the file's."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, BudgetStatus, KeyScope, KeySpec, format_usd
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.kit.spend_bar import BAR_ROLE, LABEL_ROOM
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.notifications import Notification, NotificationsPage
from llmgw_desktop.ui.pages.budgets import COLUMNS, BudgetsPage
from llmgw_desktop.ui.pages.keys import COLUMNS as KEY_COLUMNS
from llmgw_desktop.ui.qt import QMessageBox
from llmgw_desktop.ui.tray import TrayIcon
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
)
from tests.ui.desk_gateway import Desk, OnWindow, desk_tray, messages_request
from tests.waiting import until

SCREENSHOT = Path(os.environ.get("BUDGETS_SCREENSHOT", "/tmp/budgets-page.png"))
ONE_CALL = (
    ANTHROPIC_INPUT_TOKENS
    + ANTHROPIC_OUTPUT_TOKENS
    + ANTHROPIC_CACHE_READ_TOKENS
    + ANTHROPIC_CACHE_CREATION_TOKENS
)
BUDGETS = [
    {"scope": "project=shop", "unit": "tokens", "period": "daily", "hard": ONE_CALL},
    {"scope": "agent=agent-b", "unit": "usd", "period": "monthly", "soft": 4.0, "hard": 5.0},
]


# `on_budgets(body, budgets=...)`: `await body(runtime, window, tray)` (see the fixture).
OnBudgets = Callable[..., None]


@pytest.fixture
def on_budgets(on_window: OnWindow, loaded: LoadedSettings) -> OnBudgets:
    """`on_budgets(body, budgets=...)`: a gateway with `budgets` (`BUDGETS`), the dashboard on
    its Budgets page, and a tray; `await body(runtime, window, tray)`."""

    def run(
        body: Callable[[GatewayRuntime, MainWindow, TrayIcon], Awaitable[None]],
        budgets: list[dict[str, Any]] | None = None,
    ) -> None:
        chosen = BUDGETS if budgets is None else budgets
        with_budgets = replace(loaded, settings=loaded.settings.with_values({"budgets": chosen}))

        async def on_page(desk: Desk, window: MainWindow) -> None:
            with desk_tray(desk) as tray:
                window.show_page(BudgetsPage.KEY)
                await body(desk.runtime, window, tray)

        on_window(on_page, size=(1100, 640), show=False, loaded=with_budgets)

    return run


def shown(page: BudgetsPage) -> list[dict[str, str]]:
    """Each row as the person reads it: column title -> text (the bar: its percentage, drawn
    beside it)."""
    rows = []
    for row in range(page.table.rowCount()):
        texts = {}
        for column, title in enumerate(COLUMNS):
            item = page.table.item(row, column)
            texts[title] = item.text() if item is not None else ""
        rows.append(texts)
    return rows


def test_a_budget_refuses_the_next_call_and_the_page_and_tray_say_so(on_budgets: OnBudgets) -> None:
    async def body(runtime: GatewayRuntime, window: MainWindow, tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        assert "Budget: project shop daily tokens 0% of" in tray.tooltip()
        who = {"X-Caller": "agent-a"}
        await messages_request(runtime, who, project="shop")
        await until(lambda: shown(page)[0]["State"] == "exceeded: refusing calls", "exceeded")
        await messages_request(runtime, who, project="shop", status=402)
        await messages_request(runtime, who, project="elsewhere")  # not this budget's
        page.refresh()
        midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        shop, agent_b = shown(page)
        assert shop == {
            "Budget": "project shop",
            "Spent": f"{ONE_CALL:,} tokens",
            "Limits": f"hard {ONE_CALL:,} tokens per day",
            "Used": "100%",
            "State": "exceeded: refusing calls",
            "Resets": (midnight + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        }
        assert agent_b["Spent"] == "$0.00" and agent_b["State"] == "ok"
        assert agent_b["Limits"] == "soft $4.00 · hard $5.00 per month"
        assert agent_b["Used"] == "0%"
        used = COLUMNS.index("Used")
        assert page.table.item(0, used).data(BAR_ROLE) == (1.0, "error")  # type: ignore[union-attr]
        assert page.table.item(1, used).data(BAR_ROLE) == (0.0, "")  # type: ignore[union-attr]
        # The state is a glyph and a word, not a colour alone (review 41, finding 7).
        state = page.table.item(0, COLUMNS.index("State"))
        assert state is not None and not state.icon().isNull()
        assert page.detail.badge.kind == "error"
        assert page.detail.spend_label.text() == (
            f"{ONE_CALL:,} tokens of {ONE_CALL:,} tokens today (100%)"
        )
        tray.redraw()
        line = (
            f"Budget: project shop daily tokens 100% of {ONE_CALL:,} tokens today "
            "(exceeded: calls refused)"
        )
        assert line in tray.tooltip().splitlines()
        first = next(a for a in tray.menu.actions() if a.isVisible())  # the menu's first line
        assert first.text() == line
        told = [n.text for n in window.notifications.entries()]
        assert any(t.startswith("Budget project shop daily tokens is used up") for t in told), told
        window.grab().save(str(SCREENSHOT))

    on_budgets(body)


def test_the_page_adds_changes_and_removes_budgets_checked_like_the_file(
    on_budgets: OnBudgets, loaded: LoadedSettings
) -> None:
    async def body(runtime: GatewayRuntime, window: MainWindow, _tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        page.add_button.click()
        dialog = page.dialog
        assert dialog is not None and dialog.isVisible()
        dialog.scope_box.setCurrentText("project")
        dialog.scope_edit.setText("")
        dialog.hard_edit.setText("3")
        dialog.save_button.click()
        # The file's own check, shown in the dialog, which stays open to fix it.
        assert dialog.problem.text().startswith("budget 3 (project=): scope")
        assert dialog.isVisible()
        assert len(runtime.engine.budgets.statuses()) == 2  # nothing saved

        dialog.scope_edit.setText("docs")
        dialog.unit_box.setCurrentText("usd")
        dialog.soft_edit.setText("1.5")
        dialog.save_button.click()
        assert not dialog.isVisible()
        await until(lambda: page.table.rowCount() == 3, "the new budget listed")
        await until(lambda: "saved" in page.message_label.text(), "saved")
        saved = tomllib.loads(loaded.config_file.read_text())["budgets"]
        assert saved[2] == {
            "scope": "project=docs",
            "unit": "usd",
            "period": "daily",
            "soft": 1.5,
            "hard": 3.0,
        }
        assert shown(page)[2]["Limits"] == "soft $1.50 · hard $3.00 per day"

        page.table.selectRow(2)
        page.detail.change_button.click()
        dialog = page.dialog
        assert dialog.scope_edit.text() == "docs" and dialog.hard_edit.text() == "3"
        dialog.hard_edit.setText("1")
        dialog.save_button.click()
        assert "soft: must be below hard" in dialog.problem.text()
        dialog.hard_edit.setText("10")
        dialog.save_button.click()
        await until(
            lambda: shown(page)[2]["Limits"] == "soft $1.50 · hard $10.00 per day", "changed"
        )

        page.table.selectRow(0)
        page.detail.remove_button.click()
        box = page.confirm
        assert box is not None
        assert box.defaultButton() == box.button(QMessageBox.StandardButton.Cancel)
        remove = next(b for b in box.buttons() if b.text() == "Remove")
        remove.click()
        await until(lambda: page.table.rowCount() == 2, "removed")
        saved = tomllib.loads(loaded.config_file.read_text())["budgets"]
        assert [b["scope"] for b in saved] == ["agent=agent-b", "project=docs"]
        assert [s.budget.scope for s in runtime.engine.budgets.statuses()] == [
            "agent=agent-b",
            "project=docs",
        ]

    on_budgets(body)


def test_a_sub_cent_budget_reads_its_true_amounts_on_the_page_the_tray_and_the_402(
    on_budgets: OnBudgets,
) -> None:
    """Issue 25: a $0.003 budget read "$0.00 of $0.00 · 133%" everywhere. One scripted call
    costs $0.000576 here, held at about $0.000574 (its body at a token a byte): a budget of
    $0.0006 admits it and then has too little left for another."""
    tiny = [{"scope": "agent=tiny", "unit": "usd", "period": "daily", "hard": 0.0006}]

    async def body(runtime: GatewayRuntime, window: MainWindow, tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        client = anthropic.AsyncAnthropic(
            base_url=runtime.base_url,
            api_key="unused",
            max_retries=0,
            default_headers={"X-Caller": "tiny"},
        )
        ask = {"model": "claude-sonnet-4-6", "max_tokens": 16}
        await client.messages.create(**ask, messages=[{"role": "user", "content": "hi"}])
        (status,) = runtime.engine.budgets.statuses()
        assert 0.0005 < status.spent < 0.001  # a twentieth of a cent: the row's true cost
        spent = format_usd(status.spent)
        assert spent == f"${status.spent:.6f}".rstrip("0")  # "$0.000576", not "$0.00"
        with pytest.raises(anthropic.APIStatusError) as refused:
            await client.messages.create(**ask, messages=[{"role": "user", "content": "again"}])
        await client.close()
        assert refused.value.status_code == 402
        assert "$0.0006" in refused.value.message and spent in refused.value.message
        page.refresh()
        await until(lambda: shown(page)[0]["Spent"] == spent, "the spend")
        (row,) = shown(page)
        assert row["Limits"] == "hard $0.0006 per day"
        tray.redraw()
        assert "96% of $0.0006 today (calls refused: too little left)" in tray.tooltip()
        told = [n.text for n in window.notifications.entries()]
        assert any("$0.0006" in t for t in told), told

    on_budgets(body, budgets=tiny)


def test_a_little_spent_reads_under_one_percent_whole_beside_its_bar(
    on_budgets: OnBudgets,
) -> None:
    """A budget a little used read "0%" (2026-11-30's pass); then "under 1%", which the bar's
    cell cut to "der 1%" (seen in the window's screenshot): it reads "<1%", which fits."""
    roomy = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}]

    async def body(runtime: GatewayRuntime, window: MainWindow, tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        client = anthropic.AsyncAnthropic(base_url=runtime.base_url, api_key="unused")
        await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
        await client.close()
        page.refresh()
        await until(lambda: shown(page)[0]["Used"] == "<1%", "the share")
        metrics = page.table.fontMetrics()
        assert metrics.horizontalAdvance("<1%") <= metrics.horizontalAdvance(LABEL_ROOM)
        tray.redraw()
        assert "under 1% of $5.00 today" in tray.tooltip()

    on_budgets(body, budgets=roomy)


def test_a_keys_budget_is_listed_read_only_and_opens_its_key(on_budgets: OnBudgets) -> None:
    """Review 41, finding 8: a key's "$5 monthly" budget was on the Keys page only; auditing
    "all my limits" on Budgets missed it. It is listed after the configured budgets, says it
    is the key's own, and its details offer the Keys page instead of Change and Remove."""

    async def body(runtime: GatewayRuntime, window: MainWindow, _tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        await runtime.engine.keys.create(
            LOCAL_CALLER, KeySpec(name="ci-bot", scope=KeyScope.of(), budget_usd=5.0)
        )
        page.refresh()
        rows = shown(page)
        assert [r["Budget"] for r in rows] == ["project shop", "agent agent-b", "key ci-bot"]
        # Review 41-2, finding 8: one wording for the one budget, here and on Keys (which
        # said "$5 monthly" for what this page called "hard $5.00").
        assert rows[2]["Limits"] == "hard $5.00 per month"
        assert rows[2]["Used"] == "0%" and rows[2]["State"] == "ok"
        page.table.selectRow(2)
        detail = page.detail
        assert detail.keys_button.isVisibleTo(detail)
        assert not detail.change_button.isVisibleTo(detail)
        assert not detail.remove_button.isVisibleTo(detail)
        assert "Access keys page" in detail.kept_label.text()
        assert page.open_change() is None  # nothing here edits a key's budget
        page.remove_selected()
        assert len(runtime.engine.budgets.tables()) == 2  # the configured ones, untouched
        detail.keys_button.click()
        keys = window.pages["keys"]
        assert window.current_page is keys
        await until(lambda: keys.selected() is not None, "the key chosen")  # type: ignore[attr-defined]
        assert keys.selected().name == "ci-bot"  # type: ignore[attr-defined]
        budget_cell = keys.table.item(0, KEY_COLUMNS.index("Budget"))  # type: ignore[attr-defined]
        assert budget_cell.text() == rows[2]["Limits"]
        assert detail.limits_label.text() == rows[2]["Limits"]

    on_budgets(body)


def test_a_token_budget_says_how_many_of_its_tokens_were_cache_reads(on_budgets: OnBudgets) -> None:
    """Review 41-2, finding 7: Budgets said "8,025 tokens" for an agent the Agents page showed
    with 2,800 in and 225 out; the 5,000 between them were cache reads, which a token budget
    counts. The page says so beside the total, and the details split it."""
    # As wide as the gallery's: a long agent name, both limits, and a budget used up.
    caller = "claude-code-on-the-laptop"
    agent = {
        "scope": f"agent={caller}",
        "unit": "tokens",
        "period": "monthly",
        "soft": 24_100,
        "hard": 132_100,
    }
    # Room for a call's hold (its body at a token a byte and 16 tokens out: about 105), which
    # the scripted upstream's usage (319 tokens) passes.
    used_up = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 200}

    async def body(runtime: GatewayRuntime, window: MainWindow, _tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        await messages_request(runtime, {"X-Caller": caller})
        window.show()
        window.show_page(BudgetsPage.KEY)
        reads, writes = ANTHROPIC_CACHE_READ_TOKENS, ANTHROPIC_CACHE_CREATION_TOKENS
        fresh = ANTHROPIC_INPUT_TOKENS + ANTHROPIC_OUTPUT_TOKENS
        assert reads and writes and fresh  # the scripted upstream reports all three
        spent = f"{fresh + reads + writes:,} tokens"
        said = f"incl. {reads:,} cache reads"  # the writes in the details, for the width
        await until(lambda: page.notes.get(0) == said, "the cache's share said")
        assert shown(page)[0]["Spent"] == spent  # the figure, the share on a line under it
        # The second line takes no width: every column still shows at 1920 px.
        window.resize(1920, 1080)
        await until(lambda: window.width() == 1920, "the window resized")
        page.refresh()
        assert shown(page)[0]["Limits"] == "soft 24.1k · hard 132.1k tokens per month"
        assert shown(page)[1]["State"] == "exceeded: refusing calls"
        assert [COLUMNS[c] for c in range(len(COLUMNS)) if page.table.isColumnHidden(c)] in (
            [],
            ["Resets"],
        )
        assert page.detail.tokens_label.text() == (
            f"every token: {fresh:,} in and out, {reads:,} cache reads and {writes:,} cache writes"
        )

    budgets = [agent, used_up]
    on_budgets(body, budgets=budgets)


def test_a_budget_refusing_for_too_little_left_does_not_read_ok(on_budgets: OnBudgets) -> None:
    """Window review 2026-11-25: a $0.0001 daily budget refused every call with 402 ("too
    little left for this call") while its row read "$0.00 · 0% · ok", and the status line
    beside it said the budget was used up. Its state now says it refuses calls."""
    tiny = [{"scope": "agent=budgeted", "unit": "usd", "period": "daily", "hard": 0.0001}]

    async def body(runtime: GatewayRuntime, window: MainWindow, tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        page.refresh()
        assert shown(page)[0]["State"] == "ok"
        await messages_request(runtime, {"X-Caller": "budgeted"}, status=402)
        page.refresh()
        # Refusing, and not past its limit: "exceeded" beside 0 % would say two things.
        await until(lambda: shown(page)[0]["State"] == "refusing calls", "refusing")
        assert shown(page)[0]["Spent"] == "$0.00"
        assert page.detail.badge.kind == "error"
        tray.redraw()
        assert "0% of $0.0001 today (calls refused: too little left)" in tray.tooltip()

    on_budgets(body, budgets=tiny)


def test_a_lane_is_named_in_words_not_by_the_engines_id() -> None:
    """Review round 2, finding 13: the list said "agent claude-code (oauth:laptop-editor)"."""

    class Lane:
        def __init__(self, lane: str) -> None:
            self.lane = lane

    # The engine's words (the notices' too), read from a stand-in holding only a lane.
    words = BudgetStatus.lane_words.fget  # type: ignore[attr-defined]
    said = {lane: words(Lane(lane)) for lane in ("oauth:laptop", "key:ci-bot", "local", "")}
    assert said == {
        "oauth:laptop": " (OAuth client laptop)",
        "key:ci-bot": " (key ci-bot)",
        "local": " (you)",
        "": "",
    }


# Person pass, 2026-11-30: two budgets of one scope, the tokens one small enough for one call.
TWO_GLOBAL = [
    {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0},
    {"scope": "global", "unit": "tokens", "period": "daily", "hard": ONE_CALL},
]


def test_a_budget_notice_opens_its_own_budget_among_two_of_one_scope(
    on_budgets: OnBudgets,
) -> None:
    """Person pass, 2026-11-30: "Budget global is used up: 13.8k tokens of 1,200 tokens today"
    opened the Budgets page on the dollar budget: the notice said only its scope, two budgets
    had. It names its budget (its key), and Open chooses that one; an old notice kept with no
    budget still opens the page."""

    async def body(runtime: GatewayRuntime, window: MainWindow, tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        notifications = window.pages[NotificationsPage.KEY]
        assert isinstance(page, BudgetsPage) and isinstance(notifications, NotificationsPage)
        await messages_request(runtime, {"X-Caller": "agent-a"})
        await until(
            lambda: any("is used up" in n.text for n in window.notifications.entries()),
            "the token budget told used up",
        )
        told = next(n for n in window.notifications.entries() if "is used up" in n.text)
        assert told.text.startswith("Budget global daily tokens is used up"), told.text
        assert (told.place, told.detail) == ("budgets", "global|tokens|daily")
        window.show_page(NotificationsPage.KEY)
        page.table.selectRow(0)  # the dollar budget, as a person left it
        notifications.open_entry(told)
        assert window.current_page is page
        chosen = page.selected_row()
        assert chosen is not None and page.statuses[chosen].budget.unit == "tokens"
        # The tray's message opens the same budget (as the app wires it).
        tray.opened.connect(window.open_place)
        page.table.selectRow(0)
        tray.icon.messageClicked.emit()
        chosen = page.selected_row()
        assert chosen is not None and page.statuses[chosen].budget.unit == "tokens"
        # The header's spend chip and the tray's budget line open the budget they speak of.
        for press in (lambda: window.header.press("spend"), tray.alerts.budget.trigger):
            page.table.selectRow(0)
            window.show_page(NotificationsPage.KEY)
            press()
            assert window.current_page is page
            chosen = page.selected_row()
            assert chosen is not None and page.statuses[chosen].budget.unit == "tokens"
        # A notice kept before notices named their budget: the page, as it was.
        window.show_page(NotificationsPage.KEY)
        old = Notification(datetime.now(), "error", "Budget global is used up", "budgets", "")
        notifications.open_entry(old)
        assert window.current_page is page and page.selected_row() is not None

    on_budgets(body, budgets=TWO_GLOBAL)


def test_two_budgets_of_one_scope_are_told_apart_on_the_list(on_budgets: OnBudgets) -> None:
    """Person pass, 2026-11-30: two rows both named "global"; the list was narrow enough for
    Spent to fold away, so only a click told them apart. Each name says its period and unit,
    in the words the header and the notices use too."""

    async def body(runtime: GatewayRuntime, window: MainWindow, tray: TrayIcon) -> None:
        page = window.pages[BudgetsPage.KEY]
        assert isinstance(page, BudgetsPage)
        window.show()
        page.refresh()
        names = [row["Budget"] for row in shown(page)]
        assert names == ["global daily dollars", "global daily tokens"], names
        assert page.detail.heading.text() == names[page.selected_row() or 0]

    on_budgets(body, budgets=TWO_GLOBAL)


def test_the_tray_says_a_budget_refusing_every_call_once(
    on_budgets: OnBudgets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Person pass, 2026-11-30: while a global budget refused every call, the tooltip said so
    three times ("Last error: Budget global is used up ...", "Every call is refused by ...",
    "Budget: global ... exceeded"), and each redraw asked the engine which budget refuses
    every call more than once."""
    asked: list[object] = []

    def counted(real: Callable[..., object]) -> Callable[..., object]:
        def ask(*args: object) -> object:
            asked.append(args)
            return real(*args)

        return ask

    async def body(runtime: GatewayRuntime, window: MainWindow, tray: TrayIcon) -> None:
        await messages_request(runtime, {"X-Caller": "agent-a"})
        await messages_request(runtime, {"X-Caller": "agent-a"}, status=402)
        import llmgw_desktop.ui.gateway_state as gateway_state_module
        import llmgw_desktop.ui.tray as tray_module

        for module in (gateway_state_module, tray_module):
            real = getattr(module, "refusing_every_call", None)
            if real is not None:
                monkeypatch.setattr(module, "refusing_every_call", counted(real))
        tray.redraw()
        assert len(asked) == 1, asked
        tip = tray.tooltip().splitlines()
        about = [line for line in tip if "global" in line or "used up" in line]
        assert len(about) == 1, tip
        assert about[0].startswith("Every call is refused by the global daily tokens budget")
        assert "Gateway: Refusing calls" in tip

    on_budgets(body, budgets=TWO_GLOBAL[1:])
