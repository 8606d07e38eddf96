"""One provider-health verdict everywhere (issue 41, review finding 4).

A provider some of whose calls fail has one wording everywhere, "some calls fail" (the header
said "needs a look" where the tables said "Some calls fail", review 41-3): the header chip
names it, Overview names it, the Providers page shows it amber, and the tray lists it first in
its menu, all from the same verdict (`attention.provider_verdicts`), driven by the official
`anthropic` SDK through the real gateway against the scripted upstream. A provider no switch
can make answer (no key, no CLI) is shown as unavailable with why, not as a ticked, greyed
check box; the tray's alert lines are drawn enabled, not greyed.
"""

from __future__ import annotations

import anthropic
import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.attention import SOME_CALLS_FAIL, provider_verdicts
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QSystemTrayIcon
from llmgw_desktop.ui.theme import warning_colour
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnGateway, desk_tray, desk_window
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

OK_CALLS = 4


async def _ask(client: anthropic.AsyncAnthropic) -> None:
    await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )


def test_header_overview_providers_and_tray_agree_on_a_provider_with_some_failing_calls(
    on_gateway: OnGateway, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # no pop-ups offscreen
    replies = (*[Reply.ok()] * OK_CALLS, Reply.error(500, "boom"))
    opened: list[tuple[str, str]] = []

    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        await engine.budgets.replace(
            LOCAL_CALLER, [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5}]
        )
        with desk_window(desk, qtbot, size=(1024, 700)) as window, desk_tray(desk) as tray:
            tray.opened.connect(lambda place, detail: opened.append((place, detail)))
            client = anthropic.AsyncAnthropic(
                base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
            )
            for _ in range(OK_CALLS):
                await _ask(client)
            with pytest.raises(anthropic.InternalServerError):
                await _ask(client)  # one of five failed: not failing, but worth a look
            await client.close()

            (verdict,) = provider_verdicts(engine)
            assert (verdict.provider, verdict.level) == ("anthropic", SOME_CALLS_FAIL)
            assert verdict.status == "Some calls fail"  # the Providers page's words

            # The header: counted, amber, never "Providers OK".
            window.header.redraw()
            chip = window.header.chips["providers"]
            assert (
                chip.text() == "Anthropic: some calls fail" and chip.property("tone") == "warning"
            )
            assert "Anthropic (some calls fail): the last call failed" in chip.toolTip()

            # Overview names it, in amber.
            overview = window.overview
            overview.refresh_status()
            line = overview.failing_label.accessibleName()
            assert line.startswith(f"Anthropic ({SOME_CALLS_FAIL}): the last call failed"), line
            assert f"({SOME_CALLS_FAIL}): the last call failed" in overview.failing_label.text()
            assert warning_colour() in overview.failing_label.text()  # its line in amber

            # The Providers page: the same words, amber.
            chip.click()
            providers = window.pages[ProvidersPage.KEY]
            assert isinstance(providers, ProvidersPage)
            await until(
                lambda: (
                    (row := providers.selected_row()) is not None
                    and row.switch_id == "anthropic"
                    and row.status == "Some calls fail"
                ),
                "the provider chosen, needing a look",
            )

            # The tray: its menu's first line names it, enabled; a click opens its row.
            tray.redraw()
            assert "Some calls fail: Anthropic" in tray.tooltip()
            alert = next(a for a in tray.alerts.lines if "Anthropic" in a.text())
            assert alert.isEnabled() and SOME_CALLS_FAIL in alert.text()
            assert not alert.icon().isNull()
            menu = tray.menu.actions()
            assert menu.index(alert) < menu.index(desk.actions.providers["anthropic"])
            alert.trigger()
            assert opened[-1] == ("providers", "anthropic")
            # The budget line is an alert too: enabled, it opens its budget on the Budgets page.
            assert tray.budget_action.isVisible() and tray.budget_action.isEnabled()
            tray.budget_action.trigger()
            assert opened[-1] == ("budgets", "global|usd|daily")  # its own budget
            # Its switch says so; a provider with no key is unavailable, not a check box.
            switch = desk.actions.providers["anthropic"]
            openai = desk.actions.providers["openai"]
            await until(lambda: switch.text() == "Anthropic (some calls fail)", "the switch marked")
            assert switch.isCheckable() and switch.isChecked() and not openai.isCheckable()
            assert openai.text() == "OpenAI (no key)" and not openai.icon().isNull()
            assert engine.providers.is_enabled("openai")  # shown unavailable, left on

            # Switched off, it is not called: no verdict anywhere.
            engine.providers.set_enabled(LOCAL_CALLER, "anthropic", False)
            window.header.redraw()
            tray.redraw()
            assert chip.text() == "Providers OK" and tray.alerts.lines == []

    on_gateway(body, replies=replies)


def test_the_header_says_some_calls_fail_as_the_tables_do_by_name_or_counted() -> None:
    """Review 41-3, finding 22: the header's "1 needs a look" was the state the tables call
    "Some calls fail"; the chip now says the tables' words, naming the provider when one."""
    from llmgw_desktop.ui.attention import FAILING, ProviderVerdict
    from llmgw_desktop.ui.header import _shortened, providers_words

    def some(name: str) -> ProviderVerdict:
        return ProviderVerdict(name.lower(), name, SOME_CALLS_FAIL, "Some calls fail", "why")

    down = ProviderVerdict("claude", "Claude Code", FAILING, "Circuit open", "why")
    assert providers_words([some("Anthropic")]) == (
        "Anthropic: some calls fail",
        "Some calls fail",
    )
    assert providers_words([some("Anthropic"), some("OpenAI")]) == (
        "Some calls fail on 2 providers",
        "Some calls fail",
    )
    # The one failing is named: "1 failing · OpenAI: some calls fail" read as if OpenAI failed.
    assert providers_words([down, some("OpenAI")]) == (
        "Claude Code failing · OpenAI: some calls fail",
        "Claude Code failing",  # where the whole does not fit (at 1024 px it did not)
    )
    assert providers_words([down]) == ("Claude Code failing", "Claude Code failing")
    # Shortened, it says that more was left out (the tooltip has it).
    assert _shortened(*providers_words([down, some("OpenAI")])) == "Claude Code failing …"
    other = ProviderVerdict("codex", "Codex", FAILING, "Circuit open", "why")
    assert providers_words([down, other]) == ("2 failing", "2 failing")
    for words, _short in (providers_words([some("A")]), providers_words([down, some("B")])):
        assert "needs a look" not in words


def test_calls_failed_at_a_ready_provider_are_counted_where_they_failed_on_every_page(
    on_gateway: OnGateway, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    """Gallery review, finding 1: Overview's Failing figure put every failed call of the
    window on the one provider with a verdict ("Mistral Vibe: 7 of 303 calls failed") while
    the Providers page said plain "Ready" for the providers where six of them failed (their
    calls failed over, too few to call them failing). One failure in twelve calls: the
    Failing figure names the provider it failed at with its own count, and the Providers
    page, Overview's health table and the tray all say "Ready, 1 recent failure"."""
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # no pop-ups offscreen
    replies = (*[Reply.ok()] * 10, Reply.error(529, "overloaded"), Reply.ok())

    async def body(desk: Desk) -> None:
        with desk_window(desk, qtbot, size=(1024, 700)) as window:
            client = anthropic.AsyncAnthropic(
                base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
            )
            for _ in range(10):
                await _ask(client)
            with pytest.raises(anthropic.APIStatusError):
                await _ask(client)
            await _ask(client)  # one of twelve failed, the last answered: ready
            await client.close()
            assert provider_verdicts(desk.runtime.engine) == []

            overview = window.overview
            overview.refresh_status()
            failing = overview.figures.cards["failing"]
            assert failing.detail.text() == ("1 of 12 failed (8%) in 15 min: Anthropic 1"), (
                failing.detail.text()
            )
            assert "Anthropic: 1 of 12 calls failed" in failing.toolTip()
            ready = "Ready, 1 recent failure"
            health = overview.health
            health.request_refresh()
            await until(lambda: health.cell("anthropic", "Status") == ready, "the health row")

            window.show_page(ProvidersPage.KEY)
            providers = window.pages[ProvidersPage.KEY]
            assert isinstance(providers, ProvidersPage)
            await until(
                lambda: any(
                    r.switch_id == "anthropic" and r.status == ready for r in providers.rows
                ),
                "the Providers row saying its failure",
            )
            providers.select_provider("anthropic")
            row = providers.selected_row()
            assert row is not None and row.status == ready
            assert "1 of 12 calls failed in the last 15 min" in row.reason
            badge = providers.detail.badge
            assert (badge.words, badge.kind) == (ready, "warning")
            desk.actions.check_installed()
            await until(
                lambda: desk.actions.providers["anthropic"].text() == f"Anthropic ({ready})",
                "the tray's switch",
            )

    on_gateway(body, replies=replies)


def test_a_refused_key_is_said_as_key_refused_wherever_it_was_found(
    on_gateway: OnGateway, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    """A helper's review: the badge of a provider whose key was refused read "Failing", and
    only its words said why. Refused by a call (the official SDK through the real gateway)
    or when its model list was read, its status says "Key refused" on the Providers page and
    in the tray, still counted failing; another lasting failure stays "Failing"."""
    from llmgw_desktop.engine.api import ModelListRead
    from llmgw_desktop.ui.attention import FAILING, KEY_REFUSED, provider_verdict

    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # no pop-ups offscreen

    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        with desk_window(desk, qtbot, size=(1024, 700)) as window, desk_tray(desk) as tray:
            client = anthropic.AsyncAnthropic(
                base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
            )
            with pytest.raises(anthropic.APIStatusError):
                await _ask(client)
            await client.close()
            (verdict,) = provider_verdicts(engine)
            assert (verdict.provider, verdict.level, verdict.status) == (
                "anthropic",
                FAILING,
                KEY_REFUSED,
            )
            assert verdict.why.startswith("1 call answered 401 (last at ")

            window.show_page(ProvidersPage.KEY)
            providers = window.pages[ProvidersPage.KEY]
            assert isinstance(providers, ProvidersPage)
            providers.request_refresh()
            await until(
                lambda: any(
                    r.switch_id == "anthropic" and r.status == KEY_REFUSED for r in providers.rows
                ),
                "the Providers row saying the key was refused",
            )
            # Its models are held back meanwhile: "5 models" beside an empty /v1/models read
            # as offered (a review).
            assert providers.select("api:anthropic")
            assert providers.detail.models_count.text().endswith(
                "models, none offered while its key is refused"
            ), providers.detail.models_count.text()
            tray.redraw()
            assert "Failing: Anthropic (1 call answered 401" in tray.tooltip()
            # The header names it in the same words ("Anthropic failing" beside "Key
            # refused", a review), and so does Overview's list of what fails.
            window.header.redraw()
            chip = window.header.chips["providers"]
            assert chip.text() in ("Anthropic: key refused", "No provider can answer"), chip.text()
            # Either way an outage, in red (nothing answering for want of set-up is amber).
            assert chip.property("tone") == "error", chip.property("tone")
            assert "Anthropic (key refused): 1 call answered 401" in chip.toolTip()
            window.overview.refresh_status()
            assert "Anthropic (key refused): 1 call answered 401" in (
                window.overview.failing_label.accessibleName()
            )
            assert any("Anthropic" in a.text() for a in tray.alerts.lines)

            # The model list's refusal of another provider's key: the same status.
            engine.events.publish(ModelListRead("openai", "env:OPENAI_API_KEY", 403, "no"))
            assert engine.providers.health("openai").code == "upstream_403"
            refused = provider_verdict(engine, "openai", "OpenAI")
            assert refused is not None and refused.status == KEY_REFUSED
            assert "was refused (403) when its model list was read" in refused.why

    on_gateway(body, replies=(Reply.error(401, "invalid x-api-key"),))


def test_a_verdict_counts_recent_calls_as_its_page_does_its_own_or_its_vendors() -> None:
    """The engine counts a provider's recent calls for its verdict; the pages show the live
    figures' count of the same calls ("Calls 15 min"), read at another moment and past the
    engine's 500. Said with the live figures, a verdict counts as its row does, and an agent
    pointed at the gateway counts its vendor's calls as the vendor's row does."""
    from types import SimpleNamespace
    from typing import Any, cast

    from llmgw_desktop.engine.api import ProviderCallHealth, Totals
    from llmgw_desktop.engine.providers.health import provider_health, through_vendor
    from llmgw_desktop.ui.attention import provider_verdict

    vendor = provider_health(
        "anthropic",
        breaker=None,
        trouble=None,
        calls=ProviderCallHealth("anthropic", 900, calls=14, errors=2),
    )
    agent = through_vendor(
        provider_health(
            "claude", breaker=None, trouble=None, calls=ProviderCallHealth("claude", 900, calls=3)
        ),
        vendor,
        "Anthropic",
    )
    healths = {"anthropic": vendor, "claude": agent}
    engine = cast(Any, SimpleNamespace(providers=SimpleNamespace(health=healths.__getitem__)))
    served = {"anthropic": Totals(requests=16, asked=16, errors=2), "claude": Totals(asked=3)}

    own = provider_verdict(engine, "anthropic", "Anthropic", {}, served)
    assert own is not None and own.level == SOME_CALLS_FAIL
    assert own.why == "2 of 16 calls failed in 15 min"
    pointed = provider_verdict(engine, "claude", "Claude Code", {}, served)
    assert pointed is not None and pointed.why == (
        "its model calls go through the gateway's Anthropic provider, which fails some calls:"
        " 2 of 16 calls failed in 15 min"
    )
    # Read again with a later read, it counts again; without one, the engine's count is said.
    later = {"anthropic": Totals(requests=18, asked=18, errors=2)}
    assert own.counted(later).why == "2 of 18 calls failed in 15 min"
    alone = provider_verdict(engine, "anthropic", "Anthropic", {})
    assert alone is not None and alone.why == "2 of 14 calls failed in 15 min"
    # Where the live figures count none of its calls (past their cap of providers), too.
    assert own.counted({}).why == "2 of 16 calls failed in 15 min"


def test_pausing_keeps_a_provider_with_failing_calls_said_on_the_header_and_the_tray(
    on_gateway: OnGateway, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    """Person pass, 2026-11-30: with "Backup: some calls fail" on the header, Pause all turned
    the providers chip to "Providers OK" and the tray's tooltip dropped the line. Paused is a
    state of its own; a provider known to fail still fails, and every face keeps saying so."""
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # no pop-ups offscreen
    replies = (*[Reply.ok()] * OK_CALLS, Reply.error(500, "boom"))

    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        with desk_window(desk, qtbot, size=(1024, 700)) as window, desk_tray(desk) as tray:
            client = anthropic.AsyncAnthropic(
                base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
            )
            for _ in range(OK_CALLS):
                await _ask(client)
            with pytest.raises(anthropic.InternalServerError):
                await _ask(client)
            await client.close()
            header = window.header
            engine.providers.set_paused(LOCAL_CALLER, True)
            header.redraw()
            tray.redraw()
            chips = header.chips
            assert chips["gateway"].text() == "Paused", chips["gateway"].text()
            assert "Some calls to Anthropic fail" in chips["gateway"].toolTip()
            providers = chips["providers"]
            assert providers.text() == "Anthropic: some calls fail", providers.text()
            assert providers.property("tone") == "warning"
            assert tray.state == "paused"
            tip = tray.tooltip()
            assert "all providers paused" in tip.splitlines()[0]
            assert "Some calls fail: Anthropic" in tip, tip
            # Resumed: as before the pause, and its trouble is not told again as news.
            engine.providers.set_paused(LOCAL_CALLER, False)
            header.redraw()
            tray.redraw()
            assert providers.text() == "Anthropic: some calls fail"
            assert chips["gateway"].text() == "Running"

    on_gateway(body, replies=replies)


def test_a_paused_gateway_names_the_trouble_under_it() -> None:
    """The one rule the header's gateway chip, Overview's card and the tray read: paused, and
    what is known wrong with the providers said with it."""
    from llmgw_desktop.ui.attention import FAILING, ProviderVerdict
    from llmgw_desktop.ui.gateway_state import GatewaySigns, gateway_state

    down = ProviderVerdict("claude", "Claude Code", FAILING, "Circuit open", "why")
    some = ProviderVerdict("backup", "Backup", SOME_CALLS_FAIL, "Some calls fail", "why")
    state = gateway_state(GatewaySigns("running", paused=True, verdicts=(down, some)))
    assert (state.kind, state.short, state.level) == ("paused", "Paused", "warning")
    assert state.why == (
        "Every provider is paused: calls are refused. Calls to Claude Code fail; some calls "
        "to Backup fail."
    )
    assert state.failing == ("Claude Code",)
    calm = gateway_state(GatewaySigns("running", paused=True))
    assert calm.why == "Every provider is paused: calls are refused."
