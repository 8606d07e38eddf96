"""A settings save killed midway (`kill -9` while `config.toml`'s new text is in its temporary
file) leaves `config.toml` whole, and the next start of the gateway removes the temporary file
the save left beside it; a temporary file a live save is writing is left alone.

Real processes: the save is the app's own writer (`ConfigFileWriter`, as the Settings page and
the provider switches call it) in a child interpreter, held at its `fsync` so that the kill
lands inside the save every time rather than by chance; the start is `python -m llmgw_desktop
--headless` on that settings file.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.e2e import gateway_process as gp
from tests.ports import free_port

# The app's writer in a child, stopped once its new text is written and flushed (its fsync
# never returns): what a kill during a save finds.
SAVE_HELD = """
import os, signal, sys
from pathlib import Path
from llmgw_desktop.config.file import ConfigFileWriter

def held(fd):
    print("saving", flush=True)
    signal.pause()

os.fsync = held
ConfigFileWriter(Path(sys.argv[1])).update("log.level", "DEBUG")
"""
WHOLE = '# mine\n[log]\nlevel = "INFO"  # quiet\n'
SAVE_WAIT_S = 60.0


def _held_save(config: Path) -> subprocess.Popen[str]:
    """A child whose save of `config` is under way (its temporary file written, held open)."""
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVE_HELD, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert saver.stdout is not None
    line = saver.stdout.readline()  # bounded: the child exits (EOF) if it fails
    assert line.strip() == "saving", saver.communicate(timeout=SAVE_WAIT_S)
    return saver


def _leftovers(config: Path) -> list[str]:
    return sorted(p.name for p in config.parent.glob(".config-*.toml"))


def test_the_start_after_a_save_killed_midway_removes_its_temporary_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(WHOLE, encoding="utf-8")
    saver = _held_save(config)
    saver.kill()  # kill -9, mid-save
    saver.communicate(timeout=SAVE_WAIT_S)
    left = _leftovers(config)
    assert len(left) == 1, left  # what the kill left
    assert config.read_text(encoding="utf-8") == WHOLE  # the last whole save, untouched
    port = free_port()
    with gp.serving(["--headless"], gp.child_env(tmp_path, port), port):
        assert _leftovers(config) == []
        assert tomllib.loads(config.read_text(encoding="utf-8")) == {"log": {"level": "INFO"}}
    assert "temporary file(s) of settings saves cut short" in gp.read_log(tmp_path)


def test_the_start_leaves_a_live_saves_temporary_file_alone(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(WHOLE, encoding="utf-8")
    saver = _held_save(config)
    try:
        port = free_port()
        with gp.serving(["--headless"], gp.child_env(tmp_path, port), port):
            assert len(_leftovers(config)) == 1  # still the live save's
    finally:
        saver.kill()
        saver.communicate(timeout=SAVE_WAIT_S)
