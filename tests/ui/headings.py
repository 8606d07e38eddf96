"""What a list's headings look like on screen, measured in pixels: the room between the words
of each two neighbouring headings (review 41-3, finding 11: "Cache write" and "From" touched)."""

from __future__ import annotations

import itertools

from llmgw_desktop.ui.qt import QTableView

HEADING_GAP = 8  # px at least between two neighbouring headings' words (they touched at 4-5)
INK = 150  # lightness below which a pixel of a light header is a heading's ink (not a line)


def heading_gaps(view: QTableView) -> dict[str, int]:
    """`{"Spent | Limits": 12, ...}`: the pixels between each two neighbouring shown
    headings' words, read from the header as drawn (a light look)."""
    header = view.horizontalHeader()
    image = header.grab().toImage()
    model = view.model()
    spans = []
    for visual in range(header.count()):
        column = header.logicalIndex(visual)
        if header.isSectionHidden(column):
            continue
        left = header.sectionViewportPosition(column)
        right = left + header.sectionSize(column)
        ink = [
            x
            for x in range(max(left + 2, 0), min(right - 2, image.width()))
            for y in range(2, image.height() - 2)
            if image.pixelColor(x, y).lightness() < INK
        ]
        if ink:
            spans.append((str(model.headerData(column, header.orientation())), min(ink), max(ink)))
    return {f"{a[0]} | {b[0]}": b[1] - a[2] - 1 for a, b in itertools.pairwise(spans)}
