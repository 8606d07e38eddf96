"""The secret detectors: Yelp's `detect-secrets` plugins, used as a library, and a few rules of
ours written in their plugin style where detect-secrets has none.

Each detector becomes one or more `Rule`s (a pattern, the kind it finds, a check of what it
found): the plugins' own patterns and checks where they are regexes, and their keyword and
entropy logic where they are not (`scanner.py` runs those). This module imports detect-secrets,
which costs about 0.1 s (mostly `requests`, which its plugins import for verification we never
ask for), so it is imported once, off the event loop (`scanner.load_detectors`).

Ours, where detect-secrets (1.5) has no plugin for a kind the guard must find: Anthropic keys,
OpenAI's project, service-account and admin keys without the legacy `T3BlbkFJ` marker, Google
API keys and OAuth client secrets, Hugging Face tokens, Azure connection strings' keys (its
Azure plugin reports the key with its name, and at one length only), passwords in key-value
connection strings, and the optional personal data (e-mail addresses, phone and
card numbers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector

__all__ = ["Detectors", "Rule", "detectors"]


class AnthropicKeyDetector(RegexBasedDetector):
    """Anthropic API, admin and OAuth keys (`sk-ant-api03-…`, `sk-ant-admin01-…`)."""

    secret_type = "Anthropic API Key"
    denylist = (re.compile(r"sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_-]{32,}"),)


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """OpenAI project, service-account and admin keys, which need not carry the legacy
    `T3BlbkFJ` marker detect-secrets' OpenAI plugin looks for."""

    secret_type = "OpenAI Token"
    denylist = (re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}"),)


class GoogleApiKeyDetector(RegexBasedDetector):
    """Google Cloud API keys (`AIza…`) and OAuth client secrets (`GOCSPX-…`)."""

    secret_type = "Google Cloud Key"
    denylist = (
        re.compile(r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
        re.compile(r"GOCSPX-[0-9A-Za-z_-]{28}(?![0-9A-Za-z_-])"),
    )


class HuggingFaceTokenDetector(RegexBasedDetector):
    """Hugging Face access tokens (`hf_…`)."""

    secret_type = "Hugging Face Token"
    denylist = (re.compile(r"hf_[A-Za-z]{34}(?![A-Za-z0-9_])"),)


class AzureKeyDetector(RegexBasedDetector):
    """Azure connection strings' keys: a storage account's (`AccountKey=`, whose value
    detect-secrets' Azure plugin reports with its name and only at 88 characters) and Service
    Bus, Event Hubs and IoT Hub shared-access keys (`SharedAccessKey=`)."""

    secret_type = "Azure Key"
    denylist = (
        re.compile(r"AccountKey=([A-Za-z0-9+/]{40,}={0,2})"),
        re.compile(r"SharedAccessKey=([A-Za-z0-9+/]{40,}={0,2})"),
    )


class ConnectionPasswordDetector(RegexBasedDetector):
    """A password in a key-value connection string (`Server=…;Password=…;`, ODBC, JDBC
    properties): detect-secrets' basic-auth plugin reads only the `scheme://user:pass@` form.
    A field before it or after it must end with `;`, so `password = get()` is not one."""

    secret_type = "Connection String Password"
    denylist = (
        re.compile(r"(?i);\s*(?:password|pwd)\s*=\s*([^;\s\"'{}()\[\]]{4,})"),
        re.compile(r"(?i)\b(?:password|pwd)\s*=\s*([^;\s\"'{}()\[\]]{4,})\s*;\s*\w[\w ]*="),
    )


class EmailDetector(RegexBasedDetector):
    """E-mail addresses (personal data: only when `guard.personal_data` is on)."""

    secret_type = "Email Address"
    denylist = (
        re.compile(
            r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b"
        ),
    )


class PhoneNumberDetector(RegexBasedDetector):
    """Phone numbers written as people write them: international (`+44 20 7946 0958`) or
    North American (`(415) 555-0132`). Bare digit runs are not taken: ids and counts look
    the same."""

    secret_type = "Phone Number"
    denylist = (
        re.compile(r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w-])"),
        re.compile(r"(?<![\w(])\(\d{3}\) ?\d{3}[ .-]\d{4}(?![\w-])"),
    )


class CardNumberDetector(RegexBasedDetector):
    """Payment card numbers: 13 to 19 digits, in groups or not, that pass the Luhn check."""

    secret_type = "Card Number"
    denylist = (re.compile(r"(?<![\w.-])(?:\d[ -]?){12,18}\d(?!\w|[.-]\d)"),)


def luhn_valid(text: str) -> bool:
    """Whether the digits of `text` pass the Luhn check (every card number does)."""
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# A URL's password that is a documentation's placeholder, not a secret (`user:password@`).
_URL_PLACEHOLDERS = re.compile(
    r"(?i)^(?:pass(?:word)?|secret|token|key|pwd|p|x+|\*+|changeme|<.*>|\$\w+|\{.*\})$"
)


def _url_password(text: str) -> bool:
    """A URL's password long enough to be one, and no placeholder."""
    return len(text) >= 4 and _URL_PLACEHOLDERS.match(text) is None


def _enough_digits(text: str) -> bool:
    """A phone number has 8 to 15 digits (E.164's most)."""
    return 8 <= sum(c.isdigit() for c in text) <= 15


@dataclass(frozen=True)
class Rule:
    """One pattern of a detector: what it finds (`kind`), which group of a match is the secret
    (0: the whole match; a pattern that reads a name before the value keeps the value in a
    group), a check the value must pass (a JWT must decode, a card number pass Luhn), and
    whether it is personal data rather than a secret."""

    kind: str
    pattern: re.Pattern[str]
    group: int = 0
    check: Callable[[str], bool] | None = None
    personal: bool = False
    # Text without one of these (in lower case where `lower`) cannot match: the pattern is not
    # run over it. Most requests hold none of a vendor's prefixes, and a substring search is
    # far cheaper than a regular expression's scan (empty: always run).
    triggers: tuple[str, ...] = ()
    lower: bool = False
    # The match must start a word (checked by the scanner: a pattern that begins with `\b`
    # loses the regular expression engine's fast search for its literal start).
    word_start: bool = False
    # Text none of these is found in cannot match: one search each for the several patterns
    # of a plugin that begin alike (GitLab's seven), where a pattern's own search reads the
    # whole text each (empty: always run). Led by a literal, each is one fast search.
    gates: tuple[re.Pattern[str], ...] = ()
    # The match begins with a vendor's own prefix (`ghp_`, `sk-ant-`, `AKIA`, `BEGIN … PRIVATE
    # KEY`): also run over binary payloads (`walk.is_binary`), where it finds a token hidden in
    # a long base64 run and, unlike the keyword and entropy rules, nothing in real base64.
    prefixed: bool = False


def _rules(
    plugin: RegexBasedDetector,
    *kinds: str,
    groups: tuple[int, ...] = (0,),
    check: Callable[[str], bool] | None = None,
    personal: bool = False,
    triggers: tuple[str, ...] = (),
    lower: bool = False,
    word_start: bool = False,
    gates: tuple[re.Pattern[str], ...] = (),
    prefixed: bool = False,
) -> list[Rule]:
    """A rule per pattern of `plugin`, named by `kinds` and read at `groups` in the order of
    its denylist (the last of each serves any further patterns); `triggers`, `lower`, `gates`
    and `prefixed` as `Rule` has them, for every pattern of the plugin."""
    return [
        Rule(
            kinds[min(index, len(kinds) - 1)],
            pattern,
            groups[min(index, len(groups) - 1)],
            check,
            personal,
            triggers,
            lower,
            word_start,
            gates,
            prefixed,
        )
        for index, pattern in enumerate(plugin.denylist)
    ]


@dataclass(frozen=True)
class Detectors:
    """Every rule the guard runs, and the plugins whose logic is not a pattern alone."""

    rules: tuple[Rule, ...]
    # Run only on the lines that name a secret (the keyword plugin's lines): their patterns
    # need a name such as `password` anyway, and ignoring case over a whole text is slow.
    line_rules: tuple[Rule, ...]
    base64_entropy: Base64HighEntropyString
    hex_entropy: HexHighEntropyString


# Where the patterns of a plugin (or of several) begin alike: each is searched for once.
_VENDOR_SK = (re.compile("sk-"),)  # OpenAI's keys, old and new, and Anthropic's
_GITLAB = (re.compile("gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-"), re.compile("GR1348941"))
_PYPI = (re.compile("pypi-AgE"),)
_PRIVATE_KEY = (re.compile("PRIVATE KEY"), re.compile("PuTTY-User-Key"))


def detectors() -> Detectors:
    """The detectors, built once per process (the plugins are stateless)."""
    aws_secret = _rules(AWSKeyDetector(), "aws_access_key", "aws_secret_key", groups=(0, 1))
    rules = [
        replace(aws_secret[0], prefixed=True),
        replace(aws_secret[1], triggers=("aws",), lower=True),
        *_rules(
            AzureKeyDetector(), "azure_storage_key", "azure_shared_key", groups=(1,), prefixed=True
        ),
        *_rules(
            GoogleApiKeyDetector(),
            "gcp_api_key",
            "gcp_oauth_secret",
            word_start=True,
            prefixed=True,
        ),
        *_rules(OpenAIDetector(), "openai_key", gates=_VENDOR_SK, prefixed=True),
        *_rules(
            OpenAIProjectKeyDetector(),
            "openai_key",
            word_start=True,
            gates=_VENDOR_SK,
            prefixed=True,
        ),
        *_rules(
            AnthropicKeyDetector(),
            "anthropic_key",
            word_start=True,
            gates=_VENDOR_SK,
            prefixed=True,
        ),
        *_rules(GitHubTokenDetector(), "github_token", prefixed=True),
        *_rules(GitLabTokenDetector(), "gitlab_token", gates=_GITLAB, prefixed=True),
        *_rules(
            SlackDetector(),
            "slack_token",
            "slack_webhook",
            triggers=("xox", "hooks.slack.com"),
            lower=True,
            prefixed=True,
        ),
        *_rules(StripeDetector(), "stripe_key", triggers=("k_live_",), prefixed=True),
        *_rules(SendGridDetector(), "sendgrid_key", prefixed=True),
        *_rules(NpmDetector(), "npm_token", triggers=("_authToken",)),
        *_rules(PypiTokenDetector(), "pypi_token", gates=_PYPI, prefixed=True),
        *_rules(HuggingFaceTokenDetector(), "huggingface_token", word_start=True, prefixed=True),
        *_rules(PrivateKeyDetector(), "private_key", gates=_PRIVATE_KEY, prefixed=True),
        *_rules(JwtTokenDetector(), "jwt", check=JwtTokenDetector.is_formally_valid, prefixed=True),
        *_rules(BasicAuthDetector(), "url_password", groups=(1,), check=_url_password),
        *_rules(EmailDetector(), "email", personal=True, triggers=("@",)),
        *_rules(PhoneNumberDetector(), "phone_number", check=_enough_digits, personal=True),
        *_rules(CardNumberDetector(), "card_number", check=luhn_valid, personal=True),
    ]
    return Detectors(
        rules=tuple(rules),
        line_rules=tuple(_rules(ConnectionPasswordDetector(), "connection_password", groups=(1,))),
        base64_entropy=Base64HighEntropyString(),
        hex_entropy=HexHighEntropyString(),
    )
