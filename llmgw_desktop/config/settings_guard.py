"""The outbound guard (`[guard]`): what happens to a request holding a secret before it leaves
the machine. `engine/guard/` is the guard itself; docs/SECURITY.md says what it catches and
what it cannot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.guard_rules import GuardRule, check_guard_rules, guard_rules
from llmgw_desktop.config.principals import is_principal_id
from llmgw_desktop.config.settings_fields import setting
from llmgw_desktop.config.words import one_of

__all__ = ["ASK_FALLBACKS", "GUARD_ACTIONS", "UNSCANNED_CHOICES", "GuardSettings"]

# What the guard may do with a request holding a secret, mildest first.
GUARD_ACTIONS = ("off", "warn", "redact", "block", "ask")
# What a request too large to scan within its limits does.
UNSCANNED_CHOICES = ("send", "block")
# What `ask` does when no one at the desk answers (headless, or no answer in time).
ASK_FALLBACKS = ("block", "redact", "send")


def _one_of(choices: tuple[str, ...]) -> Any:
    def check(value: str) -> str | None:
        return None if value in choices else one_of(value, choices)

    return check


def _action_table(what: str, name_ok: Any) -> Any:
    def check(value: dict[str, Any]) -> str | None:
        for name, action in value.items():
            if not name_ok(name):
                return f"{name!r} is not {what}"
            if action not in GUARD_ACTIONS:
                return f"{name}: {one_of(action, GUARD_ACTIONS)}"
        return None

    return check


def _provider_id(name: str) -> bool:
    return bool(name) and not any(c.isspace() for c in name)


@dataclass(frozen=True)
class GuardSettings:
    """Secrets in what leaves the machine (`[guard]`): found in every request before it is
    sent to a provider, then let through, warned about, replaced by placeholders, refused, or
    put to the person at the desk."""

    secrets: str = setting(
        "warn",
        env="LLM_GATEWAY_GUARD_SECRETS",
        doc="What a request holding a secret (a cloud or vendor key, a private key, a token, a "
        "password) does before it leaves: off (not scanned), warn (sent; recorded and "
        "notified), redact (sent with each secret replaced by a placeholder such as "
        "[SECRET:aws_access_key#1], put back where the answer echoes it), block (refused with "
        "secret_detected, naming the kind and where), ask (the person at the desk chooses; "
        "guard.ask_fallback without one).",
        check=_one_of(GUARD_ACTIONS),
    )
    providers: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_GUARD_PROVIDERS",
        doc="guard.secrets for requests to one provider: provider id (an API provider's, or a "
        "CLI's such as claude) -> action (a JSON object in the env).",
        check=_action_table("a provider id", _provider_id),
    )
    keys: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_GUARD_KEYS",
        doc="guard.secrets for requests from one caller, over its provider's: a principal "
        "(key:NAME for a gateway key, oauth:CLIENT, user:NAME, local, gateway-bearer) -> "
        "action (a JSON object in the env).",
        check=_action_table("a principal id (key:NAME, oauth:ID, local, ...)", is_principal_id),
    )
    exempt_local: bool = setting(
        True,
        env="LLM_GATEWAY_GUARD_EXEMPT_LOCAL",
        doc="Leave requests to a provider on this machine (a base URL on loopback: Ollama, a "
        "local vLLM) unscanned: they do not leave it. A provider named in guard.providers "
        "follows its own action instead.",
    )
    unscanned: str = setting(
        "send",
        env="LLM_GATEWAY_GUARD_UNSCANNED",
        doc="What a request the guard could not read whole (its text over guard.max_scan_kb, "
        "or its scan over guard.budget_ms) does: send (recorded as unscanned) or block (refused "
        "with request_unscanned).",
        check=_one_of(UNSCANNED_CHOICES),
    )
    max_scan_kb: int = setting(
        16_384,
        env="LLM_GATEWAY_GUARD_MAX_SCAN_KB",
        doc="The most text of one request the guard reads, in KB (images and other binary "
        "payloads are not counted); a larger request follows guard.unscanned.",
        check=checks.positive,
    )
    budget_ms: int = setting(
        500,
        env="LLM_GATEWAY_GUARD_BUDGET_MS",
        doc="How long the scan of one request may take, in ms (off the event loop when the "
        "request is large); one that runs longer follows guard.unscanned for what it did "
        "not read.",
        check=checks.positive,
    )
    personal_data: bool = setting(
        False,
        env="LLM_GATEWAY_GUARD_PERSONAL_DATA",
        doc="Also look for personal data: e-mail addresses, phone numbers and payment card "
        "numbers (Luhn-checked), treated as secrets are.",
    )
    scan_answers: bool = setting(
        False,
        env="LLM_GATEWAY_GUARD_SCAN_ANSWERS",
        doc="Read each answer, whole or streamed, for the operator's own keys (every key the "
        "gateway sends a provider, from the vault, config.toml or the environment, and its own "
        "secrets such as http.auth_token) and replace each by a placeholder naming its source, "
        "such as [OPERATOR_KEY:env:OPENAI_API_KEY], before the client reads it; recorded, "
        "counted and notified. Whatever guard.secrets says.",
    )
    ask_fallback: str = setting(
        "block",
        env="LLM_GATEWAY_GUARD_ASK_FALLBACK",
        doc="What `ask` does when no one at the desk answers: the app runs headless, or no "
        "answer came within approval.desk_timeout_ms (block, redact or send).",
        check=_one_of(ASK_FALLBACKS),
    )
    rules: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_GUARD_RULES",
        doc="Your own rules, read in every request beside secrets: name = { pattern (a regular "
        "expression, matched ignoring case unless ignore_case = false), action (off, warn, "
        "ask or block), description, and providers and keys tables of their own actions as "
        "guard.providers and guard.keys are }. A request a rule blocks is refused with "
        "guard_rule_matched, naming the rule and where (a JSON object in the env).",
        check=check_guard_rules,
    )

    def rule_list(self) -> tuple[GuardRule, ...]:
        """`rules` as typed rules, in the order they are written."""
        return guard_rules(self.rules)
