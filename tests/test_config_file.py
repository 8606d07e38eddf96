from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from llmgw_desktop.config.file import ConfigFileWriter


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
