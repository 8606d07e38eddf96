"""Reading a prompt the way a shell would, before the approval gate looks for danger in it.

Scoring raw text is easy to dodge: `rm -r -f`, `r''m -rf`, a zero-width space inside `rm`, a
Cyrillic `р`, `$(echo rm)`, `curl … | sudo bash`, `bash <(curl …)`, base64 piped into `sh`.
`normalise` undoes those (Unicode NFKC, format characters dropped, look-alike letters and
dashes folded to ASCII, shell quoting and escapes removed, `$(echo x)` and simple variables
expanded, whitespace collapsed, lower case), and `findings` then looks for what a shell
would do with the result: recursive deletes in any spelling of their flags, downloads run by a
shell or interpreter, raw disk writes, credentials sent away, reverse shells, fork bombs.

Each finding is `critical` (enough alone to deny: destructive or remote code) or not (scored,
and denied only together with more). A prompt that only asks what such a command means (it
starts "explain", "what does", "describe", ... and says nothing like "run" or "execute", and is
short) has its critical findings reported as mentions instead: see `is_a_question`.

Everything here runs in time linear in the prompt: bounded repetition only, no nested
unbounded quantifiers.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass

__all__ = ["Finding", "findings", "is_a_question", "normalise"]

# Look-alike letters (Cyrillic, Greek, a few Latin extensions) that NFKC keeps apart from ASCII.
_HOMOGLYPHS = {
    **dict.fromkeys("аαɑ", "a"),
    **dict.fromkeys("вβ", "b"),
    **dict.fromkeys("сϲⅽ", "c"),
    **dict.fromkeys("ԁ", "d"),
    **dict.fromkeys("еεе", "e"),
    **dict.fromkeys("ɡ", "g"),
    **dict.fromkeys("һн", "h"),
    **dict.fromkeys("іιıɩ", "i"),
    **dict.fromkeys("ј", "j"),
    **dict.fromkeys("кκ", "k"),
    **dict.fromkeys("ӏℓ", "l"),
    **dict.fromkeys("м", "m"),
    **dict.fromkeys("пη", "n"),
    **dict.fromkeys("оοσ", "o"),
    **dict.fromkeys("рρ", "p"),
    **dict.fromkeys("ԛ", "q"),
    **dict.fromkeys("гᴦ", "r"),
    **dict.fromkeys("ѕ", "s"),
    **dict.fromkeys("тτ", "t"),
    **dict.fromkeys("υս", "u"),
    **dict.fromkeys("νѵ", "v"),
    **dict.fromkeys("ԝω", "w"),
    **dict.fromkeys("хχ", "x"),
    **dict.fromkeys("уγ", "y"),
    **dict.fromkeys("ᴢ", "z"),
    # Dashes and slashes that read as "-" and "/" (NFKC leaves these).
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\u02d7", "-"),
    **dict.fromkeys("\u2044\u2215\u29f8", "/"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
}
_ASSIGNMENT = re.compile(r"(?<![\w$])([a-z_][a-z0-9_]{0,30})=([^\s;&|()'\"`]{1,100})")
_MAX_VARIABLES = 50
_ECHO_SUBST = re.compile(r"\$\(\s{0,5}(?:echo|printf)\s{1,5}([^()`]{1,100}?)\s{0,5}\)")
_ECHO_BACKTICK = re.compile(r"`\s{0,5}(?:echo|printf)\s{1,5}([^`]{1,100}?)\s{0,5}`")
_IFS = re.compile(r"\$\{?ifs\}?(?:\$\d)?")
_SPACES = re.compile(r"[^\S\n]+")


@functools.cache
def _fold_table() -> dict[int, str | None]:
    """Format characters (zero-width spaces and joiners, bidi controls, soft hyphens) drop out;
    look-alikes fold to ASCII. Built once: scanning every code point takes a moment."""
    table: dict[int, str | None] = {
        cp: None for cp in range(0x80, sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"
    }
    table.update({ord(k): v for k, v in _HOMOGLYPHS.items()})
    table.update({ord(k.upper()): v for k, v in _HOMOGLYPHS.items() if k.upper() != k})
    return table


def normalise(text: str) -> str:
    """`text` as the gate matches it: what a shell would see, in plain lower-case ASCII."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = text.translate(_fold_table())
    text = text.casefold()
    text = text.replace("\\\n", "")  # line continuations
    text = _IFS.sub(" ", text)
    text = _ECHO_SUBST.sub(r"\1", text)
    text = _ECHO_BACKTICK.sub(r"\1", text)
    text = re.sub(r"\\(.)", r"\1", text)  # \rm, r\m
    text = text.replace("'%s'", "").replace('"%s"', "")
    text = text.replace("'", "").replace('"', "")  # r''m, "rm", '-rf'
    text = _expand_variables(text)
    return _SPACES.sub(" ", text)


def _expand_variables(text: str) -> str:
    """`a=rm; $a -rf /` -> `rm -rf /`, for the first few simple assignments."""
    values: dict[str, str] = {}
    for match in _ASSIGNMENT.finditer(text):
        values.setdefault(match.group(1), match.group(2))
        if len(values) >= _MAX_VARIABLES:
            break
    if not values:
        return text
    names = "|".join(re.escape(name) for name in values)
    pattern = re.compile(rf"\$\{{?({names})\}}?(?![a-z0-9_])")
    return pattern.sub(lambda m: values[m.group(1)], text)


@dataclass(frozen=True)
class Finding:
    """One dangerous thing the prompt asks for."""

    why: str
    critical: bool  # destructive or remote code: enough alone to deny


# -- what a shell would do -----------------------------------------------------------------

_SEP = r"(?:^|(?<=[\s;&|(){}`]))"
# Words that run what follows them: `sudo -E bash`, `env X=1 sh`, `xargs rm`.
_SUDO = r"(?:(?:sudo|doas|env|command|exec|nohup|xargs)(?:\s{1,5}-[a-z-]{1,20})*\s{1,5})*"
_BIN = r"(?:/usr)?(?:/local)?(?:/bin/)?"
_RM = re.compile(_SEP + _SUDO + _BIN + r"rm((?:[ \t]{1,10}[^\s;&|()]{1,200}){1,16})")
_ROOTISH = frozenset(
    path.rstrip("/")
    for path in (
        "/", "/*", "~", "~/", "~/*", "$home", "${home}", "/home", "/etc", "/usr", "/var",
        "/boot", "/root", "/bin", "/lib", "/opt", "/srv", "/dev", "*", "/.", "c:/",
    )
)  # fmt: skip
# Shells run what arrives on stdin whatever their arguments; interpreters only with none or -.
_SHELL = r"(?:(?:ba|z|da|k|c|tc|fi|a)?sh|source|iex|invoke-expression|pwsh|powershell)\b"
_INTERPRETER_NAME = r"(?:python[0-9.]{0,4}|perl|ruby|node|php|lua)\b"
_INTERPRETER = _INTERPRETER_NAME + r"(?:\s{1,5}-)?(?=\s{0,5}(?:$|[\n;&|)]))"
_RUNNER = r"(?:" + _SHELL + r"|" + _INTERPRETER + r")"
_FETCH = r"(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod|aria2c)\b"
_CREDENTIALS = r"(?:~/\.ssh|\bid_rsa|\bid_ed25519|\.aws/credentials|\.netrc\b|\.env\b)"


def _pattern(*parts: str) -> re.Pattern[str]:
    return re.compile("".join(parts))


@dataclass(frozen=True)
class _Danger:
    why: str
    critical: bool
    # Tried only when, for each group, one of its strings is in the text: substring tests are
    # far cheaper than the pattern on a long prompt.
    needles: tuple[tuple[str, ...], ...]
    pattern: re.Pattern[str]


_FETCHERS = ("curl", "wget", "fetch", "iwr", "irm", "invoke-", "aria2c")
_DANGERS = (
    _Danger(
        # curl … | sh, wget -qO- … | sudo bash, curl … | tee f | python3 -
        "pipes a download into a shell",
        True,
        (_FETCHERS, ("|",)),
        _pattern(
            _SEP,
            _FETCH,
            r"[^|\n]{0,300}\|",
            r"(?:\s{0,5}(?:tee|cat|sudo|doas|env)\b[^|\n]{0,60}\|)?",
            r"\s{0,5}",
            _SUDO,
            _BIN,
            _RUNNER,
        ),
    ),
    _Danger(
        # bash <(curl …), sh -c "$(curl …)", source <(wget …), eval "$(curl …)"
        "runs a download through a shell",
        True,
        (("<(", "$("), _FETCHERS),
        _pattern(
            r"(?:",
            _SHELL,
            r"|",
            _INTERPRETER_NAME,
            r"|eval|\.)\s{0,5}(?:-[a-z]{1,3}\s{0,5})?[<$]\(\s{0,5}",
            _FETCH,
        ),
    ),
    _Danger(
        # iex (iwr URL), iex (New-Object Net.WebClient).DownloadString(URL)
        "runs a download through a shell",
        True,
        (("iex", "invoke-expression"),),
        _pattern(
            r"\b(?:iex|invoke-expression)\b\s{0,5}\(?\s{0,5}",
            r"(?:iwr|irm|invoke-webrequest|invoke-restmethod|\(?\s{0,5}new-object\s{1,5}net\.webclient)",
        ),
    ),
    _Danger(
        # curl -o x.sh URL && sh x.sh, wget URL; chmod +x x; ./x
        "downloads a program and runs it",
        True,
        (_FETCHERS, ("&&", ";")),
        _pattern(
            _SEP,
            _FETCH,
            r"[^\n;&|]{0,300}(?:&&|;)\s{0,5}",
            _SUDO,
            r"(?:",
            _SHELL,
            r"\s{1,5}\S|\./\S|chmod\s{1,5}\S{0,10}x)",
        ),
    ),
    _Danger(
        "pipes decoded base64 into a shell",
        True,
        (("base64",),),
        _pattern(
            r"\bbase64\s{1,5}(?:-d|--decode|-di|-D)\b[^\n]{0,200}\|\s{0,5}", _SUDO, _BIN, _RUNNER
        ),
    ),
    _Danger(
        "opens a reverse shell",
        True,
        (("nc", "netcat"), ("sh",)),
        _pattern(r"\b(?:nc|ncat|netcat)\b[^\n]{0,100}\s-[a-z]{0,3}e\s{0,5}\S{0,20}sh\b"),
    ),
    _Danger(
        "opens a raw network connection from a shell",
        True,
        (("/dev/tcp/", "/dev/udp/"),),
        _pattern(r"/dev/(?:tcp|udp)/"),
    ),
    _Danger(
        "is a fork bomb",
        True,
        ((":(",),),
        _pattern(r":\(\)\s{0,5}\{\s{0,5}:\s{0,5}\|\s{0,5}:\s{0,5}&\s{0,5}\}\s{0,5};\s{0,5}:"),
    ),
    _Danger(
        "writes raw disks",
        True,
        (("mkfs", "wipefs", "of=/dev/", "/dev/"),),
        _pattern(
            r"\bmkfs(?:\.[a-z0-9]{1,10})?\b|\bwipefs\b|\bdd\s{1,5}[^\n]{0,200}\bof=/dev/",
            r"|>\s{0,5}/dev/(?:sd[a-z]|nvme|hd[a-z]|disk\d|mmcblk)",
        ),
    ),
    _Danger(
        "drops a database object",
        True,
        (("drop", "truncate"), ("table", "database", "schema")),
        _pattern(
            r"\b(?:drop\s{1,5}(?:table|database|schema)|truncate\s{1,5}table)\s{1,5}",
            r"(?:if\s{1,5}exists\s{1,5})?[a-z_][\w.]{0,100}\s{0,5}(?:;|$|\n|cascade\b)",
        ),
    ),
    _Danger(
        "moves credentials",
        True,
        ((".ssh", "id_rsa", "id_ed25519", ".aws/credentials", ".netrc", ".env"),),
        _pattern(
            _CREDENTIALS,
            r"[^\n]{0,200}\b(?:send|upload|post|curl|wget|nc|scp|exfiltrate|email|paste)\b",
            r"|\b(?:curl|wget|nc|scp|rsync)\b[^\n]{0,200}",
            _CREDENTIALS,
        ),
    ),
    _Danger(
        "asks for root",
        False,
        (("sudo", "doas", "su"),),
        _pattern(r"\bsudo\b|\bdoas\b|\bsu\s{1,5}-"),
    ),
    _Danger(
        "force-pushes",
        False,
        (("push",),),
        _pattern(r"\bgit\s{1,5}push\b[^\n]{0,100}(?:--force\b|\s-f\b|--force-with-lease)"),
    ),
    _Danger(
        "opens permissions to everyone",
        False,
        (("chmod",),),
        _pattern(r"\bchmod\s{1,5}(?:-r\s{1,5})?(?:0?777|a\+rwx)\b"),
    ),
    _Danger(
        "asks to disable safeguards",
        False,
        (("safety", "sandbox", "permission", "guard"),),
        _pattern(
            r"\b(?:disable|turn off|bypass|skip)\b.{0,30}\b(?:safety|sandbox|permission|guard)"
        ),
    ),
)


def findings(normalised: str) -> list[Finding]:
    """What `normalised` (from `normalise`) asks for that a shell would make dangerous; each
    kind reported once."""
    found: dict[str, Finding] = {}
    rm = _recursive_delete(normalised) if "rm" in normalised else None
    if rm is not None:
        found[rm.why] = rm
    for danger in _DANGERS:
        if danger.why in found or not all(
            any(n in normalised for n in group) for group in danger.needles
        ):
            continue
        if danger.pattern.search(normalised):
            found[danger.why] = Finding(danger.why, danger.critical)
    return list(found.values())


def _recursive_delete(text: str) -> Finding | None:
    """`rm` with recursive and force in any spelling (`-rf`, `-fr`, `-r -f`, `--recursive
    --force`, flags after the path), or recursive on the whole disk or a home."""
    for match in _RM.finditer(text):
        recursive = force = rootish = False
        for arg in match.group(1).split():
            short = arg.startswith("-") and not arg.startswith("--")
            recursive = recursive or arg == "--recursive" or (short and "r" in arg)
            force = force or arg == "--force" or (short and "f" in arg)
            rootish = rootish or arg == "--no-preserve-root" or arg.rstrip("/") in _ROOTISH
        if recursive and force:
            return Finding("recursive forced delete", True)
        if recursive and rootish:
            return Finding("recursive delete of a whole tree", True)
    return None


_QUESTION = re.compile(
    r"^\s{0,5}(?:please\s|can you\s|could you\s)?\s{0,5}"
    r"(?:explain|describe|document|summari[sz]e|define|tell me (?:about|what|why|how)"
    r"|what (?:does|is|are|would|do)|why (?:does|is|would|should|do)|how (?:does|do|would)"
    r"|is it (?:safe|dangerous|ok)|in the docs|write docs)\b"
)
_EXECUTE = re.compile(
    r"\b(?:run|running|execute|executing|exec|invoke|launch|perform|do it|do that|go ahead"
    r"|then do|and do|type it|paste it|apply it|carry out|try it|test it)\b"
)
QUESTION_MAX_CHARS = 500


def is_a_question(normalised: str) -> bool:
    """Whether the prompt only asks what something means: short, starting "explain", "what
    does", "describe", ..., and never saying to run anything. Its critical findings are then
    mentions, scored but not enough alone to deny."""
    return (
        len(normalised) <= QUESTION_MAX_CHARS
        and _QUESTION.match(normalised) is not None
        and _EXECUTE.search(normalised) is None
    )
