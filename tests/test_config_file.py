from __future__ import annotations

import codecs
import os
import stat
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.file import ConfigFileWriter
from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.tokens.price_book import PriceBook, parse_prices
from llmgw_desktop.engine.tokens.price_settings import PriceSettings
from llmgw_desktop.engine.tokens.pricing import Price


def test_update_keeps_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# top comment\n[http]\nport = 4000  # my port\n\n[log]\nlevel = "DEBUG"\n')
    ConfigFileWriter(path).update("providers.disabled", ["codex"])
    ConfigFileWriter(path).update("log.level", "INFO")
    text = path.read_text()
    assert "# top comment" in text and "# my port" in text
    data = tomllib.loads(text)
    assert data == {
        "http": {"port": 4000},
        "log": {"level": "INFO"},
        "providers": {"disabled": ["codex"]},
    }


def test_update_creates_a_private_file_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    ConfigFileWriter(path).update("providers.disabled", [])
    assert tomllib.loads(path.read_text()) == {"providers": {"disabled": []}}
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temp files left


PRICED_BY_HAND = """\
# my gateway
[gateway]
port = 4000

# Prices I read off the vendors' pages myself.
[gateway.prices]
# the one my team uses most
"gpt-4o" = { input = 2.5, output = 10.0, cache_read = 1.25, cache_write = 2.5 } # 2026-11
# an old one, kept for the logs
"o3" = { input = 2.0, output = 8.0, cache_read = 0.5, cache_write = 2.0 }
# last line of the table

[log]
level = "INFO" # loud enough
"""


async def test_a_price_set_from_the_desk_keeps_the_comments_in_and_around_its_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(PRICED_BY_HAND)
    book = PriceBook(user=parse_prices(tomllib.loads(PRICED_BY_HAND)["gateway"]["prices"]))
    prices = PriceSettings(book, SettingsSaver(ConfigFileWriter(path)))

    assert await prices.set_price(LOCAL_CALLER, "gpt-4o", Price(3.0, 12.0, 1.5, 3.0))
    assert await prices.set_price(LOCAL_CALLER, "grok-3", Price(3.0, 15.0, 0.75, 3.0))
    assert await prices.set_price(LOCAL_CALLER, "o3", None)

    text = path.read_text()
    for comment in (
        "# my gateway",
        "# Prices I read off the vendors' pages myself.",
        "# the one my team uses most",
        "# 2026-11",
        "# last line of the table",
        "# loud enough",
    ):
        assert comment in text, comment
    # A removed entry goes; the person's comment above it stays (theirs to delete).
    assert '"o3"' not in text and "# an old one, kept for the logs" in text
    saved = tomllib.loads(text)
    assert saved["gateway"]["port"] == 4000 and saved["log"] == {"level": "INFO"}
    assert saved["gateway"]["prices"] == {
        "gpt-4o": {"input": 3.0, "output": 12.0, "cache_read": 1.5, "cache_write": 3.0},
        "grok-3": {"input": 3.0, "output": 15.0, "cache_read": 0.75, "cache_write": 3.0},
    }
    # The new entry is written as its neighbours are, one line each.
    assert text.count("[gateway.prices") == 1
    # What the file now says is what the book prices with.
    assert book.price_of("grok-3") == Price(3.0, 15.0, 0.75, 3.0)


MINE = """\
# above my server
[gateway.providers.mine]  # on its header
# inside, before the keys
kind = "openai-compatible"  # beside kind
base_url = "http://127.0.0.1:8001/v1"
models = ["old"]
# inside, after the keys

# after my server, before the aliases
[gateway.aliases]
fast = "mine/old"  # an alias note
"""


def test_apply_merges_a_table_keeping_comments_above_inside_and_after(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    table = {
        "kind": "openai-compatible",
        "base_url": "http://127.0.0.1:9000/v1",
        "headers": {"X-Team": "infra"},
    }
    ConfigFileWriter(path).apply(
        [
            (("gateway", "providers", "mine"), table),
            (("gateway", "providers", "other.box"), {"kind": "anthropic", "base_url": "http://h"}),
            (("gateway", "aliases", "fast"), None),
            (("gateway", "aliases", "coder"), "mine/new"),
        ]
    )
    text = path.read_text()
    for comment in (
        "# above my server",
        "# on its header",
        "# inside, before the keys",
        "# beside kind",
        "# inside, after the keys",
        "# after my server, before the aliases",
    ):
        assert comment in text
    # A new key goes with the table's values, not below the comments that close it.
    assert text.index("headers =") < text.index("# inside, after the keys")
    assert text.index("# after my server") < text.index('[gateway.providers."other.box"]')
    data = tomllib.loads(text)
    assert data["gateway"]["providers"] == {
        "mine": table,
        "other.box": {"kind": "anthropic", "base_url": "http://h"},
    }
    assert data["gateway"]["aliases"] == {"coder": "mine/new"}


def test_apply_removing_what_is_not_there_changes_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    ConfigFileWriter(path).apply([(("gateway", "routes", "mine/*"), None)])
    assert tomllib.loads(path.read_text()) == tomllib.loads(MINE)
    assert "# inside, after the keys" in path.read_text()


def test_leftovers_are_only_the_saves_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    ConfigFileWriter(path).update("log.level", "INFO")
    left = tmp_path / ".config-abcd_123.toml"  # a save's, its writer gone
    left.write_text("half", encoding="utf-8")
    mine = tmp_path / ".config-old.toml"  # the person's own copy
    mine.write_text("kept", encoding="utf-8")
    assert ConfigFileWriter(path).clear_leftovers() == [left]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".config-old.toml", "config.toml"]


def test_a_save_whose_temporary_file_was_cleared_before_it_was_locked_writes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another start's `clear_leftovers` can take a save's file in the moment between its
    creation and its lock: the save is written again, not lost."""
    path = tmp_path / "config.toml"
    writer = ConfigFileWriter(path)
    made = tempfile.mkstemp
    cleared = []

    def made_then_cleared(**kwargs: Any) -> tuple[int, str]:
        fd, name = made(**kwargs)
        if not cleared:
            cleared.append(name)
            os.unlink(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", made_then_cleared)
    writer.update("log.level", "DEBUG")
    assert cleared and tomllib.loads(path.read_text()) == {"log": {"level": "DEBUG"}}
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


NOT_TOML = '# mine\n[log]\nlevel = "INFO"\nthis is bad\n'


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            NOT_TOML.encode(),
            "is not valid TOML, so the change was not written and the file was left as it is. "
            'Line 4, column 11: Invalid key "this is bad".',
        ),
        (
            codecs.BOM_UTF16_LE + NOT_TOML.encode("utf-16-le"),
            "is not UTF-8 text, so the change was not written and the file was left as it is. "
            "It is saved as UTF-16, not UTF-8: save it as UTF-8 (in Notepad: Save as, "
            "Encoding: UTF-8), then save the change again.",
        ),
    ],
)
def test_a_save_to_a_file_edited_into_no_toml_names_the_file_and_leaves_it_as_it_is(
    tmp_path: Path, data: bytes, said: str
) -> None:
    """A save refused by a hand-edited file said only the parser's words ("Invalid key ... at
    line 4 col 11"), not which file, nor that nothing in it was lost."""
    path = tmp_path / "config.toml"
    path.write_bytes(data)
    with pytest.raises(OSError) as refused:  # what every caller of the writer says in words
        ConfigFileWriter(path).update("log.level", "DEBUG")
    assert str(refused.value) == f"{path} {said}"
    assert path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
