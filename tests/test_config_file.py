from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from llmgw_desktop.config_file import ConfigFileWriter


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
