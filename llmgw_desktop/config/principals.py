"""The principal ids a setting may name (project grants, `principal=` budgets).

The engine's `auth/principals.py` builds its principals from these ids; the settings checks
read them here, so checking a config file needs nothing of the engine.
"""

from __future__ import annotations

import re

__all__ = ["BEARER", "LOCAL", "OPERATORS", "is_principal_id", "principal_words"]

# The person at this machine (the OS user the gateway runs as).
LOCAL = "local"
# The holder of the static bearer token.
BEARER = "gateway-bearer"
# Always granted every project: the operator (at the desk, or holding the static token).
OPERATORS = frozenset({LOCAL, BEARER})
# A principal a grant may name: an OAuth client id, or a name a trusted proxy sends.
_GRANTEE = re.compile(
    r"oauth:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|(?:user|key):[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}"
)


def is_principal_id(value: str) -> bool:
    """Whether a setting may name `value` as a principal (grants, budgets)."""
    return value in OPERATORS or _GRANTEE.fullmatch(value) is not None


# How a person reads a principal id: the operators by name, the rest as kind and name.
_WORDS = {LOCAL: "you", BEARER: "the master token"}
_KINDS = {"key": "key {}", "oauth": "OAuth client {}", "user": "user {}"}


def principal_words(principal: str) -> str:
    """`key ci-bot`, `OAuth client ci-bot`, `you`: a principal id as a person reads it (the
    id itself where it has no words)."""
    kind, _, name = principal.partition(":")
    shape = _KINDS.get(kind)
    return _WORDS.get(principal) or (shape.format(name) if shape and name else principal)
