"""The guard's one decision for one target: from what a request was found to hold and the
actions the operator chose for that target (`Actions`: one for secrets, one per rule of
theirs), what the target is sent, and why (`Ruling`, `Because`). Every door's request comes
here: a chat or any other call at each target of its route, a token count, a coding CLI's job.

The ladder, top to bottom:
- a request not read whole, where `guard.unscanned` blocks those: refused;
- nothing found that any action reads: sent (noted when it was not read whole);
- a rule's `block`, then the secrets' `block`: refused, naming what was found;
- a rule's or the secrets' `ask`: the person at the desk answers once for the request (a token
  count has no desk: its secrets are redacted, a rule that asks keeps it here);
- the secrets' `redact` (or the desk's): sent with placeholders;
- else sent, and `warn` says so (the desk's `send` is no warning: the person chose it).

Why is a typed value (`Because`), read by the code and said to a person by `words()`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.guard.errors import GuardRuleMatched, RequestUnscanned, SecretDetected
from llmgw_desktop.engine.guard.policy import STRICTNESS
from llmgw_desktop.engine.guard.request_scan import Finding, Inspection
from llmgw_desktop.engine.guard.rules import is_rule_kind
from llmgw_desktop.engine.values import stores_directly

__all__ = [
    "BLOCKED",
    "REDACTED",
    "SENT",
    "WARNED",
    "WITHOUT_RULES",
    "Actions",
    "Asker",
    "Because",
    "Ruling",
    "ruling",
]

# What the recorder and `/metrics` call what the guard did.
WARNED, REDACTED, BLOCKED, SENT = "warned", "redacted", "blocked", "sent"
SECRETS_SETTING, UNSCANNED_SETTING = "guard.secrets", "guard.unscanned"
# Who answered an `ask` for a token count: nobody was asked; and a person who did answer.
NOT_ASKED, DESK = "a token count", "desk"

# The person at the desk, asked about these findings: (their choice, who decided).
Asker = Callable[[tuple[Finding, ...]], Awaitable[tuple[str, str]]]


@stores_directly
@dataclass(frozen=True)
class Actions:
    """What the operator chose for one target: the action on secrets, and each rule's by the
    kind of its matches (`rule:NAME`)."""

    secrets: str
    rules: Mapping[str, str] = field(default_factory=dict)

    @property
    def off(self) -> bool:
        """Nothing is read for this target."""
        rules = self.rules
        return self.secrets == "off" and (not rules or all(a == "off" for a in rules.values()))


# The actions of settings without rules, one for each action on secrets (frozen, so shared):
# what most requests' targets are decided by, not made again for each.
WITHOUT_RULES = {action: Actions(action) for action in STRICTNESS}


@dataclass(frozen=True)
class Because:
    """What decided: a setting's action (`setting`: guard.secrets, guard.rules.NAME,
    guard.unscanned), or the person at the desk (`asked`: their choice; `by`: desk,
    desk-timeout, no-desk)."""

    setting: str
    action: str
    asked: str | None = None
    by: str = ""

    def words(self) -> str:
        """As the row, the refusal and the person read it: `block (guard.secrets)`, `asked at
        the desk: redact (desk)`, `guard.unscanned = block`."""
        if self.asked is not None:
            return f"asked at the desk: {self.asked} ({self.by})"
        if self.setting == UNSCANNED_SETTING:
            return f"{UNSCANNED_SETTING} = {self.action}"
        return f"{self.action} ({self.setting})"


@dataclass(frozen=True)
class Ruling:
    """What one target gets: `did` (SENT, WARNED, REDACTED, BLOCKED; "" when there is nothing
    to note), why, the refusal when blocked, whether its secrets go as placeholders, and what
    was done with which findings (`noted`: each group with its own word, for the counts)."""

    did: str
    because: tuple[Because, ...] = ()
    refusal: EngineError | None = None
    redact: bool = False
    noted: tuple[tuple[str, tuple[Finding, ...]], ...] = ()

    def why(self) -> str:
        return "; ".join(because.words() for because in self.because)


NOTHING = Ruling("")


async def ruling(
    actions: Actions,
    inspection: Inspection,
    *,
    unscanned: str,
    provider: str,
    ask: Asker | None,
    described: Callable[[str], str],
) -> Ruling:
    """The ladder (see the module) for one target (`provider`) of a request read as
    `inspection`; `ask`: the desk (None for a token count); `described`: a rule's kind as a
    person reads it."""
    if not inspection.complete and unscanned == "block":
        because = Because(UNSCANNED_SETTING, "block")
        return Ruling(BLOCKED, (because,), RequestUnscanned.of(inspection, provider))
    secrets, matched = _read(actions, inspection.findings)
    if not secrets and not matched:
        if inspection.complete:
            return NOTHING
        return Ruling(SENT, (Because(UNSCANNED_SETTING, "send"),))
    on_secrets = _Part(SECRETS_SETTING, actions.secrets if secrets else "off", secrets)
    on_rules = _strictest_rule(actions, matched)
    refused = _refused((on_rules, on_secrets), provider, described)
    if refused is not None:
        return refused
    if "ask" in (on_secrets.action, on_rules.action):
        asked = await _asked(on_secrets, on_rules, ask, provider, described)
        if isinstance(asked, Ruling):
            return asked
        on_secrets, on_rules = asked
    return _sent(on_secrets, on_rules)


@dataclass(frozen=True)
class _Part:
    """One part of what was found (the secrets, or the rules' matches): the action on it, the
    setting that chose it, and its findings; `asked` and `by` once the desk answered."""

    setting: str
    action: str
    findings: tuple[Finding, ...]
    asked: str | None = None
    by: str = ""

    @property
    def because(self) -> Because:
        return Because(self.setting, self.action, self.asked, self.by)


def _read(
    actions: Actions, findings: tuple[Finding, ...]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """The secrets found where secrets are read, and the matches of rules not off."""
    secrets = tuple(f for f in findings if not is_rule_kind(f.kind))
    matched = tuple(f for f in findings if actions.rules.get(f.kind, "off") != "off")
    return (secrets if actions.secrets != "off" else ()), matched


def _strictest_rule(actions: Actions, matched: tuple[Finding, ...]) -> _Part:
    """The rules' part: the strictest action among the rules that matched, the setting of the
    first rule that chose it, and every match."""
    if not matched:
        return _Part("guard.rules", "off", ())
    strictest = max((actions.rules[f.kind] for f in matched), key=STRICTNESS.index)
    first = next(f.kind for f in matched if actions.rules[f.kind] == strictest)
    return _Part(f"guard.rules.{first.removeprefix('rule:')}", strictest, matched)


def _refused(
    parts: tuple[_Part, _Part], provider: str, described: Callable[[str], str]
) -> Ruling | None:
    """The refusal of the first part (the rules', then the secrets') whose action is block,
    or None."""
    for part in parts:
        if part.action == "block":
            return Ruling(
                BLOCKED,
                (part.because,),
                _refusal(part.findings, provider, part.because.words(), described),
                noted=((BLOCKED, part.findings),),
            )
    return None


def _refusal(
    findings: tuple[Finding, ...], provider: str, why: str, described: Callable[[str], str]
) -> EngineError:
    """`SecretDetected` where a secret is among `findings`, else `GuardRuleMatched`."""
    secrets = tuple(f for f in findings if not is_rule_kind(f.kind))
    if secrets:
        return SecretDetected.of(findings, provider, why)
    rules = list(dict.fromkeys(described(f.kind) for f in findings))
    return GuardRuleMatched.of(findings, rules, provider, why)


async def _asked(
    on_secrets: _Part,
    on_rules: _Part,
    ask: Asker | None,
    provider: str,
    described: Callable[[str], str],
) -> tuple[_Part, _Part] | Ruling:
    """The desk's answer for the parts that ask: a refusal, or the parts as it leaves them
    (the secrets' `ask` becomes its `redact` or `send`, the rules' its `send`)."""
    asking = (*on_secrets.findings, *on_rules.findings)
    if ask is not None:
        choice, by = await ask(asking)
    else:  # a token count: no question for the desk; nothing a rule asks about is sent
        choice, by = ("block" if on_rules.action == "ask" else "redact"), NOT_ASKED
    if choice == "redact" and on_rules.action == "ask" and by != DESK:
        # `guard.ask_fallback = "redact"` keeps secrets from leaving unasked; a rule's match
        # has no placeholder, so no one's answer keeps it here.
        choice = "block"
    if choice == "block":
        asker = on_secrets if on_secrets.action == "ask" else on_rules
        because = Because(asker.setting, "ask", "block", by)
        parts = [p for p in (on_secrets, on_rules) if p.action == "ask"]
        found = tuple(f for part in parts for f in part.findings)
        refusal = _refusal(found, provider, because.words(), described)
        return Ruling(BLOCKED, (because,), refusal, noted=((BLOCKED, found),))
    if on_secrets.action == "ask" or (choice == "redact" and on_secrets.findings):
        # The desk may only be stricter than the operator: its redact holds for secrets warned of.
        answered = "redact" if choice == "redact" else "send"
        on_secrets = _Part(on_secrets.setting, answered, on_secrets.findings, choice, by)
    if on_rules.action == "ask":
        on_rules = _Part(on_rules.setting, "send", on_rules.findings, choice, by)
    return on_secrets, on_rules


# What each part's final action is called in the row and the counts.
_DID = {"warn": WARNED, "redact": REDACTED, "send": SENT}


def _sent(on_secrets: _Part, on_rules: _Part) -> Ruling:
    """Sent: with placeholders where the secrets' action is redact; what each part had done."""
    parts = [p for p in (on_secrets, on_rules) if p.findings and p.action != "off"]
    noted = tuple((_DID[p.action], p.findings) for p in parts)
    done = {did for did, _ in noted}
    did = next((d for d in (REDACTED, WARNED, SENT) if d in done), SENT)
    because = tuple(dict.fromkeys(p.because for p in parts))
    return Ruling(did, because, redact=on_secrets.action == "redact", noted=noted)
