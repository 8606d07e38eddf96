from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from llmgw_desktop.engine.vault.auth_files import private_auth_dir
from tests.engine.vault.support import folder_after_a_cancel

FILES = {"auth.json": b'{"token": "t"}', ".credentials.json": b"{}"}


async def test_directory_is_private_holds_the_files_and_goes_after_the_block(
    tmp_path: Path,
) -> None:
    async with private_auth_dir(FILES, root=tmp_path) as path:
        assert {p.name: p.read_bytes() for p in path.iterdir()} == FILES
        if os.name == "posix":
            assert stat.S_IMODE(path.stat().st_mode) == 0o700
            for file in path.iterdir():
                assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


async def test_directory_goes_when_the_block_raises(tmp_path: Path) -> None:
    seen: list[Path] = []
    with pytest.raises(RuntimeError, match="boom"):
        async with private_auth_dir(FILES, root=tmp_path) as path:
            seen.append(path)
            raise RuntimeError("boom")
    assert seen and not seen[0].exists()


async def test_directory_goes_when_the_block_is_cancelled(tmp_path: Path) -> None:
    folder = await folder_after_a_cancel(lambda: private_auth_dir(FILES, root=tmp_path))
    assert not folder.exists()


async def test_a_name_with_a_folder_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        async with private_auth_dir({"../escape": b"x"}, root=tmp_path):
            pass
    assert list(tmp_path.iterdir()) == []
