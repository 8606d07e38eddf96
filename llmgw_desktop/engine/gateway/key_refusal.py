"""A provider refusing the gateway's key for it: how such an answer is recognised, and what the
client and the window are told.

A refused key is the operator's to fix, not the client's, and the same key meets the same
refusal on every try. So once every key the gateway tried was refused, the client is answered
at once with its dialect's authentication error (401; 403 when the provider said the key may
not do this), never a 5xx the official SDKs would retry with the same key. The answer names
each refused key by its source (`env:OPENAI_API_KEY`, `vault:openai#1`, `config#2`, never its
value) and says what to change there.

Most vendors refuse a key with 401 or 403. Gemini answers an unknown key with 400
`INVALID_ARGUMENT` and the reason `API_KEY_INVALID` in its `ErrorInfo` detail: that answer is
read as the 401 it means, so it moves on to the next key and is counted as a refused key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from llmgw_desktop.engine.gateway.records.report import Attempt

__all__ = [
    "KEY_REFUSED_OUTCOMES",
    "KEY_REFUSED_STATUSES",
    "VAULT_PLACES",
    "key_fix",
    "refusal_status",
    "refused_keys_message",
]

# The statuses of a refused key, and the route log's outcomes for them.
KEY_REFUSED_STATUSES = frozenset({401, 403})
KEY_REFUSED_OUTCOMES = frozenset(str(status) for status in KEY_REFUSED_STATUSES)
# Where a person stores a provider key in the vault: the words every hint uses.
VAULT_PLACES = "the window's Provider keys page, or POST /v1/credentials"
# Gemini's reason for a key it does not know (its 400's `google.rpc.ErrorInfo`).
_GEMINI_KEY_INVALID = "API_KEY_INVALID"


def refusal_status(status: int, raw: bytes) -> int:
    """The status an upstream's error answer stands for: Gemini's 400 for an invalid key is the
    401 it means; any other answer keeps its own."""
    if status != 400 or _GEMINI_KEY_INVALID.encode() not in raw:
        return status
    try:
        body = json.loads(raw)
    except ValueError:
        return status
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and detail.get("reason") == _GEMINI_KEY_INVALID:
            return 401
    return status


def key_fix(label: str, provider: str) -> str:
    """What to change for the key `label` (a pool key's source) of `provider`: one sentence."""
    if label.startswith("env:"):
        name = label.removeprefix("env:")
        return (
            f"Put a working {provider} key in {name} and restart the gateway, or store one in "
            f"the vault ({VAULT_PLACES}): the vault's keys are tried first."
        )
    if label.startswith("vault:"):
        name, _, number = label.removeprefix("vault:").partition("#")
        return f"Replace or delete vault key {number} of {name} ({VAULT_PLACES})."
    if label.startswith("config#"):
        number = label.removeprefix("config#")
        return f"Fix key {number} of [gateway.providers.{provider}] in config.toml."
    return f"Check the credential {label} of {provider}."


def refused_keys_message(model: str, refused: Sequence[Attempt], detail: str) -> str:
    """The client's message when every key tried for `model` was refused (`refused`: those
    attempts; `detail`: the last refusal, as the provider said it)."""
    keys: dict[str, list[str]] = {}
    for attempt in refused:
        labels = keys.setdefault(attempt.target.partition("/")[0], [])
        if attempt.key not in labels:
            labels.append(attempt.key)
    said = "; ".join(
        f"{provider} refused the gateway's {'key' if len(labels) == 1 else 'keys'} "
        + ", ".join(labels)
        for provider, labels in keys.items()
    )
    fixes = " ".join(key_fix(label, p) for p, labels in keys.items() for label in labels)
    return f"{said} for {model!r} ({detail}). {fixes}"
