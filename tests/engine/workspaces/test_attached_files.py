"""`read_attached`: a file an editor links is read only inside the session's folder (links and
`..` followed first), never past the cap, and each refusal says what was wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmgw_desktop.engine.api import InvalidRequest, read_attached

CAP = 1024


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inside = tmp_path / "project"
    (inside / "src").mkdir(parents=True)
    (inside / "src" / "main.py").write_text("print('hi')\n")
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    return inside


def test_a_file_inside_is_read_by_uri_and_by_path(folder: Path) -> None:
    by_uri = read_attached((folder / "src" / "main.py").as_uri(), folder, CAP)
    assert by_uri.data == b"print('hi')\n"
    assert by_uri.mime == "text/x-python"
    assert by_uri.path == (folder / "src" / "main.py").resolve()
    assert read_attached(str(folder / "src" / "main.py"), folder, CAP).text() == "print('hi')\n"


def test_a_uri_with_escaped_characters_is_decoded(folder: Path) -> None:
    (folder / "a file #1.txt").write_text("spaced")
    assert read_attached((folder / "a file #1.txt").as_uri(), folder, CAP).text() == "spaced"


@pytest.mark.parametrize(
    "link",
    ["dotdot", "symlink-out", "symlinked-folder", "absolute"],
)
def test_a_file_outside_the_folder_is_refused_however_it_is_named(folder: Path, link: str) -> None:
    secret = folder.parent / "secret.txt"
    (folder / "escape").symlink_to(secret)
    (folder / "up").symlink_to(folder.parent, target_is_directory=True)
    uri = {
        "dotdot": f"file://{folder}/src/../../secret.txt",
        "symlink-out": (folder / "escape").as_uri(),
        "symlinked-folder": f"file://{folder}/up/secret.txt",
        "absolute": secret.as_uri(),
    }[link]
    with pytest.raises(InvalidRequest) as refused:
        read_attached(uri, folder, CAP)
    assert refused.value.code == "attachment_outside_folder"
    assert "outside the session's folder" in refused.value.message
    assert "TOP-SECRET" not in refused.value.message


def test_a_link_that_stays_inside_is_followed(folder: Path) -> None:
    (folder / "alias.py").symlink_to(folder / "src" / "main.py")
    assert read_attached((folder / "alias.py").as_uri(), folder, CAP).data == b"print('hi')\n"


def test_a_file_past_the_cap_is_refused_with_its_size(folder: Path) -> None:
    (folder / "big.log").write_bytes(b"x" * (CAP + 1))
    with pytest.raises(InvalidRequest) as refused:
        read_attached((folder / "big.log").as_uri(), folder, CAP)
    assert refused.value.code == "attachment_too_large"
    assert f"{CAP + 1} bytes" in refused.value.message
    assert "providers.max_attached_bytes" in refused.value.message
    (folder / "exact.log").write_bytes(b"x" * CAP)
    assert len(read_attached((folder / "exact.log").as_uri(), folder, CAP).data) == CAP


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("https://example.com/a.py", "only file: links are read"),
        ("file://otherhost/etc/hosts", "on another host"),
        ("src/main.py", "not an absolute path"),
        ("file:///nowhere/at/all.txt", "no such file"),
    ],
)
def test_a_link_that_is_not_a_local_file_says_why(folder: Path, uri: str, said: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_attached(uri, folder, CAP)
    assert said in refused.value.message
    assert refused.value.code == "invalid_request"


def test_a_folder_or_a_fifo_is_not_a_file(folder: Path) -> None:
    with pytest.raises(InvalidRequest, match="not a regular file"):
        read_attached((folder / "src").as_uri(), folder, CAP)
    os.mkfifo(folder / "pipe")
    with pytest.raises(InvalidRequest, match="not a regular file"):
        read_attached((folder / "pipe").as_uri(), folder, CAP)
