"""Overview's words beside its figures, on a real gateway (review 41-3): a provider "Ready"
whose calls failed some says how many, in amber, as its Failed cell counts them (finding 4);
the cache-hit legend greys a provider with nothing drawn (finding 18). The page's set-up is
test_overview_page.py's (`on_overview`)."""

from __future__ import annotations

import dataclasses
import math

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import Totals
from llmgw_desktop.ui.attention import FAILING, SOME_CALLS_FAIL, ProviderVerdict, SpendToday
from llmgw_desktop.ui.budget_words import spend_chip
from llmgw_desktop.ui.counts import JobCounts
from llmgw_desktop.ui.header import providers_words
from llmgw_desktop.ui.pages.overview_figures import FigureStrip, GatewayFacts, figure_words
from llmgw_desktop.ui.pages.provider_health import STATUS
from llmgw_desktop.ui.provider_names import NOT_ASKED
from llmgw_desktop.ui.qt import QRect, Qt
from llmgw_desktop.ui.theme import tone_colour
from tests.fakes.upstream import Reply
from tests.ui.test_overview_page import (  # noqa: F401 - on_overview is a fixture
    Desk,
    OnOverview,
    _gateway_request,
    _last_value,
    on_overview,
)
from tests.waiting import until


def test_a_provider_without_a_hit_rate_is_greyed_in_the_legend_not_drawn(
    on_overview: OnOverview,  # noqa: F811 - the imported fixture
) -> None:
    """Review 41-3, finding 18: "Cache hit rate per provider" listed four providers over one
    line. A provider with requests in the window but no rate to draw (its calls failed before
    any token) is greyed in the legend, after the drawn ones, bar and name: never shown as a
    line; one with a rate keeps its coloured bar."""

    async def body(desk: Desk) -> None:
        page, charts = desk.page, desk.page.charts
        page.show()
        page.page_shown()
        await _gateway_request(desk.runtime)  # Anthropic: tokens, so a rate
        recorder = desk.runtime.engine.recorder
        record = recorder.start(principal="local", provider="groq", caller="test", model="m")
        recorder.finish(record, state="failed", error_code="upstream_500")  # no tokens
        # Refused before any route was chosen: no provider, so no prompt cache to name (the
        # legend read "never sent" beside the providers, a review found).
        refused = recorder.start(principal="local", provider="-", caller="test", model="m")
        recorder.finish(refused, state="refused", error_code="budget_exceeded")
        await until(lambda: {"anthropic", "groq"} <= set(charts.hit_curves), "both curves")
        await until(lambda: "Groq" in charts.hits_legend.text(), "the legend")
        groq, anthropic = charts.hit_curves["groq"], charts.hit_curves["anthropic"]
        _x, y = groq.data()
        assert all(math.isnan(v) for v in y)  # nothing of Groq's is drawn
        assert _last_value(anthropic) > 0  # Anthropic's line is
        legend = charts.hits_legend.text()
        grey = tone_colour("muted")
        drawn = f'<span style="color:{anthropic.colour.name()}">&#9644;</span>&nbsp;Anthropic'
        assert drawn in legend
        # Groq greyed whole (bar and name, a hollow bar), never in its curve's colour.
        assert f'<span style="color:{grey}">&#9643;&nbsp;Groq</span>' in legend
        assert groq.colour.name() not in legend
        assert legend.index("Anthropic") < legend.index("Groq")
        assert "Groq" in charts.hits_legend.toolTip()
        assert "-" not in charts.hit_curves and NOT_ASKED not in legend

    on_overview(body)


def test_ready_beside_failed_calls_says_how_many_in_amber(
    on_overview: OnOverview,  # noqa: F811 - the imported fixture
) -> None:
    """Review 41-3, finding 4: OpenAI read "Ready" beside "5 (5%)" failed, and a person asking
    "is it fine?" stopped at "Ready". Failures too few to call the provider failing (under a
    tenth of its calls) are said with it ("Ready, N recent failures"), in the warning tone, N
    the Failed column's count; the tray's switch says the same."""

    async def body(desk: Desk) -> None:
        page, health = desk.page, desk.page.health
        page.show()
        page.page_shown()
        for _ in range(10):
            await _gateway_request(desk.runtime)
        await until(lambda: health.cell("anthropic", "Calls 15 min") == "10", "the calls")
        await until(lambda: health.cell("anthropic", "Status") == "Ready", "the health rows")
        assert health.colour("anthropic", "Status") == tone_colour("ok")  # no failure: plain

        desk.upstream.script(Reply.error(401))
        await _gateway_request(desk.runtime, expect=None)
        await _gateway_request(desk.runtime)  # a success after: 1 of 12 failed, still ready
        health.request_refresh()  # the rows' own reload, as its timer does
        page.refresh_status()  # the page's tick: the counts from the live figures
        ready = "Ready, 1 recent failure"
        await until(lambda: health.cell("anthropic", "Status") == ready, "ready, with failures")
        assert health.cell("anthropic", "Failed 15 min") == "1 (8%)"
        assert health.colour("anthropic", "Status") == tone_colour("warning")
        row = health.item(health.rows["anthropic"], STATUS)
        assert row is not None and "1 of 12 calls failed in the last 15 min" in row.toolTip()
        # The tray's switch says the same (without failures it says no "Ready" at all).
        actions = page.context.actions
        actions.check_installed()
        await until(lambda: "recent" in actions.providers["anthropic"].text(), "the tray")
        assert actions.providers["anthropic"].text() == f"Anthropic ({ready})"
        assert actions.providers["anthropic"].isCheckable()

    on_overview(body)


def _facts(verdicts: list[ProviderVerdict], **changed: object) -> GatewayFacts:
    facts = GatewayFacts(
        state="running",
        paused=False,
        degraded=(),
        uptime="2h 05m",
        window_minutes=15,
        totals=Totals(requests=303, asked=300, errors=7, refused=3),
        verdicts=verdicts,
        spend=SpendToday(0.0688, 12, 0),
        spend_chip=spend_chip("$0.0688", []),
        refused={"total": 5},
    )
    return dataclasses.replace(facts, **changed)  # type: ignore[arg-type]


def test_the_four_figures_say_in_words_what_the_header_says() -> None:
    """Issue 54.2: the Failing figure and the header's chip, read from the same verdicts, say
    the same ("Some calls fail"; "1 failing", which the header names) in the same tone."""
    some = ProviderVerdict("mistral", "Mistral Vibe", SOME_CALLS_FAIL, "Some calls fail", "x")
    failing = ProviderVerdict("anthropic", "Anthropic", FAILING, "Failing", "y")
    # Gallery review, finding 1: the failures are told where they happened, each provider's
    # own count, never all of them put on the provider with a verdict.
    failed_at = (("Anthropic", 3, 100), ("OpenAI", 2, 100), ("Mistral Vibe", 1, 3))
    words = figure_words(_facts([some], failed_at=failed_at))
    assert (words["failing"].value, words["failing"].tone) == ("Some calls fail", "warning")
    # The provider the header names comes first, never the one left out (review round 2,
    # finding 2: the card named two Ready providers and cut the failing one).
    assert words["failing"].detail == (
        "7 of 300 failed (2%) in 15 min: Mistral Vibe 1, Anthropic 3 and 1 more; 3 refused"
    )
    assert "Mistral Vibe: 1 of 3 calls failed" in words["failing"].tip
    words = figure_words(_facts([failing, some]))
    assert (words["failing"].value, words["failing"].tone) == ("1 failing", "error")
    # The header names the one the figure counts (and says the rest when it has room).
    assert providers_words([failing, some])[1] == "Anthropic failing"
    # Gallery review, finding 2: never a green "Working" beside a provider whose calls fail.
    gateway = words["gateway"]
    assert (gateway.value, gateway.tone) == ("Partly working", "warning")
    assert gateway.detail.startswith("Anthropic failing;"), gateway.detail
    working = figure_words(_facts([some]))["gateway"]  # some calls fail: it still works
    assert (working.value, working.tone) == ("Working", "ok") and "2h 05m" in working.detail
    assert words["spend"].value == "$0.0688" and "no budget set" in words["spend"].detail
    assert words["stuck"].value == "None" and words["stuck"].detail == "No job stuck; none running"
    paused = figure_words(_facts([], paused=True))
    assert (paused["gateway"].value, paused["gateway"].tone) == ("Paused", "warning")
    quiet = figure_words(_facts([], totals=Totals(requests=42, asked=42, errors=0), refused={}))
    assert (quiet["failing"].value, quiet["failing"].tone) == ("None", "ok")


def test_failing_never_says_none_over_failed_calls_and_refusals_are_not_stuck() -> None:
    """Issue 64.6: "Failing: None" sat over "3 of 42 failed", and the refusals were counted
    under "Stuck"."""
    totals = Totals(requests=45, asked=42, errors=3, refused=3)
    words = figure_words(_facts([], totals=totals, failed_at=(("OpenAI", 3, 42),)))
    failing = words["failing"]
    assert (failing.value, failing.tone) == ("3 requests", "warning")
    assert failing.detail.startswith("3 of 42 failed (7%) in 15 min: OpenAI 3")
    assert "3 refused" in failing.detail and "Refused:" in failing.tip
    assert "refused" not in words["stuck"].detail and "refused" not in words["stuck"].tip
    one = figure_words(_facts([], totals=Totals(requests=9, asked=9, errors=1), refused={}))
    assert one["failing"].value == "1 request"
    refused_only = figure_words(
        _facts([], totals=Totals(requests=12, asked=9, errors=0, refused=3))
    )
    assert refused_only["failing"].value == "None"
    assert refused_only["failing"].tone == ""  # not green over refusals
    assert "3 refused" in refused_only["failing"].detail
    running = figure_words(_facts([], jobs=JobCounts(running=2)))["stuck"]
    assert running.detail == "No job stuck; 2 running"


def test_calls_that_failed_over_are_no_failed_requests_and_are_said_apart() -> None:
    """A person's pass: 8 requests, 3 of them failed over from backup to OpenAI, all answered.
    The card said "3 calls" failed, "3 of 11 failed (27%)": a request failed where its client
    got no answer; the calls that failed over are the providers' figure."""
    over = Totals(requests=11, asked=11, errors=3, failed_over=3)
    backup = (("backup", 3, 3),)
    words = figure_words(
        _facts([], totals=over, failed_at=backup, failed_over_at=(("backup", 3),), refused={})
    )
    failing = words["failing"]
    assert (failing.value, failing.tone) == ("None", "")  # not green over failing calls
    assert failing.detail == (
        "None of 8 requests failed in 15 min; 3 provider calls failed over: backup 3"
    )
    assert failing.shorter[-1] == "None of 8 requests failed in 15 min"
    assert "backup: 3 of 3 calls failed, 3 failed over" in failing.tip
    assert words["gateway"].detail.endswith("; 8 requests in the last 15 min")
    # One more request OpenAI failed, which no one took: that one failed, for its client.
    more = Totals(requests=12, asked=12, errors=4, failed_over=3)
    failed_at = (("backup", 3, 3), ("OpenAI", 1, 9))
    words = figure_words(
        _facts([], totals=more, failed_at=failed_at, failed_over_at=(("backup", 3),))
    )
    failing = words["failing"]
    assert (failing.value, failing.tone) == ("1 request", "warning")
    assert failing.detail.startswith("1 of 9 failed (11%) in 15 min: OpenAI 1; "), failing.detail
    assert "3 provider calls failed over" in failing.detail
    assert "backup" not in failing.shorter[-1]


def test_the_failing_figure_fits_its_two_lines_in_the_smallest_window(qtbot: QtBot) -> None:
    """Review round 2, finding 2: at 1024 px the card showed "(2%): OpenAI 4, Google Gemini"
    and cut the rest, the failing provider with it. With three providers of long names
    failing, the detail's wrapped text fits the card's lines at the width a 1024 px window
    gives it."""
    failing = ProviderVerdict("mistral", "Mistral Vibe", FAILING, "Failing", "x")
    failed_at = (("Google Gemini", 40, 1000), ("OpenAI", 4, 100), ("Mistral Vibe", 1, 3))
    facts = _facts(
        [failing], failed_at=failed_at, totals=Totals(requests=10_313, asked=10_303, errors=1_045)
    )
    strip = FigureStrip(lambda _place: None)
    qtbot.addWidget(strip)
    strip.resize(790, 120)  # a 1024 px window less its sidebar and margins
    strip.show()
    strip.show_facts(facts)
    # The row lays its cards out again for their new words (a posted pass): each as wide as
    # its words ask at least.
    qtbot.waitUntil(
        lambda: all(c.width() >= c.minimumSizeHint().width() for c in strip.cards.values()),
        timeout=5000,
    )
    detail = strip.cards["failing"].detail
    # The failing provider is named whatever the width; the whole is in the accessible name.
    assert ": Mistral Vibe 1" in detail.text(), detail.text()
    assert "Mistral Vibe 1, Google Gemini 40 and 1 more" in strip.cards["failing"].accessibleName()
    needed = detail.fontMetrics().boundingRect(
        QRect(0, 0, detail.width(), 10_000), Qt.TextFlag.TextWordWrap, detail.text()
    )
    assert needed.height() <= detail.height(), (detail.text(), detail.width())


def test_the_failing_card_names_one_window_for_its_figures_and_no_bare_plus() -> None:
    """Gallery review (issue 64), finding 4: the card read "7 of 303 failed (2%): Mistral Vibe
    1 +2; 5 refused since start": failures in the live window beside refusals since start,
    and "+2" of what. Every figure is the live window's, as the totals line under the charts
    counts it (`Totals.refused`), the window named in every shorter form, and the providers
    left out are said in words."""
    some = ProviderVerdict("mistral", "Mistral Vibe", SOME_CALLS_FAIL, "Some calls fail", "x")
    failed_at = (("Anthropic", 3, 100), ("OpenAI", 2, 100), ("Mistral Vibe", 1, 3))
    totals = Totals(requests=313, asked=303, errors=7, refused=5)
    failing = figure_words(
        _facts([some], totals=totals, failed_at=failed_at, refused={"total": 99})
    )["failing"]
    assert failing.detail == (
        "7 of 303 failed (2%) in 15 min: Mistral Vibe 1, Anthropic 3 and 1 more; 5 refused"
    )
    for words in (failing.detail, *failing.shorter):
        assert "in 15 min" in words and "+" not in words and "99" not in words, words
        assert "since start" not in words


def test_the_gateway_figure_fits_its_two_lines_with_two_providers_failing(qtbot: QtBot) -> None:
    """The 1024x768 sweep (issue 64's leftovers, item 2): with Mistral Vibe and Anthropic
    failing, the Gateway card read "Mistral Vibe, Anthropic failing; 144 calls in the last"
    and cut the rest; it says a shorter form that fits, the failing providers named first,
    the whole in its accessible name."""
    failing = [
        ProviderVerdict("mistral", "Mistral Vibe", FAILING, "Failing", "x"),
        ProviderVerdict("anthropic", "Anthropic", FAILING, "Failing", "y"),
    ]
    facts = _facts(failing, totals=Totals(requests=144, asked=137, errors=16, refused=2))
    strip = FigureStrip(lambda _place: None)
    qtbot.addWidget(strip)
    # A 1024 px window less its sidebar and margins, in X11's wider fonts (the offscreen
    # platform's are narrower: at 790 px its card holds the whole detail).
    strip.resize(700, 120)
    strip.show()
    strip.show_facts(facts)
    qtbot.waitUntil(  # the cards laid out again for their new words, as above
        lambda: all(c.width() >= c.minimumSizeHint().width() for c in strip.cards.values()),
        timeout=5000,
    )
    card = strip.cards["gateway"]
    detail = card.detail
    assert detail.text().startswith("Mistral Vibe, Anthropic failing"), detail.text()
    assert "144 requests in the last 15 min" in card.accessibleName()
    needed = detail.fontMetrics().boundingRect(
        QRect(0, 0, detail.width(), 10_000), Qt.TextFlag.TextWordWrap, detail.text()
    )
    assert needed.height() <= detail.height(), (detail.text(), detail.width())


def test_the_gateway_figure_says_not_working_when_every_provider_that_answers_fails(
    on_overview: OnOverview,  # noqa: F811 - the imported fixture
) -> None:
    """Review 2026-11-27 under Xvfb: with its only provider's every call failing (3 of 3), the
    Gateway card read "Partly working" in amber, as if some calls got through. When every
    provider that can answer is failing it says "Not working", in red; with one of two failing
    it stays "Partly working"."""

    async def body(desk: Desk) -> None:
        page = desk.page
        page.show()
        page.page_shown()
        card = page.figures.cards["gateway"]
        desk.upstream.script(*[Reply.error(500)] * 12)
        for _ in range(4):
            await _gateway_request(desk.runtime, expect=None)

        def said() -> tuple[str, object]:
            page.refresh_status()
            return card.value.text(), card.value.property("tone")

        await until(lambda: said() == ("Not working", "error"), f"Not working ({said()})")
        assert "Anthropic failing" in card.detail.text()

    on_overview(body)


def test_one_failing_provider_of_two_that_answer_is_partly_working() -> None:
    failing = ProviderVerdict("anthropic", "Anthropic", FAILING, "Failing", "y")
    one_of_two = figure_words(_facts([failing], all_failing=False))["gateway"]
    assert (one_of_two.value, one_of_two.tone) == ("Partly working", "warning")
    all_of_one = figure_words(_facts([failing], all_failing=True))["gateway"]
    assert (all_of_one.value, all_of_one.tone) == ("Not working", "error")
    assert all_of_one.detail.startswith("Anthropic failing;")


def test_the_no_provider_card_says_the_first_thing_to_fix_in_a_few_words() -> None:
    """Review 2026-11-28 under Xvfb at 1024 px: with Anthropic's key refused and Claude Code on
    that key, the Gateway card read "No provider / can answer: Anthropic refused its key:
    replace it on", cut mid-sentence. Its few words are the first fix up to what to do; the
    whole of it stays in the tooltip."""
    from types import SimpleNamespace

    from llmgw_desktop.engine.api import Answering
    from llmgw_desktop.ui.attention import no_provider

    claude_code = "Claude Code is on the key Anthropic refused (ANTHROPIC_API_KEY, 401); ..."
    fact = Answering(refused=("anthropic",), settled=True, to_set_up=(("claude", claude_code),))
    states = [SimpleNamespace(id="anthropic", display_name="Anthropic")]
    providers = SimpleNamespace(paused=False, states=lambda: states, trouble=lambda _p: None)
    nothing = no_provider(SimpleNamespace(providers=providers), fact)  # type: ignore[arg-type]
    assert nothing is not None
    assert nothing.brief == "Anthropic refused its key"
    assert nothing.fix.startswith("Anthropic refused its key: replace it on Provider keys; ")
    assert claude_code in nothing.tip


def test_agents_waiting_for_their_vendors_key_leave_the_fix_to_the_key() -> None:
    """With no key at all and Qwen Code and Codex over ACP installed, the card's few words
    were Qwen Code's sentence ("Qwen Code is pointed at the gateway's OpenAI provider, which
    has no key; set ..."), cut, and a press opened the Providers page on an agent that has
    nothing to set up. A key is the fix: the card says to add one, and opens Provider keys;
    the agents are named as calling with the gateway's keys."""
    from types import SimpleNamespace

    from llmgw_desktop.engine.api import VENDOR_SOURCE, Answering
    from llmgw_desktop.ui.attention import ADD_A_KEY_PLACE, no_provider

    held = {
        "qwen": "Qwen Code is pointed at the gateway's OpenAI provider, which has no key; ...",
        "codex-acp": "Codex (ACP) is pointed at the gateway's OpenAI provider, which has ...",
    }
    fact = Answering(settled=True, to_set_up=tuple(sorted(held.items())))
    states = [
        SimpleNamespace(id="qwen", display_name="Qwen Code"),
        SimpleNamespace(id="codex-acp", display_name="Codex (ACP)"),
    ]
    trouble = SimpleNamespace(source=VENDOR_SOURCE)
    providers = SimpleNamespace(paused=False, states=lambda: states, trouble=lambda _p: trouble)
    nothing = no_provider(SimpleNamespace(providers=providers), fact)  # type: ignore[arg-type]
    assert nothing is not None
    assert nothing.brief == "add an API key on Provider keys"
    # Not "or install a coding CLI": two are installed, and wait for the key.
    assert nothing.fix == (
        "add an API key on Provider keys (Codex (ACP) and Qwen Code call their models with the "
        "gateway's keys)"
    )
    assert nothing.place == ADD_A_KEY_PLACE and not nothing.focus


def test_the_failing_figure_says_what_refused_means_only_beside_refusals() -> None:
    """Review 2026-11-28: its tooltip explained "Refused: ..." over a window with none."""
    none_refused = Totals(requests=300, asked=300, errors=0, refused=0)
    quiet = figure_words(_facts([], totals=none_refused))["failing"]
    assert "Refused:" not in quiet.tip
    some = figure_words(_facts([]))["failing"]  # 3 refused
    assert "Refused: calls the gateway said no to before asking any provider" in some.tip


def test_the_failing_figure_names_what_fails_where_no_call_was_made() -> None:
    """Review 2026-11-28 under Xvfb: with OpenAI's key refused as its list was read, the card
    read "1 failing" over "No calls to providers in 15 min", naming nothing."""
    refused = ProviderVerdict("openai", "OpenAI", FAILING, "Failing", "its key was refused")
    quiet = Totals(requests=0, asked=0, errors=0, refused=0)
    card = figure_words(_facts([refused], totals=quiet))["failing"]
    assert (card.value, card.detail) == ("1 failing", "OpenAI failing; no calls in 15 min")
    nothing = figure_words(_facts([], totals=quiet))["failing"]
    assert nothing.detail == "No calls to providers in 15 min"


def test_a_failing_provider_with_no_failed_call_of_its_own_says_its_state_on_the_card() -> None:
    """A helper's review: "OpenAI 20, Qwen Code" on the Failing card, Qwen Code named with no
    figure (its calls fail at OpenAI, the gateway's provider it goes through). It says its
    state where it has no count; one whose key was refused says that."""
    qwen = ProviderVerdict(
        "qwen", "Qwen Code", FAILING, "Failing", "its model calls go through the gateway's"
    )
    openai = ProviderVerdict("openai", "OpenAI", FAILING, "Failing", "20 calls failed in a row")
    totals = Totals(requests=21, asked=20, errors=20)
    card = figure_words(_facts([openai, qwen], totals=totals, failed_at=(("OpenAI", 20, 20),)))
    detail = card["failing"].detail
    assert detail.endswith(": OpenAI 20, Qwen Code (failing)"), detail
    # Shortened for a narrow card, the counts go before the names ("OpenAI 20 and 1 more"
    # left the agent to the tooltip, a review).
    assert "20 failed in 15 min: OpenAI 20, Qwen Code (failing)" in card["failing"].shorter
    refused = ProviderVerdict("anthropic", "Anthropic", FAILING, "Key refused", "1 call answered")
    card = figure_words(_facts([refused, openai], totals=totals, failed_at=(("OpenAI", 20, 20),)))
    assert "Anthropic (key refused)" in card["failing"].detail, card["failing"].detail
