"""The recorder's detail of one request as plain text, its labels aligned: how the tests read
what the detail pane shows (the pane draws the same `detail_sections`)."""

from __future__ import annotations

from llmgw_desktop.engine.api import RecordDetail
from llmgw_desktop.ui.pages.recorder_words import detail_sections
from llmgw_desktop.ui.provider_names import ProviderNames

LABEL_WIDTH = 12  # characters a label takes (values line up after it)


def describe_detail(detail: RecordDetail, names: ProviderNames | None = None) -> str:
    """The selected request as plain text (what its sections say, labels aligned)."""
    lines: list[str] = []
    for section in detail_sections(detail, names):
        if lines:
            lines.append("")
        lines.append(section.title)
        for row in section.rows:
            if row.block:
                lines.append(row.value)
            elif row.label:
                lines.append(f"  {row.label:<{LABEL_WIDTH}}{row.value}")
            else:
                lines.append(f"  {row.value}")
    return "\n".join(lines)
