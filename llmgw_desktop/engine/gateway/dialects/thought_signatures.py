"""The thought signature that stands in for one a vendor never issued."""

from __future__ import annotations

__all__ = ["SKIP_SIGNATURE"]

# Gemini 3 rejects a history whose function calls lack the thought signature it issued; a
# history from another vendor has none, and Google documents this value to skip the check.
# Anthropic must never be sent it as a thinking signature.
SKIP_SIGNATURE = "skip_thought_signature_validator"
