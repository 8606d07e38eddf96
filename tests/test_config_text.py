"""What bytes of `config.toml` are read as text, and what each refusal says."""

from __future__ import annotations

import codecs

import pytest

from llmgw_desktop.config.text import NotUtf8, config_text


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"a = 1\n", "a = 1\n"),
        (codecs.BOM_UTF8 + "a = 'café'\n".encode(), "a = 'café'\n"),
        (b"", ""),
    ],
)
def test_utf8_is_read_with_or_without_its_bom(data: bytes, text: str) -> None:
    assert config_text(data) == text


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (codecs.BOM_UTF16_LE + "a = 1".encode("utf-16-le"), "saved as UTF-16"),
        (codecs.BOM_UTF16_BE + "a = 1".encode("utf-16-be"), "saved as UTF-16"),
        (codecs.BOM_UTF32_LE + "a = 1".encode("utf-32-le"), "saved as UTF-32"),
        ("a = 1".encode("utf-16-le"), "holds NUL bytes"),
        (b"a = 1\nb = '\xff'\n", "byte 0xff on line 2, column 6"),
    ],
)
def test_anything_else_is_refused_saying_what_to_do(data: bytes, says: str) -> None:
    with pytest.raises(NotUtf8, match="save it as UTF-8") as refused:
        config_text(data)
    assert says in str(refused.value)
