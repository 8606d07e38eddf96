"""The environment a child process starts with: an allow-list, never the gateway's own.

The gateway's environment holds what a CLI run for someone else must never see: the vault's
master key, the operator's bearer token, the store's password and every provider's API key.
A model that can run `env`, or read `/proc/self/environ`, hands whatever its CLI holds to the
caller who prompted it. So each child gets only:

- what any program needs to run here: `PATH`, `HOME`, the user and locale, the terminal,
  temporary and XDG directories, proxy and CA-bundle settings (and Windows' system names);
- for a vendor CLI, the variables of its own family (`ANTHROPIC_*`/`CLAUDE_*` for Claude
  Code, `OPENAI_*`/`CODEX_*` for Codex, ...): its credentials, its endpoint and its switches.
  OpenCode works with many vendors: it gets the family of the vendor its model names;
- what the operator adds for one CLI in `providers.pass_env` (exact names, or a prefix
  ending in `*`), e.g. `AWS_PROFILE` for Claude Code on Bedrock.

Never, whatever the family or the operator says: the gateway's own `LLM_GATEWAY_*`/`LLMGW_*`
and PostgreSQL's `PG*`. What the call itself sets (vault auth files, confinement, the job
marker) is added after this, by the caller of `run_process`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from llmgw_desktop.config.child_env_names import FAMILIES, env_key, never_passed

__all__ = ["child_environment"]

# What any program may need, whoever runs it. None of these holds a secret.
_COMMON_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "USERNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "COLORTERM",
        "NO_COLOR",
        "FORCE_COLOR",
        "TMPDIR",
        "TMP",
        "TEMP",
        # The session bus reaches the OS keyring, where some CLIs keep their own login.
        "DBUS_SESSION_BUS_ADDRESS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "NODE_EXTRA_CA_CERTS",
        "NODE_OPTIONS",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        # Windows: programs (node among them) fail without these.
        "SYSTEMROOT",
        "SYSTEMDRIVE",
        "WINDIR",
        "COMSPEC",
        "PATHEXT",
        "APPDATA",
        "LOCALAPPDATA",
        "USERPROFILE",
        "HOMEDRIVE",
        "HOMEPATH",
        "PROGRAMDATA",
        "PROGRAMFILES",
        "PROGRAMFILES(X86)",
        "COMMONPROGRAMFILES",
        "NUMBER_OF_PROCESSORS",
        "PROCESSOR_ARCHITECTURE",
        "OS",
        # macOS
        "__CF_USER_TEXT_ENCODING",
    }
)
_COMMON_PREFIXES = ("LC_", "XDG_")
# OpenCode's model ids name their vendor first ("anthropic/claude-sonnet-4-5").
_OPENCODE_VENDORS: Mapping[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_",),
    "openai": ("OPENAI_",),
    "google": ("GOOGLE_", "GEMINI_"),
    "groq": ("GROQ_",),
    "openrouter": ("OPENROUTER_",),
    "mistral": ("MISTRAL_",),
    "xai": ("XAI_",),
    "deepseek": ("DEEPSEEK_",),
    "github-copilot": ("GITHUB_", "GH_"),
}


def child_environment(
    family: str | None = None,
    *,
    model: str | None = None,
    passed: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The part of the gateway's environment a child of `family` (a provider id, "npm",
    "pip", or None for a plain helper such as `ps`) may see; `passed` are the operator's
    additions for it (`providers.pass_env`)."""
    environ = os.environ if environ is None else environ
    prefixes = _COMMON_PREFIXES + FAMILIES.get(family or "", ())
    if family in ("opencode", "opencode-acp") and model and "/" in model:
        prefixes += _OPENCODE_VENDORS.get(model.split("/", 1)[0].lower(), ())
    exact = set(_COMMON_NAMES)
    for name in passed:
        if name.endswith("*"):
            prefixes += (env_key(name[:-1]),)
        else:
            exact.add(env_key(name))
    # Lower-case proxy names (http_proxy) are as common as upper-case ones.
    return {
        name: value
        for name, value in environ.items()
        if not never_passed(name) and (env_key(name) in exact or env_key(name).startswith(prefixes))
    }
