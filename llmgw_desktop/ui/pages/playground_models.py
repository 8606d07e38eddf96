"""The Playground's model pickers: every model named as the answers' headings name it.

The gateway lists its models by the id a client sends (`claude-sonnet-4-6`, `gpt-4o-mini`,
`openrouter/google/gemini-2.5-pro`, `claude-cli/haiku`), and a person may type any id. The two
pickers show each listed model as "Provider · model" ("Anthropic · claude-sonnet-4-6",
"OpenAI · gpt-4o-mini"), the provider by the name every page uses (`ProviderNames`), exactly
as the answer it gets is headed (`playground_answer.served_as`); the id sent is the item's.
Typed or handed an id (`choose`: a replay, "openai/gpt-4o-mini"), a picker shows that model's
name when the gateway lists it, and sends the id as typed when it does not.

The models of a provider failing now are drawn in the error colour, the verdict's words in
their tooltip (`mark_failing`): a person may still send to one, knowing.

The picker opens on a model that answers (`preferred_model`): the one last sent from here,
else the gateway's default model, else one of the provider that answered most in the last day
(and is not failing now), never simply the first in alphabetical order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import QColor, QComboBox, Qt, QWidget
from llmgw_desktop.ui.theme import error_colour

__all__ = ["ModelPicker", "model_label", "preferred_model"]

MIN_CHARS = 18  # as before the names: the window's 1024 px minimum holds (the box stretches)


def model_label(entry: dict[str, Any], names: ProviderNames) -> str:
    """`OpenAI · gpt-4o-mini`: a listed model by its provider's name and the model as that
    provider knows it (its `provider/` prefix, when the id has one, is the name already)."""
    model, provider = str(entry["id"]), str(entry.get("provider") or "")
    if not provider:
        return model
    shown = model.removeprefix(f"{provider}/")
    return f"{names.name(names.by_gateway_id.get(provider, provider))} · {shown}"


def preferred_model(
    models: Sequence[dict[str, Any]],
    *,
    last_used: str = "",
    default: str = "",
    answering: Sequence[str] = (),
    failing: Collection[str] = (),
) -> str:
    """The id a picker opens on: `last_used` or `default` when listed, else the first listed
    model of the first provider in `answering` (most answers first) that is not `failing`,
    else the first model of a provider not failing (an API's before a CLI's), else ""."""
    listed = {str(m["id"]) for m in models}
    for wanted in (last_used, default):
        if wanted and wanted in listed:
            return wanted
    by_provider: dict[str, str] = {}
    for entry in models:
        if entry.get("type") != "alias":
            by_provider.setdefault(str(entry.get("provider") or ""), str(entry["id"]))
    for provider in answering:
        if provider in by_provider and provider not in failing:
            return by_provider[provider]
    ready = [m for m in models if str(m.get("provider") or "") not in failing] or list(models)
    ready.sort(key=lambda m: (m.get("type") == "cli", str(m["id"])))
    return str(ready[0]["id"]) if ready else ""


class ModelPicker(QComboBox):
    """An editable list of the gateway's models by name; `chosen_model()` is the id to send."""

    def __init__(self, name: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(MIN_CHARS)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        line = self.lineEdit()
        if line is not None:
            line.setPlaceholderText(placeholder)
            line.editingFinished.connect(lambda: self.choose(self.currentText()))
        # Each listed id, and its `provider/id` spelling, to the item that names it.
        self._ids: dict[str, int] = {}
        # Each item's provider (its gateway id), in the list's order.
        self._providers: list[str] = []

    def set_placeholder(self, words: str, *, tip: str = "") -> None:
        """What the empty box says (where to add a key, when nothing can answer), and its
        tooltip."""
        line = self.lineEdit()
        if line is not None:
            line.setPlaceholderText(words)
            line.setToolTip(tip)

    def set_models(self, models: Sequence[dict[str, Any]], names: ProviderNames) -> None:
        """List `models` (the gateway's list) by name; what was chosen stays chosen."""
        chosen = self.chosen_model()
        labelled = sorted((model_label(m, names), m) for m in models)
        self.blockSignals(True)
        self.clear()
        self._ids = {}
        self._providers = []
        for number, (label, entry) in enumerate(labelled):
            model = str(entry["id"])
            self.addItem(label, model)
            provider = str(entry.get("provider") or "")
            self._providers.append(provider)
            for spelling in (model, f"{provider}/{model.removeprefix(f'{provider}/')}"):
                self._ids.setdefault(spelling, number)
        self.blockSignals(False)
        self.choose(chosen)

    def mark_failing(self, failing: Mapping[str, str]) -> None:
        """Draw the models of the providers in `failing` (gateway id -> "OpenAI: Key refused:
        ...", the verdict's words) in the error colour with those words as their tooltip, and
        the others as any item; the box's own tooltip says it when the chosen one is such."""
        colour = QColor(error_colour())
        for number, provider in enumerate(self._providers):
            why = failing.get(provider)
            self.setItemData(number, colour if why else None, Qt.ItemDataRole.ForegroundRole)
            self.setItemData(
                number, f"Failing now: {why}" if why else None, Qt.ItemDataRole.ToolTipRole
            )
        number = self.findText(self.currentText().strip())
        chosen = self._providers[number] if 0 <= number < len(self._providers) else ""
        self.setToolTip(f"Failing now: {failing[chosen]}" if chosen in failing else "")

    def choose(self, model: str) -> None:
        """Show `model` (an id, typed or handed over) by its name when it is listed, else as
        it is; "" leaves the picker empty."""
        model = model.strip()
        number = self._ids.get(model)
        if number is None and self.findText(model) >= 0:
            number = self.findText(model)  # already a name
        if number is None:
            self.setCurrentIndex(-1)
            self.setEditText(model)
            return
        self.setCurrentIndex(number)
        self.setEditText(self.itemText(number))

    def chosen_model(self) -> str:
        """The id to send: the listed model whose name is shown, else the text as typed."""
        text = self.currentText().strip()
        number = self.findText(text)
        if number >= 0:
            return str(self.itemData(number))
        return text
