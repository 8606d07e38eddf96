"""The cloud settings of the provider dialog: what Azure OpenAI, Amazon Bedrock or Google
Vertex AI needs beside a key (docs/CLOUDS.md), shown only for a cloud's kind.

Each field may stay empty: the cloud's own environment variable is used then (the placeholder
names it), as its SDK would.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmgw_desktop.ui.pages.provider_form import FormProblem
from llmgw_desktop.ui.qt import QFormLayout, QLineEdit, QWidget

__all__ = ["KIND_HINTS", "CloudFields"]

# Per kind: the fields it shows (name, placeholder), and what the Base URL and Key fields mean.
_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "azure": (
        ("api_version", "v1, or a dated version such as 2024-10-21 (empty: OPENAI_API_VERSION)"),
        ("deployments", "prod-4o=gpt-4o, ...   (deployment=model, for prices)"),
        ("content_filter", "a content filter's name (empty: the deployment's own)"),
    ),
    "bedrock": (
        ("region", "us-east-1 (empty: AWS_REGION)"),
        ("guardrail", "a guardrail's id or ARN (empty: none)"),
        ("guardrail_version", "its version number, or DRAFT"),
    ),
    "vertex": (
        ("project", "my-project (empty: GOOGLE_CLOUD_PROJECT or the credentials')"),
        ("location", "us-east5, global ... (empty: GOOGLE_CLOUD_LOCATION, else global)"),
    ),
}
KIND_HINTS: dict[str, tuple[str, str]] = {
    "azure": ("https://my-resource.openai.azure.com", "API key (empty: Microsoft Entra ID)"),
    "bedrock": (
        "empty: the region's endpoint",
        "Bedrock API key or KEY_ID:SECRET (empty: the AWS credential chain)",
    ),
    "vertex": (
        "empty: the location's endpoint",
        "service-account key JSON (empty: Application Default Credentials)",
    ),
}


class CloudFields(QWidget):
    """Region, project, location, api version, deployments and the cloud's guardrail, by
    kind."""

    def __init__(self, values: Mapping[str, object]) -> None:
        super().__init__()
        self.setObjectName("cloudFields")
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self.edits: dict[str, QLineEdit] = {}
        for fields in _FIELDS.values():
            for name, placeholder in fields:
                value = values.get(name) or ""
                if isinstance(value, Mapping):
                    value = ", ".join(f"{k}={v}" for k, v in value.items())
                edit = QLineEdit(str(value))
                edit.setObjectName(f"cloud_{name}")
                edit.setPlaceholderText(placeholder)
                self.edits[name] = edit
                self._form.addRow(name.replace("_", " ").capitalize(), edit)

    def set_kind(self, kind: str) -> None:
        """Show only `kind`'s fields (none for a kind that is no cloud)."""
        shown = {name for name, _ in _FIELDS.get(kind, ())}
        for name, edit in self.edits.items():
            self._form.setRowVisible(edit, name in shown)
        self.setVisible(bool(shown))

    def values(self, kind: str) -> dict[str, object]:
        """The shown fields as the draft's (deployments as a mapping).

        Raises:
            FormProblem: a deployment without `=`.
        """
        out: dict[str, object] = {}
        for name, _ in _FIELDS.get(kind, ()):
            text = self.edits[name].text().strip()
            if name != "deployments":
                out[name] = text
                continue
            deployments: dict[str, str] = {}
            for item in filter(None, (p.strip() for p in text.split(","))):
                deployment, equals, model = item.partition("=")
                if not equals or not deployment.strip() or not model.strip():
                    raise FormProblem("deployments", f"deployments: {item!r} is not name=model")
                deployments[deployment.strip()] = model.strip()
            out[name] = deployments
        return out
