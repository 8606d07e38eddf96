"""How `config.toml`'s bytes become text: UTF-8, as TOML requires, with or without a BOM.

Editors on Windows have saved text as UTF-16 ("Unicode" in Notepad) or in the machine's code
page; read as UTF-8, such a file would end start-up in a `UnicodeDecodeError` traceback. Here
it is refused with what is wrong, where, and what to do. A UTF-8 byte-order mark (Notepad's
"UTF-8 with BOM") is still UTF-8, so it is accepted.
"""

from __future__ import annotations

import codecs

__all__ = ["AS_UTF8", "NotUtf8", "config_text"]

AS_UTF8 = "save it as UTF-8 (in Notepad: Save as, Encoding: UTF-8)"
SAVE_AS_UTF8 = f"{AS_UTF8} and start again"
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE, whose mark it starts with
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class NotUtf8(ValueError):
    """The file is not UTF-8 text; the message says what it looks like and what to do at start,
    `what` only what it looks like (a save says what to do in its own words)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what}: {SAVE_AS_UTF8}")


def config_text(data: bytes) -> str:
    """`data` decoded as UTF-8, without a leading byte-order mark.

    Raises:
        NotUtf8: the bytes are UTF-16 or UTF-32 (with or without a mark), or not valid UTF-8.
    """
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            raise NotUtf8(f"is saved as {name}, not UTF-8")
    if b"\x00" in data:
        # TOML text never holds NUL; UTF-16 without a mark is full of them.
        raise NotUtf8("holds NUL bytes, so it is not UTF-8 text (UTF-16?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise NotUtf8(
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}, column {column} "
            "is not valid UTF-8 (another code page?)"
        ) from None
