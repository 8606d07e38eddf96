"""The committed icon files (scripts/make_icons.py) hold the sizes each OS asks for."""

from __future__ import annotations

import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ICONS = ROOT / "resources" / "icons" / "app"
PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG
    return struct.unpack(">II", data[16:24])


def test_pngs_for_every_hicolor_size() -> None:
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert _png_size((ICONS / f"llmgw-desktop-{size}.png").read_bytes()) == (size, size)


def test_ico_holds_16_to_256() -> None:
    data = (ICONS / "llmgw-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        width, _h, _c, _r, _p, _bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        image = data[offset : offset + length]
        side = width or 256
        assert _png_size(image) == (side, side)
        sizes.append(side)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]


def test_icns_holds_16_to_512() -> None:
    data = (ICONS / "llmgw-desktop.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    at, kinds = 8, {}
    while at < len(data):
        kind, length = data[at : at + 4], struct.unpack(">I", data[at + 4 : at + 8])[0]
        kinds[kind] = _png_size(data[at + 8 : at + length])[0]
        at += length
    assert kinds[b"icp4"] == 16 and kinds[b"ic07"] == 128 and kinds[b"ic09"] == 512
    assert kinds[b"ic14"] == 512  # 256@2x: a Retina Dock and Finder
